"""Every format, length, repetition, choice, exact and language verifier in a real TRL run."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

SPEC = [
    {"name": "exact"},
    {"name": "choice", "options": {"column": "letter"}, "weight": 0.1},
    {"name": "format.think", "weight": 0.2},
    {"name": "format.tags", "options": {"mode": "soft"}, "weight": 0.2},
    {"name": "format.regex", "options": {"pattern": r"<answer>\s*\d+\s*</answer>", "match": "search"}, "weight": 0.1},
    {"name": "format.json", "weight": 0.0},
    {"name": "length.overlong", "options": {"max_length": 16, "cache_length": 4, "unit": "tokens"}},
    {"name": "length.cosine", "options": {"correctness": "exact", "max_length": 16, "unit": "tokens"}},
    {"name": "length.group", "options": {"correctness": "exact", "unit": "tokens"}},
    {"name": "length.target", "options": {"min_length": 4, "max_length": 12, "falloff": 4, "unit": "tokens"}},
    {"name": "repetition", "options": {"unit": "tokens"}, "weight": 0.5},
    {"name": "language", "weight": 0.0},
]


@pytest.mark.slow
def test_grpo_trainer_with_every_verifier(train_tiny_grpo: Callable[..., list[dict[str, Any]]]) -> None:
    from grpo_rewards import load_rewards

    rows = [
        {"prompt": f"What is {a} + {b}? ", "answer": str(a + b), "letter": "ABCD"[(a + b) % 4]}
        for a in range(3)
        for b in range(3)
    ]
    rs = load_rewards(SPEC)
    logs = train_tiny_grpo(rs.reward_funcs, rs.reward_weights, rows, max_steps=2, max_completion_length=16)
    assert len(logs) == 2
    for h in logs:
        for name in rs.names:
            assert f"rewards/{name}/mean" in h, sorted(h)
            # length.cosine/length.group read exact's verdict; exact has no bad_reference here,
            # so every component gives a value for every completion
            assert math.isfinite(h[f"rewards/{name}/mean"]), (name, h)
        # unit = "tokens" fails without completion_ids: scored means TRL's token ids arrived
        for name in ("length.overlong", "length.cosine", "length.group", "length.target", "repetition"):
            assert h[f"outcomes/{name}/scored"] == pytest.approx(1.0), (name, h)
        assert -1.0 <= h["rewards/length.overlong/mean"] <= 0.0
        assert -0.5 <= h["rewards/length.group/mean"] <= 0.5
