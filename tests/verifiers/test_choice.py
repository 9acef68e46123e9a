"""choice: multiple-choice letters, and hedging gets nothing."""

from __future__ import annotations

import pytest

from grpo_rewards import load_rewards
from grpo_rewards.contract import Outcome, Sample
from grpo_rewards.errors import ConfigError
from grpo_rewards.testing import assert_reward_contract, assert_verifier_contract
from grpo_rewards.verifiers.choice import MultipleChoice, find_choice


def score(text: str, gold: object = "C", **opts: object):
    return MultipleChoice(**opts).score(Sample(completion=text, row={"answer": gold}))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "C",
        "(C)",
        "C)",
        "C.",
        "c",
        "(c)",
        "**C**",
        "C) 42",
        "The answer is C",
        "The answer is (C).",
        "The answer is: **(C)**",
        "Answer: C",
        "**Answer:** C",
        "answer: (c)",
        "The correct option is C because the others are too small.",
        "Final answer: \\boxed{C}",
        "\\boxed{\\text{C}}",
        "I choose C.",
        "C is correct.",
        "Option C is the answer",
        "A is wrong. Therefore (C) is the right one.",
        "<think>A looks wrong, B too.</think><answer>C</answer>",
        "<think>The answer is B? No.</think>\nThe answer is C.",
        "Option A is 12, option B is 13.\nThe answer is C",
        "The answer is A. Wait, re-checking: the answer is C.",  # the last statement counts
        "Let me think. I think the answer is C",  # 'I' is not option I
    ],
)
def test_correct_forms(text: str) -> None:
    sc = score(text)
    assert (sc.value, sc.outcome) == (1.0, Outcome.CORRECT), sc.detail
    assert sc.info["answer"] == "C"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("The answer is A or C", "hedged"),
        ("The answer is (A), (C)", "hedged"),
        ("Answer: A/C", "hedged"),
        ("The answer is C and D", "hedged"),
        ("A or C is correct", "hedged between A, C"),
        ("(A) 1\n(B) 2\n(C) 3\n(D) 4", "lists several options"),
        ("<answer>A</answer><answer>C</answer>", "hedging"),
        ("The answer is B", "expected C, got B"),
        ("\\boxed{D}", "expected C, got D"),
        ("\\boxed{A} \\boxed{C}", "hedged between boxed A, C"),
    ],
)
def test_hedges_and_wrong_letters(text: str, why: str) -> None:
    sc = score(text)
    assert (sc.value, sc.outcome) == (0.0, Outcome.WRONG)
    assert why in sc.detail


@pytest.mark.parametrize("text", ["", "   ", "<answer></answer>", "<think>It is C</think>", "I have no idea.", "42"])
def test_no_answer(text: str) -> None:
    sc = score(text)
    assert (sc.value, sc.outcome) == (0.0, Outcome.NO_ANSWER)


def test_identical_answer_blocks_are_one_answer() -> None:
    assert score("<answer>C</answer><answer>(C)</answer>").value == 1.0


def test_letters_limit_the_options() -> None:
    sc = score("The answer is E", gold="A", letters="ABCD")
    assert sc.outcome is Outcome.WRONG and "not one of the options ABCD" in sc.detail
    assert score("The answer is J", gold="J").value == 1.0  # MMLU-Pro's ten options by default


@pytest.mark.parametrize(
    ("gold", "opts", "expected"),
    [("C", {}, 1.0), ("(C)", {}, 1.0), ("C) 42", {}, 1.0), (2, {}, 1.0), (3, {"index_base": 1}, 1.0), (0, {}, 0.0)],
)
def test_gold_forms(gold: object, opts: dict, expected: float) -> None:
    assert score("C", gold=gold, **opts).value == expected


@pytest.mark.parametrize("gold", ["Paris", "", None, 10, True, ["C"]])
def test_bad_gold_is_bad_reference(gold: object) -> None:
    sc = score("C", gold=gold)
    assert (sc.value, sc.outcome) == (None, Outcome.BAD_REFERENCE)


def test_extract_modes() -> None:
    assert score("The answer is C", extract="tag").outcome is Outcome.NO_ANSWER
    assert score("<answer>B</answer> The answer is C", extract="full").value == 1.0


def test_find_choice_reports_how() -> None:
    assert find_choice("\\boxed{B}") == ("B", "boxed")
    assert find_choice("The answer is B") == ("B", "statement")
    assert find_choice("b") == ("B", "bare letter")
    assert find_choice("B) 42") == ("B", "labelled line")
    assert find_choice("Apple") == (None, "no option letter found")


def test_bad_options() -> None:
    for opts in ({"letters": "AAB"}, {"letters": "A1"}, {"index_base": 2}, {"extract": "boxed"}):
        with pytest.raises(ConfigError, match="choice"):
            load_rewards([{"name": "choice", "options": opts}])


def test_contract() -> None:
    rows = [{"prompt": "q", "answer": "B"}] * 3
    assert assert_reward_contract("choice", rows, ["(B)", "A or B", ""]) == [1.0, 0.0, 0.0]
    assert_verifier_contract(MultipleChoice, [Sample(completion="B", row={"answer": "B"})])
