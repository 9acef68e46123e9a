"""``length.cosine`` and ``repetition`` against TRL 1.16's own ``get_cosine_scaled_reward`` and
``get_repetition_penalty_reward``, called on the same inputs (not a copy of their code).

In TRL 1.16 both live in ``trl/rewards/``: ``get_cosine_scaled_reward`` in
``accuracy_rewards.py`` (correctness by math-verify through ``accuracy_reward``, length =
``len(completion_ids)``, clamped at ``max_len``) and ``get_repetition_penalty_reward`` in
``other_rewards.py`` (n-grams of ``completion_ids``). The matching options are
``length.cosine`` with ``correctness="math"`` and ``max_length=max_len`` (tokens are counted from
``completion_ids``), and ``repetition`` with ``unit="tokens"``. The tests skip when the installed
TRL lacks ``trl.rewards.get_repetition_penalty_reward`` (before 1.x); the ``train`` extra and CI
install TRL.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from typing import Any

import pytest

from grpo_rewards import load_rewards
from grpo_rewards.contract import Outcome, Sample
from grpo_rewards.rewardset import RewardSet
from grpo_rewards.verifiers.repetition import RepetitionPenalty

trl_rewards = pytest.importorskip("trl.rewards")
if not hasattr(trl_rewards, "get_repetition_penalty_reward") or not hasattr(trl_rewards, "get_cosine_scaled_reward"):
    pytest.skip("this TRL has no trl.rewards.get_repetition_penalty_reward (TRL 1.16 has)", allow_module_level=True)

TOL = 1e-9


# -- repetition: TRL's get_repetition_penalty_reward (trl/rewards/other_rewards.py) -------------------


def ours_repetition(ids: Sequence[Sequence[int]], ngram_size: int, max_penalty: float) -> list[float | None]:
    v = RepetitionPenalty(unit="tokens", ngram_size=ngram_size, max_penalty=max_penalty)
    return [v.score(Sample(completion="", completion_ids=list(x))).value for x in ids]


def assert_close(ours: Sequence[float | None], theirs: Sequence[float | None]) -> None:
    assert len(ours) == len(theirs)
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        if b is None:
            assert a is None, f"case {i}: TRL gives None, we give {a}"
        else:
            assert a is not None and abs(a - b) <= TOL, f"case {i}: ours {a}, TRL {b}"


HAND_CASES: list[list[int]] = [
    [1, 2, 3, 4],
    [5, 5, 5, 5, 5],  # TRL's docstring example: [0.0, -0.75] with n=2
    [],
    [7],
    [7, 7],
    [1, 2, 3, 1, 2, 3],
    [1, 2, 1, 2, 1, 2, 1, 2],
    list(range(50)) * 3,
    [0] * 1000,
]


@pytest.mark.parametrize(("ngram_size", "max_penalty"), [(3, -1.0), (2, -1.0), (1, -1.0), (5, -0.5), (2, 0.0)])
def test_repetition_equals_trl_on_hand_cases(ngram_size: int, max_penalty: float) -> None:
    theirs = trl_rewards.get_repetition_penalty_reward(ngram_size=ngram_size, max_penalty=max_penalty)(HAND_CASES)
    assert_close(ours_repetition(HAND_CASES, ngram_size, max_penalty), theirs)


def test_repetition_equals_trl_on_trls_docstring_example() -> None:
    ids = [[1, 2, 3, 4], [5, 5, 5, 5, 5]]
    assert trl_rewards.get_repetition_penalty_reward(ngram_size=2, max_penalty=-1.0)(ids) == [0.0, -0.75]
    assert ours_repetition(ids, 2, -1.0) == [0.0, -0.75]


def test_repetition_equals_trl_on_random_token_sequences() -> None:
    rng = random.Random(20)
    ids = [[rng.randrange(rng.choice([2, 5, 50, 30000])) for _ in range(rng.randrange(0, 300))] for _ in range(300)]
    for n, p in ((3, -1.0), (2, -0.7), (4, -2.0)):
        assert_close(ours_repetition(ids, n, p), trl_rewards.get_repetition_penalty_reward(n, p)(ids))


def test_repetition_through_a_reward_set_reads_completion_ids_like_trl() -> None:
    rs = load_rewards([{"name": "repetition", "options": {"unit": "tokens", "ngram_size": 2}}])
    texts = ["same text"] * len(HAND_CASES)  # the text is not read with unit='tokens'
    ours = rs.score(texts, completion_ids=HAND_CASES).values["repetition"]
    assert_close(ours, trl_rewards.get_repetition_penalty_reward(ngram_size=2)(HAND_CASES))


def test_both_refuse_a_positive_penalty() -> None:
    with pytest.raises(ValueError, match="positive"):
        trl_rewards.get_repetition_penalty_reward(max_penalty=0.5)
    with pytest.raises(ValueError, match="penalty"):
        RepetitionPenalty(max_penalty=0.5)


def test_the_default_unit_is_words_as_open_r1_not_token_ids_as_trl() -> None:
    # Deliberate (docs/verifiers/repetition.md): without completion_ids (plain scoring, the CLI)
    # there are no token ids; the default counts words like open-r1 and the paper's
    # whitespace-free fallback. With unit='tokens' the values are TRL's, as above.
    sc = RepetitionPenalty().score(Sample(completion="a b c d", completion_ids=[5, 5, 5, 5]))
    assert sc.value == 0.0 and sc.info["source"] == "words"
    assert trl_rewards.get_repetition_penalty_reward()([[5, 5, 5, 5]]) == [-0.5]


# -- cosine: TRL's get_cosine_scaled_reward (trl/rewards/accuracy_rewards.py) -------------------------


@pytest.fixture(scope="module")
def cosine_sets() -> Iterator[dict[tuple[Any, ...], RewardSet]]:
    made: dict[tuple[Any, ...], RewardSet] = {}
    yield made
    for rs in made.values():
        rs.close()


def ours_cosine(
    made: dict[tuple[Any, ...], RewardSet],
    texts: list[str],
    solutions: list[str],
    ids: list[list[int]],
    **opts: Any,
) -> tuple[list[float | None], list[Outcome]]:
    key = tuple(sorted(opts.items()))
    if key not in made:
        made[key] = load_rewards(
            [
                {"name": "math", "weight": 0.0, "options": {"timeout": 20}},
                {"name": "length.cosine", "options": {"correctness": "math", **opts}},
            ]
        )
    out = made[key].score(texts, completion_ids=ids, columns={"answer": solutions})
    return out.values["length.cosine"], [s.outcome for s in out.scores["math"]]


def theirs_cosine(texts: list[str], solutions: list[str], ids: list[list[int]], **kw: Any) -> list[float | None]:
    fn = trl_rewards.get_cosine_scaled_reward(**kw)
    return fn([[{"role": "assistant", "content": t}] for t in texts], solutions, ids)  # type: ignore[no-any-return]


RIGHT, WRONG = r"The value is \boxed{\frac{1}{3}}.", r"The value is \boxed{\frac{1}{2}}."


def test_cosine_equals_trl_on_trls_docstring_example(cosine_sets: dict[tuple[Any, ...], RewardSet]) -> None:
    texts, sols, ids = [r"\boxed{\frac{1}{3}}", r"\boxed{\frac{1}{2}}"], [r"\frac{1}{3}"] * 2, [[1] * 50] * 2
    assert theirs_cosine(texts, sols, ids, max_len=100) == pytest.approx([0.75, -0.75], abs=TOL)
    ours, _ = ours_cosine(cosine_sets, texts, sols, ids, max_length=100)
    assert_close(ours, theirs_cosine(texts, sols, ids, max_len=100))


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"min_value_wrong": -2.0, "max_value_wrong": 0.0, "min_value_correct": 0.1, "max_value_correct": 3.0},
        {"min_value_wrong": -0.5, "max_value_wrong": -1.0},  # bounds given the other way round
    ],
)
def test_cosine_equals_trl_over_lengths_and_verdicts(
    cosine_sets: dict[tuple[Any, ...], RewardSet], values: dict[str, float]
) -> None:
    lengths = [0, 1, 10, 25, 50, 75, 99, 100, 101, 250]  # max_len 100: clamped beyond it, as TRL
    texts = [RIGHT, WRONG] * len(lengths)
    ids = [[3] * n for n in lengths for _ in (0, 1)]
    sols = [r"\frac{1}{3}"] * len(texts)
    ours, verdicts = ours_cosine(cosine_sets, texts, sols, ids, max_length=100, **values)
    assert verdicts == [Outcome.CORRECT, Outcome.WRONG] * len(lengths)
    assert_close(ours, theirs_cosine(texts, sols, ids, max_len=100, **values))


def test_cosine_equals_trl_on_the_verdicts_that_are_not_plain(cosine_sets: dict[tuple[Any, ...], RewardSet]) -> None:
    texts = [
        "I do not know.",  # no answer: wrong for both
        r"So $x = \boxed{2}$ and that is it",  # correct against "2"
        r"\boxed{4}",  # correct against "$2+2$"
        r"\boxed{42}",  # the gold is words: TRL gives None (unparseable gold), we give None (bad_reference)
        r"\boxed{0.5}",  # correct against \frac{1}{2}
    ]
    sols = ["7", "2", "$2+2$", "forty two", r"\frac{1}{2}"]
    ids = [[1] * n for n in (5, 40, 80, 10, 120)]
    ours, verdicts = ours_cosine(cosine_sets, texts, sols, ids, max_length=100)
    assert verdicts == [Outcome.NO_ANSWER, Outcome.CORRECT, Outcome.CORRECT, Outcome.BAD_REFERENCE, Outcome.CORRECT]
    assert_close(ours, theirs_cosine(texts, sols, ids, max_len=100))


def test_cosine_equals_trl_on_random_lengths(cosine_sets: dict[tuple[Any, ...], RewardSet]) -> None:
    rng = random.Random(116)
    for max_len in (1, 7, 512):
        lengths = [rng.randrange(0, 2 * max_len + 2) for _ in range(12)]
        texts = [rng.choice((RIGHT, WRONG)) for _ in lengths]
        ids = [[rng.randrange(1000) for _ in range(n)] for n in lengths]
        sols = [r"\frac{1}{3}"] * len(texts)
        ours, _ = ours_cosine(cosine_sets, texts, sols, ids, max_length=max_len)
        assert_close(ours, theirs_cosine(texts, sols, ids, max_len=max_len))
