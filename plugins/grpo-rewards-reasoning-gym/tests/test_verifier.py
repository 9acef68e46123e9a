"""rg.<task>: reasoning-gym's scorers behind grpo-rewards' answer rules (no substring credit, hedges wrong)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import reasoning_gym
from grpo_rewards_reasoning_gym import TASK_VERIFIERS, ReasoningGymVerifier, dump_entry, load_entry, reasoning_gym_rows

import grpo_rewards
from grpo_rewards import Sample
from grpo_rewards.plugins import Registry
from grpo_rewards.testing import assert_reward_contract, assert_verifier_contract


def _rows(task: str, n: int = 3, seed: int = 5) -> list[dict[str, Any]]:
    return reasoning_gym_rows(task=task, size=n, seed=seed)


def _score(spec: Any, rows: list[dict[str, Any]], completions: list[str]) -> list[grpo_rewards.Score]:
    whole = isinstance(spec, list) or (isinstance(spec, dict) and "rewards" in spec)
    rs = grpo_rewards.load_rewards(spec if whole else [spec])
    result = rs.score(completions, columns={"rg_entry": [r["rg_entry"] for r in rows]})
    return result.scores[rs.names[0]]


def test_gold_answer_is_correct_and_reasoning_inside_think_is_ignored(registry: Registry) -> None:
    rows = _rows("leg_counting")
    gold = [r["answer"] for r in rows]
    scores = _score("rg.leg_counting", rows, [f"<think>maybe 7? no</think>\n<answer> {g} </answer>" for g in gold])
    assert [(s.value, s.outcome.value) for s in scores] == [(1.0, "correct")] * 3
    # an <answer> inside <think> is not the answer
    s = _score("rg.leg_counting", rows[:1], [f"<think><answer>{gold[0]}</answer></think> I don't know"])[0]
    assert (s.value, s.outcome.value) == (0.0, "wrong")


def test_reasoning_delimiters_come_from_the_compositions_defaults(registry: Registry) -> None:
    rows = _rows("leg_counting", n=1)
    g = rows[0]["answer"]
    harmony = (
        f"<|channel|>analysis<|message|><answer>7</answer>?<|end|>"
        f"<|start|>assistant<|channel|>final<|message|><answer>{g}</answer>"
    )
    spec = {"defaults": {"reasoning": "harmony"}, "rewards": ["rg.leg_counting"]}
    assert _score(spec, rows, [harmony])[0].outcome.value == "correct"
    # read with the default <think> delimiters, the draft in the analysis channel is a second answer
    assert _score("rg.leg_counting", rows, [harmony])[0].outcome.value == "wrong"


def test_gold_inside_a_longer_answer_gets_nothing(registry: Registry) -> None:
    rows = _rows("leg_counting", n=1)
    g = rows[0]["answer"]
    for answer in (f"{g} or {int(g) + 2}", f"maybe {g}", f"{g}0", f"{g}."):
        s = _score("rg.leg_counting", rows, [f"<answer>{answer}</answer>"])[0]
        assert (s.value, s.outcome.value) == (0.0, "wrong"), answer
        assert "only part of a longer answer" in s.detail
    # reasoning-gym's own scorer would have paid len(gold)/len(answer) for these
    ds = reasoning_gym.create_dataset("leg_counting", size=1, seed=5)
    assert ds.score_answer(f"{g} or 1", load_entry(rows[0]["rg_entry"])) > 0


def test_strict_guard_matters_where_the_task_scorer_is_lenient(registry: Registry) -> None:
    # knights_knaves' scorer finds the gold statements inside a hedge and pays 1.0
    rows = _rows("knights_knaves", n=1)
    hedge = f"<answer>{rows[0]['answer']} or 12345</answer>"
    lenient = _score({"name": "rg.knights_knaves", "options": {"strict": False}}, rows, [hedge])[0]
    assert lenient.value == 1.0
    strict = _score("rg.knights_knaves", rows, [hedge])[0]
    assert (strict.value, strict.outcome.value) == (0.0, "wrong")


def test_several_different_answer_blocks_are_a_hedge(registry: Registry) -> None:
    rows = _rows("basic_arithmetic", n=1)
    g = rows[0]["answer"]
    s = _score("rg.basic_arithmetic", rows, [f"<answer>{g}</answer> or <answer>12345</answer>"])[0]
    assert (s.value, s.outcome.value) == (0.0, "wrong")
    assert "hedging" in s.detail
    same = _score("rg.basic_arithmetic", rows, [f"<answer>{g}</answer> so <answer> {g}</answer>"])[0]
    assert same.outcome.value == "correct"


def test_missing_answer_and_extract_tag(registry: Registry) -> None:
    rows = _rows("basic_arithmetic", n=1)
    g = rows[0]["answer"]
    # extract="auto": no tag, the whole completion (less <think>) is the answer
    assert _score("rg.basic_arithmetic", rows, [f"<think>work</think>{g}"])[0].outcome.value == "correct"
    tag_only = {"name": "rg.basic_arithmetic", "options": {"extract": "tag"}}
    s = _score(tag_only, rows, [g])[0]
    assert (s.value, s.outcome.value) == (0.0, "no_answer")
    assert _score("rg.basic_arithmetic", rows, ["<answer>  </answer>"])[0].outcome.value == "no_answer"


def test_partial_credit_is_reasoning_gyms_and_can_be_turned_off(registry: Registry) -> None:
    rows = _rows("coin_flip", n=6, seed=1)
    golds = [r["answer"] for r in rows]
    wrong = next(g for g in golds if g != golds[0] and golds[0] not in g)
    s = _score("rg.coin_flip", rows[:1], [f"<answer>{wrong}</answer>"])[0]
    assert s.outcome.value == "partial" and 0 < s.value < 1  # type: ignore[operator]
    off = _score(
        {"name": "rg.coin_flip", "options": {"partial_credit": False}}, rows[:1], [f"<answer>{wrong}</answer>"]
    )
    assert (off[0].value, off[0].outcome.value) == (0.0, "wrong")


def test_scorer_that_raises_is_unparseable(registry: Registry) -> None:
    rows = _rows("prime_factorization", n=1)
    s = _score("rg.prime_factorization", rows, ["<answer>two times x</answer>"])[0]
    assert (s.value, s.outcome.value) == (0.0, "unparseable")
    assert "prime_factorization scorer rejected the answer" in s.detail


def test_bad_references_are_reported_not_scored(registry: Registry) -> None:
    arith = _rows("basic_arithmetic", n=1)
    s = _score("rg.leg_counting", arith, ["<answer>1</answer>"])[0]
    assert (s.value, s.outcome.value) == (None, "bad_reference")
    assert "from reasoning-gym task 'basic_arithmetic', not 'leg_counting'" in s.detail
    broken = [{"rg_entry": "{not json"}]
    s = _score("rg.leg_counting", broken, ["<answer>1</answer>"])[0]
    assert s.outcome.value == "bad_reference" and "not JSON" in s.detail
    s = _score("rg", [{"rg_entry": json.dumps({"question": "q", "answer": "1", "metadata": {}})}], ["1"])[0]
    assert s.outcome.value == "bad_reference" and "names no task" in s.detail


def test_generic_rg_takes_the_task_from_each_row(registry: Registry) -> None:
    rows = reasoning_gym_rows(tasks={"leg_counting": 1, "basic_arithmetic": 1}, size=8, seed=3)
    assert {r["rg_task"] for r in rows} == {"leg_counting", "basic_arithmetic"}
    scores = _score("rg", rows, [f"<answer>{r['answer']}</answer>" for r in rows])
    assert all(s.outcome.value == "correct" for s in scores)


def test_entries_round_trip_exactly_where_plain_json_breaks_scoring() -> None:
    # arc_agi compares a parsed board (tuples) with metadata["output"]; plain JSON makes lists.
    ds = reasoning_gym.create_dataset("arc_agi", size=1, seed=2)
    entry = ds[0]
    assert ds.score_answer(entry["answer"], json.loads(json.dumps(entry))) < 1.0
    restored = load_entry(dump_entry(entry))
    assert restored == entry
    assert ds.score_answer(entry["answer"], restored) == 1.0
    graph = reasoning_gym.create_dataset("graph_color", size=1, seed=2)[0]  # int dict keys
    assert load_entry(dump_entry(graph)) == graph


def test_reward_and_verifier_contracts(registry: Registry) -> None:
    rows = _rows("leg_counting", n=4)
    completions = [f"<answer>{r['answer']}</answer>" for r in rows[:2]] + ["<answer>1</answer>", "no idea"]
    values = assert_reward_contract("rg.leg_counting", rows, completions)
    assert values == [1.0, 1.0, 0.0, 0.0]
    samples = [Sample(c, row={"rg_entry": r["rg_entry"]}) for c, r in zip(completions, rows, strict=True)]
    v = ReasoningGymVerifier(task="leg_counting")
    v.score(samples[0])  # builds and caches the task's dataset; pickling must drop it
    assert_verifier_contract(v, samples)
    # the generated rg.<task> classes are real, importable classes with their own names
    cls = TASK_VERIFIERS["leg_counting"]
    assert (cls.name, cls.__module__) == ("rg.leg_counting", "grpo_rewards_reasoning_gym.verifier")
    assert [s.outcome.value for s in assert_verifier_contract(cls, samples)] == ["correct", "correct", "wrong", "wrong"]


def test_unknown_options_are_config_errors(registry: Registry) -> None:
    with pytest.raises(grpo_rewards.ConfigError, match="extract must be"):
        grpo_rewards.load_rewards([{"name": "rg.leg_counting", "options": {"extract": "full"}}])
    with pytest.raises(grpo_rewards.ConfigError, match="no option 'colum'; did you mean 'column'"):
        grpo_rewards.load_rewards([{"name": "rg.leg_counting", "options": {"colum": "x"}}])
    with pytest.raises(grpo_rewards.ConfigError, match="no option 'task'"):  # fixed by rg.<task>
        grpo_rewards.load_rewards([{"name": "rg.leg_counting", "options": {"task": "gcd"}}])
