"""Parsing reward specifications: strings, dicts, TOML files, and their errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from grpo_rewards import ConfigError, Outcome, parse_reward_spec


def test_strings_with_and_without_weights() -> None:
    spec = parse_reward_spec(["math", "format.think:0.2", "exact: -1"])
    assert [(c.verifier, c.name, c.weight) for c in spec.components] == [
        ("math", "math", 1.0),
        ("format.think", "format.think", 0.2),
        ("exact", "exact", -1.0),
    ]


def test_single_string_is_one_component() -> None:
    assert parse_reward_spec("exact:2").components[0].weight == 2.0


def test_default_policy_skips_errors_and_bad_references() -> None:
    c = parse_reward_spec(["exact"]).components[0]
    assert c.policy_value(Outcome.ERROR, None) is None
    assert c.policy_value(Outcome.BAD_REFERENCE, None) is None
    assert c.policy_value(Outcome.WRONG, 0.0) == 0.0
    assert c.policy_value(Outcome.TIMEOUT, -0.5) == -0.5


def test_dict_form_with_options_outcomes_gate_alias() -> None:
    spec = parse_reward_spec(
        {
            "defaults": {"outcomes": {"timeout": 0.0}},
            "rewards": [
                {"name": "exact", "alias": "ans", "options": {"column": "gold"}, "outcomes": {"no_answer": -1}},
                {"name": "test.length", "weight": 0.5, "gate": {"on": "ans", "outcomes": ["correct", "partial"]}},
            ],
        }
    )
    ans, length = spec.components
    assert ans.name == "ans" and ans.verifier == "exact" and ans.options == {"column": "gold"}
    assert ans.policy_value(Outcome.NO_ANSWER, 0.0) == -1.0
    assert ans.policy_value(Outcome.TIMEOUT, 0.7) == 0.0
    assert length.gate is not None
    assert length.gate.on == "ans" and length.gate.outcomes == (Outcome.CORRECT, Outcome.PARTIAL)
    assert length.gate.otherwise == 0.0


def test_toml_file(tmp_path: Path) -> None:
    p = tmp_path / "r.toml"
    p.write_text(
        """
[[rewards]]
name = "exact"
weight = 2
outcomes = { bad_reference = "skip", error = 0.0 }

[[rewards]]
name = "test.length"
gate = { on = "exact", otherwise = "skip" }
"""
    )
    spec = parse_reward_spec(p)
    assert spec.source == str(p)
    assert spec.components[0].policy_value(Outcome.ERROR, None) == 0.0
    assert spec.components[1].gate is not None and spec.components[1].gate.otherwise is None
    # the same file by its path as a string
    assert parse_reward_spec(str(p)).names == ["exact", "test.length"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ([], "empty"),
        (["exact:abc"], "weight must be a number"),
        (["exact", "exact"], "used twice"),
        ([{"name": "exact", "wieght": 1}], "unknown key 'wieght'; did you mean 'weight'"),
        ([{"name": "exact", "outcomes": {"timout": 0}}], "unknown outcome 'timout'; did you mean 'timeout'"),
        ([{"name": "exact", "outcomes": {"timeout": "zero"}}], "finite number or 'skip'"),
        ([{"name": "exact", "gate": {"on": "math"}}], "gate on 'math', which is not a component"),
        ([{"name": "exact", "gate": {"on": "exact"}}], "cannot gate on itself"),
        ([{"weight": 1}], "'name'"),
        ({"reward": []}, "unknown key 'reward'; did you mean 'rewards'"),
        ([3], "a reward is a string"),
    ],
)
def test_errors_name_the_problem_and_where(spec: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")) as ei:
        parse_reward_spec(spec)
    if isinstance(spec, list) and spec and not isinstance(spec[0], str | int):
        assert "rewards[0]" in str(ei.value)


def test_toml_errors_name_the_file(tmp_path: Path) -> None:
    p = tmp_path / "bad.toml"
    p.write_text("[[rewards]]\nname = \n")
    with pytest.raises(ConfigError, match="bad.toml: invalid TOML"):
        parse_reward_spec(p)
    with pytest.raises(ConfigError, match="does not exist"):
        parse_reward_spec(tmp_path / "missing.toml")
