"""open-r1's published reward test cases, scored by our verifiers, asserting OUR value.

Source: huggingface/open-r1 ``tests/test_rewards.py`` at commit 21b48fbe4604dc875493d716de83476adb11e248
(the file's last change; repository HEAD 1416fa0cf21595d2083b399a2a0bbddd7f6e9563), Apache-2.0,
Copyright 2025 The HuggingFace Team. The cases (inputs and open-r1's expected values) are copied;
the code is not. Each open-r1 reward maps to one of ours, called through
``grpo_rewards.load_rewards`` the way TRL calls it:

| open-r1 | ours |
|---|---|
| ``accuracy_reward`` | ``math`` (``column = "solution"``) |
| ``format_reward`` | ``format.tags`` (strict ``<think>``/``<answer>``) |
| ``reasoning_steps_reward`` | ``reasoning_steps`` (in ``test_peer_open_r1_steps_tags.py``) |
| ``tag_count_reward`` | ``format.tag_count`` (in ``test_peer_open_r1_steps_tags.py``) |
| ``get_cosine_scaled_reward`` | ``length.cosine`` (``unit = "chars"``, as open-r1 counts characters) |
| ``len_reward`` | ``length.group`` (Kimi k1.5) |
| ``get_repetition_penalty_reward`` | ``repetition`` |
| ``get_soft_overlong_punishment`` | ``length.overlong`` |

Where our value differs, the case is in ``DISAGREEMENTS`` with the reason, and listed in
docs/verifiers/peers.md; ``get_code_format_reward`` and ``get_reward_funcs`` are not covered
(see that page).
"""

from __future__ import annotations

from typing import Any

import pytest

from grpo_rewards.errors import ConfigError

PEER = "open-r1"
ACC = [{"name": "math", "options": {"column": "solution"}}]
FORMAT = [{"name": "format.tags"}]

# case id -> (our value, why we deliberately differ)
DISAGREEMENTS: dict[str, tuple[Any, str]] = {
    "len-unparseable-solution": (
        [None, None],
        "an unparseable gold is bad_reference, which gives no signal (None) to math and to the "
        "length reward that depends on it; open-r1 counts every completion correct, paying the "
        "shortest 0.5 for a row nobody can check",
    ),
}


def expected(case: str, peer_value: Any) -> Any:
    return DISAGREEMENTS[case][0] if case in DISAGREEMENTS else peer_value


# -- accuracy_reward ---------------------------------------------------------------------------

ACCURACY = [
    ("accuracy-correct", r"\boxed{\frac{63}{400}}", r"\frac{63}{400}", 1.0),
    ("accuracy-wrong", r"\boxed{\frac{64}{400}}", r"\frac{63}{400}", 0.0),
    ("accuracy-wrong-no-latex", r"\boxed{3}", "6", 0.0),
]


@pytest.mark.parametrize(("case", "completion", "solution", "peer"), ACCURACY, ids=[c[0] for c in ACCURACY])
def test_accuracy_reward(peer_score: Any, case: str, completion: str, solution: str, peer: float) -> None:
    assert peer_score(ACC, [completion], {"solution": solution}) == [expected(case, peer)]


def test_accuracy_multiple_completions(peer_score: Any) -> None:
    completions = [r"\boxed{\frac{63}{400}}", r"\boxed{\frac{64}{400}}"]
    assert peer_score(ACC, completions, {"solution": r"\frac{63}{400}"}) == [1.0, 0.0]


# -- format_reward -----------------------------------------------------------------------------

