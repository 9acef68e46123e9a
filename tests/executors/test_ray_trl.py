"""A real ``trl.GRPOTrainer`` run on the tiny local model: Ray-backed rewards log what local ones log."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from grpo_rewards import load_rewards

pytestmark = pytest.mark.slow

SPEC = [
    {"name": "exact"},
    {"name": "format.think", "weight": 0.2},
    {"name": "length.group", "options": {"correctness": "exact", "unit": "tokens"}},
    {"name": "length.overlong", "options": {"max_length": 16, "cache_length": 4, "unit": "tokens"}},
]
ROWS = [{"prompt": f"What is {a} + {b}? ", "answer": str(a + b)} for a in range(3) for b in range(3)]


@pytest.mark.timeout(900)
def test_grpo_trainer_logs_the_same_rewards_on_ray(
    ray_local: Any, train_tiny_grpo: Callable[..., list[dict[str, Any]]]
) -> None:
    logs = {}
    # "ray": the cluster this process is connected to (ray_local's 2 CPUs), one actor per CPU
    for side, executor in (("local", None), ("ray", "ray")):
        rs = load_rewards(SPEC, executor=executor)
        try:
            logs[side] = train_tiny_grpo(
                rs.reward_funcs, rs.reward_weights, ROWS, max_steps=2, max_completion_length=16
            )
            if side == "ray":
                assert sum(rs.start_executor().placements.values()) > 0  # the actors did score
        finally:
            rs.close()
    assert len(logs["local"]) == len(logs["ray"]) == 2
    for step_local, step_ray in zip(logs["local"], logs["ray"], strict=True):
        for name in rs.names:
            key = f"rewards/{name}/mean"
            assert step_ray[key] == step_local[key], (key, step_local[key], step_ray[key])
        outcome_keys = sorted(k for k in step_local if k.startswith("outcomes/"))
        assert outcome_keys and outcome_keys == sorted(k for k in step_ray if k.startswith("outcomes/"))
        assert all(step_ray[k] == step_local[k] for k in outcome_keys)
        assert step_ray["reward"] == step_local["reward"]
    means = [h[f"rewards/{n}/mean"] for h in logs["local"] for n in rs.names]
    assert any(m != 0.0 for m in means), means  # a comparison of rewards that say something
