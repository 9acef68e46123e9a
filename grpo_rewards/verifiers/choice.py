"""``choice``: multiple-choice letter answers."""

from __future__ import annotations

import re
import string
from typing import Any

from grpo_rewards.answers import EXTRACT_MODES, extract_answer
from grpo_rewards.contract import Outcome, Sample, Score, Verifier
from grpo_rewards.hookspecs import Register, hookimpl
from grpo_rewards.reasoning import DEFAULT as DEFAULT_REASONING
from grpo_rewards.reasoning import parse_reasoning, prefilled_for

__all__ = ["MultipleChoice", "find_choice"]

# The patterns below run on _squeeze()d text: markdown emphasis removed and every whitespace run
# one character, so that each gap is matched by a single "\s?" and no pattern can backtrack
# polynomially on long runs of spaces or asterisks in an adversarial completion.
_EMPHASIS = re.compile(r"[*_`]+")
_SPACES = re.compile(r"[^\S\n]+")
_NEWLINES = re.compile(r" ?\n[\n ]*")

# A letter: "(C)", "[C]", "(c)" or a bare capital "C" not followed by a word character. A bare
# "I" followed by a verb ("I think B") is the pronoun, not option I.
_LETTER = (
    r"(?:\(\s?([A-Za-z])\s?\)|\[\s?([A-Za-z])\s?\]"
    r"|(?!I\s(?:think|believe|guess|would|am|feel|say|need|can|will)\b)([A-Z])(?![\w']))"
)
_STATEMENT = re.compile(
    r"(?i:\banswer\s?(?:(?:is|would\sbe|will\sbe|should\sbe)\s?[:：]?|[:：=-])"
    r"|\b(?:correct|right|best|final)\s(?:option|choice|answer)\s?(?:is|:|：|=)?"
    r"|\bchoose|\bpick|\bselect)"
    rf"\s?(?i:(?:option|choice)\s?)?{_LETTER}"
)
# "C is correct", "Option C is the answer"; group 1 holds letters listed before it ("A or C is correct").
_STATEMENT_AFTER = re.compile(
    r"((?:[(\[]?[A-Z][)\]]?\s?(?:,|/|&|\bor\b|\band\b)\s?){0,5})"
    rf"(?:(?i:option|choice)\s?)?{_LETTER}\s?(?i:is)\s?(?i:the\s?)?"
    r"(?i:correct|right|best|answer)\b"
)
_BOXED = re.compile(rf"\\boxed\{{\s?(?:\\text\{{\s?)?{_LETTER}\s?\}}?\s?\}}")
_MORE = re.compile(rf"\s?(?:,|/|&|\bor\b|\band\b|\bthen\b)\s?{_LETTER}")
_ALONE = re.compile(r"^[\s>#-]*(?:\(\s?([A-Za-z])\s?\)|\[\s?([A-Za-z])\s?\]|([A-Za-z]))[\s.:)]*$")
_LINE_LABEL = re.compile(r"^[ >#-]*(?:\(\s?([A-Z])\s?\)|([A-Z])\)|([A-Z])[.:])(?:\s|$)", re.MULTILINE)


def _squeeze(text: str) -> str:
    return _NEWLINES.sub("\n", _SPACES.sub(" ", _EMPHASIS.sub("", text)))


def _letter(m: re.Match[str], first_group: int = 1) -> str:
    for g in range(first_group, first_group + 3):
        if m.group(g):
            return m.group(g).upper()
    raise AssertionError("pattern matched without a letter")  # pragma: no cover


def find_choice(text: str) -> tuple[str | None, str]:
    """The option letter a piece of text commits to, and how it was found.

    In order: a ``\\boxed{C}``, an answer statement (``The answer is (C)``, ``Answer: C``,
    ``the correct option is C``, ``C is correct``; the last one counts, so a corrected answer is read as
    corrected), the whole text being a letter (``C``,
    ``(C)``, ``C.``), or exactly one line that starts with an option label (``C) 42``). A
    statement naming several letters (``A or B``, ``A, C``) or a text listing several labelled
    lines, or boxes around different letters, is a hedge: the letter is ``None`` and the reason
    says so.
    """
    text = _squeeze(text)
    found: list[tuple[int, str, re.Match[str]]] = []
    boxed = {_letter(m) for m in _BOXED.finditer(text)}
    if len(boxed) > 1:
        return None, f"hedged between boxed {', '.join(sorted(boxed))}"
    for m in _BOXED.finditer(text):
        found.append((m.start(), "boxed", m))
    for m in _STATEMENT.finditer(text):
        found.append((m.start(), "statement", m))
    for m in _STATEMENT_AFTER.finditer(text):
        found.append((m.start(), "statement after", m))
    if found:
        found.sort(key=lambda t: t[0])
        _, how, m = found[-1]
        if how == "statement after":
            letter = _letter(m, 2)
            more = set(re.findall(r"[A-Z]", m.group(1)))
            how = "statement"
        else:
            letter = _letter(m)
            more = {_letter(x) for x in _iter_more(text, m.end())}
        if more - {letter}:
            return None, f"hedged between {', '.join(sorted(more | {letter}))}"
        return letter, how
    m2 = _ALONE.match(text.strip())
    if m2 and (m2.group(3) is None or m2.group(3).isupper() or len(text.strip()) <= 3):
        return _letter(m2), "bare letter"
    labels = [_letter(x) for x in _LINE_LABEL.finditer(text)]
    if len(set(labels)) == 1:
        return labels[0], "labelled line"
    if len(set(labels)) > 1:
        return None, f"lists several options ({', '.join(sorted(set(labels)))})"
    return None, "no option letter found"