FORMATS = [
    ("format-correct", "<think>\nSome reasoning\n</think>\n<answer>\nThe answer\n</answer>", 1.0),
    ("format-only-think", "<think>Only thinking</think>", 0.0),
    ("format-only-answer", "<answer>Only answer</answer>", 0.0),
    ("format-no-tags", "No tags at all", 0.0),
    ("format-missing-closing", "<think>Missing closing</think><answer>Missing closing", 0.0),
    ("format-wrong-order", "<think>Wrong order</answer><answer>Wrong order</think>", 0.0),
    (
        "format-specific-multiline",
        "<think>\nI will count each distinct object in the image:\n1. Purple scooter\n2. Red bicycle\n"
        "3. Green motorcycle\n4. Gray sedan\n5. Yellow school bus\n6. Small green double-decker bus\n"
        "7. Small red car\n8. Small purple car\n9. Small gray dirt bike\n\nThere are 9 distinct objects in total."
        "\n</think>\n<answer>\n9\n</answer>",
        1.0,
    ),
]


@pytest.mark.parametrize(("case", "completion", "peer"), FORMATS, ids=[c[0] for c in FORMATS])
def test_format_reward(peer_score: Any, case: str, completion: str, peer: float) -> None:
    assert peer_score(FORMAT, [completion]) == [expected(case, peer)]


# -- get_cosine_scaled_reward (lengths in characters: the content is padded with spaces) --------

COSINE = [
    {"name": "math", "weight": 0, "options": {"column": "solution"}},
    {
        "name": "length.cosine",
        "options": {
            "min_value_wrong": -1.0,
            "max_value_wrong": -0.5,
            "min_value_correct": 0.5,
            "max_value_correct": 1.0,
            "max_length": 100,
            "unit": "chars",
        },
    },
]
COSINE_CASES = [
    ("cosine-short-correct", r"\boxed{\frac{63}{400}}", 20, 0.943),
    ("cosine-long-correct", r"\boxed{\frac{63}{400}}", 80, 0.547),
    ("cosine-short-wrong", r"\boxed{\frac{64}{400}}", 20, -0.942),
    ("cosine-long-wrong", r"\boxed{\frac{64}{400}}", 80, -0.547),
]


@pytest.mark.parametrize(("case", "content", "length", "peer"), COSINE_CASES, ids=[c[0] for c in COSINE_CASES])
def test_cosine_scaled_reward(peer_score: Any, case: str, content: str, length: int, peer: float) -> None:
    padded = content + " " * (length - len(content))
    (value,) = peer_score(COSINE, [padded], {"solution": r"\frac{63}{400}"})
    assert value == pytest.approx(expected(case, peer), abs=0.005)  # open-r1: places=2


# -- len_reward (Kimi k1.5): open-r1 asserts orderings and a few values ---------------------------

GROUP = [
    {"name": "math", "weight": 0, "options": {"column": "solution"}},
    {"name": "length.group", "options": {"unit": "chars"}},
]
C63, C64 = r"\boxed{\frac{63}{400}}", r"\boxed{\frac{64}{400}}"
PAD = "  " + "x" * 10
SOL = {"solution": r"\frac{63}{400}"}


def test_len_reward_same_length(peer_score: Any) -> None:
    assert peer_score(GROUP, [C63, C64], SOL) == [0.0, 0.0]


def test_len_reward_different_lengths_correct(peer_score: Any) -> None:
    short, long = peer_score(GROUP, [C63, C63 + PAD], SOL)
    assert short > long
    assert short == pytest.approx(0.5)


def test_len_reward_different_lengths_incorrect(peer_score: Any) -> None:
    short, long = peer_score(GROUP, [C64, C64 + PAD], SOL)
    assert short <= 0.0 and long <= 0.0
    assert short > long


def test_len_reward_mixed_correctness(peer_score: Any) -> None:
    r = peer_score(GROUP, [C63, C63 + PAD, C64, C64 + PAD], SOL)
    assert r[0] > 0.0
    assert r[2] > r[1] >= r[3]
    assert r[2] <= 0.0 and r[3] <= 0.0
    assert r[0] > r[1] and r[2] > r[3]


