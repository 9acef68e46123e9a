"""The ``reasoning_gym`` dataset source: rows for the trainer, one task or a weighted mix."""

from __future__ import annotations

import pytest
from grpo_rewards_reasoning_gym import load_entry, reasoning_gym_rows
from reasoning_gym.utils import SYSTEM_PROMPTS

import grpo_rewards
from grpo_rewards.plugins import Registry


def test_rows_of_one_task_have_prompt_entry_and_answer() -> None:
    rows = reasoning_gym_rows(task="leg_counting", size=5, seed=1)
    assert len(rows) == 5
    for r in rows:
        entry = load_entry(r["rg_entry"])
        assert r["prompt"] == [
            {"role": "system", "content": SYSTEM_PROMPTS["default"]},
            {"role": "user", "content": entry["question"]},
        ]
        assert r["rg_task"] == entry["metadata"]["source_dataset"] == "leg_counting"
        assert r["answer"] == entry["answer"]
    assert reasoning_gym_rows(task="leg_counting", size=5, seed=1) == rows
    assert reasoning_gym_rows(task="leg_counting", size=5, seed=2) != rows
    bare = reasoning_gym_rows(task="leg_counting", size=1, seed=1, system_prompt=None)
    assert bare[0]["prompt"] == [rows[0]["prompt"][1]]


def test_weighted_mix_follows_the_weights() -> None:
    rows = reasoning_gym_rows(tasks={"leg_counting": 3, "basic_arithmetic": 1}, size=200, seed=0)
    share = sum(r["rg_task"] == "leg_counting" for r in rows) / len(rows)
    assert 0.6 < share < 0.9
    assert {r["rg_task"] for r in rows} == {"leg_counting", "basic_arithmetic"}
    equal = reasoning_gym_rows(tasks=["leg_counting", "gcd"], size=40, seed=0)
    assert {r["rg_task"] for r in equal} == {"leg_counting", "gcd"}


def test_task_config_reaches_the_generator_and_the_scorer(registry: Registry) -> None:
    rows = reasoning_gym_rows(
        tasks={"leg_counting": {"weight": 1, "config": {"min_animals": 2, "max_animals": 2}}, "gcd": 1}, size=20, seed=0
    )
    legs = [load_entry(r["rg_entry"]) for r in rows if r["rg_task"] == "leg_counting"]
    assert legs and all(e["metadata"]["num_animals"] == 2 for e in legs)
    assert all(e["rg_config"] == {"min_animals": 2, "max_animals": 2} for e in legs)
    rs = grpo_rewards.load_rewards(["rg"])
    res = rs.score(
        [f"<answer>{r['answer']}</answer>" for r in rows], columns={"rg_entry": [r["rg_entry"] for r in rows]}
    )
    assert [s.outcome.value for s in res.scores["rg"]] == ["correct"] * len(rows)


def test_registered_as_a_dataset_source(registry: Registry) -> None:
    entry = registry.dataset_sources["reasoning_gym"]
    rows = entry.factory(task="gcd", size=2, seed=0)
    assert [r["rg_task"] for r in rows] == ["gcd", "gcd"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"task": "leg_countin"}, "unknown task 'leg_countin'; did you mean leg_counting"),
        ({}, "exactly one of 'task' or 'tasks'"),
        ({"task": "gcd", "tasks": ["gcd"]}, "exactly one of 'task' or 'tasks'"),
        ({"tasks": {"gcd": 0}}, "weight 0"),
        ({"tasks": {"gcd": {"weigth": 1}}}, "unknown keys"),
        ({"task": "gcd", "config": {"no_such_option": 1}}, "invalid options"),
        ({"task": "gcd", "size": 0}, "size must be positive"),
    ],
)
def test_bad_options_are_config_errors(kwargs: dict, message: str) -> None:
    with pytest.raises(grpo_rewards.ConfigError, match=message):
        reasoning_gym_rows(**kwargs)
