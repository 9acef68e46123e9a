"""``repetition``: n-gram repetition penalty."""

from __future__ import annotations

import math
from typing import Any

from grpo_rewards.contract import Outcome, Sample, Score, Verifier
from grpo_rewards.hookspecs import Register, hookimpl
from grpo_rewards.verifiers._text import check_segmenter, encode, load_tokenizer, repeated_fraction, segment

__all__ = ["RepetitionPenalty"]


class RepetitionPenalty(Verifier):
    r"""N-gram repetition penalty (Yeo et al. 2025, "Demystifying Long Chain-of-Thought Reasoning in
    LLMs", arXiv 2502.03373, Appendix C.2; as in open-r1's ``get_repetition_penalty_reward``):

    .. math::

        r = \left(1 - \frac{|\text{distinct } n\text{-grams}|}{|n\text{-grams}|}\right) \cdot max\_penalty

    0.0 for a completion without repeated n-grams, approaching ``max_penalty`` (default -1.0) for
    one phrase repeated over and over; 0.0 for an empty completion or one shorter than ``n``
    units (as open-r1).

    ``unit="words"`` (default) splits on whitespace after lowercasing, except that every
    character of a script written without spaces (Chinese, Japanese, Thai, ...) is a word of its
    own, so CJK text is handled without a whitespace tokenizer (open-r1's ``split()`` would see
    one giant word). ``segmenter="jieba"`` segments Chinese into words with jieba instead (the
    ``grpo-rewards[zh]`` extra; open-r1's ``language="zh"``); ``"chars"``, the default, needs
    nothing and counts characters. ``unit="tokens"`` uses ``completion_ids`` (or the ``tokenizer`` option),
    like the reference implementation of the paper, and then equals TRL 1.16's
    ``get_repetition_penalty_reward`` (``trl/rewards/other_rewards.py``; tested against it in
    ``tests/peers/test_trl_length_repetition.py``).
    """

    name = "repetition"
    description = "N-gram repetition penalty (words incl. CJK, or tokens); 0 to max_penalty"
    outcomes = (Outcome.SCORED,)

    def __init__(
        self,
        *,
        ngram_size: int = 3,
        max_penalty: float = -1.0,
        unit: str = "words",
        tokenizer: Any = None,
        segmenter: str = "chars",
    ) -> None:
        if isinstance(ngram_size, bool) or not isinstance(ngram_size, int) or ngram_size < 1:
            raise ValueError(f"ngram_size must be a positive integer, got {ngram_size!r}")
        if isinstance(max_penalty, bool) or not isinstance(max_penalty, int | float) or not math.isfinite(max_penalty):
            raise ValueError(f"max_penalty must be a finite number, got {max_penalty!r}")
        if max_penalty > 0:
            raise ValueError(f"max_penalty is a penalty and must be <= 0, got {max_penalty}")
        if unit not in ("words", "tokens"):
            raise ValueError(f"unit must be 'words' or 'tokens', got {unit!r}")
        check_segmenter(segmenter)
        self.segmenter = segmenter
        self.ngram_size = ngram_size
        self.max_penalty = float(max_penalty)
        self.unit = unit
        self.tokenizer = tokenizer or None
        self._tok: Any = None if isinstance(self.tokenizer, str) else self.tokenizer

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        if isinstance(self.tokenizer, str):
            state["_tok"] = None
        return state

    def units(self, sample: Sample) -> tuple[list[Any], str]:
        """The sequence whose n-grams are counted, and where it came from."""
        if self.unit == "words":
            return segment(sample.completion.lower(), self.segmenter), "words"
        if sample.completion_ids is not None:
            return list(sample.completion_ids), "completion_ids"
        if self.tokenizer is not None:
            if self._tok is None:
                self._tok = load_tokenizer(self.tokenizer)
            return encode(self._tok, sample.completion), "tokenizer"
        raise ValueError("unit='tokens' but the sample has no completion_ids and no 'tokenizer' option is set")

    def score(self, sample: Sample) -> Score:
        items, source = self.units(sample)
        if len(items) < self.ngram_size:
            return Score.scored(0.0, f"{len(items)} {source}, fewer than n={self.ngram_size}", repeated_fraction=0.0)
        frac = repeated_fraction(items, self.ngram_size)
        value = frac * self.max_penalty
        return Score.scored(
            value + 0.0,  # avoid -0.0 in outputs
            f"{frac:.1%} of {self.ngram_size}-grams repeated ({len(items)} {source})",
            repeated_fraction=round(frac, 4),
            source=source,
        )


@hookimpl
def register_verifiers(register: Register) -> None:
    register(RepetitionPenalty)
