"""The bundled task list matches the installed reasoning-gym, and every task is a verifier."""

from __future__ import annotations

from grpo_rewards_reasoning_gym import TASKS
from reasoning_gym.factory import DATASETS

from grpo_rewards.plugins import Registry


def test_bundled_task_list_matches_installed_reasoning_gym() -> None:
    installed = sorted(n for n in DATASETS if n != "composite")
    assert list(TASKS) == installed, "regenerate grpo_rewards_reasoning_gym/_tasks.py for this reasoning-gym"


def test_every_task_is_registered_as_a_verifier(registry: Registry) -> None:
    names = {n for n in registry.verifiers if n.startswith("rg.")}
    assert names == {f"rg.{t}" for t in TASKS}
    assert len(names) >= 100
    assert "rg" in registry.verifiers
    entry = registry.verifiers["rg.leg_counting"]
    assert entry.plugin.name == "reasoning_gym"
    assert "leg_counting" in entry.description
    assert "reasoning_gym" in registry.dataset_sources
