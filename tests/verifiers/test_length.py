"""length.overlong, length.cosine, length.group and length.target against hand-computed values."""

from __future__ import annotations

import math
import pickle

import pytest

from grpo_rewards import load_rewards
from grpo_rewards.contract import Outcome, Sample, Score
from grpo_rewards.errors import ConfigError
from grpo_rewards.testing import assert_reward_contract, assert_verifier_contract
from grpo_rewards.verifiers.length import CosineLength, GroupLength, OverlongPenalty, TargetLength


def ids(n: int) -> list[int]:
    return list(range(n))


def tok(n: int, **kw: object) -> Sample:
    """A sample whose completion is ``n`` tokens long (and ``n`` characters)."""
    return Sample(completion="x" * n, completion_ids=ids(n), **kw)  # type: ignore[arg-type]


# -- length.overlong: DAPO Eq. 13 ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "expected"),
    [
        (0, 0.0),  # empty completion
        (50, 0.0),
        (80, 0.0),  # exactly L_max - L_cache: no penalty yet
        (81, -0.05),  # (80 - 81) / 20
        (90, -0.5),  # TRL's documented example
        (99, -0.95),
        (100, -1.0),  # exactly L_max
        (101, -1.0),
        (5000, -1.0),
    ],
)
def test_overlong_values(length: int, expected: float) -> None:
    sc = OverlongPenalty(max_length=100, cache_length=20).score(tok(length))
    assert sc.value == pytest.approx(expected)
    assert sc.outcome is Outcome.SCORED
    assert sc.info["source"] == "completion_ids" and sc.info["length"] == length


def test_overlong_without_cache_is_a_step() -> None:
    v = OverlongPenalty(max_length=100, cache_length=0)
    assert [v.score(tok(n)).value for n in (0, 100, 101)] == [0.0, 0.0, -1.0]


def test_overlong_length_sources() -> None:
    v = OverlongPenalty(max_length=10, cache_length=4)
    # no completion_ids: characters, and it says so
    sc = v.score(Sample(completion="abcdefgh"))
    assert (sc.value, sc.info["source"], sc.info["unit"]) == (pytest.approx(-0.5), "characters", "chars")
    assert "characters" in sc.detail
    # completion_ids win over characters
    assert v.score(Sample(completion="abcdefgh", completion_ids=[1, 2])).value == 0.0

    class WordTokenizer:
        def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
            assert add_special_tokens is False
            return list(range(len(text.split())))

    with_tok = OverlongPenalty(max_length=10, cache_length=4, tokenizer=WordTokenizer())
    sc = with_tok.score(Sample(completion="one two three four five six seven eight nine"))
    assert (sc.value, sc.info["source"], sc.info["length"]) == (pytest.approx(-0.75), "tokenizer", 9)
    # unit="chars" ignores completion_ids; unit="tokens" without ids or tokenizer is an error
    assert OverlongPenalty(max_length=10, cache_length=4, unit="chars").score(tok(3)).info["source"] == "characters"
    with pytest.raises(ValueError, match="no completion_ids and no 'tokenizer'"):
        OverlongPenalty(unit="tokens").score(Sample(completion="abc"))
    words = OverlongPenalty(max_length=10, cache_length=4, unit="words").score(
        Sample(completion="一二三 four five six")
    )
    assert words.info["length"] == 6 and words.value == pytest.approx(0.0)


@pytest.mark.slow  # importing transformers takes ~10 s on a CI machine
def test_overlong_hf_tokenizer_by_path(tmp_path) -> None:
    pytest.importorskip("transformers")
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import AutoTokenizer, PreTrainedTokenizerFast

    vocab = {"[UNK]": 0, "hello": 1, "world": 2}
    t = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    t.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(tokenizer_object=t, unk_token="[UNK]").save_pretrained(str(tmp_path))
    assert AutoTokenizer.from_pretrained(str(tmp_path)).encode("hello world", add_special_tokens=False) == [1, 2]
    v = OverlongPenalty(max_length=4, cache_length=2, tokenizer=str(tmp_path))
    sc = v.score(Sample(completion="hello world hello"))
    assert (sc.info["length"], sc.info["source"], sc.value) == (3, "tokenizer", pytest.approx(-0.5))
    # the loaded tokenizer is not pickled; the copy loads it again
    copy = pickle.loads(pickle.dumps(v))
    assert copy._tok is None
    assert copy.score(Sample(completion="hello")).value == 0.0


@pytest.mark.parametrize(
    "opts",
    [{"max_length": 0}, {"cache_length": -1}, {"max_length": 10, "cache_length": 11}, {"unit": "bytes"}],
)
def test_overlong_bad_options(opts: dict) -> None:
    with pytest.raises(ConfigError, match="length.overlong"):
        load_rewards([{"name": "length.overlong", "options": opts}])


# -- length.cosine: Yeo et al. 2025 with open-r1's parameters -------------------------------------


def with_correctness(n: int, outcome: Outcome, name: str = "math") -> Sample:
    return tok(n, scores={name: Score(1.0 if outcome is Outcome.CORRECT else 0.0, outcome)})


