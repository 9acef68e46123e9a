"""Shared answer extraction helpers for verifiers that read a final answer from a completion."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_THINK_RE = re.compile(r"<think>.*?(?:</think>|\Z)", re.DOTALL | re.IGNORECASE)
_FENCE_RE = re.compile(r"^[ \t]*(`{3,}|~{3,})[^\n]*\n(.*?)^[ \t]*\1[ \t]*$", re.DOTALL | re.MULTILINE)

EXTRACT_MODES = ("auto", "tag", "full")


def strip_think(text: str) -> str:
    """Remove ``<think>...</think>`` sections (an unclosed one runs to the end of the text)."""
    return _THINK_RE.sub("", text)


def tag_blocks(text: str, tag: str) -> list[str]:
    """Contents of every ``<tag>...</tag>`` block in ``text``, outside ``<think>`` sections."""
    pattern = re.compile(rf"<{re.escape(tag)}>(.*?)</{re.escape(tag)}>", re.DOTALL | re.IGNORECASE)
    return [m.group(1) for m in pattern.finditer(strip_think(text))]


def fenced_blocks(text: str) -> list[str]:
    """Contents of every fenced code block (```` ``` ```` or ``~~~``, any info string) in ``text``."""
    return [m.group(2) for m in _FENCE_RE.finditer(text)]


@dataclass(frozen=True)
class Answer:
    """The answer part of a completion.

    :param text: the answer text (possibly empty), or ``None`` when the completion hedges with
        several answer blocks that differ.
    :param source: where it came from (``"<answer>"``, ``"completion"``), for details.
    :param blocks: how many answer blocks there were.
    """

    text: str | None
    source: str
    blocks: int = 0

    @property
    def hedged(self) -> bool:
        return self.text is None


def extract_answer(
    text: str,
    *,
    tag: str = "answer",
    extract: str = "auto",
    same: Callable[[str], str] = str.strip,
) -> Answer:
    """The final answer of a completion, the way ``exact``, ``choice`` and ``format.json`` read it.

    ``extract="auto"``: the ``<tag>`` block if there is one, else the whole completion without
    ``<think>`` sections. ``"tag"``: only the block (empty when there is none). ``"full"``: the
    completion without ``<think>`` sections. Several blocks whose contents differ after ``same``
    (a normalization function) are a hedge: the result's ``text`` is ``None``. Repeated identical
    blocks count as one answer.
    """
    if extract not in EXTRACT_MODES:
        raise ValueError(f"extract must be one of {', '.join(EXTRACT_MODES)}, got {extract!r}")
    if extract != "full":
        blocks = tag_blocks(text, tag)
        if blocks:
            if len({same(b) for b in blocks}) > 1:
                return Answer(None, f"<{tag}>", len(blocks))
            return Answer(blocks[-1], f"<{tag}>", len(blocks))
        if extract == "tag":
            return Answer("", f"<{tag}>", 0)
    return Answer(strip_think(text), "completion", 0)
