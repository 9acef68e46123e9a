"""TRL 1.16's published reward test cases, scored by our verifiers, asserting OUR value.

Source: huggingface/trl ``tests/test_rewards.py`` at commit f2cd57710ae345ea6428ae95363267fcf38a3dc8
(Apache-2.0, Copyright 2025 The HuggingFace Team). Its ``trl/rewards/`` is byte-identical to the
``trl==1.16.0`` sdist on PyPI, whose sdist ships no tests. Cases copied, not code. TRL's rewards
map to ours, called through ``grpo_rewards.load_rewards``:

| TRL 1.16 | ours |
|---|---|
| ``think_format_reward`` | ``format.think`` with ``answer_tag = ""`` (DeepSeek-R1 style) |
| ``get_soft_overlong_punishment`` | ``length.overlong`` |
| ``get_repetition_penalty_reward`` (token ids) | ``repetition`` with ``unit = "tokens"`` |
| ``accuracy_reward`` | ``math`` (``column = "solution"``) |
| ``reasoning_accuracy_reward`` | ``math`` with ``reasoning = { close = ..., prefilled = true }`` |
| ``get_cosine_scaled_reward`` | ``length.cosine`` after ``math`` (tokens from ``completion_ids``) |

tests/peers/test_trl_length_repetition.py compares the last two with TRL's own functions on
many more inputs. Disagreements are in ``DISAGREEMENTS`` and docs/verifiers/peers.md.
"""

from __future__ import annotations

import pickle
import threading
from typing import Any

import pytest

from grpo_rewards import load_rewards
from grpo_rewards.errors import ConfigError

DISAGREEMENTS: dict[str, tuple[Any, str]] = {
    "think-empty-reasoning": (
        0.0,
        "an empty <think></think> is the cheapest way to collect a format reward without reasoning; "
        "format.* reject empty sections by default (allow_empty = true gives TRL's 1.0)",
    ),
}


def expected(case: str, peer_value: Any) -> Any:
    return DISAGREEMENTS[case][0] if case in DISAGREEMENTS else peer_value


# -- think_format_reward -----------------------------------------------------------------------

THINK = [{"name": "format.think", "options": {"answer_tag": ""}}]
THINK_CASES = [
    ("think-one-line", "<think>This is my reasoning.</think>This is my answer.", 1.0),
    ("think-multiline", "<think>\nThis is my reasoning.\n</think>\nThis is my answer.", 1.0),
    ("think-multiline-2", "<think>\nThis is\nmy reasoning.\n</think>\nThis is my answer.", 1.0),
    ("think-other-tags-inside", "<think>\nThis is <some tag> my reasoning.</think>\nThis is my answer.", 1.0),
    ("think-empty-reasoning", "<think></think>\nThis is my answer.", 1.0),
    ("think-no-closing", "<think>\nThis is my reasoning.\nThis is my answer.", 0.0),
    ("think-no-closing-2", "<think>This is my reasoning.\nThis is my answer.", 0.0),
    ("think-no-tags", "This is my reasoning. This is my answer.", 0.0),
    ("think-no-tags-2", "This is my reasoning.\nThis is my answer.", 0.0),
    ("think-no-opening", "This is my reasoning.</think>\nThis is my answer.", 0.0),
    ("think-no-opening-2", "This is my reasoning.</think>This is my answer.", 0.0),
    ("think-tag-in-the-middle", "This<think>is my reasoning.</think>\nThis is my answer.", 0.0),
    ("think-nested", "<think>This is<think>my reasoning.</think></think>This is my answer.", 0.0),
    ("think-two-blocks", "<think>This is</think>\nmy\n<think>reasoning.</think>\nThis is my answer.", 0.0),
]


@pytest.mark.parametrize(("case", "text", "peer"), THINK_CASES, ids=[c[0] for c in THINK_CASES])
def test_think_format_reward(peer_score: Any, case: str, text: str, peer: float) -> None:
    assert peer_score(THINK, [text]) == [expected(case, peer)]


def test_think_format_allow_empty_gives_trls_value(peer_score: Any) -> None:
    spec = [{"name": "format.think", "options": {"answer_tag": "", "allow_empty": True}}]
    assert peer_score(spec, ["<think></think>\nThis is my answer."]) == [1.0]


def test_think_format_mixed_batch(peer_score: Any) -> None:
    texts = [
        "<think>This is my reasoning.</think>This is my answer.",
        "<think>\nThis is my reasoning.\n</think>\nThis is my answer.",
        "<think>This is my reasoning.\nThis is my answer.",
        "This is my reasoning. This is my answer.",
    ]
    assert peer_score(THINK, texts) == [1.0, 1.0, 0.0, 0.0]


# -- get_soft_overlong_punishment ---------------------------------------------------------------

OVERLONG = [{"name": "length.overlong", "options": {"max_length": 100, "cache_length": 20}}]


