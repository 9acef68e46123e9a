"""grpo-rewards plugin: reasoning-gym's procedural reasoning tasks as verifiers and as a dataset source.

Registers, through the ``grpo_rewards`` entry-point group:

* ``rg.<task>`` for every reasoning-gym task (``rg.leg_counting``, ``rg.sudoku``, ...) and ``rg``,
  which takes the task from each row's entry (for mixes of tasks);
* the dataset source ``reasoning_gym`` (one task or a weighted mix), for ``[dataset] source``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpo_rewards
from grpo_rewards_reasoning_gym._tasks import TASKS
from grpo_rewards_reasoning_gym.entries import dump_entry, load_entry
from grpo_rewards_reasoning_gym.source import reasoning_gym_rows
from grpo_rewards_reasoning_gym.verifier import TASK_VERIFIERS, ReasoningGymVerifier

__all__ = ["ReasoningGymVerifier", "TASKS", "TASK_VERIFIERS", "dump_entry", "load_entry", "reasoning_gym_rows"]


@grpo_rewards.hookimpl
def register_verifiers(register: Callable[..., None]) -> None:
    register(ReasoningGymVerifier)
    for task in TASKS:
        register(TASK_VERIFIERS[task])


@grpo_rewards.hookimpl
def register_dataset_sources(register: Callable[..., Any]) -> None:
    register(
        reasoning_gym_rows,
        name="reasoning_gym",
        description="reasoning-gym rows: task = NAME, or tasks = {NAME = weight, ...} for a mix",
    )
