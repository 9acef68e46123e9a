"""A Ray-backed reward set scores exactly as the local one, through the same TRL contract.

On a real local Ray cluster (``ray.init(num_cpus=2)``, on loopback): see conftest.py.
"""

from __future__ import annotations

import asyncio
import pickle
from typing import Any

import pytest
from ray_workloads import SPEC, mixed_batch

from grpo_rewards import DatasetColumnError, load_rewards

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def local_and_ray(ray_local: Any) -> Any:
    from grpo_rewards.executors import RayExecutor

    local = load_rewards(SPEC)
    remote = load_rewards(SPEC, executor=RayExecutor(actors=2))
    yield local, remote
    remote.close()
    local.close()


def test_same_scores_as_in_process_on_a_mixed_math_and_code_batch(local_and_ray: Any) -> None:
    local, remote = local_and_ray
    completions, prompts, columns = mixed_batch(groups=12)
    want = local.score(completions, prompts=prompts, columns=columns)
    got = remote.score(completions, prompts=prompts, columns=columns)
    assert got.totals == want.totals
    assert got.values == want.values
    for name in local.names:
        assert [(s.value, s.outcome) for s in got.scores[name]] == [(s.value, s.outcome) for s in want.scores[name]]
    outcomes = {s.outcome.value for name in ("math", "code") for s in got.scores[name]}
    assert {"correct", "wrong", "bad_reference"} <= outcomes  # both verifiers ran, both ways
    scorer = remote.start_executor()
    assert scorer.retried == 0 and sum(scorer.placements.values()) >= 2  # cut into shards


def test_reward_functions_keep_the_trl_contract(local_and_ray: Any) -> None:
    local, remote = local_and_ray
    completions, prompts, columns = mixed_batch(groups=6)
    for lf, rf in zip(local.reward_funcs, remote.reward_funcs, strict=True):
        assert rf.__name__ == lf.__name__
        logged: dict[str, list[tuple[str, float]]] = {"local": [], "ray": []}
        extras: dict[str, list[Any]] = {"local": [], "ray": []}
        for side, fn in (("local", lf), ("ray", rf)):
            metrics, extra = logged[side], extras[side]
            values = fn(
                prompts=prompts,
                completions=completions,
                completion_ids=None,
                trainer_state=None,
                log_metric=lambda key, v, m=metrics: m.append((key, v)),
                log_extra=lambda key, v, e=extra: e.append((key, v)),
                **columns,
            )
            extras[side].append(("values", values))
        assert logged["ray"] == logged["local"], lf.__name__
        assert extras["ray"] == extras["local"], lf.__name__
        assert any(key.startswith(f"outcomes/{lf.__name__}/") for key, _ in logged["ray"])
        if lf.__name__ == "math":  # None for the code rows: no signal, as locally
            values = extras["ray"][-1][1]
            assert None in values and 1.0 in values

    async def both() -> list[list[float | None]]:
        return await asyncio.gather(
            *(f(prompts=prompts, completions=completions, **columns) for f in remote.async_reward_funcs)
        )

    got = asyncio.run(both())
    assert got == [f(prompts=prompts, completions=completions, **columns) for f in local.reward_funcs]


def test_a_dataset_without_a_column_fails_as_locally(local_and_ray: Any) -> None:
    _, remote = local_and_ray
    completions, prompts, columns = mixed_batch(groups=2)
    with pytest.raises(DatasetColumnError, match="'math'"):
        remote.reward_funcs[0](prompts=prompts, completions=completions, tests=columns["tests"])


def test_reward_functions_pickle_and_score_in_a_copy(local_and_ray: Any) -> None:
    local, remote = local_and_ray
    from grpo_rewards.executors import RayExecutor

    copy = pickle.loads(pickle.dumps(remote.reward_funcs[0]))
    assert copy.reward_set is not remote and copy.reward_set.executor == RayExecutor(actors=2)
    completions, prompts, columns = mixed_batch(groups=2)
    remote.close()  # the copy starts actors of its own: free the cluster's 2 CPUs for them
    try:
        assert copy(prompts=prompts, completions=completions, **columns) == local.reward_funcs[0](
            prompts=prompts, completions=completions, **columns
        )
    finally:
        copy.reward_set.close()


def test_a_file_gone_before_ray_data_reads_it_is_the_local_input_error(ray_local: Any, tmp_path: Any) -> None:
    from grpo_rewards import InputError
    from grpo_rewards.executors import RayExecutor
    from grpo_rewards.executors.ray_data import plan_chunks, score_chunks
    from grpo_rewards.inputs import read_positioned_rows

    src = tmp_path / "in.jsonl"
    src.write_text("".join(f'{{"prompt": "p{i}", "completion": "{i}", "answer": "{i}"}}\n' for i in range(10)))
    positions: dict[int, tuple[int, int]] = {}

    def rows() -> Any:
        for pos, row in read_positioned_rows(src):
            positions[id(row)] = pos
            yield row

    chunks = plan_chunks(rows(), positions, 4, "prompt")
    assert [c.rows for c in chunks] == [4, 4, 2] and not positions
    src.unlink()
    rs = load_rewards(["exact"])
    with pytest.raises(InputError, match="does not exist"):
        list(score_chunks(rs, src, chunks, executor=RayExecutor(actors=1)))
    assert ray_local.is_initialized()  # the caller's Ray is left running
