"""A real ``trl.GRPOTrainer`` 2-step run on the tiny local model, rewarded by ``grpo-rewards serve``
on loopback: it logs what the same rewards scored in-process log, on the same seed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from server_harness import TOKEN, start_server

from grpo_rewards import RemoteRewardSet, load_rewards

pytestmark = pytest.mark.slow

CONFIG = """
[[rewards]]
name = "exact"

[[rewards]]
name = "format.think"
weight = 0.2

[[rewards]]
name = "length.group"
options = { correctness = "exact", unit = "tokens" }

[[rewards]]
name = "length.overlong"
options = { max_length = 16, cache_length = 4, unit = "tokens" }
"""
ROWS = [{"prompt": f"What is {a} + {b}? ", "answer": str(a + b)} for a in range(3) for b in range(3)]


@pytest.mark.timeout(900)
def test_grpo_trainer_logs_the_same_rewards_from_the_server(
    tmp_path: Path, train_tiny_grpo: Callable[..., list[dict[str, Any]]]
) -> None:
    config = tmp_path / "rewards.toml"
    config.write_text(CONFIG)
    logs = {}
    local = load_rewards(str(config))
    try:
        logs["local"] = train_tiny_grpo(
            local.reward_funcs, local.reward_weights, ROWS, max_steps=2, max_completion_length=16
        )
    finally:
        local.close()
    server = start_server(tmp_path, ["--config", str(config)])
    try:
        remote = RemoteRewardSet(server.url, token=TOKEN)  # the one line that changes
        logs["remote"] = train_tiny_grpo(
            remote.reward_funcs, remote.reward_weights, ROWS, max_steps=2, max_completion_length=16
        )
        scored = [line for line in server.request("GET", "/metrics").body.decode().splitlines()]
    finally:
        server.stop()
    # 2 steps x 4 completions, each batch sent once for all four components
    assert 'grpo_rewards_samples_total{endpoint="score"} 8.0' in scored
    assert len(logs["local"]) == len(logs["remote"]) == 2
    for step_local, step_remote in zip(logs["local"], logs["remote"], strict=True):
        for name in local.names:
            key = f"rewards/{name}/mean"
            assert step_remote[key] == step_local[key], (key, step_local[key], step_remote[key])
        outcome_keys = sorted(k for k in step_local if k.startswith("outcomes/"))
        assert outcome_keys and outcome_keys == sorted(k for k in step_remote if k.startswith("outcomes/"))
        assert all(step_remote[k] == step_local[k] for k in outcome_keys)
        assert step_remote["reward"] == step_local["reward"]
    means = [h[f"rewards/{n}/mean"] for h in logs["local"] for n in local.names]
    assert any(m != 0.0 for m in means), means
