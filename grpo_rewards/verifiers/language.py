"""``language``: how much of a completion is in the expected language or script."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from typing import Any

import regex

from grpo_rewards.answers import extract_answer, strip_think
from grpo_rewards.contract import Outcome, Sample, Score, Verifier
from grpo_rewards.hookspecs import Register, hookimpl
from grpo_rewards.reasoning import DEFAULT as DEFAULT_REASONING
from grpo_rewards.reasoning import parse_reasoning, prefilled_for, split
from grpo_rewards.verifiers._text import words

__all__ = ["LanguageConsistency", "LANGUAGE_SCRIPTS"]

_LATIN = ("Latin",)
LANGUAGE_SCRIPTS: dict[str, tuple[str, ...]] = {
    **{
        code: _LATIN
        for code in (
            "af ca cs cy da de en eo es et eu fi fr ga gl hr hu id is it lt lv ms mt nl no nb nn pl pt ro "
            "sk sl sq sv sw tl tr vi az uz"
        ).split()
    },
    **{code: ("Cyrillic",) for code in "ru uk bg be mk sr kk ky mn tg".split()},
    "zh": ("Han",),
    "ja": ("Han", "Hiragana", "Katakana"),
    "ko": ("Hangul", "Han"),
    **{code: ("Arabic",) for code in "ar fa ur ps ug".split()},
    "he": ("Hebrew",),
    "yi": ("Hebrew",),
    "el": ("Greek",),
    **{code: ("Devanagari",) for code in "hi mr ne sa".split()},
    "bn": ("Bengali",),
    "pa": ("Gurmukhi",),
    "gu": ("Gujarati",),
    "ta": ("Tamil",),
    "te": ("Telugu",),
    "kn": ("Kannada",),
    "ml": ("Malayalam",),
    "si": ("Sinhala",),
    "th": ("Thai",),
    "lo": ("Lao",),
    "km": ("Khmer",),
    "my": ("Myanmar",),
    "ka": ("Georgian",),
    "hy": ("Armenian",),
    "am": ("Ethiopic",),
}
"""The writing system(s) of common languages (ISO 639-1 codes), for ``method="script"``. Any
other language needs the ``scripts`` option (Unicode script names such as ``"Latin"``)."""

# LaTeX and code are written in Latin letters whatever the language of the prose around them.
_MATH_CODE = regex.compile(
    # an unclosed span runs to the end, so that no span is rescanned from every opening
    r"```.*?(?:```|\Z)|`[^`\n]*`|\$\$.*?(?:\$\$|\Z)|\$[^$\n]*\$|\\\[.*?(?:\\\]|\Z)|\\\(.*?(?:\\\)|\Z)|\\[A-Za-z]+",
    regex.DOTALL,
)
_LETTER = regex.compile(r"\p{L}")
_ASCII_LETTER = re.compile(r"[A-Za-z]")
_SEGMENT_SPLIT = regex.compile(r"(?<=[.!?。！？])\s+|(?<=[。！？])|\n+")
_PARTS = ("all", "think", "answer")


@functools.lru_cache(maxsize=8)
def _identifier(candidates: tuple[str, ...]) -> Any:
    try:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier
    except ImportError as exc:
        raise ImportError(
            "the 'language' verifier with method='detect' needs the py3langid package: "
            "pip install 'grpo-rewards[language]' (or use method='script', which needs nothing)"
        ) from exc
    ident = LanguageIdentifier.from_model_file(MODEL_FILE)
    if candidates:
        ident.set_languages(list(candidates))
    return ident


def _script_of(ch: str) -> str:
    name = unicodedata.name(ch, "UNKNOWN").split()
    return {"CJK": "Han"}.get(name[0], name[0].title())


class LanguageConsistency(Verifier):
    """Fraction of the completion written in the expected language: the language-consistency
    reward of DeepSeek-R1 (DeepSeek-AI 2025, arXiv 2501.12948, Sec. 2.3.2: "the proportion of
    target language words in the CoT").

    ``method="script"`` (default, no extra dependency) counts words (letters only; every
    Chinese/Japanese/Thai character is a word) whose letters are mostly in the language's
    writing system (``LANGUAGE_SCRIPTS``, or the ``scripts`` option), using the Unicode script
    properties of the ``regex`` library. It tells Chinese from English, not English from French.

    ``method="detect"`` tells languages apart with py3langid (a maintained fork of langid.py,
    install ``grpo-rewards[language]``): the text is split into sentences, each sentence of at
    least ``min_words`` words is identified, and the reward is the share of words in sentences
    identified as ``language`` (``candidates`` restricts the languages considered, which makes
    short sentences more reliable).

    With ``ignore_math_and_code`` (default) LaTeX, inline and fenced code are left out before
    counting. ``part`` picks what is measured: ``"all"``, ``"think"`` (the reasoning sections,
    ``<think>`` as in R1 unless the ``reasoning`` option names other delimiters, see
    :mod:`grpo_rewards.reasoning`) or ``"answer"`` (the answer block, or the text outside the
    reasoning). A text
    without any letters scores ``no_answer`` (0.0). In ``"detect"`` mode a text of fewer than
    ``min_words`` words is too short to identify and is measured by script instead (``skipped``
    with ``None`` when the language's script is not known).
    """

    name = "language"
    description = "Fraction of words in the expected language/script (DeepSeek-R1 language consistency)"
    outcomes = (Outcome.SCORED, Outcome.NO_ANSWER, Outcome.SKIPPED)

    def __init__(
        self,
        *,
        language: str = "en",
        method: str = "script",
        scripts: Sequence[str] = (),
        part: str = "all",
        ignore_math_and_code: bool = True,
        candidates: Sequence[str] = (),
        min_words: int = 3,
        reasoning: Any = DEFAULT_REASONING,
    ) -> None:
        self.reasoning = parse_reasoning(reasoning)
        markers = [
            m for sec in (*self.reasoning.reasoning, *self.reasoning.answer) for m in (sec.open, *sec.close) if m
        ]
        self._markers = regex.compile(
            "|".join([*(regex.escape(m) for m in sorted(markers, key=len, reverse=True)), r"</?answer>"]),
            regex.IGNORECASE,
        )
        if method not in ("script", "detect"):
            raise ValueError(f"method must be 'script' or 'detect', got {method!r}")
        if part not in _PARTS:
            raise ValueError(f"part must be one of {', '.join(_PARTS)}, got {part!r}")
        if isinstance(scripts, str):
            scripts = [scripts]
        self.language = language.lower()
        self.method = method
        self.part = part
        self.ignore_math_and_code = ignore_math_and_code
        self.min_words = int(min_words)
        self.candidates = tuple(sorted({c.lower() for c in candidates} | ({self.language} if candidates else set())))
        if method == "script":
            resolved = tuple(scripts) or LANGUAGE_SCRIPTS.get(self.language, ())
            if not resolved:
                raise ValueError(
                    f"no known script for language {language!r}; set scripts = ['Latin'] (Unicode script names) "
                    f"or use method = 'detect'"
                )
            for s in resolved:
                try:
                    regex.compile(rf"\p{{Script={s}}}")
                except regex.error:
                    raise ValueError(f"unknown Unicode script {s!r} (e.g. Latin, Cyrillic, Han, Arabic)") from None
            self.scripts = resolved
        else:
            self.scripts = tuple(scripts) or LANGUAGE_SCRIPTS.get(self.language, ())
            ident = _identifier(self.candidates)
            if self.language not in ident.nb_classes:
                raise ValueError(f"py3langid does not know language {language!r}")
        classes = "".join(rf"\p{{Script={s}}}" for s in self.scripts)
        self._expected = regex.compile(f"[{classes}]") if classes else None
        self._latin = "Latin" in self.scripts
        self._only_expected = regex.compile(rf"(?:[{classes}]|\P{{L}})+") if classes else None

    def _text(self, completion: str, prompt: Any = None) -> str:
        prefilled = prefilled_for(self.reasoning, prompt)
        if self.part == "think":
            text = "\n".join(split(completion, self.reasoning, prefilled=prefilled).reasoning)
        elif self.part == "answer":
            ans = extract_answer(completion, reasoning=self.reasoning, prefilled=prefilled)
            text = ans.text if ans.text is not None else strip_think(completion, self.reasoning, prefilled=prefilled)
        else:
            text = self._markers.sub(" ", completion)
        if self.ignore_math_and_code:
            text = _MATH_CODE.sub(" ", text)
        return text

    def score(self, sample: Sample) -> Score:
        text = self._text(sample.completion, sample.prompt)
        if text.isascii():  # fast path: the letters are A-Z, a-z
            lettered = [w for w in text.split() if _ASCII_LETTER.search(w)]
        else:
            lettered = [w for w in words(text) if _LETTER.search(w)]
        if not lettered:
            return Score.no_answer(f"no words with letters in {self.part!r}")
        if self.method == "script":
            return self._by_script(lettered)
        if len(lettered) < self.min_words:
            # Too short to identify a language; the writing system still says something.
            if self._expected is None:
                return Score.skipped(f"{len(lettered)} words: too short to identify (min_words={self.min_words})")
            return self._by_script(lettered)
        return self._by_detection(text, len(lettered))

    def _by_script(self, lettered: list[str]) -> Score:
        on = 0
        off: Counter[str] = Counter()
        expected, only_expected = self._expected, self._only_expected
        assert expected is not None and only_expected is not None
        if self._latin and all(w.isascii() for w in lettered):
            return Score.scored(
                1.0,
                f"{len(lettered)}/{len(lettered)} words in {'/'.join(self.scripts)}",
                words=len(lettered),
                other_scripts={},
            )
        for w in lettered:
            if only_expected.fullmatch(w):  # the common case: every letter in the expected scripts
                on += 1
                continue
            letters = _LETTER.findall(w)
            if 2 * len(expected.findall(w)) >= len(letters):
                on += 1
            else:
                off[_script_of(letters[0])] += 1
        frac = on / len(lettered)
        others = ", ".join(f"{s} {n}" for s, n in off.most_common(3))
        detail = f"{on}/{len(lettered)} words in {'/'.join(self.scripts)}" + (f" (others: {others})" if off else "")
        return Score.scored(frac, detail, words=len(lettered), other_scripts=dict(off.most_common(5)))

    def _by_detection(self, text: str, total_words: int) -> Score:
        ident = _identifier(self.candidates)
        counted = 0
        on = 0
        langs: Counter[str] = Counter()
        for seg in _SEGMENT_SPLIT.split(text):
            n = sum(1 for w in words(seg) if _LETTER.search(w))
            if n < self.min_words:
                continue
            lang = ident.classify(seg)[0]
            langs[lang] += n
            counted += n
            if lang == self.language:
                on += n
        if counted == 0:  # only short sentences: identify the text as a whole
            lang = ident.classify(text)[0]
            langs[lang] += total_words
            counted = total_words
            on = total_words if lang == self.language else 0
        frac = on / counted
        detail = f"{on}/{counted} words identified as {self.language!r} (" + ", ".join(
            f"{k} {v}" for k, v in langs.most_common(3)
        )
        return Score.scored(frac, detail + ")", words=counted, languages=dict(langs.most_common(5)))


@hookimpl
def register_verifiers(register: Register) -> None:
    register(LanguageConsistency)
