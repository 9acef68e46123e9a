"""Shared answer extraction helpers for verifiers that read a final answer from a completion."""

from __future__ import annotations

import re

_THINK_RE = re.compile(r"<think>.*?(?:</think>|\Z)", re.DOTALL | re.IGNORECASE)


def strip_think(text: str) -> str:
    """Remove ``<think>...</think>`` sections (an unclosed one runs to the end of the text)."""
    return _THINK_RE.sub("", text)


def tag_blocks(text: str, tag: str) -> list[str]:
    """Contents of every ``<tag>...</tag>`` block in ``text``, outside ``<think>`` sections."""
    pattern = re.compile(rf"<{re.escape(tag)}>(.*?)</{re.escape(tag)}>", re.DOTALL | re.IGNORECASE)
    return [m.group(1) for m in pattern.finditer(strip_think(text))]
