"""repetition: the n-gram repetition penalty against hand-computed values."""

from __future__ import annotations

import pytest

from grpo_rewards import load_rewards
from grpo_rewards.contract import Outcome, Sample
from grpo_rewards.errors import ConfigError
from grpo_rewards.testing import assert_reward_contract, assert_verifier_contract
from grpo_rewards.verifiers._text import repeated_fraction, words
from grpo_rewards.verifiers.repetition import RepetitionPenalty


def value(text: str, **opts: object) -> float | None:
    return RepetitionPenalty(**opts).score(Sample(completion=text)).value  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0.0),  # empty completion
        ("one two", 0.0),  # fewer words than n
        ("one two three", 0.0),  # exactly n words: one n-gram, nothing repeated
        ("a b c a b c", -0.25),  # 4 trigrams, 3 distinct: 1 - 3/4
        ("A b C a B c", -0.25),  # case-insensitive, like open-r1
        ("the cat sat on the mat", 0.0),
        ("go " * 12, -0.9),  # 10 trigrams, 1 distinct
    ],
)
def test_word_trigrams(text: str, expected: float) -> None:
    assert value(text) == pytest.approx(expected)


def test_options_scale_the_penalty() -> None:
    assert value("the the the the", ngram_size=2) == pytest.approx(-2 / 3)
    assert value("a b c a b c", max_penalty=-0.5) == pytest.approx(-0.125)
    assert value("a b c a b c", ngram_size=1) == pytest.approx(-0.5)
    assert value("a b c a b c", max_penalty=0.0) == 0.0


def test_cjk_is_split_per_character() -> None:
    # open-r1's str.split() sees one word here and gives 0; per character it is "abcabc"
    assert words("我爱你我爱你") == ["我", "爱", "你", "我", "爱", "你"]
    assert value("我爱你我爱你") == pytest.approx(-0.25)
    # mixed scripts: 答 案 是 42 答 案 是 42 -> 6 trigrams, 4 distinct
    assert value("答案是 42 答案是 42") == pytest.approx(-1 / 3)
    assert value("ありがとうありがとう", ngram_size=5) == pytest.approx(-(1 - 5 / 6))


def test_token_unit_uses_completion_ids() -> None:
    v = RepetitionPenalty(unit="tokens", ngram_size=2)
    sc = v.score(Sample(completion="whatever", completion_ids=[1, 2, 1, 2, 1, 2]))
    assert sc.value == pytest.approx(-0.6)  # 5 bigrams, 2 distinct
    assert sc.info["source"] == "completion_ids"
    with pytest.raises(ValueError, match="no completion_ids"):
        v.score(Sample(completion="abc"))
    by_tokenizer = RepetitionPenalty(unit="tokens", ngram_size=2, tokenizer=lambda t: [ord(c) for c in t])
    assert by_tokenizer.score(Sample(completion="ababab")).value == pytest.approx(-0.6)


def test_score_details() -> None:
    sc = RepetitionPenalty().score(Sample(completion="a b c a b c"))
    assert sc.outcome is Outcome.SCORED
    assert sc.info["repeated_fraction"] == 0.25
    assert "25.0% of 3-grams repeated" in sc.detail


def test_repeated_fraction_helper() -> None:
    assert repeated_fraction([], 3) == 0.0
    assert repeated_fraction([1, 1, 1, 1], 1) == 0.75
    with pytest.raises(ValueError):
        repeated_fraction([1], 0)


@pytest.mark.parametrize(
    ("opts", "msg"),
    [
        ({"max_penalty": 0.5}, "must be <= 0"),
        ({"ngram_size": 0}, "positive integer"),
        ({"unit": "chars"}, "unit must be"),
    ],
)
def test_bad_options(opts: dict, msg: str) -> None:
    with pytest.raises(ConfigError, match=msg):
        load_rewards([{"name": "repetition", "options": opts}])


def test_contract() -> None:
    rows = [{"prompt": "q"}] * 3
    assert assert_reward_contract("repetition", rows, ["a b c a b c", "", "x"]) == [pytest.approx(-0.25), 0.0, 0.0]
    assert_verifier_contract(RepetitionPenalty, [Sample(completion="a a a a")])


# -- word segmentation for scripts written without spaces --------------------------------------
# open-r1's get_repetition_penalty_reward(language="zh") (huggingface/open-r1,
# src/open_r1/rewards.py) segments Chinese with jieba.cut: 这个这个这个这个这个 is five words 这个,
# so with ngram_size=2 there are 4 bigrams, 1 distinct: -0.75. Our default counts characters:
# 9 bigrams, 2 distinct (这个, 个这): -7/9 = -0.778.

REPEATED_ZH = "这个这个这个这个这个"


def test_default_segmenter_counts_characters_and_needs_nothing() -> None:
    assert RepetitionPenalty().segmenter == "chars"
    assert value(REPEATED_ZH, ngram_size=2) == pytest.approx(-7 / 9)  # -0.778


def test_jieba_segmenter_gives_open_r1s_value() -> None:
    pytest.importorskip("jieba")
    assert value(REPEATED_ZH, ngram_size=2, segmenter="jieba") == pytest.approx(-0.75)
    # text with spaces is split as by the default: jieba's whitespace tokens are not words
    assert value("a b c a b c", segmenter="jieba") == pytest.approx(-0.25)
    assert value("The Cat 这个这个这个", ngram_size=1, segmenter="jieba") == pytest.approx(-2 / 5)


def test_jieba_segmenter_without_the_extra_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "jieba", None)  # as if grpo-rewards[zh] were not installed
    with pytest.raises(
        ConfigError, match=r"segmenter='jieba' needs the 'jieba' package: pip install 'grpo-rewards\[zh\]'"
    ):
        load_rewards([{"name": "repetition", "options": {"segmenter": "jieba"}}])


def test_unknown_segmenter_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="segmenter must be 'chars' or 'jieba'"):
        load_rewards([{"name": "repetition", "options": {"segmenter": "mecab"}}])