@pytest.mark.parametrize(
    ("length", "correct", "expected"),
    [
        (0, True, 1.0),  # empty + correct: max_value_correct
        (250, True, 0.5 + 0.25 * (1 + math.cos(math.pi / 4))),  # 0.92678
        (500, True, 0.75),
        (1000, True, 0.5),  # exactly max_len: min_value_correct
        (3000, True, 0.5),  # clamped
        (0, False, -1.0),  # short wrong answers are penalised most
        (500, False, -0.75),
        (1000, False, -0.5),
        (3000, False, -0.5),
    ],
)
def test_cosine_values(length: int, correct: bool, expected: float) -> None:
    outcome = Outcome.CORRECT if correct else Outcome.WRONG
    sc = CosineLength().score(with_correctness(length, outcome))
    assert sc.value == pytest.approx(expected)
    assert sc.info["length"] == length


def test_cosine_reads_outcomes_and_exceed_value() -> None:
    v = CosineLength(max_length=100, exceed_value=-2.0)
    assert v.score(with_correctness(100, Outcome.CORRECT)).value == -2.0  # exactly max: r_e
    assert v.score(with_correctness(99, Outcome.CORRECT)).value > 0.5
    for wrongish in (Outcome.WRONG, Outcome.NO_ANSWER, Outcome.UNPARSEABLE, Outcome.PARTIAL, Outcome.TIMEOUT):
        assert v.score(with_correctness(0, wrongish)).value == -1.0
    for no_signal in (Outcome.ERROR, Outcome.BAD_REFERENCE, Outcome.SKIPPED):
        sc = v.score(with_correctness(10, no_signal))
        assert (sc.value, sc.outcome) == (None, Outcome.SKIPPED)
        assert no_signal.value in sc.detail
    with pytest.raises(ValueError, match="no score for it"):
        v.score(tok(10))


def test_cosine_takes_correctness_through_the_reward_set() -> None:
    rs = load_rewards(
        [
            {"name": "exact", "weight": 0.0},
            {"name": "length.cosine", "options": {"correctness": "exact", "max_length": 40}},
        ]
    )
    assert rs.verifier("length.cosine").dependencies() == ["exact"]
    right = "<answer>Paris</answer>"  # 22 characters
    out = rs.score([right, "<answer>Lyon</answer>", right], columns={"answer": ["Paris", "Paris", ""]})
    c = out.values["length.cosine"]
    assert c[0] == pytest.approx(0.5 + 0.25 * (1 + math.cos(math.pi * 22 / 40)))
    assert c[1] == pytest.approx(-0.5 - 0.25 * (1 + math.cos(math.pi * 21 / 40)))
    assert c[2] is None and out.scores["length.cosine"][2].outcome is Outcome.SKIPPED  # bad reference: no signal
    assert out.scores["length.cosine"][0].info["source"] == "characters"
    # with completion_ids from TRL, tokens are counted
    out = rs.score([right], completion_ids=[[1, 2, 3, 4]], columns={"answer": ["Paris"]})
    assert out.values["length.cosine"][0] == pytest.approx(0.5 + 0.25 * (1 + math.cos(math.pi * 4 / 40)))


def test_cosine_gives_no_signal_when_the_gold_is_not_math() -> None:
    # It gave -0.75 (a short wrong answer) when math scored every completion wrong against
    # "forty two"; the gold is unusable, so there is no correctness to scale.
    rs = load_rewards(
        [
            {"name": "math", "weight": 0.0, "options": {"timeout": 20}},
            {"name": "length.cosine", "options": {"max_length": 100}},
        ]
    )
    try:
        out = rs.score(["\\boxed{42}", "\\boxed{42}"], columns={"answer": ["forty two", "42"]})
    finally:
        rs.close()
    assert out.scores["math"][0].outcome is Outcome.BAD_REFERENCE
    assert out.values["length.cosine"][0] is None and out.scores["length.cosine"][0].outcome is Outcome.SKIPPED
    assert out.values["length.cosine"][1] == pytest.approx(0.5 + 0.25 * (1 + math.cos(math.pi * 10 / 100)))


def test_cosine_needs_its_correctness_component() -> None:
    with pytest.raises(ConfigError, match="needs the scores of 'math'"):
        load_rewards(["length.cosine"])
    with pytest.raises(ConfigError, match="needs 'correctness'"):
        load_rewards([{"name": "length.cosine", "options": {"correctness": ""}}])
    with pytest.raises(ConfigError, match="min_value_wrong must be a finite number"):
        load_rewards([{"name": "length.cosine", "options": {"min_value_wrong": float("nan")}}])


# -- length.group: Kimi k1.5 -----------------------------------------------------------------


def group_scores(lengths: list[int], correct: list[bool | None], groups: list[int] | None = None) -> list:
    outs = {True: Outcome.CORRECT, False: Outcome.WRONG, None: Outcome.ERROR}
    samples = [
        tok(n, index=i, group=(groups or [0] * len(lengths))[i], scores={"math": Score(None, outs[c])})
        for i, (n, c) in enumerate(zip(lengths, correct, strict=True))
    ]
    return GroupLength().score_batch(samples)


