"""Text helpers shared by the length, repetition and language verifiers: word splitting that
works for scripts written without spaces, and the length of a completion in a chosen unit."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import regex

# Scripts written without spaces between words: every character counts as one word, so that
# Chinese or Japanese text is not one giant "word" to a whitespace tokenizer.
_NO_SPACE = r"\p{Han}\p{Hiragana}\p{Katakana}\p{Bopomofo}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}"
_WORD_RE = regex.compile(rf"[{_NO_SPACE}]|[^\s{_NO_SPACE}]+")
_HAS_NO_SPACE = regex.compile(rf"[{_NO_SPACE}]")

UNITS = ("auto", "tokens", "chars", "words")


def words(text: str) -> list[str]:
    """Split ``text`` into words: runs of non-space characters, except that each character of
    a script written without spaces (Han, Hiragana, Katakana, Thai, ...) is a word of its own."""
    if text.isascii() or _HAS_NO_SPACE.search(text) is None:
        return text.split()  # the common case, several times faster
    return _WORD_RE.findall(text)


SEGMENTERS = ("chars", "jieba")


def check_segmenter(segmenter: str) -> None:
    """Raise ``ValueError`` (a config error) for an unknown segmenter or one not installed."""
    if segmenter not in SEGMENTERS:
        raise ValueError(f"segmenter must be 'chars' or 'jieba', got {segmenter!r}")
    if segmenter == "jieba":
        try:
            import jieba  # noqa: F401
        except ImportError as exc:
            raise ValueError(
                "segmenter='jieba' needs the 'jieba' package: pip install 'grpo-rewards[zh]' "
                "(or leave segmenter unset to count each Chinese character as a word)"
            ) from exc


def segment(text: str, segmenter: str = "chars") -> list[str]:
    """Words of ``text`` for n-gram counting.

    ``"chars"`` is :func:`words` (every character of a script written without spaces is a word;
    no dependency). ``"jieba"`` segments Chinese into words with jieba (``grpo-rewards[zh]``), as
    open-r1's ``get_repetition_penalty_reward(language="zh")`` (src/open_r1/rewards.py) does; the
    whitespace tokens jieba returns are dropped, so text with spaces splits as with ``"chars"``.
    Other scripts without spaces (kana, Thai, ...) stay one word per character under jieba too.
    """
    if segmenter == "chars" or text.isascii() or _HAS_NO_SPACE.search(text) is None:
        return words(text)
    import jieba

    return [w for w in jieba.lcut(text) if w.strip()]


def repeated_fraction(items: Sequence[Any], n: int) -> float:
    """``1 - distinct n-grams / n-grams`` of ``items``: 0.0 for no repetition, approaching 1.0 when
    one n-gram is repeated over and over; 0.0 when there are fewer than ``n`` items.

    This is the scaling factor of the n-gram repetition penalty of Yeo et al. 2025, "Demystifying
    Long Chain-of-Thought Reasoning in LLMs" (arXiv 2502.03373, Appendix C.2), as implemented in
    open-r1's ``get_repetition_penalty_reward``.
    """
    total = len(items) - n + 1
    if n < 1:
        raise ValueError(f"n-gram size must be at least 1, got {n}")
    if total <= 0:
        return 0.0
    grams = set(zip(*(items[i:] for i in range(n)), strict=False))
    return 1.0 - len(grams) / total


def load_tokenizer(name: str) -> Any:
    """Load a Hugging Face tokenizer by local path or cached name (needs ``transformers``)."""
    try:
        from transformers import AutoTokenizer
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            f"counting tokens with tokenizer={name!r} needs the 'transformers' package; "
            "install grpo-rewards[train], or leave 'tokenizer' unset to count characters"
        ) from exc
    return AutoTokenizer.from_pretrained(name)


def encode(tokenizer: Any, text: str) -> list[Any]:
    """Token ids ``tokenizer`` gives ``text``, without special tokens. ``tokenizer`` is a Hugging
    Face tokenizer, an object with ``encode``, or a callable returning a sequence."""
    if hasattr(tokenizer, "encode"):
        try:
            return list(tokenizer.encode(text, add_special_tokens=False))
        except TypeError:
            return list(tokenizer.encode(text))
    if callable(tokenizer):
        return list(tokenizer(text))
    raise TypeError(f"tokenizer must have an encode() method or be callable, got {type(tokenizer).__name__}")


def count_tokens(tokenizer: Any, text: str) -> int:
    """Number of tokens ``tokenizer`` gives ``text`` (see :func:`encode`)."""
    return len(encode(tokenizer, text))
