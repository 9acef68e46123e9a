"""``exact``: normalized string match against one or several gold answers."""

from __future__ import annotations

import string
import unicodedata
from typing import Any

from grpo_rewards.contract import Sample, Score, Verifier
from grpo_rewards.hookspecs import hookimpl
from grpo_rewards.verifiers._answer import strip_think, tag_blocks

_PUNCT = str.maketrans("", "", string.punctuation)


class ExactMatch(Verifier):
    """Normalized exact match of the completion's answer against the gold answer(s).

    The answer is the content of the ``<answer>`` block when there is one (``extract="auto"``,
    the default), else the whole completion with ``<think>`` sections removed. Several
    ``<answer>`` blocks with different contents are a hedge and score ``wrong``. The gold
    column may hold a string or a list of acceptable strings. The comparison is equality after
    normalization, never containment: an answer that merely contains the gold is wrong.
    """

    name = "exact"
    description = "Normalized exact string match against the gold answer(s); no substring credit"

    def __init__(
        self,
        *,
        column: str = "answer",
        extract: str = "auto",
        tag: str = "answer",
        case_sensitive: bool = False,
        ignore_punctuation: bool = False,
        collapse_whitespace: bool = True,
    ) -> None:
        if extract not in ("auto", "tag", "full"):
            raise ValueError(f"extract must be 'auto', 'tag' or 'full', got {extract!r}")
        self.column = column
        self.extract = extract
        self.tag = tag
        self.case_sensitive = case_sensitive
        self.ignore_punctuation = ignore_punctuation
        self.collapse_whitespace = collapse_whitespace

    def required_columns(self) -> list[str]:
        return [self.column]

    def normalize(self, text: str) -> str:
        text = unicodedata.normalize("NFKC", text)
        if not self.case_sensitive:
            text = text.casefold()
        if self.ignore_punctuation:
            text = text.translate(_PUNCT)
        if self.collapse_whitespace:
            text = " ".join(text.split())
        return text.strip()

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
            golds = [self.normalize(g) for g in self._golds(raw)]
        except ValueError as exc:
            return Score.bad_reference(str(exc))
        if not any(golds):
            return Score.bad_reference(f"empty gold answer in column {self.column!r}")
        if self.extract == "full":
            answer = strip_think(sample.completion)
        else:
            blocks = tag_blocks(sample.completion, self.tag)
            if blocks:
                distinct = {self.normalize(b) for b in blocks}
                if len(distinct) > 1:
                    return Score.wrong(f"{len(blocks)} different <{self.tag}> blocks (hedging)")
                answer = blocks[-1]
            elif self.extract == "tag":
                return Score.no_answer(f"no <{self.tag}> block")
            else:
                answer = strip_think(sample.completion)
        got = self.normalize(answer)
        if not got:
            return Score.no_answer("empty answer")
        if got in golds:
            return Score.correct(answer=got)
        return Score.wrong(f"expected {golds[0]!r}, got {got[:80]!r}", answer=got[:200])


@hookimpl
def register_verifiers(register: Any) -> None:
    register(ExactMatch)
