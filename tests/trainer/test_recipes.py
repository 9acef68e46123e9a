"""The shipped recipes stay valid: known keys, real GRPOConfig fields, registered rewards."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

pytest.importorskip("trl")

from grpo_rewards_trainer.backend import check_model_source
from grpo_rewards_trainer.config import load_config, reward_spec, validate_grpo_keys

from grpo_rewards import load_rewards

RECIPES = Path(__file__).resolve().parents[2] / "trainer" / "recipes"


@pytest.mark.parametrize("recipe", sorted(RECIPES.glob("*.toml")), ids=lambda p: p.name)
def test_recipe_is_a_valid_config(recipe: Path) -> None:
    cfg = load_config(recipe)
    validate_grpo_keys(cfg["grpo"], str(recipe))
    rewards = load_rewards(reward_spec(cfg))
    assert "math" in rewards.names
    assert check_model_source(cfg["model"]["name"]) == "hub"
    # The overlong penalty is measured against the completion budget the recipe generates with.
    overlong = [r for r in cfg["rewards"] if r["name"] == "length.overlong"]
    assert overlong and overlong[0]["options"]["max_length"] == cfg["grpo"]["max_completion_length"]
    rewards.close()


def test_recipes_exist() -> None:
    assert any(RECIPES.glob("*unsloth*.toml"))
    assert {p.name for p in (RECIPES / "accelerate").glob("*.yaml")} >= {
        "multi_gpu.yaml",
        "deepspeed_zero2.yaml",
        "deepspeed_zero3.yaml",
        "fsdp.yaml",
    }


@pytest.mark.parametrize("path", sorted((RECIPES / "accelerate").glob("*.yaml")), ids=lambda p: p.name)
def test_accelerate_configs_parse(path: Path) -> None:
    data = yaml.safe_load(path.read_text())
    assert data["distributed_type"] in {"MULTI_GPU", "DEEPSPEED", "FSDP"}
    assert data["num_processes"] >= 2
