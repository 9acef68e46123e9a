"""Tests for {{ cookiecutter.verifier_name }}, using grpo-rewards' helpers for plugin authors."""

from __future__ import annotations

from grpo_rewards import Sample
from grpo_rewards.testing import assert_reward_contract, assert_verifier_contract, registered_plugin

import {{ cookiecutter.module_name }}
from {{ cookiecutter.module_name }} import {{ cookiecutter.class_name }}

ROWS = [{"prompt": "What is the capital of France?", "answer": "Paris"}] * 4
COMPLETIONS = ["<answer>Paris</answer>", "<answer>paris</answer>", "<answer>Lyon</answer>", "Paris"]


def test_scores_like_trl_calls_it() -> None:
    with registered_plugin({{ cookiecutter.module_name }}, name="{{ cookiecutter.entry_point }}") as registry:
        assert "{{ cookiecutter.verifier_name }}" in registry.verifiers
        values = assert_reward_contract("{{ cookiecutter.verifier_name }}", ROWS, COMPLETIONS)
    assert values == [1.0, 1.0, 0.0, 0.0]


def test_outcomes_and_contract() -> None:
    samples = [Sample(c, row=r) for c, r in zip(COMPLETIONS, ROWS, strict=True)]
    scores = assert_verifier_contract({{ cookiecutter.class_name }}, samples)
    assert [s.outcome.value for s in scores] == ["correct", "correct", "wrong", "no_answer"]
    missing = {{ cookiecutter.class_name }}().score(Sample("<answer>x</answer>", row={"answer": ""}))
    assert missing.outcome.value == "bad_reference"
