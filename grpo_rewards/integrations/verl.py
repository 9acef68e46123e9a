"""verl 0.9: ``compute_score`` for ``reward.custom_reward_function.path/name``.

The contract, from verl 0.9.1 (the wheel): ``verl/trainer/ppo/reward.py``
(``get_custom_reward_fn``) loads ``name`` from the file ``path`` and calls it with
``custom_reward_function.reward_kwargs`` merged over the call's keywords (``_call_with_kwargs``;
an ``async def`` is awaited, ``_call_with_kwargs_async``).

- ``verl/experimental/reward_loop/reward_manager/naive.py`` (``NaiveRewardManager.run_single``)
  calls ``compute_score(data_source=, solution_str=, ground_truth=, extra_info=)`` per sample,
  the response decoded with ``skip_special_tokens=True``; ``extra_info`` holds the dataset's
  ``extra_info`` plus ``num_turns`` and ``rollout_reward_scores``. A dict result gives ``score``
  as the reward and every key to ``reward_extra_info`` (which ``algorithm.gdpo_reward_keys``
  reads, ``verl/trainer/config/algorithm.py``; validation takes ``np.mean`` of each, so every
  value here is a number).
- ``verl/workers/reward_manager/batch.py`` (``BatchRewardManager.verify``) calls
  ``compute_score(data_sources=, solution_strs=, ground_truths=, extra_infos=, **reward_kwargs)``
  once per batch and reads one result per sample: :func:`compute_score_batch`.

What runs here: verl's reward workers. What it may trust: verl's call shape; the composition
comes from ``reward_kwargs`` (``rewards=[...]``, ``config=PATH``) or ``$GRPO_REWARDS_CONFIG``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from grpo_rewards.contract import Outcome
from grpo_rewards.inputs import row_from_data
from grpo_rewards.integrations import label_column_for, reward_set_for
from grpo_rewards.rewardset import RewardSet
from grpo_rewards.scoring import score_rows

__all__ = ["compute_score", "compute_score_batch", "compute_score_async", "rows_for"]


def rows_for(
    reward_set: RewardSet,
    solution_strs: Sequence[str],
    ground_truths: Sequence[Any],
    extra_infos: Sequence[Mapping[str, Any] | None] | None,
    label_column: str | None = None,
) -> list[dict[str, Any]]:
    """Rows as ``grpo-rewards score`` reads them: ``completion`` from the solution, the label
    column (or, for a dict, several columns) from the ground truth, and from ``extra_info`` the
    columns the composition reads (``prompt`` too, where it is there: it groups completions)."""
    column = label_column_for(reward_set, label_column)
    needed = {c for cols in reward_set.required_columns().values() for c in cols} | {"prompt"}
    rows = []
    for i, (solution, truth) in enumerate(zip(solution_strs, ground_truths, strict=True)):
        extra = (extra_infos[i] if extra_infos is not None else None) or {}
        row: dict[str, Any] = {k: extra[k] for k in needed if k in extra}
        if isinstance(truth, Mapping):
            row.update(truth)
        else:
            row[column] = truth
        row["completion"] = solution
        rows.append(row)
    return rows


def _results(reward_set: RewardSet, rows: list[dict[str, Any]]) -> list[dict[str, float]]:
    scored = score_rows(reward_set, [row_from_data(r, f"sample {i}") for i, r in enumerate(rows)], details=False)
    out = []
    for r in scored:
        result = {"score": 0.0 if r["reward"] is None else float(r["reward"])}
        for name in reward_set.names:
            value = r["rewards"][name]
            result[name] = 0.0 if value is None else float(value)
            for outcome in Outcome:
                result[f"{name}/{outcome.value}"] = float(r["outcomes"][name] == outcome.value)
        out.append(result)
    return out


def _pop_ours(kwargs: dict[str, Any]) -> tuple[Any, Any, Any]:
    return kwargs.pop("rewards", None), kwargs.pop("config", None), kwargs.pop("label_column", None)


def compute_score(
    data_source: str | None,
    solution_str: str,
    ground_truth: Any,
    extra_info: Mapping[str, Any] | None = None,
    **reward_kwargs: Any,
) -> dict[str, float]:
    """One sample, as verl's naive reward manager calls it.

    :returns: ``score`` (the weighted sum; ``0.0`` when no component gave a signal), each
        component's value under its name (``0.0`` for no signal), and ``<name>/<outcome>``
        (``1.0`` for the sample's outcome, ``0.0`` for every other), for ``reward_extra_info``.
    """
    rewards, config, label_column = _pop_ours(reward_kwargs)
    rs = reward_set_for(rewards, config)
    return _results(rs, rows_for(rs, [solution_str], [ground_truth], [extra_info], label_column))[0]


def compute_score_batch(
    data_sources: Sequence[str | None],
    solution_strs: Sequence[str],
    ground_truths: Sequence[Any],
    extra_infos: Sequence[Mapping[str, Any] | None] | None = None,
    **reward_kwargs: Any,
) -> list[dict[str, float]]:
    """A whole batch, as verl's ``BatchRewardManager`` calls it (``reward_manager.name=batch``):
    scored together, so group-aware components see the batch's groups (by ``extra_info``'s
    ``prompt`` where it is there)."""
    rewards, config, label_column = _pop_ours(reward_kwargs)
    rs = reward_set_for(rewards, config)
    return _results(rs, rows_for(rs, solution_strs, ground_truths, extra_infos, label_column))


async def compute_score_async(
    data_source: str | None,
    solution_str: str,
    ground_truth: Any,
    extra_info: Mapping[str, Any] | None = None,
    **reward_kwargs: Any,
) -> dict[str, float]:
    """:func:`compute_score` as ``async def``: verl awaits it in its reward loop instead of
    running it in its executor; the scoring runs in a worker thread."""
    return await asyncio.to_thread(compute_score, data_source, solution_str, ground_truth, extra_info, **reward_kwargs)
