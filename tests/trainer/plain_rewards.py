"""Plain reward functions the trainer tests import by path (``plain_rewards:my_plain_fn``)."""

from __future__ import annotations

from typing import Any


def my_plain_fn(completions: list[Any], **kwargs: Any) -> list[float]:
    """TRL's form: 1.0 when the completion mentions the gold answer, minus a little per character."""
    texts = [c if isinstance(c, str) else c[-1]["content"] for c in completions]
    return [float(str(a) in t) - len(t) / 1000.0 for t, a in zip(texts, kwargs["answer"], strict=True)]