def test_group_values() -> None:
    res = group_scores([10, 20, 30, 10], [True, True, False, False])
    # lambda = 0.5 - (len - 10) / 20 = [0.5, 0.0, -0.5, 0.5]; wrong answers get min(0, lambda)
    assert [r.value for r in res] == [0.5, 0.0, -0.5, 0.0]
    assert res[2].info["group_min"] == 10 and res[2].info["group_max"] == 30


def test_group_all_same_length_is_zero() -> None:
    assert [r.value for r in group_scores([7, 7, 7], [True, False, True])] == [0.0, 0.0, 0.0]
    assert [r.value for r in group_scores([0, 0], [True, False])] == [0.0, 0.0]  # empty completions
    assert [r.value for r in group_scores([12], [True])] == [0.0]  # a group of one


def test_group_separates_groups_and_handles_missing_signal() -> None:
    res = group_scores([10, 30, 100, 300, 20], [True, True, True, True, None], groups=[0, 0, 1, 1, 0])
    assert [r.value for r in res[:4]] == [0.5, -0.5, 0.5, -0.5]
    # no correctness signal: no value, but its length still counts for the group's range
    assert res[4].value is None and res[4].outcome is Outcome.SKIPPED
    assert res[0].info["group_max"] == 30


def test_group_through_the_reward_set_groups_by_prompt() -> None:
    rs = load_rewards([{"name": "length.group", "options": {"correctness": ""}}])
    out = rs.score(["a", "aaa", "bb", "bbbbbb", "bbbb"], prompts=["p", "p", "q", "q", "q"])
    assert out.values["length.group"] == [0.5, -0.5, 0.5, -0.5, 0.0]


def test_group_errors_are_per_sample() -> None:
    res = GroupLength(unit="tokens").score_batch([Sample(completion="abc", scores={"math": Score.correct()})])
    assert isinstance(res[0], ValueError)


# -- length.target ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "expected"),
    [(0, 0.0), (5, 0.0), (8, 0.6), (10, 1.0), (15, 1.0), (20, 1.0), (21, 0.8), (23, 0.4), (25, 0.0), (99, 0.0)],
)
def test_target_band(length: int, expected: float) -> None:
    v = TargetLength(min_length=10, max_length=20, falloff=5, discount_repeats=False)
    assert v.score(tok(length)).value == pytest.approx(expected)


def test_target_hard_band_and_per_row_targets() -> None:
    hard = TargetLength(min_length=10, max_length=20, falloff=0, discount_repeats=False)
    assert [hard.score(tok(n)).value for n in (9, 10, 20, 21)] == [0.0, 1.0, 1.0, 0.0]
    per_row = TargetLength(column="budget", slack=0.1, falloff=10, discount_repeats=False)
    assert per_row.required_columns() == ["budget"]
    assert per_row.score(tok(105, row={"budget": 100})).value == 1.0  # band [90, 110]
    assert per_row.score(tok(115, row={"budget": 100})).value == pytest.approx(0.5)
    assert per_row.score(tok(40, row={"budget": [30, 50]})).value == 1.0
    bad = per_row.score(tok(40, row={"budget": "long"}))
    assert (bad.value, bad.outcome) == (None, Outcome.BAD_REFERENCE)


def test_target_padding_with_repeats_does_not_reach_the_band() -> None:
    v = TargetLength(min_length=30, max_length=50, falloff=10, unit="words", ngram_size=4)
    padded = Sample(completion="a b c d " * 10)  # 40 words, only 4 distinct 4-grams out of 37
    sc = v.score(padded)
    assert sc.info["repeated_fraction"] == pytest.approx(1 - 4 / 37, abs=1e-4)
    assert sc.info["effective_length"] == pytest.approx(40 * 4 / 37, abs=0.01)
    assert sc.value == 0.0
    assert TargetLength(min_length=30, max_length=50, falloff=10, unit="words", discount_repeats=False).score(
        padded
    ).value == pytest.approx(1.0)
    honest = Sample(completion=" ".join(f"w{i}" for i in range(40)))
    assert v.score(honest).value == 1.0
    # repeats do not hide an overlong completion either: the upper bound uses the raw length
    assert v.score(Sample(completion="x y " * 100)).value == 0.0


def test_target_bad_options() -> None:
    for opts in ({"min_length": 5, "max_length": 4}, {"falloff": -1}, {"slack": 1.5}, {"ngram_size": 0}):
        with pytest.raises(ConfigError, match="length.target"):
            load_rewards([{"name": "length.target", "options": opts}])


# -- contract -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec",
    ["length.overlong", "length.target", {"name": "length.group", "options": {"correctness": ""}}],
)
def test_reward_contract(spec: object) -> None:
    rows = [{"prompt": "q"}] * 3
    values = assert_reward_contract(spec, rows, ["a", "bb" * 300, ""], completion_ids=[[1], [2] * 600, []])
    assert all(isinstance(v, float) for v in values)


@pytest.mark.parametrize("cls", [OverlongPenalty, TargetLength])
def test_verifier_contract(cls: type) -> None:
    assert_verifier_contract(cls, [tok(3), tok(0)])