def _iter_more(text: str, pos: int) -> list[re.Match[str]]:
    out = []
    while (m := _MORE.match(text, pos)) is not None:
        out.append(m)
        pos = m.end()
    return out


class MultipleChoice(Verifier):
    """Multiple-choice answers given as a letter (MMLU, GPQA, ARC, MMLU-Pro's A-J).

    The answer is read from the ``<answer>`` block when there is one (else from the completion
    without its reasoning, ``<think>`` unless ``reasoning`` says otherwise; ``extract`` and
    ``reasoning`` as in ``exact``) and may be written ``C``, ``(C)``, ``C)``,
    ``C. text``, ``\\boxed{C}``, ``The answer is C`` or ``Answer: (c)``. Hedging gets nothing:
    ``A or B``, ``A, C``, several answer blocks that differ and option lists all score ``wrong``.
    Letters outside ``letters`` score ``wrong``.

    The gold column holds a letter (``"C"``, ``"(C)"``) or an integer index (0 = A, as in the
    ``cais/mmlu`` dataset; ``index_base = 1`` when 1 = A).
    """

    name = "choice"
    description = "Multiple-choice letter (A-J, '(C)', 'C)', 'The answer is C'); hedging scores wrong"
    outcomes = (Outcome.CORRECT, Outcome.WRONG, Outcome.NO_ANSWER, Outcome.BAD_REFERENCE)

    def __init__(
        self,
        *,
        column: str = "answer",
        letters: str = "ABCDEFGHIJ",
        extract: str = "auto",
        tag: str = "answer",
        index_base: int = 0,
        reasoning: Any = DEFAULT_REASONING,
    ) -> None:
        self.reasoning = parse_reasoning(reasoning)
        letters = letters.upper()
        if not letters or any(c not in string.ascii_uppercase for c in letters) or len(set(letters)) != len(letters):
            raise ValueError(f"letters must be distinct letters A-Z, got {letters!r}")
        if extract not in EXTRACT_MODES:
            raise ValueError(f"extract must be one of {', '.join(EXTRACT_MODES)}, got {extract!r}")
        if index_base not in (0, 1):
            raise ValueError(f"index_base must be 0 or 1, got {index_base!r}")
        self.column = column
        self.letters = letters
        self.extract = extract
        self.tag = tag
        self.index_base = index_base

    def required_columns(self) -> list[str]:
        return [self.column]

    def gold(self, raw: Any) -> str:
        """The gold letter from the column's value; ``ValueError`` when it is not one."""
        if isinstance(raw, int) and not isinstance(raw, bool):
            i = raw - self.index_base
            if 0 <= i < len(self.letters):
                return self.letters[i]
            raise ValueError(f"gold index {raw} is out of range for letters {self.letters!r}")
        if isinstance(raw, str):
            letter, _ = find_choice(raw)
            if letter is not None and letter in self.letters:
                return letter
        raise ValueError(f"gold answer {raw!r} in column {self.column!r} is not an option letter of {self.letters!r}")

    def score(self, sample: Sample) -> Score:
        try:
            gold = self.gold(sample.column(self.column))
        except ValueError as exc:
            return Score.bad_reference(str(exc))
        answer = extract_answer(
            sample.completion,
            tag=self.tag,
            extract=self.extract,
            same=_canon,
            reasoning=self.reasoning,
            prefilled=prefilled_for(self.reasoning, sample.prompt),
        )
        if answer.text is None:
            return Score.wrong(f"{answer.blocks} different <{self.tag}> blocks (hedging)")
        if not answer.text.strip():
            return Score.no_answer(f"empty answer ({answer.source})")
        letter, how = find_choice(answer.text)
        if letter is None:
            if how.startswith(("hedged", "lists")):
                return Score.wrong(how)
            return Score.no_answer(how)
        if letter not in self.letters:
            return Score.wrong(f"{letter} is not one of the options {self.letters}", answer=letter)
        if letter == gold:
            return Score.correct(f"expected {gold}, got {letter} ({how})", answer=letter)
        return Score.wrong(f"expected {gold}, got {letter} ({how})", answer=letter)


def _canon(block: str) -> str:
    letter, how = find_choice(block)
    return letter or f"?{block.strip()}"


@hookimpl
def register_verifiers(register: Register) -> None:
    register(MultipleChoice)
