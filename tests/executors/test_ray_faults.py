"""Actors that die in the middle of a batch: nothing lost, nothing counted twice, never a hang.

On a real local Ray cluster (``ray.init(num_cpus=2)``); the actors are killed with SIGKILL, as
the kernel's OOM killer or a crashed node would end them.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

import pytest
import ray_workloads
from ray_workloads import SPEC, mixed_batch, slow_len

from grpo_rewards import load_rewards

pytestmark = pytest.mark.slow

FAULT_SPEC = [*SPEC, {"name": slow_len, "weight": 0.5}]  # a plain function: its name is slow_len


def _kill_later(pids: list[int], after_s: float) -> threading.Thread:
    def run() -> None:
        time.sleep(after_s)
        for pid in pids:
            os.kill(pid, signal.SIGKILL)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


@pytest.fixture(scope="module")
def batch(ray_local: Any) -> Any:
    import ray.cloudpickle

    ray.cloudpickle.register_pickle_by_value(ray_workloads)  # the actors cannot import the tests
    completions, prompts, columns = mixed_batch(groups=16)  # 64 samples: shards of 16, 1.6 s each
    local = load_rewards(FAULT_SPEC)
    want = local.score(completions, prompts=prompts, columns=columns)
    local.close()
    return completions, prompts, columns, want


@pytest.mark.timeout(300)
def test_an_actor_killed_mid_batch_loses_nothing_and_doubles_nothing(batch: Any) -> None:
    from grpo_rewards.executors import RayExecutor

    completions, prompts, columns, want = batch
    rs = load_rewards(FAULT_SPEC, executor=RayExecutor(actors=2, max_retries=2))
    try:
        scorer = rs.start_executor()
        where = scorer.wait_ready(timeout=120)
        killer = _kill_later([where[0]["pid"]], after_s=0.8)  # its first shard takes 1.6 s
        got = rs.score(completions, prompts=prompts, columns=columns)
        killer.join()
        assert scorer.retried >= 1, "the kill came too late to hit a shard"
        assert len(got.totals) == len(completions)
        assert got.totals == want.totals
        for name in rs.names:
            assert [(s.value, s.outcome) for s in got.scores[name]] == [
                (s.value, s.outcome) for s in want.scores[name]
            ], name
        assert all(s.outcome.value != "error" for n in rs.names for s in got.scores[n])
        # Ray restarted the dead actor (max_restarts=1): the next batch runs on both again
        again = rs.score(completions[:16], prompts=prompts[:16], columns={k: v[:16] for k, v in columns.items()})
        assert again.totals == want.totals[:16]
    finally:
        rs.close()


@pytest.mark.timeout(300)
def test_every_actor_killed_gives_error_with_the_cause_and_no_hang(batch: Any) -> None:
    from grpo_rewards.executors import RayExecutor

    completions, prompts, columns, _ = batch
    rs = load_rewards(FAULT_SPEC, executor=RayExecutor(actors=2, max_retries=1, max_restarts=0))
    try:
        scorer = rs.start_executor()
        pids = [w["pid"] for w in scorer.wait_ready(timeout=120)]
        killer = _kill_later(pids, after_s=0.8)
        t = time.monotonic()
        got = rs.score(completions, prompts=prompts, columns=columns)
        elapsed = time.monotonic() - t
        killer.join()
        assert elapsed < 60
        for name in rs.names:
            outcomes = [s.outcome.value for s in got.scores[name]]
            assert outcomes == ["error"] * len(completions), name
            detail = got.scores[name][0].detail
            assert "not scored after 2 attempts" in detail and "died" in detail, detail
            assert "ActorDiedError" in detail or "RayActorError" in detail, detail
        assert got.totals == [None] * len(completions)  # no signal, as for any error outcome
        values = rs.reward_funcs[0](prompts=prompts, completions=completions, **columns)
        assert values == [None] * len(completions)  # and the TRL function returns at once too
    finally:
        rs.close()


@pytest.mark.timeout(300)
def test_a_shard_unanswered_past_shard_timeout_s_scores_error(batch: Any) -> None:
    from grpo_rewards.executors import RayExecutor

    completions, prompts, columns, _ = batch
    rs = load_rewards(FAULT_SPEC, executor=RayExecutor(actors=2, max_retries=0, shard_timeout_s=0.5))
    try:
        rs.start_executor().wait_ready(timeout=120)
        t = time.monotonic()
        got = rs.score(completions[:32], prompts=prompts[:32], columns={k: v[:32] for k, v in columns.items()})
        assert time.monotonic() - t < 5  # shards of 8 take 0.8 s in slow_len alone
        details = {s.detail for s in got.scores["math"]}
        assert [s.outcome.value for s in got.scores["math"]] == ["error"] * 32
        assert details == {
            "ray executor: not scored after 1 attempts (max_retries=0): the actor scoring these 8 samples "
            "gave no answer within shard_timeout_s=0.5 s"
        }
    finally:
        rs.close()
