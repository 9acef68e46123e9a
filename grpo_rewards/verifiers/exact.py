"""``exact``: normalized string match against one or several gold answers."""

from __future__ import annotations

import string
import unicodedata
from typing import Any

from grpo_rewards.answers import EXTRACT_MODES, extract_answer
from grpo_rewards.contract import Outcome, Sample, Score, Verifier
from grpo_rewards.hookspecs import Register, hookimpl
from grpo_rewards.reasoning import DEFAULT as DEFAULT_REASONING
from grpo_rewards.reasoning import parse_reasoning, prefilled_for

__all__ = ["ExactMatch"]

_PUNCT = str.maketrans("", "", string.punctuation)
# Markdown/quote wrappers around a whole answer: **Paris**, `42`, "Paris", $42$.
_WRAPPERS = ("**", "__", "*", "_", "`", '"', "'", "“", "”", "$")
_TRAILING = ".,;:!?。，；：！？"


class ExactMatch(Verifier):
    """Normalized exact match of the completion's answer against the gold answer(s).

    The answer is the content of the ``<answer>`` block when there is one (``extract="auto"``,
    the default), else the whole completion with reasoning removed (``<think>`` sections unless
    ``reasoning`` names other delimiters, see :mod:`grpo_rewards.reasoning`); ``"tag"`` requires
    the block (``no_answer`` without one) and ``"full"`` always uses the whole completion.
    Several ``<answer>`` blocks with different contents are a hedge and score ``wrong``;
    repeated identical blocks count once. The gold column may hold a string, a number or a list
    of acceptable answers.

    Normalization, applied to the answer and to every gold: Unicode NFKC; case folding unless
    ``case_sensitive``; with ``trim_punctuation`` (default) surrounding markdown or quote
    wrappers (``**Paris**``, ```` `42` ````, ``"Paris"``) and trailing sentence punctuation
    (``Paris.``) are removed, never inner or leading characters (so ``-5`` stays ``-5``); with
    ``ignore_punctuation`` every ASCII punctuation character is removed; with
    ``collapse_whitespace`` (default) runs of whitespace become one space.

    The comparison is equality after normalization, never containment: an answer that merely
    contains the gold (``"Jupiter is bigger than Saturn"`` for ``"Jupiter"``, or a list of
    candidates) is ``wrong``; an empty answer is ``no_answer``; an empty or malformed gold is
    ``bad_reference``.
    """

    name = "exact"
    description = "Normalized exact string match against the gold answer(s); no substring credit"
    outcomes = (Outcome.CORRECT, Outcome.WRONG, Outcome.NO_ANSWER, Outcome.BAD_REFERENCE)

    def __init__(
        self,
        *,
        column: str = "answer",
        extract: str = "auto",
        tag: str = "answer",
        case_sensitive: bool = False,
        ignore_punctuation: bool = False,
        collapse_whitespace: bool = True,
        trim_punctuation: bool = True,
        reasoning: Any = DEFAULT_REASONING,
    ) -> None:
        self.reasoning = parse_reasoning(reasoning)
        if extract not in EXTRACT_MODES:
            raise ValueError(f"extract must be 'auto', 'tag' or 'full', got {extract!r}")
        self.column = column
        self.extract = extract
        self.tag = tag
        self.case_sensitive = case_sensitive
        self.ignore_punctuation = ignore_punctuation
        self.collapse_whitespace = collapse_whitespace
        self.trim_punctuation = trim_punctuation

    def required_columns(self) -> list[str]:
        return [self.column]

    def normalize(self, text: str) -> str:
        """The normalized form that answers and golds are compared in."""
        text = unicodedata.normalize("NFKC", text)
        if not self.case_sensitive:
            text = text.casefold()
        text = text.strip()
        if self.trim_punctuation:
            text = self._trim(text)
        if self.ignore_punctuation:
            text = text.translate(_PUNCT)
        if self.collapse_whitespace:
            text = " ".join(text.split())
        return text.strip()

    @staticmethod
    def _trim(text: str) -> str:
        for _ in range(8):  # wrappers nest a few levels at most ("**`42`**."); bounded work
            before = text
            text = text.rstrip(_TRAILING).rstrip()
            for w in _WRAPPERS:
                if len(text) > 2 * len(w) and text.startswith(w) and text.endswith(w):
                    text = text[len(w) : -len(w)].strip()
                    break
            if text == before:
                break
        return text

    def _golds(self, raw: Any) -> list[str]:
        if isinstance(raw, str):
            return [raw]
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return [str(raw)]
        if isinstance(raw, list | tuple) and raw and all(isinstance(g, str | int | float) for g in raw):
            return [str(g) for g in raw]
        raise ValueError(f"gold answer in column {self.column!r} must be a string or a list of strings, got {raw!r}")

    def score(self, sample: Sample) -> Score:
        raw = sample.column(self.column)
        try:
            raw_golds = self._golds(raw)
        except ValueError as exc:
            return Score.bad_reference(str(exc))
        golds = [self.normalize(g) for g in raw_golds]
        if not any(golds):
            return Score.bad_reference(f"empty gold answer in column {self.column!r}")
        answer = extract_answer(
            sample.completion,
            tag=self.tag,
            extract=self.extract,
            same=self.normalize,
            reasoning=self.reasoning,
            prefilled=prefilled_for(self.reasoning, sample.prompt),
        )
        if answer.text is None:
            return Score.wrong(f"{answer.blocks} different <{self.tag}> blocks (hedging)")
        got = self.normalize(answer.text)
        if not got:
            if answer.blocks:
                return Score.no_answer(f"empty <{self.tag}> block")
            return Score.no_answer(f"no <{self.tag}> block" if self.extract == "tag" else "empty answer")
        if got in golds:
            # The texts as written, so that the detail shows what the normalization forgave.
            expected = raw_golds[golds.index(got)].strip()
            return Score.correct(f"expected {expected[:80]!r}, got {answer.text.strip()[:80]!r}", answer=got)
        return Score.wrong(f"expected {golds[0]!r}, got {got[:80]!r}", answer=got[:200])


@hookimpl
def register_verifiers(register: Register) -> None:
    register(ExactMatch)