def test_len_reward_unparseable_solution(peer_score: Any) -> None:
    # open-r1 treats an unparseable gold as correct: [0.5, < 0.5]
    values = peer_score(GROUP, [r"\boxed{answer}", r"\boxed{answer} " + "x" * 10], {"solution": "unparseable_latex"})
    assert values == expected("len-unparseable-solution", [0.5, pytest.approx(-0.5)])


# -- get_repetition_penalty_reward (words) ----------------------------------------------------------


def repetition(ngram_size: int, max_penalty: float, **extra: Any) -> list[Any]:
    return [{"name": "repetition", "options": {"ngram_size": ngram_size, "max_penalty": max_penalty, **extra}}]


REPETITION = [
    ("repetition-none", 2, -1.0, "this is a test sentence", 0.0),
    ("repetition-full", 2, -1.0, "this this this this this", -0.75),
    ("repetition-partial", 2, -1.0, "this is a this is a test", -1 / 3),
    ("repetition-multiple-1", 3, -0.5, "this is a test", 0.0),
    ("repetition-multiple-2", 3, -0.5, "test test test test", -0.25),
    ("repetition-empty", 2, -1.0, "", 0.0),
    ("repetition-ngram-3", 3, -2.0, "this is a this is a test", -0.4),
    ("repetition-one-word", 3, -1.0, "word", 0.0),
    ("repetition-two-words", 3, -1.0, "two words", 0.0),
    ("repetition-three-words", 3, -1.0, "three different words", 0.0),
    ("repetition-three-word-repetition", 3, -1.0, "word word word word", -0.5),
    ("repetition-four-words", 3, -1.0, "one two one two", 0.0),
    ("repetition-five-words", 3, -0.5, "A B C A B", 0.0),
    ("repetition-six-words", 3, -1.0, "A B C A B C", -0.25),
    ("repetition-long", 3, -1.0, "A B C A B C E F G A B C A B C", -0.3846),
    ("repetition-long-none", 3, -1.0, "A B C D E F G H I J K L", 0.0),
    ("repetition-language-en", 2, -1.0, "that that that that that", -0.75),
]


@pytest.mark.parametrize(("case", "n", "max_penalty", "text", "peer"), REPETITION, ids=[c[0] for c in REPETITION])
def test_repetition_penalty(peer_score: Any, case: str, n: int, max_penalty: float, text: str, peer: float) -> None:
    (value,) = peer_score(repetition(n, max_penalty), [text])
    assert value == pytest.approx(expected(case, peer), abs=1e-4)


def test_repetition_mixed_case(peer_score: Any) -> None:
    a, b = peer_score(repetition(2, -1.0), ["This is A Test", "this IS a test"])
    assert a == pytest.approx(b)


def test_repetition_language_zh(peer_score: Any) -> None:
    # open-r1's language="zh" segments with jieba: our segmenter option (the zh extra)
    pytest.importorskip("jieba")
    assert peer_score(repetition(2, -1.0, segmenter="jieba"), ["这个这个这个这个这个"]) == [-0.75]


@pytest.mark.parametrize("max_penalty", [1.0, 1.5])
def test_repetition_positive_max_penalty_is_refused(max_penalty: float) -> None:
    from grpo_rewards import load_rewards

    with pytest.raises(ConfigError, match="max_penalty"):  # open-r1: ValueError "should not be positive"
        load_rewards(repetition(2, max_penalty))


# -- get_soft_overlong_punishment (tokens, from completion_ids) ---------------------------------------

OVERLONG = [{"name": "length.overlong", "options": {"max_length": 100, "cache_length": 20}}]


@pytest.mark.parametrize(
    ("case", "n", "peer"),
    [("overlong-short", 50, 0.0), ("overlong-long", 110, -1.0), ("overlong-intermediate", 90, -0.5)],
)
def test_soft_overlong_punishment(peer_score: Any, case: str, n: int, peer: float) -> None:
    assert peer_score(OVERLONG, ["x"], completion_ids=[[1] * n]) == [pytest.approx(expected(case, peer), abs=1e-4)]
