"""grpo-train configuration: defaults, TOML/YAML files, --set overrides, unknown keys."""

from __future__ import annotations

import pytest
from grpo_rewards_trainer.config import (
    DEFAULT_CONFIG,
    apply_overrides,
    load_config,
    reward_spec,
    validate_grpo_keys,
)

from grpo_rewards.errors import ConfigError


def test_default_config_trains_the_tiny_model_on_bundled_data_with_math_format_and_length() -> None:
    cfg = load_config()
    assert cfg["model"]["name"] == "tiny"
    assert cfg["dataset"]["name"] == "bundled:arithmetic"
    names = [r["name"] for r in cfg["rewards"]]
    assert names == ["math", "format.think", "length.overlong"]
    # The overlong penalty takes the trainer's completion budget (GRPOTrainer fills max_length).
    assert "max_length" not in cfg["rewards"][2].get("options", {})
    # The format reward is a small share: the demo is about task accuracy.
    assert [r["weight"] for r in cfg["rewards"]] == [1.0, 0.1, 0.1]
    assert cfg["heldout"] == {"split": "auto", "reward": "auto", "max_samples": 300, "every": 20}
    assert cfg["output"]["overwrite"] is True  # the embedded demo runs twice in a row
    assert load_config(None, ["output.overwrite=false"])["output"]["overwrite"] is False
    validate_grpo_keys(cfg["grpo"])


def test_toml_file_merges_over_defaults_and_rewards_replace_the_default_list(tmp_path) -> None:
    path = tmp_path / "run.toml"
    path.write_text(
        """
seed = 7
[model]
name = "Qwen/Qwen2.5-0.5B-Instruct"
[model.lora]
r = 16
[[rewards]]
name = "exact"
weight = 2.0
[reward_defaults.outcomes]
error = 0.0
[grpo]
max_steps = 5
"""
    )
    cfg = load_config(path)
    assert cfg["seed"] == 7
    assert cfg["model"]["lora"]["r"] == 16
    assert cfg["model"]["lora"]["alpha"] == DEFAULT_CONFIG["model"]["lora"]["alpha"]  # merged, not replaced
    assert cfg["rewards"] == [{"name": "exact", "weight": 2.0}]
    assert reward_spec(cfg) == {"rewards": [{"name": "exact", "weight": 2.0}], "defaults": {"outcomes": {"error": 0.0}}}
    assert cfg["grpo"]["max_steps"] == 5
    assert cfg["grpo"]["num_generations"] == DEFAULT_CONFIG["grpo"]["num_generations"]


def test_yaml_file_is_accepted(tmp_path) -> None:
    path = tmp_path / "run.yaml"
    path.write_text("backend: transformers\ngrpo:\n  learning_rate: 1.0e-5\ndataset:\n  rename: {solution: answer}\n")
    cfg = load_config(path)
    assert cfg["backend"] == "transformers"
    assert cfg["grpo"]["learning_rate"] == 1e-5
    assert cfg["dataset"]["rename"] == {"solution": "answer"}


def test_set_overrides_parse_toml_literals_and_fall_back_to_strings() -> None:
    cfg = load_config(
        None,
        [
            "grpo.max_steps=3",
            "grpo.learning_rate=1e-4",
            "model.lora.r=8",
            "output.plot=false",
            "output.dir=runs/x",
            'dataset.system_prompt="Answer briefly."',
            "model.lora.target_modules=['q_proj', 'v_proj']",
        ],
    )
    assert cfg["grpo"]["max_steps"] == 3
    assert cfg["grpo"]["learning_rate"] == 1e-4
    assert cfg["model"]["lora"]["r"] == 8
    assert cfg["output"]["plot"] is False
    assert cfg["output"]["dir"] == "runs/x"
    assert cfg["dataset"]["system_prompt"] == "Answer briefly."
    assert cfg["model"]["lora"]["target_modules"] == ["q_proj", "v_proj"]
    assert apply_overrides({}, ["a.b.c=1"]) == {"a": {"b": {"c": 1}}}


@pytest.mark.parametrize(
    ("user", "overrides", "message"),
    [
        ({"modle": {}}, [], "unknown key 'modle'; did you mean 'model'?"),
        ({"model": {"lora": {"rank": 8}}}, [], "unknown key 'model.lora.rank'"),
        ({"dataset": {"sytem_prompt": "x"}}, [], "did you mean 'system_prompt'?"),
        ({}, ["output.plto=false"], "--set: unknown key 'output.plto'; did you mean 'plot'?"),
        ({"backend": "vllm"}, [], "backend must be one of auto, unsloth, transformers"),
        ({"model": "tiny"}, [], "'model' must be a table"),
    ],
)
def test_unknown_or_invalid_keys_are_errors_that_name_the_key(tmp_path, user, overrides, message) -> None:
    from grpo_rewards_trainer.config import resolve_config

    with pytest.raises(ConfigError) as exc:
        resolve_config(user, overrides, source="run.toml")
    assert message in str(exc.value)


def test_grpo_keys_are_checked_against_trl_grpoconfig_fields() -> None:
    with pytest.raises(ConfigError, match=r"unknown key 'grpo.num_generation' .*did you mean 'num_generations'\?"):
        validate_grpo_keys({"num_generation": 4})
    with pytest.raises(ConfigError, match=r"'grpo.output_dir' is set by grpo-train; use output.dir"):
        validate_grpo_keys({"output_dir": "x"})
    validate_grpo_keys({"loss_type": "dr_grpo", "use_vllm": True, "vllm_mode": "colocate", "report_to": "wandb"})


def test_bad_files_name_the_file(tmp_path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[grpo\n")
    with pytest.raises(ConfigError, match=r"bad.toml: invalid TOML"):
        load_config(bad)
    other = tmp_path / "run.ini"
    other.write_text("x")
    with pytest.raises(ConfigError, match=r"must end in .toml, .yaml or .yml"):
        load_config(other)
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        load_config(None, ["grpo.max_steps"])


def test_a_reward_file_named_in_a_config_is_found_next_to_it(tmp_path, monkeypatch) -> None:
    from grpo_rewards import load_rewards

    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "rewards.toml").write_text('[[rewards]]\nname = "exact"\nweight = 0.5\n')
    (tmp_path / "conf" / "run.toml").write_text('rewards = "rewards.toml"\n')
    monkeypatch.chdir(tmp_path)
    cfg = load_config("conf/run.toml")
    rs = load_rewards(reward_spec(cfg))
    assert rs.names == ["exact"] and rs.reward_weights == [0.5]


def test_reward_defaults_reasoning_reaches_the_reward_components() -> None:
    """``--set reward_defaults.reasoning=harmony`` sets the reasoning delimiters of every component
    that has the option (docs/verifiers/reasoning.md); a typo is a ConfigError naming the preset."""
    from grpo_rewards.composition import parse_reward_spec

    cfg = load_config(None, ["reward_defaults.reasoning=harmony"])
    spec = parse_reward_spec(reward_spec(cfg))
    assert {c.name: c.options.get("reasoning") for c in spec.components} == {
        "math": "harmony",
        "format.think": "harmony",
        "length.overlong": "harmony",
    }
    with pytest.raises(ConfigError, match="did you mean 'harmony'"):
        parse_reward_spec(reward_spec(load_config(None, ["reward_defaults.reasoning=harmonie"])))
