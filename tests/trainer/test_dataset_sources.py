"""Dataset sources registered by plugins (hook ``register_dataset_sources``) feed ``grpo-train``."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest

pytest.importorskip("datasets")

from grpo_rewards_trainer.config import load_config
from grpo_rewards_trainer.data import DataError, prepare_datasets

import grpo_rewards
from grpo_rewards import ConfigError, load_rewards
from grpo_rewards.plugins import registered_plugin, reset_registry


def countdown(*, n: int = 3, start: int = 10) -> list[dict[str, Any]]:
    if n < 1:
        raise ValueError("n must be at least 1")
    return [{"question": f"What is {start} - {i}?", "answer": str(start - i)} for i in range(n)]


class Source:
    @grpo_rewards.hookimpl
    def register_dataset_sources(self, register: Any) -> None:
        register(countdown, name="countdown", description="subtraction drills")


@pytest.fixture
def source_plugin(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("GRPO_REWARDS_LOAD_PLUGINS", "")
    with registered_plugin(Source(), name="countdown-plugin") as reg:
        yield reg
    reset_registry()


def _datasets(*overrides: str) -> Any:
    cfg = load_config(None, overrides)
    rs = load_rewards(cfg["rewards"])
    return prepare_datasets(cfg["dataset"], rs.required_columns(), seed=0)


def test_source_rows_become_the_training_set(source_plugin: Any) -> None:
    train, _ = _datasets('dataset.name="source:countdown"', "dataset.source_options={n = 5, start = 20}")
    assert len(train) == 5
    assert sorted(train["answer"]) == ["16", "17", "18", "19", "20"]
    assert all(p[-1]["content"].startswith("What is 20 - ") for p in train["prompt"])  # chat prompts


def test_unknown_source_suggests_the_near_miss(source_plugin: Any) -> None:
    with pytest.raises(ConfigError, match="unknown dataset source 'countdwn'; did you mean 'countdown'"):
        _datasets('dataset.name="source:countdwn"')


def test_bad_source_options_name_the_source_and_plugin(source_plugin: Any) -> None:
    with pytest.raises(DataError, match="dataset source 'countdown' \\(countdown-plugin\\) rejected"):
        _datasets('dataset.name="source:countdown"', "dataset.source_options={n = 0}")
    with pytest.raises(DataError, match="unexpected keyword argument 'size'"):
        _datasets('dataset.name="source:countdown"', "dataset.source_options={size = 3}")


@pytest.mark.skipif(
    importlib.util.find_spec("grpo_rewards_reasoning_gym") is None, reason="grpo-rewards-reasoning-gym not installed"
)
def test_reasoning_gym_weighted_mix_through_the_trainer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRPO_REWARDS_LOAD_PLUGINS", raising=False)
    monkeypatch.delenv("GRPO_REWARDS_DISABLE_PLUGINS", raising=False)
    reset_registry()
    try:
        cfg = load_config(
            None,
            [
                'dataset.name="source:reasoning_gym"',
                "dataset.source_options={tasks = {leg_counting = 3, basic_arithmetic = 1}, size = 40, seed = 1}",
                'rewards=[{name = "rg"}, {name = "format.think", weight = 0.2}]',
            ],
        )
        rs = load_rewards(cfg["rewards"])
        train, _ = prepare_datasets(cfg["dataset"], rs.required_columns(), seed=0)
        assert len(train) == 40
        tasks = set(train["rg_task"])
        assert tasks == {"leg_counting", "basic_arithmetic"}
        # the generator's own answers score full marks through the reward functions
        completions = [f"<think>ok</think><answer>{a}</answer>" for a in train["answer"]]
        cols = {k: train[k] for k in train.column_names if k != "prompt"}
        assert rs.reward_funcs[0](prompts=train["prompt"], completions=completions, **cols) == [1.0] * 40
    finally:
        reset_registry()
