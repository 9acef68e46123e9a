"""Answer extraction: how a verifier finds the final answer in a completion.

Public so that plugins read answers exactly the way the built-in verifiers do (``exact``,
``choice`` and ``language`` call :func:`extract_answer`; ``format.*``, ``code`` and ``math``
use the helpers). :func:`extract_answer`, :class:`Answer`, :func:`strip_think` and
:func:`tag_blocks` are re-exported at the package root.

What runs here, and what it may trust: these functions run in the process that computes rewards
(the trainer's, or ``grpo-rewards score``), called by verifiers on the model's completions. A
completion is untrusted text written by the policy being optimized against these very rewards,
so it is treated as adversarial: nothing in it is evaluated or executed, and every function is
linear in the length of the text, also on thousands of unclosed tags or fences (no regular
expression that rescans from each opening tag). Only the caller's arguments (tag name, mode,
normalization function) are trusted. The functions are pure: no state, no I/O.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from grpo_rewards.reasoning import DEFAULT as DEFAULT_REASONING
from grpo_rewards.reasoning import strip_reasoning

_FENCE_OPEN = re.compile(r"[ \t]*(`{3,}|~{3,})[^`]*$")

__all__ = ["EXTRACT_MODES", "Answer", "extract_answer", "fenced_blocks", "strip_think", "tag_blocks"]

EXTRACT_MODES = ("auto", "tag", "full")
"""The ``extract`` modes of :func:`extract_answer`."""


def strip_think(text: str, reasoning: Any = DEFAULT_REASONING, *, prefilled: bool | None = None) -> str:
    """The answer part of ``text``: reasoning sections removed (``<think>...</think>`` by default;
    ``reasoning`` is any setting of :mod:`grpo_rewards.reasoning`, e.g. ``"harmony"``).

    An unclosed section runs to the end of the text; a closing tag with no opening tag before it
    ends a section the chat template opened (``"...</think> 42"`` gives ``" 42"``); ``prefilled``
    as in :func:`grpo_rewards.reasoning.split`.
    """
    return strip_reasoning(text, reasoning, prefilled=prefilled)


def tag_blocks(text: str, tag: str, reasoning: Any = DEFAULT_REASONING, *, prefilled: bool | None = None) -> list[str]:
    """Contents of every ``<tag>...</tag>`` block in ``text``, outside reasoning sections
    (:func:`strip_think` with ``reasoning`` and ``prefilled``).

    Tags match case-insensitively; a block ends at the first closing tag after its opening tag
    (like the non-greedy ``<tag>(.*?)</tag>``). Runs in linear time even on thousands of
    unclosed opening tags, which a regular expression would rescan from each one.
    """
    body = strip_think(text, reasoning, prefilled=prefilled)
    opens = [(m.start(), m.end()) for m in re.finditer(rf"<{re.escape(tag)}>", body, re.IGNORECASE)]
    closes = [(m.start(), m.end()) for m in re.finditer(rf"</{re.escape(tag)}>", body, re.IGNORECASE)]
    blocks: list[str] = []
    pos = 0
    for start, content_start in opens:
        if start < pos:
            continue
        i = bisect.bisect_left(closes, (content_start, -1))
        if i == len(closes):
            break  # no closing tag after this one, nor after any later opening tag
        blocks.append(body[content_start : closes[i][0]])
        pos = closes[i][1]
    return blocks


def fenced_blocks(text: str) -> list[str]:
    """Contents of every closed fenced code block (```` ``` ```` or ``~~~``, any info string) in
    ``text``; the closing fence uses the same character, at least as many times (CommonMark).
    A line-by-line scan, linear in the length of the text."""
    blocks: list[str] = []
    fence: str | None = None
    body: list[str] = []
    for line in text.split("\n"):
        stripped = line.strip()
        if fence is None:
            m = _FENCE_OPEN.match(line)
            if m:
                fence, body = m.group(1), []
        elif stripped and set(stripped) == {fence[0]} and len(stripped) >= len(fence):
            blocks.append("\n".join(body) + ("\n" if body else ""))
            fence = None
        else:
            body.append(line)
    return blocks


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
    reasoning: Any = DEFAULT_REASONING,
    prefilled: bool | None = None,
) -> Answer:
    """The final answer of a completion, the way ``exact``, ``choice`` and ``format.json`` read it.

    ``extract="auto"``: the ``<tag>`` block if there is one, else the whole completion without
    ``<think>`` sections. ``"tag"``: only the block (empty when there is none). ``"full"``: the
    completion without ``<think>`` sections. Several blocks whose contents differ after ``same``
    (a normalization function) are a hedge: the result's ``text`` is ``None``. Repeated identical
    blocks count as one answer. ``reasoning`` and ``prefilled`` say what the reasoning sections
    are (:func:`strip_think`; ``<think>`` by default).
    """
    if extract not in EXTRACT_MODES:
        raise ValueError(f"extract must be one of {', '.join(EXTRACT_MODES)}, got {extract!r}")
    body = strip_think(text, reasoning, prefilled=prefilled)
    if extract != "full":
        blocks = tag_blocks(body, tag, "none")
        if blocks:
            if len({same(b) for b in blocks}) > 1:
                return Answer(None, f"<{tag}>", len(blocks))
            return Answer(blocks[-1], f"<{tag}>", len(blocks))
        if extract == "tag":
            return Answer("", f"<{tag}>", 0)
    return Answer(body, "completion", 0)
