"""exact: normalized equality with the gold answer(s), never containment."""

from __future__ import annotations

import pytest

from grpo_rewards import load_rewards
from grpo_rewards.contract import Outcome, Sample
from grpo_rewards.errors import ConfigError
from grpo_rewards.testing import assert_reward_contract, assert_verifier_contract
from grpo_rewards.verifiers.exact import ExactMatch


def score(text: str, gold: object = "Paris", **opts: object):
    return ExactMatch(**opts).score(Sample(completion=text, row={"answer": gold}))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "<answer>Paris</answer>",
        "<think>Lyon? no.</think><answer>Paris</answer>",
        "<answer> paris </answer>",
        "<answer>PARIS</answer>",
        "<answer>Paris.</answer>",  # trailing sentence punctuation
        "<answer>**Paris**</answer>",  # markdown wrapper
        '<answer>"Paris"</answer>',
        "<answer>Paris</answer><answer>paris</answer>",  # identical blocks are one answer
        "Paris",  # no tag: the completion is the answer
        "<think>The answer is Lyon</think>Paris",
    ],
)
def test_correct(text: str) -> None:
    sc = score(text)
    assert (sc.value, sc.outcome) == (1.0, Outcome.CORRECT)
    assert sc.info["answer"] == "paris"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("<answer>Lyon</answer>", "expected 'paris', got 'lyon'"),
        ("<answer>Paris is the capital</answer>", "got 'paris is the capital'"),  # gold as a substring
        ("<answer>Paris, Lyon, Marseille</answer>", "got 'paris, lyon, marseille'"),
        ("<answer>Paris</answer><answer>Lyon</answer>", "2 different <answer> blocks (hedging)"),
        ("<answer>Paris</answer><answer></answer>", "(hedging)"),
        ("The answer is Paris", "got 'the answer is paris'"),
        ("<answer>P a r i s</answer>", "got 'p a r i s'"),
    ],
)
def test_wrong(text: str, why: str) -> None:
    sc = score(text)
    assert (sc.value, sc.outcome) == (0.0, Outcome.WRONG)
    assert why in sc.detail


@pytest.mark.parametrize(
    ("text", "opts", "why"),
    [
        ("", {}, "empty answer"),
        ("<answer>  </answer>", {}, "empty <answer> block"),
        ("<answer>.</answer>", {}, "empty <answer> block"),
        ("<think>Paris</think>", {}, "empty answer"),  # the answer was only thought, never given
        ("<think>unclosed Paris", {}, "empty answer"),
        ("Paris", {"extract": "tag"}, "no <answer> block"),
    ],
)
def test_no_answer(text: str, opts: dict, why: str) -> None:
    sc = score(text, **opts)
    assert (sc.value, sc.outcome) == (0.0, Outcome.NO_ANSWER)
    assert sc.detail == why


def test_multiple_gold_answers_and_numbers() -> None:
    assert score("<answer>planet jupiter</answer>", gold=["Jupiter", "planet Jupiter"]).value == 1.0
    assert score("<answer>Saturn</answer>", gold=["Jupiter", "planet Jupiter"]).value == 0.0
    assert score("<answer>42</answer>", gold=42).value == 1.0
    assert score("<answer>42.</answer>", gold="42").value == 1.0
    assert score("<answer>-5</answer>", gold="5").value == 0.0  # leading signs are never trimmed
    assert score("<answer>5</answer>", gold="-5").value == 0.0
    assert score("<answer>3.14</answer>", gold="3.14").value == 1.0


def test_normalization_options() -> None:
    assert score("<answer>paris</answer>", case_sensitive=True).value == 0.0
    assert score("<answer>Paris</answer>", case_sensitive=True).value == 1.0
    assert score("<answer>Paris.</answer>", trim_punctuation=False).value == 0.0
    assert score("<answer>St. Louis</answer>", gold="St Louis").value == 0.0
    assert score("<answer>St. Louis</answer>", gold="St Louis", ignore_punctuation=True).value == 1.0
    assert score("<answer>New   York</answer>", gold="New York").value == 1.0
    assert score("<answer>New   York</answer>", gold="New York", collapse_whitespace=False).value == 0.0
    assert score("<answer>ＰＡＲＩＳ</answer>").value == 1.0  # NFKC: full-width letters
    assert score("<result>Paris</result>", tag="result").value == 1.0
    assert score("<answer>Lyon</answer> Paris", extract="full").value == 0.0


@pytest.mark.parametrize("gold", ["", "  ", None, [], [None], {"a": 1}, True])
def test_bad_gold_is_bad_reference(gold: object) -> None:
    sc = score("<answer>Paris</answer>", gold=gold)
    assert (sc.value, sc.outcome) == (None, Outcome.BAD_REFERENCE)


def test_missing_column_is_bad_reference_through_the_reward_set() -> None:
    out = load_rewards(["exact"]).score(["<answer>Paris</answer>"], columns={"gold": ["Paris"]})
    sc = out.scores["exact"][0]
    assert sc.outcome is Outcome.BAD_REFERENCE and "missing column 'answer'" in sc.detail
    assert load_rewards([{"name": "exact", "options": {"column": "gold"}}]).score(
        ["<answer>Paris</answer>"], columns={"gold": ["Paris"]}
    ).values["exact"] == [1.0]


def test_bad_options() -> None:
    with pytest.raises(ConfigError, match="extract must be"):
        load_rewards([{"name": "exact", "options": {"extract": "boxed"}}])


def test_contract() -> None:
    rows = [{"prompt": "q", "answer": "Paris"}] * 3
    values = assert_reward_contract("exact", rows, ["<answer>Paris</answer>", "Paris is nice", ""])
    assert values == [1.0, 0.0, 0.0]
    assert_verifier_contract(ExactMatch, [Sample(completion="Paris", row={"answer": "Paris"})])
