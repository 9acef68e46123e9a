"""Completions crafted to game each verifier, and the low scores they must get.

Each test names the trick, shows an honest completion that earns the reward, and checks that the
gamed one earns less (usually nothing). The verifiers run through ``load_rewards``, the path TRL
takes.
"""

from __future__ import annotations

import random

import pytest

from grpo_rewards import load_rewards
from grpo_rewards.contract import Outcome

HONEST = "<think>\nThe capital of France is Paris.\n</think>\n<answer>\nParis\n</answer>"


def score(spec: object, completions: list[str], gold: object = "Paris", **kw: object):
    rs = load_rewards(spec if isinstance(spec, list) else [spec])
    return rs.score(completions, columns={"answer": [gold] * len(completions)}, **kw)  # type: ignore[arg-type]


def values(spec: object, completions: list[str], gold: object = "Paris") -> list[float | None]:
    out = score(spec, completions, gold)
    return out.values[out.components[0].name]


# -- tag stuffing --------------------------------------------------------------------------------

STUFFED = [
    "<think><think><think>Paris</think></think></think><answer>Paris</answer>",
    "<think>a</think><answer>Paris</answer>" * 3,
    "<think>" * 5 + "</think>" * 5 + "<answer>" * 5 + "Paris" + "</answer>" * 5,
    "<think>a</think><answer>Paris</answer></answer></answer>",
    "</think><think><answer></answer>Paris",  # every tag, wrong order
]


@pytest.mark.parametrize("mode", ["strict", "soft"])
def test_tag_stuffing_earns_less_than_the_format(mode: str) -> None:
    spec = {"name": "format.think", "options": {"mode": mode}}
    honest, *gamed = values(spec, [HONEST, *STUFFED])
    assert honest == 1.0
    # stuffing never earns the full reward, and stuffing every tag earns at most half of it
    assert all(v is not None and v < honest for v in gamed), gamed
    assert max(gamed[:3]) <= 0.5, gamed  # type: ignore[type-var]
    if mode == "strict":
        assert gamed == [0.0] * len(STUFFED)


def test_tag_stuffing_general_tags() -> None:
    spec = {"name": "format.tags", "options": {"tags": ["reasoning", "answer"], "mode": "soft"}}
    honest, stuffed = values(spec, ["<reasoning>r</reasoning><answer>x</answer>", "<reasoning>" * 20 + "<answer>" * 20])
    assert (honest, stuffed) == (1.0, 0.0)


# -- multiple answer blocks -------------------------------------------------------------------------

MULTI = "<think>not sure</think><answer>Paris</answer><answer>Lyon</answer><answer>Marseille</answer>"


def test_multiple_answer_blocks() -> None:
    out = score(
        ["exact", "format.think", {"name": "format.think", "alias": "soft", "options": {"mode": "soft"}}], [MULTI]
    )
    assert out.scores["exact"][0].outcome is Outcome.WRONG and "hedging" in out.scores["exact"][0].detail
    assert out.values["format.think"] == [0.0]
    assert out.values["soft"] == [0.5]  # only the think section's two tags count
    assert out.totals == [0.5]


def test_multiple_answer_blocks_choice_and_json() -> None:
    assert values("choice", ["<answer>A</answer><answer>B</answer><answer>C</answer><answer>D</answer>"], "B") == [0.0]
    assert values("format.json", ['<answer>{"a": 1}</answer><answer>[1]</answer>']) == [0.0]


def test_an_answer_hidden_in_the_thinking_does_not_count() -> None:
    assert values("exact", ["<think>Paris? <answer>Paris</answer></think><answer>Lyon</answer>"]) == [0.0]
    assert values("exact", ["<think>unclosed ... <answer>Paris</answer>"]) == [0.0]


# -- the gold as a substring ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        "Paris Lyon Marseille Nice Toulouse",
        "Paris or Lyon",
        "not Paris",
        "Paris, Lyon",
        "The capital is Paris, unless it is Lyon",
        "ParisParis",
    ],
)
def test_gold_as_substring_is_wrong(answer: str) -> None:
    assert values("exact", [f"<answer>{answer}</answer>"]) == [0.0]


@pytest.mark.parametrize(
    "answer", ["ABCD", "A B C D", "The answer is A, B, C or D", "A/B", "(A) (B) (C) (D)", "\\boxed{A}\\boxed{B}"]
)
def test_listing_every_option_is_wrong(answer: str) -> None:
    out = score("choice", [answer], gold="B")
    assert out.values["choice"] == [0.0], out.scores["choice"][0]


# -- empty answers -----------------------------------------------------------------------------------

EMPTY = [
    "",
    "   ",
    "<think>long reasoning</think><answer></answer>",
    "<answer> </answer>",
    "<think></think><answer>.</answer>",
]


