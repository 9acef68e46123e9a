"""language: the share of words in the expected script or language."""

from __future__ import annotations

import pickle

import pytest

from grpo_rewards import load_rewards
from grpo_rewards.contract import Outcome, Sample
from grpo_rewards.errors import ConfigError
from grpo_rewards.testing import assert_reward_contract, assert_verifier_contract
from grpo_rewards.verifiers.language import LanguageConsistency


def score(text: str, **opts: object):
    return LanguageConsistency(**opts).score(Sample(completion=text))  # type: ignore[arg-type]


def test_script_fraction_counts_words() -> None:
    assert score("The capital of France is Paris.").value == 1.0
    # 这 是 答 案 (4 Han words) + "the answer" (2 Latin words): 2/6 English
    sc = score("这是答案 the answer")
    assert sc.value == pytest.approx(2 / 6)
    assert sc.info["other_scripts"] == {"Han": 4}
    assert score("这是答案 the answer", language="zh").value == pytest.approx(4 / 6)
    # Japanese mixes kanji and kana; Korean uses Hangul
    assert score("東京は日本の首都です", language="ja").value == 1.0
    assert score("서울은 한국의 수도입니다", language="ko").value == 1.0
    assert score("Москва столица России", language="ru").value == 1.0
    assert score("Москва is the capital", language="ru").value == pytest.approx(1 / 4)


def test_digits_math_and_code_are_neutral() -> None:
    text = "答案是 $\\frac{1}{2}$ 和 `print(x)` 以及 \\sqrt{2}，还有 42。"
    assert score(text, language="zh").value == 1.0
    assert score(text, language="zh", ignore_math_and_code=False).value < 1.0
    assert score("```python\nfor i in range(3): print(i)\n```\n这是代码", language="zh").value == 1.0


def test_parts() -> None:
    text = "<think>我们先算一下</think><answer>Paris</answer>"
    assert score(text, part="all").value == pytest.approx(1 / 7)  # 6 Han words + Paris
    assert score(text, part="think").value == 0.0
    assert score(text, part="answer").value == 1.0
    assert score(text, part="think", language="zh").value == 1.0


def test_edge_cases() -> None:
    assert score("").outcome is Outcome.NO_ANSWER
    assert score("").value == 0.0
    assert score("12 + 30 = 42 !").outcome is Outcome.NO_ANSWER
    assert score("café naïve résumé").value == 1.0  # accents are Latin
    assert score("Ｐａｒｉｓ").value == 1.0  # full-width Latin is still Latin
    assert score("Hello", scripts=["Cyrillic"]).value == 0.0
    assert score("Hola", language="xx", scripts=["Latin"]).value == 1.0


@pytest.mark.parametrize(
    ("opts", "msg"),
    [
        ({"language": "xx"}, "no known script for language 'xx'"),
        ({"scripts": ["Klingon"]}, "unknown Unicode script 'Klingon'"),
        ({"method": "guess"}, "method must be"),
        ({"part": "prompt"}, "part must be"),
    ],
)
def test_bad_options(opts: dict, msg: str) -> None:
    with pytest.raises(ConfigError, match=msg):
        load_rewards([{"name": "language", "options": opts}])


def test_detect_mode_tells_languages_apart() -> None:
    pytest.importorskip("py3langid")
    v = LanguageConsistency(method="detect")
    mixed = (
        "The quick brown fox jumps over the lazy dog. "
        "Der schnelle braune Fuchs springt über den faulen Hund. "
        "Le renard brun rapide saute par-dessus le chien paresseux."
    )
    sc = v.score(Sample(completion=mixed))
    # nine words per sentence, one sentence in English
    assert sc.value == pytest.approx(1 / 3)
    assert sc.info["languages"] == {"en": 9, "de": 9, "fr": 9}
    assert v.score(Sample(completion="The quick brown fox jumps over the lazy dog.")).value == 1.0
    # too short to identify: measured by script
    assert v.score(Sample(completion="ok")).value == 1.0
    restricted = LanguageConsistency(method="detect", language="zh", candidates=["en"])
    assert restricted.candidates == ("en", "zh")
    sc = restricted.score(Sample(completion="我们先计算这个值。然后得到答案。The answer is five, obviously."))
    assert sc.value == pytest.approx(14 / 19)  # 8 + 6 Chinese characters, 5 English words
    assert pickle.loads(pickle.dumps(v)).score(Sample(completion=mixed)).value == pytest.approx(1 / 3)


def test_detect_mode_unknown_language() -> None:
    pytest.importorskip("py3langid")
    with pytest.raises(ConfigError, match="py3langid does not know language 'xx'"):
        load_rewards([{"name": "language", "options": {"method": "detect", "language": "xx"}}])


def test_contract() -> None:
    rows = [{"prompt": "q"}] * 3
    values = assert_reward_contract("language", rows, ["Hello there", "你好", ""])
    assert values == [1.0, 0.0, 0.0]
    assert_verifier_contract(LanguageConsistency, [Sample(completion="hi")])
