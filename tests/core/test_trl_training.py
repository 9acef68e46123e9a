"""A real ``trl.GRPOTrainer`` run on a tiny locally built model, rewarded by ``load_rewards`` output."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest


@pytest.mark.slow
@pytest.mark.parametrize("form", ["sync", "async"])
def test_grpo_trainer_trains_and_logs_each_component(
    train_tiny_grpo: Callable[..., list[dict[str, Any]]], test_registry: object, form: str
) -> None:
    from grpo_rewards import load_rewards

    rows = [{"prompt": f"What is {a} + {b}? ", "answer": str(a + b)} for a in range(4) for b in range(4)]
    rs = load_rewards(
        [
            "exact",
            {"name": "test.length", "alias": "length", "weight": 0.1, "options": {"scale": 100.0}},
            {"name": "test.flaky", "weight": 0.0},
        ]
    )
    funcs = rs.reward_funcs if form == "sync" else rs.async_reward_funcs
    logs = train_tiny_grpo(funcs, rs.reward_weights, rows, max_steps=3, max_completion_length=12)
    assert len(logs) == 3
    for h in logs:
        for name in ("exact", "length", "test.flaky"):
            assert f"rewards/{name}/mean" in h, sorted(h)
            assert math.isfinite(h[f"rewards/{name}/mean"])
        # outcome rates reported through TRL's log_metric
        assert h["outcomes/test.flaky/correct"] + h.get("outcomes/test.flaky/no_answer", 0.0) == pytest.approx(1.0)
        assert 0.0 <= h["rewards/length/mean"] <= 12 * 20 / 100.0
