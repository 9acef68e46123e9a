"""``reasoning_steps``: credit for step-by-step structure, only for steps that say something.

Runs in the scoring process (pure text, no dependency beyond ``regex``). Follows open-r1's
``reasoning_steps_reward`` (huggingface/open-r1, ``src/open_r1/rewards.py`` at commit
c1e11922945753881e1992da765549098e6af6d4, the last change to that file as of 1416fa0c): count
step markers, pay ``min(1, count / 3)``; with a rule that open-r1 lacks, so that markers alone earn
nothing (open-r1 gives 1.0 to ``"Step 1: Step 2: Step 3:"``).
"""

from __future__ import annotations

from typing import Any

import regex

from grpo_rewards.contract import Outcome, Sample, Score, Verifier
from grpo_rewards.hookspecs import Register, hookimpl
from grpo_rewards.verifiers._text import words

__all__ = ["ReasoningSteps"]

# open-r1's pattern is r"(Step \d+:|^\d+\.|\n-|\n\*|First,|Second,|Next,|Finally,)" without
# re.MULTILINE. The same four kinds of marker here, anchored where open-r1's docstring says they
# are meant to be: numbered items and bullets at the start of any line (its ``^\d+\.`` only
# matches at the start of the whole completion), followed by a space (its ``\n-`` and ``\n\*``
# also match ``\n---``, ``\n-3`` and ``\n**bold**``).
_MARKER = regex.compile(
    r"""
      \b[Ss]tep[ \t]*\d+[ \t]*:                  # Step 3:
    | (?m:^)[ \t]*\d+[.)](?=\s)                  # 3. or 3) at the start of a line
    | (?m:^)[ \t]*[-*+\u2022](?=[ \t])           # - item, * item, + item, bullet item
    | \b(?:First|Second|Next|Finally),           # open-r1's transition words
    """,
    regex.VERBOSE,
)
_ALNUM = regex.compile(r"[\p{L}\p{N}]")
_NOT_ALNUM = regex.compile(r"[^\p{L}\p{N}]+")


def content_words(text: str) -> tuple[str, ...]:
    """The words of ``text`` that hold a letter or a digit, lowercased, without punctuation
    (``"We add 2."`` -> ``("we", "add", "2")``); CJK characters count one word each."""
    return tuple(_NOT_ALNUM.sub("", w.lower()) for w in words(text) if _ALNUM.search(w))


class ReasoningSteps(Verifier):
    """Step-by-step structure, as open-r1's ``reasoning_steps_reward``, without credit for markers
    that introduce nothing.

    A *step marker* is ``Step N:``, a numbered item (``1.``, ``2)``) or a bullet (``-``, ``*``,
    ``+``, ``•``) at the start of a line, or one of open-r1's transition words ``First,``,
    ``Second,``, ``Next,``, ``Finally,``. A step is the text from its marker to the next marker.
    A step *counts* only when

    - it holds at least ``min_words`` words with a letter or digit (default 2), so ``"Step 1:
      Step 2: Step 3:"`` and ``"First, Second, Next,"`` count nothing; and
    - (``distinct=True``) its words differ from those of every step counted before, so the same
      line repeated under new numbers counts once.

    The value is ``min(1, counted / target)`` (``target`` = 3, open-r1's "magic number 3").
    Markers are counted over the whole completion, reasoning and answer alike, as in open-r1: the
    structure being rewarded is the model's reasoning, which reasoning models write inside
    ``<think>`` and others in the answer itself.

    Where ours differs from open-r1 on purpose (see ``docs/verifiers/reasoning_steps.md``):
    empty and repeated steps, numbered items after the first line (open-r1's ``^\\d+\\.`` lacks
    ``re.MULTILINE``), a bullet on the first line, and ``\\n---``/``\\n-3``/``\\n**bold**``,
    which open-r1 counts as bullets. A marker inside another step's text (``1. First, we ...``)
    starts a new step, so the pair counts once, for the text after ``First,``.
    """

    name = "reasoning_steps"
    description = "Step-by-step structure (open-r1's reasoning_steps); empty or repeated steps earn nothing"
    outcomes = (Outcome.SCORED,)

    def __init__(self, *, target: int = 3, min_words: int = 2, distinct: bool = True) -> None:
        if isinstance(target, bool) or not isinstance(target, int) or target < 1:
            raise ValueError(f"target must be a positive integer (steps for full credit), got {target!r}")
        if isinstance(min_words, bool) or not isinstance(min_words, int) or min_words < 0:
            raise ValueError(f"min_words must be a non-negative integer, got {min_words!r}")
        if not isinstance(distinct, bool):
            raise ValueError(f"distinct must be true or false, got {distinct!r}")
        self.target = target
        self.min_words = min_words
        self.distinct = distinct

    def steps(self, text: str) -> tuple[int, int, int, int]:
        """``(counted, markers, too_short, repeated)`` for ``text``."""
        marks = list(_MARKER.finditer(text))
        seen: set[tuple[str, ...]] = set()
        counted = too_short = repeated = 0
        for i, m in enumerate(marks):
            end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
            body = content_words(text[m.end() : end])
            if len(body) < self.min_words:
                too_short += 1
            elif self.distinct and body in seen:
                repeated += 1
            else:
                seen.add(body)
                counted += 1
        return counted, len(marks), too_short, repeated

    def score(self, sample: Sample) -> Score:
        counted, markers, too_short, repeated = self.steps(sample.completion)
        value = min(1.0, counted / self.target)
        detail = f"{counted} step(s) of {markers} marker(s), target {self.target}"
        skipped = [
            f"{n} {why}" for n, why in ((too_short, f"under {self.min_words} words"), (repeated, "repeated")) if n
        ]
        if skipped:
            detail += " (not counted: " + ", ".join(skipped) + ")"
        info: dict[str, Any] = {"steps": counted, "markers": markers, "too_short": too_short, "repeated": repeated}
        return Score.scored(value, detail, **info)


@hookimpl
def register_verifiers(register: Register) -> None:
    register(ReasoningSteps)