@pytest.mark.parametrize(("n", "peer"), [(50, 0.0), (110, -1.0), (90, -0.5)], ids=["short", "long", "intermediate"])
def test_soft_overlong_punishment(peer_score: Any, n: int, peer: float) -> None:
    assert peer_score(OVERLONG, ["x"], completion_ids=[[1] * n]) == [pytest.approx(peer, abs=1e-4)]


# -- get_repetition_penalty_reward (n-grams of completion_ids) ----------------------------------


def repetition(n: int, max_penalty: float) -> list[Any]:
    return [{"name": "repetition", "options": {"ngram_size": n, "max_penalty": max_penalty, "unit": "tokens"}}]


REPETITION = [
    ("no-repetition", 2, -1.0, [1, 2, 3, 4], 0.0),
    ("full-repetition", 2, -1.0, [5, 5, 5, 5, 5], -0.75),
    ("partial-repetition", 2, -1.0, [1, 2, 1, 2, 1, 2], -0.6),
    ("shorter-than-ngram", 3, -1.0, [1, 2], 0.0),
    ("exactly-ngram-size", 3, -1.0, [1, 2, 3], 0.0),
    ("empty", 3, -1.0, [], 0.0),
    ("max-penalty-scales", 2, -0.5, [5, 5, 5, 5, 5], -0.375),
    ("bigrams", 2, -1.0, [1, 2, 3, 1, 2, 3], -0.4),
    ("trigrams", 3, -1.0, [1, 2, 3, 1, 2, 3], -0.25),
]


@pytest.mark.parametrize(("case", "n", "max_penalty", "ids", "peer"), REPETITION, ids=[c[0] for c in REPETITION])
def test_repetition_penalty(
    peer_score: Any, case: str, n: int, max_penalty: float, ids: list[int], peer: float
) -> None:
    (value,) = peer_score(repetition(n, max_penalty), ["text"], completion_ids=[ids])
    assert value == pytest.approx(expected(case, peer))


def test_repetition_batch(peer_score: Any) -> None:
    ids = [[1, 2, 3, 4], [5, 5, 5, 5, 5], [9]]
    assert peer_score(repetition(2, -1.0), ["a", "b", "c"], completion_ids=ids) == pytest.approx([0.0, -0.75, 0.0])


def test_repetition_positive_max_penalty_is_refused() -> None:
    with pytest.raises(ConfigError, match="max_penalty"):
        load_rewards(repetition(2, 0.5))


def test_repetition_picklable_and_named() -> None:
    rs = load_rewards(repetition(2, -1.0))
    try:
        f = pickle.loads(pickle.dumps(rs.reward_funcs[0]))
        out = f(prompts=["x"], completions=["5 5 5 5 5"], completion_ids=[[5, 5, 5, 5, 5]])
        assert out == [pytest.approx(-0.75)]
        assert f.__name__ == "repetition"  # TRL's is "repetition_penalty_reward": ours is the component's name
    finally:
        rs.close()


# -- accuracy_reward ----------------------------------------------------------------------------

ACC = [{"name": "math", "options": {"column": "solution"}}]
ACCURACY = [
    ("accuracy-correct-latex-gold", r"\boxed{\frac{63}{400}}", r"\frac{63}{400}", 1.0),
    ("accuracy-correct-plain-gold", r"\boxed{\frac{63}{400}}", "63/400", 1.0),
    ("accuracy-wrong", r"\boxed{\frac{64}{400}}", r"\frac{63}{400}", 0.0),
    ("accuracy-wrong-no-latex", r"\boxed{3}", "6", 0.0),
    ("accuracy-unparsable-gold-42", "Answer is forty two.", "Answer is forty two.", None),
    ("accuracy-unparsable-gold-43", r"Some other content. \boxed{43}.", "Answer is forty three.", None),
]


@pytest.mark.parametrize(("case", "completion", "solution", "peer"), ACCURACY, ids=[c[0] for c in ACCURACY])
def test_accuracy_reward(peer_score: Any, case: str, completion: str, solution: str, peer: float | None) -> None:
    assert peer_score(ACC, [completion], {"solution": solution}) == [expected(case, peer)]


def test_accuracy_reward_in_worker_thread(peer_score: Any) -> None:
    results: list[Any] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            results.extend(peer_score(ACC, [r"\boxed{\frac{1}{3}}"], {"solution": r"\frac{1}{3}"}))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    t = threading.Thread(target=target)
    t.start()
    t.join()
    assert not errors
    assert results == [1.0]


# -- reasoning_accuracy_reward ------------------------------------------------------------------


def reasoning_acc(close: str = "</think>") -> list[Any]:
    return [{"name": "math", "options": {"column": "solution", "reasoning": {"close": close, "prefilled": True}}}]


