"""Find the final answer in a completion, and the gold answer in a dataset column.

Everything here is plain string scanning in linear time (brace matching is bounded per box and
the fallbacks look only at the tail of the completion), so it runs in the caller's process
without a timeout. The rules, in the default order (see ``docs/verifiers/math.md``):

1. ``tag``: the content of ``<answer>...</answer>`` outside ``<think>``; several different blocks
   are a hedge. Inside the block the rules below are applied again, the whole block being the
   answer when none matches.
2. ``boxed``: the last ``\\boxed{...}`` / ``\\fbox{...}`` (brace-matched, nested). Several
   different boxes count as one answer listing them all (which only a multi-valued gold can
   match), unless a self-correction word ("wait", "actually", ...) stands between the last two,
   in which case the last one is the answer.
3. ``final_answer``: "final answer is ..." / "the answer is ...".
4. ``hashes``: GSM8K's ``#### N``.
5. ``answer_line``: a line ``Answer: ...``.
6. ``last_math``: the last ``$...$``, ``\\(...\\)``, ``\\[...\\]`` in the tail of the text.
7. ``last_number``: the last number in the tail of the text.

``math_verify`` (not in the default order) leaves extraction to math-verify: the whole text
outside ``<think>`` is the answer, which the workers hand to math-verify's ``parse`` unwrapped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from grpo_rewards.answers import strip_think, tag_blocks
from grpo_rewards.reasoning import DEFAULT as DEFAULT_REASONING

__all__ = ["EXTRACTORS", "DEFAULT_ORDER", "Extraction", "extract_answer", "extract_gold", "boxed_contents"]

DEFAULT_ORDER: tuple[str, ...] = ("tag", "boxed", "final_answer", "hashes", "answer_line", "last_math", "last_number")
EXTRACTORS = (*DEFAULT_ORDER, "math_verify")
"""The rules ``extract`` may name: the default order, and ``math_verify``, which hands the whole
completion (reasoning removed) to math-verify's own extraction, as TRL's and open-r1's
``accuracy_reward`` do; it finds something in any non-empty completion, so it goes last."""

# Bounds that keep extraction linear on adversarial (megabyte) completions.
_MAX_BOX_SCAN = 20_000  # characters scanned for one box's closing brace
_MAX_BOXES = 64  # boxes considered (the last ones)
_TAIL = 2_000  # characters of the tail searched by last_math / last_number
_LINE = 400  # characters kept after an anchor phrase
_SHORT = 80  # a completion this short with no math environment is taken whole by last_math

_BOX_RE = re.compile(r"\\(?:boxed|fbox)\b\s*")
_CORRECTION_RE = re.compile(
    r"\b(?:wait|no|nope|actually|correction|correct(?:ed|ing)?|mistake|oops|sorry|instead|"
    r"re-?check(?:ing)?|re-?calculat\w*|re-?evaluat\w*|re-?examin\w*|let me|hmm|however|but|rather|error|wrong)\b",
    re.IGNORECASE,
)
_FINAL_RE = re.compile(r"(?:final\s+answer|the\s+answer)\s*(?:is|:|=)\s*:?\s*", re.IGNORECASE)
_HASHES_RE = re.compile(r"####\s*([^\n]*)")
_ANSWER_LINE_RE = re.compile(r"(?:^|\n)[ \t>*_#]*answer[*_]*\s*[:：]\s*([^\n]*)", re.IGNORECASE)
_MATH_ENV_RE = re.compile(
    r"\$\$(?P<dd>.+?)\$\$|\\\[(?P<br>.+?)\\\]|\\\((?P<pa>.+?)\\\)|(?<!\\)\$(?P<d>(?:\\\$|[^$\n])+?)(?<!\\)\$",
    re.DOTALL,
)
_PHANTOM_RE = re.compile(r"\\[hv]?phantom\s*\{[^{}]*\}|\\[,;:! ]|\\q?quad")
_WORD_RE = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{2,}\b")
_NUMBER_RE = re.compile(r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:\s*/\s*\d+)?|-?\.\d+")
_EMPHASIS_RE = re.compile(r"^[\s*_]+|[\s*_]+$")
_SENTENCE_END_RE = re.compile(r"\.(?:\s|$)|\bI hope it is correct\b|\n", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Extraction:
    """What the extraction found.

    :param answer: the answer text, or ``None`` when nothing was found.
    :param method: the rule that found it (one of :data:`EXTRACTORS`).
    :param parts: the different boxed answers when several were given together.
    :param hedge: non-empty when the completion hedges in a way that is scored ``wrong`` outright
        (several different ``<answer>`` blocks); the text says how.
    """

    answer: str | None
    method: str = ""
    parts: tuple[str, ...] = ()
    hedge: str = ""


def _match_brace(text: str, open_at: int) -> int | None:
    """Index of the ``}`` closing the ``{`` at ``open_at`` (``\\{`` and ``\\}`` are skipped), or None."""
    depth = 0
    i = open_at
    end = min(len(text), open_at + _MAX_BOX_SCAN)
    while i < end:
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return None


def boxed_contents(text: str) -> list[tuple[int, int, str]]:
    """Every ``\\boxed{...}``/``\\fbox{...}`` (and ``\\boxed 5``) in ``text``: (start, end, content).

    Boxes nested in a box are part of the outer one. Unclosed boxes are ignored."""
    out: list[tuple[int, int, str]] = []
    pos = 0
    starts = [m for m in _BOX_RE.finditer(text)]
    if len(starts) > _MAX_BOXES * 4:
        pos = starts[-_MAX_BOXES * 4].start()
    for m in starts:
        if m.start() < pos:
            continue
        j = m.end()
        if j < len(text) and text[j] == "{":
            close = _match_brace(text, j)
            if close is None:
                continue
            out.append((m.start(), close + 1, text[j + 1 : close]))
            pos = close + 1
        else:  # "\boxed 5": the next token
            tok = re.match(r"[^\s$.,;]+", text[j : j + 200])
            if tok:
                out.append((m.start(), j + tok.end(), tok.group(0)))
                pos = j + tok.end()
    return out[-_MAX_BOXES:]


def _key(s: str) -> str:
    return "".join(s.split())


def _boxed(text: str) -> Extraction | None:
    boxes = boxed_contents(text)
    if not boxes:
        return None
    boxes = [b for b in boxes if _PHANTOM_RE.sub("", b[2]).strip()]  # "\boxed{\phantom{2}}" is a layout trick
    if not boxes:
        return None
    contents = [c for _, _, c in boxes]
    distinct: list[str] = []
    for c in contents:
        if _key(c) not in {_key(d) for d in distinct}:
            distinct.append(c)
    if len(distinct) == 1:
        return Extraction(contents[-1], "boxed")
    between = text[boxes[-2][1] : boxes[-1][0]]
    if _CORRECTION_RE.search(between):
        return Extraction(contents[-1], "boxed")
    return Extraction(", ".join(distinct), "boxed", parts=tuple(distinct))


def _after_anchor(text: str, start: int) -> str:
    """The answer written after an anchor phrase: a math environment or the rest of the sentence."""
    rest = text[start : start + _LINE].lstrip().lstrip("\"'*_").lstrip()
    env = _MATH_ENV_RE.match(rest)
    if env:
        return next(g for g in env.groups() if g is not None)
    end = _SENTENCE_END_RE.search(rest)
    # Markdown emphasis around the answer ("the answer is **73**.", "**Answer:** **73**") is
    # not part of it.
    return _EMPHASIS_RE.sub("", rest[: end.start()] if end else rest)


def _final_answer(text: str) -> Extraction | None:
    last = None
    for m in _FINAL_RE.finditer(text):
        last = m
    if last is None:
        return None
    ans = _after_anchor(text, last.end()).strip()
    return Extraction(ans, "final_answer") if ans else None


def _hashes(text: str) -> Extraction | None:
    found = _HASHES_RE.findall(text)
    if not found or not found[-1].strip():
        return None
    return Extraction(found[-1].strip(), "hashes")


def _answer_line(text: str) -> Extraction | None:
    last = None
    for m in _ANSWER_LINE_RE.finditer(text):
        last = m
    if last is None:
        return None
    ans = _after_anchor(text, last.start(1)).strip()
    return Extraction(ans, "answer_line") if ans else None


def _last_math(text: str) -> Extraction | None:
    return _last_math_and_after(text)[0]


def _last_math_and_after(text: str) -> tuple[Extraction | None, bool]:
    """The last math environment, and whether a number follows it in the text."""
    tail = text[-_TAIL:]
    last = None
    end = 0
    for m in _MATH_ENV_RE.finditer(tail):
        content = next(g for g in m.groups() if g is not None)
        if m.group("d") is not None and tail[m.end() : m.end() + 1].isdigit() and content != content.strip():
            continue  # "costs $5 and $7": currency, not math
        if content.strip():
            last, end = content.strip(), m.end()
    if last:
        return Extraction(last, "last_math"), _NUMBER_RE.search(tail, end) is not None
    whole = text.strip()
    if 0 < len(whole) <= _SHORT and len(_WORD_RE.findall(whole)) < 3:
        return Extraction(whole, "last_math"), False  # the whole completion is the answer ("\\frac{10}{9}")
    return None, False


def _last_number(text: str) -> Extraction | None:
    found = _NUMBER_RE.findall(text[-_TAIL:])
    return Extraction(found[-1], "last_number") if found else None


_RULES = {
    "boxed": _boxed,
    "final_answer": _final_answer,
    "hashes": _hashes,
    "answer_line": _answer_line,
    "last_math": _last_math,
    "last_number": _last_number,
}


def extract_answer(
    completion: str,
    order: tuple[str, ...] = DEFAULT_ORDER,
    tag: str = "answer",
    *,
    reasoning: Any = DEFAULT_REASONING,
    prefilled: bool | None = None,
) -> Extraction:
    """Find the final answer of ``completion`` by trying the rules of ``order`` in turn, outside
    its reasoning (``<think>`` unless ``reasoning`` says otherwise; :mod:`grpo_rewards.reasoning`)."""
    text = strip_think(completion, reasoning, prefilled=prefilled)
    if "tag" in order:
        # Without a closing tag there is no block; checking first keeps a flood of unclosed
        # opening tags from making the block search quadratic.
        closed = f"</{tag}>" in completion or f"</{tag}>".upper() in completion.upper()
        blocks = [b for b in tag_blocks(text, tag, "none") if b.strip()] if closed else []
        if blocks:
            if len({_key(b) for b in blocks}) > 1:
                return Extraction(blocks[-1], "tag", hedge=f"{len(blocks)} different <{tag}> blocks")
            inner = blocks[-1]
            for name in ("boxed", "final_answer", "hashes", "answer_line"):
                if name in order:
                    found = _RULES[name](inner)
                    if found is not None:
                        return Extraction(found.answer, f"tag+{name}", found.parts, found.hedge)
            return Extraction(inner.strip(), "tag")
    for name in order:
        if name == "tag":
            continue
        if name == "math_verify":
            if text.strip():
                return Extraction(text.strip(), "math_verify")
            continue
        found = _RULES[name](text)
        if name == "last_math" and "last_number" in order:
            found, number_after = _last_math_and_after(text)
            if number_after:
                # "... $d = \\frac{90}{n}$ ... so there are 12 sequences": prose after the last
                # formula states the result.
                found = _last_number(text)
        if name == "boxed" and found is not None and "final_answer" in order:
            # "... \\boxed{200} ... \\boxed{255} ... The final answer is $10,455$": the closing
            # statement after the last box wins over intermediate boxes.
            boxes = boxed_contents(text)
            final = _final_answer(text[boxes[-1][1] :]) if boxes else None
            if final is not None and final.answer:
                found = final
        if found is not None and found.answer:
            return found
    return Extraction(None)


def extract_gold(value: Any, column: str) -> list[str]:
    """The acceptable gold answers held by a dataset cell.

    Accepts a bare value (``72``, ``"\\frac{1}{2}"``), a GSM8K solution (the text after the last
    ``####``), a full solution with ``\\boxed{}`` (the last box; several different boxes make a
    multi-valued answer), a long solution without a box (kept whole: the slow path lets
    math-verify find its last expression), or a list of acceptable answers.

    :raises ValueError: when the cell holds nothing usable, naming the column.
    """
    if value is None or isinstance(value, bool):
        raise ValueError(f"gold answer in column {column!r} is {value!r}")
    if isinstance(value, int | float):
        return [repr(value) if isinstance(value, float) else str(value)]
    if isinstance(value, list | tuple):
        out: list[str] = []
        for v in value:
            out.extend(extract_gold(v, column))
        if not out:
            raise ValueError(f"gold answer list in column {column!r} is empty")
        return out
    if not isinstance(value, str):
        raise ValueError(f"gold answer in column {column!r} must be a string or number, got {type(value).__name__}")
    s = value.strip()
    if "####" in s:
        s = s.rsplit("####", 1)[1].strip()
    elif _BOX_RE.search(s):
        found = _boxed(s)
        if found is not None and found.answer:
            s = found.answer.strip()
    if not s:
        raise ValueError(f"gold answer in column {column!r} is empty")
    return [s]