def test_empty_answers_get_nothing() -> None:
    out = score(
        [
            "exact",
            "choice",
            "format.think",
            {"name": "format.think", "alias": "soft", "options": {"mode": "soft"}},
            "format.json",
            "language",
        ],
        EMPTY,
        gold="A",
    )
    for name in ("exact", "choice", "format.think", "format.json"):
        assert out.values[name] == [0.0] * len(EMPTY), (name, out.scores[name])
    assert all(v <= 0.5 for v in out.values["soft"])  # type: ignore[operator]
    assert out.values["language"][:2] == [0.0, 0.0]
    assert out.scores["exact"][2].outcome is Outcome.NO_ANSWER


def test_an_empty_wrong_answer_is_the_worst_cosine_length() -> None:
    spec = [{"name": "exact", "weight": 0.0}, {"name": "length.cosine", "options": {"correctness": "exact"}}]
    out = score(spec, ["", "<answer>Lyon</answer>", HONEST])
    empty, wrong, right = out.values["length.cosine"]
    assert empty == pytest.approx(-1.0)
    assert empty < wrong < 0 < right  # type: ignore[operator]


# -- padding to a target length with repeats ---------------------------------------------------------


def padded(n: int) -> str:
    return "<think>" + "Let me check again. " * n + "</think><answer>Lyon</answer>"


def honest_long() -> str:
    """About 400 words of varied reasoning (a seeded sample of a 300-word vocabulary)."""
    rng = random.Random(0)
    vocab = [f"{stem}{suffix}" for stem in ("city", "river", "map", "road", "king", "law") for suffix in range(50)]
    return "<think>" + " ".join(rng.choice(vocab) for _ in range(400)) + "</think><answer>Lyon</answer>"


def test_padding_to_a_target_length_with_repeats() -> None:
    spec = {"name": "length.target", "options": {"min_length": 300, "max_length": 600, "unit": "words"}}
    pad, honest = values(spec, [padded(100), honest_long()])
    assert honest == 1.0
    assert pad == 0.0  # 400 words, but nearly all of them repeats


def test_padding_is_penalised_by_repetition() -> None:
    pad, honest = values("repetition", [padded(100), honest_long()])
    assert pad is not None and pad < -0.9
    assert honest is not None and honest > -0.1


def test_padding_a_wrong_answer_to_max_length_does_not_pay_in_a_recipe() -> None:
    # The cosine reward penalises long wrong answers less than short ones, which invites padding;
    # the paper pairs it with the repetition penalty, and so does a recipe here.
    spec = [
        {"name": "exact", "weight": 1.0},
        {"name": "length.cosine", "options": {"correctness": "exact", "max_length": 200}, "weight": 1.0},
        {"name": "repetition", "weight": 1.0},
    ]
    short_wrong = "<think>I think Lyon.</think><answer>Lyon</answer>"
    out = score(spec, [short_wrong, padded(40)], completion_ids=[[0] * 12, [0] * 200])
    honest_total, padded_total = out.totals
    assert out.values["length.cosine"][1] > out.values["length.cosine"][0]  # type: ignore[operator]
    assert padded_total < honest_total  # type: ignore[operator]


def test_overlong_padding_is_punished() -> None:
    spec = {"name": "length.overlong", "options": {"max_length": 100, "cache_length": 20}}
    out = score(spec, ["x", "x"], completion_ids=[[1] * 50, [1] * 100])
    assert out.values["length.overlong"] == [0.0, -1.0]


# -- completions built to stall the parsers -----------------------------------------------------------

STALLERS = {
    "unclosed answer tags": "<answer>" * 20_000,
    "unclosed fences": "```python\n" * 20_000,
    "spaces after 'answer is'": "The answer is" + " " * 50_000 + "?",
    "asterisks after 'answer is'": "The answer is " + "*" * 50_000,
    "a long hedge": "A or " * 20_000,
    "unclosed display math": "\\[" * 50_000,
    "trailing punctuation": "Paris" + "!" * 50_000 + "x",
    "deeply nested JSON": "[" * 100_000 + "]" * 100_000,
}


@pytest.mark.parametrize("text", list(STALLERS.values()), ids=list(STALLERS))
def test_pathological_completions_are_scored_not_stalled(text: str) -> None:
    # Every parser is linear in the completion's length (before, several of these took minutes
    # through quadratic or cubic regular-expression backtracking); here they must simply finish
    # with an honest verdict.
    out = score(["exact", "choice", "format.think", "format.json", "language", "repetition"], [text], gold="A")
    for name, scores in out.scores.items():
        assert scores[0].outcome is not Outcome.ERROR, (name, scores[0].detail)
    assert out.values["exact"] == [0.0] and out.values["choice"] == [0.0] and out.values["format.think"] == [0.0]