REASONING = [
    ("reasoning-correct", r"<think> Reasoning content </think> \boxed{\frac{63}{400}}", r"\frac{63}{400}", 1.0),
    ("reasoning-correct-prefilled", r"Reasoning content </think> \boxed{\frac{63}{400}}", r"\frac{63}{400}", 1.0),
    ("reasoning-incorrect", r"<think> Reasoning content </think> \boxed{\frac{64}{400}}", r"\frac{63}{400}", 0.0),
    (
        "reasoning-answer-only-in-reasoning",
        r"<think> My answer is \boxed{42} </think> Some other text.",
        r"\boxed{42}",
        0.0,
    ),
    (
        "reasoning-wrong-answer-after-right-reasoning",
        r"<think> The answer is \boxed{42} </think> Here's a wrong answer: \boxed{43}.",
        r"\boxed{42}",
        0.0,
    ),
    ("reasoning-incomplete", r"<think> Incomplete reasoning without closing tag", r"\frac{63}{400}", 0.0),
    (
        "reasoning-missing",
        r"Correct answer \frac{63}{400} but completely missing reasoning content",
        r"\frac{63}{400}",
        0.0,
    ),
    ("reasoning-unparsable-gold", r"<think> Reasoning content </think> \boxed{42}", "forty two", None),
]


@pytest.mark.parametrize(("case", "completion", "solution", "peer"), REASONING, ids=[c[0] for c in REASONING])
def test_reasoning_accuracy_reward(
    peer_score: Any, case: str, completion: str, solution: str, peer: float | None
) -> None:
    assert peer_score(reasoning_acc(), [completion], {"solution": solution}) == [expected(case, peer)]


def test_reasoning_accuracy_custom_delimiter(peer_score: Any) -> None:
    text = r"<REASONING_START> Reasoning content </REASONING_END> \boxed{\frac{63}{400}}"
    assert peer_score(reasoning_acc("</REASONING_END>"), [text], {"solution": r"\frac{63}{400}"}) == [1.0]


# -- get_cosine_scaled_reward (length = len(completion_ids), max_len=100) -----------------------


def cosine(**options: Any) -> list[Any]:
    return [
        {"name": "math", "weight": 0, "options": {"column": "solution"}},
        {"name": "length.cosine", "options": {"max_length": 100, **options}},
    ]


THIRD, HALF = r"\boxed{\frac{1}{3}}", r"\boxed{\frac{1}{2}}"
SOL = {"solution": r"\frac{1}{3}"}
COSINE = [
    ("cosine-correct-shorter-more", [THIRD, THIRD], [25, 75], [0.92678, 0.57322]),
    ("cosine-wrong-longer-less", [HALF, HALF], [25, 75], [-0.92678, -0.57322]),
    ("cosine-midpoint", [THIRD, HALF], [50, 50], [0.75, -0.75]),
    ("cosine-correct-bounds", [THIRD, THIRD], [0, 100], [1.0, 0.5]),
    ("cosine-wrong-bounds", [HALF, HALF], [0, 100], [-1.0, -0.5]),
    ("cosine-clamped-past-max", [THIRD, HALF], [200, 200], [0.5, -0.5]),
]


@pytest.mark.parametrize(("case", "texts", "lengths", "peer"), COSINE, ids=[c[0] for c in COSINE])
def test_cosine_scaled_reward(
    peer_score: Any, case: str, texts: list[str], lengths: list[int], peer: list[float]
) -> None:
    values = peer_score(cosine(), texts, SOL, completion_ids=[[1] * n for n in lengths])
    assert values == [pytest.approx(v, abs=1e-4) for v in expected(case, peer)]


def test_cosine_unparsable_gold(peer_score: Any) -> None:
    assert peer_score(cosine(), [r"\boxed{42}"], {"solution": "forty two"}, completion_ids=[[1] * 50]) == [None]


def test_cosine_custom_bounds(peer_score: Any) -> None:
    spec = cosine(min_value_correct=0.0, max_value_correct=2.0)
    assert peer_score(spec, [THIRD], SOL, completion_ids=[[1] * 50]) == [pytest.approx(1.0)]


def test_repetition_extra_kwargs_are_ignored(peer_score: Any) -> None:
    # TRL: "Trainers pass prompts/completions/etc. as kwargs; the reward must accept and ignore them"
    rs = load_rewards(repetition(2, -1.0))
    try:
        out = rs.reward_funcs[0](
            prompts=["x"], completions=[[{"content": "5 5 5 5 5"}]], completion_ids=[[5, 5, 5, 5, 5]], other=[1]
        )
        assert out == [pytest.approx(-0.75)]
    finally:
        rs.close()


def test_cosine_picklable() -> None:
    rs = load_rewards(cosine())
    try:
        f = pickle.loads(pickle.dumps(rs.reward_funcs[-1]))
        out = f(prompts=["p"], completions=[THIRD], solution=[r"\frac{1}{3}"], completion_ids=[[1] * 50])
        assert out == [pytest.approx(0.75)]
    finally:
        rs.close()
