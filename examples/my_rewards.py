"""An example module of your own rewards, named by import path in a reward config
(``name = "my_rewards:mentions_answer"``, with ``examples/`` on ``PYTHONPATH``)."""

from __future__ import annotations

from typing import Any


def mentions_answer(completions: list[Any], answer: list[str], **kwargs: Any) -> list[float]:
    """1.0 when the completion's text contains the gold answer (TRL's reward-function form)."""
    texts = [c if isinstance(c, str) else c[-1]["content"] for c in completions]
    return [float(str(a) in t) for t, a in zip(texts, answer, strict=True)]
