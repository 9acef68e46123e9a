"""Executors without a cluster: sharding by prompt group, choosing an executor, the core without Ray."""

from __future__ import annotations

import pickle
import subprocess
import sys

import pytest

from grpo_rewards import ConfigError, load_rewards
from grpo_rewards.executors import LocalExecutor, resolve_executor
from grpo_rewards.executors.sharding import shard_by_group


@pytest.mark.parametrize(
    ("groups", "shards"),
    [
        ([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2], 2),
        ([0, 1, 0, 1, 2, 2, 3, 0], 3),  # a group's samples need not be next to each other
        ([0] * 9, 4),  # one group: one shard, whatever is asked
        ([0, 1, 2, 3, 4, 5, 6], 10),  # more shards asked than groups
        ([5, 5, 1, 1, 1, 1, 1, 1, 0], 2),
        ([], 3),
    ],
)
def test_shards_hold_whole_groups_and_every_sample_once(groups: list[int], shards: int) -> None:
    out = shard_by_group(groups, shards)
    assert sorted(i for s in out for i in s) == list(range(len(groups)))
    assert len(out) <= max(1, min(shards, len(set(groups))))
    assert all(s for s in out)
    for g in set(groups):
        assert sum(any(groups[i] == g for i in s) for s in out) == 1, f"group {g} split"


def test_shards_are_about_even() -> None:
    groups = [i // 8 for i in range(2048)]
    sizes = [len(s) for s in shard_by_group(groups, 4)]
    assert sizes == [512, 512, 512, 512]


def test_executor_names() -> None:
    assert resolve_executor(None) == LocalExecutor()
    assert resolve_executor("local") == LocalExecutor()
    with pytest.raises(ConfigError, match="expected 'local', 'ray' or an executor object"):
        resolve_executor("dask")
    with pytest.raises(ConfigError, match="executor 3"):
        load_rewards(["exact"], executor=3)  # type: ignore[arg-type]


def test_local_executor_is_the_default_and_scores_in_process() -> None:
    rs = load_rewards(["exact"], executor="local")
    assert rs.start_executor() is None
    assert rs.reward_funcs[0](completions=["4", "5"], answer=["4", "4"]) == [1.0, 0.0]
    rs.close()


def test_the_core_never_imports_ray() -> None:
    code = (
        "import sys, grpo_rewards, grpo_rewards.executors, grpo_rewards.cli\n"
        "from grpo_rewards import load_rewards\n"
        "rs = load_rewards(['exact'])\n"
        "assert rs.score(['1'], columns={'answer': ['1']}).totals == [1.0]\n"
        "assert not [m for m in sys.modules if m == 'ray' or m.startswith('ray.')], 'ray imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_ray_reward_set_pickles_without_starting_ray() -> None:
    ray = pytest.importorskip("ray")
    from grpo_rewards.executors import RayExecutor

    ex = RayExecutor(actors=2, max_retries=1)
    rs = load_rewards(["exact", "format.think:0.2"], executor=ex)
    fn = pickle.loads(pickle.dumps(rs.reward_funcs[1]))
    assert fn.__name__ == "format.think"
    assert fn.reward_set.executor == ex
    assert not ray.is_initialized()
    rs.close()
    assert not ray.is_initialized()


def test_ray_executor_checks_its_settings() -> None:
    pytest.importorskip("ray")
    from grpo_rewards.executors import RayExecutor

    for bad in ({"actors": 0}, {"cpus_per_actor": 0}, {"max_in_flight": 0}, {"max_retries": -1}):
        with pytest.raises(ValueError, match="RayExecutor"):
            RayExecutor(**bad)  # type: ignore[arg-type]


def test_score_ray_refuses_what_it_cannot_stream(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    from grpo_rewards.cli import main

    src = tmp_path / "in.csv"
    src.write_text("completion,answer\n1,1\n")
    assert main(["score", str(src), "-r", "exact", "--ray"]) != 0
    assert "--ray streams .jsonl and .parquet files" in capsys.readouterr().err
