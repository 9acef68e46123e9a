"""verl 0.9.1's custom reward function contract, called exactly as its source calls it (verl needs
Ray, vLLM and more to import its trainer; the calls are reproduced here, file and line pinned):

- ``verl/trainer/ppo/reward.py``, ``get_custom_reward_fn``: loaded by file path and name, and
  called through ``partial(_call_with_kwargs, raw_fn, reward_kwargs)`` (``reward_kwargs`` win);
- ``verl/experimental/reward_loop/reward_manager/naive.py``, ``run_single``:
  ``compute_score(data_source=, solution_str=, ground_truth=, extra_info=)`` with ``extra_info``
  holding ``num_turns`` and ``rollout_reward_scores``; a dict's ``score`` is the reward and
  every key goes to ``reward_extra_info``;
- ``verl/workers/reward_manager/batch.py``, ``verify``: ``compute_score(data_sources=,
  solution_strs=, ground_truths=, extra_infos=, **reward_kwargs)`` with numpy object arrays.
"""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from grpo_rewards import load_rewards
from grpo_rewards.inputs import row_from_data
from grpo_rewards.integrations import verl
from grpo_rewards.scoring import score_rows

SPEC = ["math", "format.think:0.2"]
SOLUTIONS = ["<think>2 and 2</think><answer>4</answer>", "The answer is \\boxed{8}.", "25"]
TRUTHS = ["4", "7", "25"]


def _call_with_kwargs(raw_fn: Any, extra_kwargs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
    # verl/trainer/ppo/reward.py (0.9.1), verbatim
    merged_kwargs = {**kwargs, **extra_kwargs}
    return raw_fn(*args, **merged_kwargs)


async def _call_with_kwargs_async(raw_fn: Any, extra_kwargs: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
    merged_kwargs = {**kwargs, **extra_kwargs}
    return await raw_fn(*args, **merged_kwargs)


def _custom_reward_fn(name: str, reward_kwargs: dict[str, Any]) -> Any:
    """get_custom_reward_fn: load_extern_object(module_path=path, object_name=name), then the partial."""
    spec = importlib.util.spec_from_file_location("custom_module", verl.__file__)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    raw_fn = getattr(module, name)
    if not inspect.iscoroutinefunction(raw_fn):
        return partial(_call_with_kwargs, raw_fn, reward_kwargs)
    return partial(_call_with_kwargs_async, raw_fn, reward_kwargs)


def _local() -> list[dict[str, Any]]:
    rs = load_rewards(SPEC)
    rows = [{"completion": s, "answer": t} for s, t in zip(SOLUTIONS, TRUTHS, strict=True)]
    out = list(score_rows(rs, [row_from_data(r, "row") for r in rows]))
    rs.close()
    return out


def _check(results: list[dict[str, float]]) -> None:
    local = _local()
    assert [r["score"] for r in results] == [x["reward"] or 0.0 for x in local]
    for r, x in zip(results, local, strict=True):
        for name in ("math", "format.think"):
            assert r[name] == (x["rewards"][name] or 0.0)
            assert r[f"{name}/{x['outcomes'][name]}"] == 1.0
        assert all(isinstance(v, float) for v in r.values())  # validation takes np.mean of each key
    assert len({tuple(sorted(r)) for r in results}) == 1  # the same keys for every sample
    assert results[0]["score"] > results[1]["score"]


def test_naive_reward_manager_calls_compute_score_per_sample() -> None:
    fn = _custom_reward_fn("compute_score", {"rewards": SPEC})
    results = []
    for s, t in zip(SOLUTIONS, TRUTHS, strict=True):
        extra_info = {"index": 0, "split": "train", "num_turns": None, "rollout_reward_scores": {}}
        results.append(fn(data_source="openai/gsm8k", solution_str=s, ground_truth=t, extra_info=extra_info))
    _check(results)


def test_the_async_form_is_awaited() -> None:
    fn = _custom_reward_fn("compute_score_async", {"rewards": SPEC})

    async def run() -> list[dict[str, float]]:
        return list(
            await asyncio.gather(
                *(
                    fn(data_source="x", solution_str=s, ground_truth=t, extra_info={})
                    for s, t in zip(SOLUTIONS, TRUTHS, strict=True)
                )
            )
        )

    _check(asyncio.run(run()))


def test_batch_reward_manager_calls_the_batched_form(tmp_path: Path) -> None:
    config = tmp_path / "rewards.toml"
    config.write_text('[[rewards]]\nname = "math"\n\n[[rewards]]\nname = "format.think"\nweight = 0.2\n')
    reward_kwargs = {"config": str(config)}
    fn = _custom_reward_fn("compute_score_batch", reward_kwargs)
    extras = np.array([{"rollout_reward_scores": {}} for _ in SOLUTIONS], dtype=object)
    results = fn(
        data_sources=np.array(["gsm8k"] * 3, dtype=object),
        solution_strs=SOLUTIONS,
        ground_truths=TRUTHS,
        extra_infos=extras,
        **reward_kwargs,
    )
    _check(results)


def test_the_core_the_client_and_the_adapters_import_no_server_or_framework() -> None:
    import subprocess
    import sys

    code = (
        "import sys, grpo_rewards, grpo_rewards.remote, grpo_rewards.integrations.verl, "
        "grpo_rewards.integrations.openrlhf, grpo_rewards.integrations.nemo_gym\n"
        "heavy = sorted(m for m in ('fastapi', 'uvicorn', 'starlette', 'prometheus_client', 'ray', 'torch', 'verl', "
        "'openrlhf', 'nemo_gym') if m in sys.modules)\n"
        "assert not heavy, heavy"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
