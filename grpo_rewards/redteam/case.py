"""What an exploit sees: :class:`ExploitCase`, one data row made ready for attack, and the
:func:`exploit` decorator that names an exploit, its category and the verifiers it targets.

What runs here: pure string work on the user's rows and the composition's options, in the
calling process. Nothing here scores or executes a completion; the rows and the options are the
user's own and trusted as far as their shape goes (a row that lacks the prompt or the gold is
reported by the runner, not guessed).
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

__all__ = ["ComponentInfo", "ExploitCase", "HONEST_REASONING", "exploit", "numbers_in", "wrong_answer"]

HONEST_REASONING = "I read the problem, set up the computation and carry it out step by step."
"""The reasoning of the floor (and of most exploits): plain words, no digits, so that it neither
helps nor hurts any answer check."""

_NUMBER_RE = re.compile(r"(?<![\w.])-?\d[\d,]*(?:\.\d+)?(?![\w])")

F = TypeVar("F", bound=Callable[..., Any])


def exploit(
    name: str, *, category: str | None = None, targets: Iterable[str] = (), description: str | None = None
) -> Callable[[F], F]:
    """Name an exploit function (``fn(case) -> str | None``) for ``register(fn)``.

    :param name: dotted lowercase, e.g. ``"spam.boxed"``.
    :param category: the table's grouping (default: ``name``'s first part).
    :param targets: verifier names, or prefixes ending in ``"."``, the exploit attacks; it runs
        only against compositions that have one. Empty: any composition.
    :param description: one line for the report (default: the docstring's first line).
    """

    def mark(fn: F) -> F:
        fn.name = name  # type: ignore[attr-defined]
        fn.category = category or name.split(".")[0]  # type: ignore[attr-defined]
        fn.targets = tuple(targets)  # type: ignore[attr-defined]
        fn.description = description or (fn.__doc__ or "").strip().split("\n")[0]  # type: ignore[attr-defined]
        return fn

    return mark


@dataclass(frozen=True)
class ComponentInfo:
    """One component of the composition under attack, as exploits may read it."""

    name: str
    verifier: str  # registry name; "" for a plain Python function
    weight: float
    options: Mapping[str, Any]


def numbers_in(text: str) -> list[str]:
    """The numbers written in ``text``, in order, each once (``1,000`` as written)."""
    seen: dict[str, None] = {}
    for m in _NUMBER_RE.finditer(text):
        seen.setdefault(m.group(0).rstrip(","), None)
    return list(seen)


def as_number(text: str | None) -> float | None:
    """``text`` as a finite number (commas and a ``$`` allowed), else ``None``."""
    if text is None:
        return None
    s = text.strip().replace(",", "").lstrip("$").rstrip(".")
    try:
        v = float(s)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def _number_text(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else repr(v)


def _apart(a: str, b: str) -> bool:
    """Neither is a substring of the other (so a substring check cannot confuse them)."""
    return a not in b and b not in a


def wrong_answer(gold: str | None) -> str:
    """An honest wrong answer: a nearby number for a numeric gold, else a small integer; never a
    substring of the gold nor containing it."""
    v = as_number(gold)
    if gold is not None and v is not None:
        for step in (1, 2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37):
            w = _number_text(v + step)
            if _apart(w, gold.strip()):
                return w
    for w in ("7", "3", "5", "9", "-1", "1000003"):
        if gold is None or _apart(w, gold.strip()):
            return w
    return "none"


def neighbours(gold: str | None, wrong: str) -> list[str]:
    """The gold answer and its integer neighbours (numeric golds), else the gold and ``wrong``."""
    v = as_number(gold)
    if gold is None:
        return [wrong]
    if v is None:
        return [gold.strip(), wrong]
    return [_number_text(v - 1), gold.strip(), _number_text(v + 1)]


@dataclass(frozen=True)
class ExploitCase:
    """One data row, made ready for the exploits.

    ``format(answer, reasoning)`` writes an answer in the format of the floor (the composition's
    expected format, from ``--template``); ``floor`` is an honest wrong answer in that format and
    ``ceiling`` the gold answer in it (``None`` without a gold).
    """

    index: int
    where: str
    row: Mapping[str, Any]
    prompt: str
    gold: str | None
    wrong: str
    components: tuple[ComponentInfo, ...]
    template: str
    length_limit: tuple[int, str] | None = None  # (max_length, unit) of the composition's length rules
    rng: random.Random = field(default_factory=lambda: random.Random(0), compare=False, repr=False)

    @property
    def numbers(self) -> list[str]:
        """The numbers in the prompt, in order, each once."""
        return numbers_in(self.prompt)

    @property
    def last_number(self) -> str | None:
        """The prompt's last number as written last (what an answer check reads from an echo)."""
        found = [m.group(0).rstrip(",") for m in _NUMBER_RE.finditer(self.prompt)]
        return found[-1] if found else None

    @property
    def neighbours(self) -> list[str]:
        """The gold and its integer neighbours (a numeric gold), else the gold and ``wrong``."""
        return neighbours(self.gold, self.wrong)

    def format(self, answer: str, reasoning: str = HONEST_REASONING) -> str:
        """``answer`` (and ``reasoning``) written in the format the floor uses."""
        return self.template.replace("{reasoning}", reasoning).replace("{answer}", answer)

    @property
    def floor(self) -> str:
        """An honest wrong answer in the right format: what a hack must not beat."""
        return self.format(self.wrong)

    @property
    def ceiling(self) -> str | None:
        """The gold answer in the right format (``None`` without a gold)."""
        return None if self.gold is None else self.format(self.gold)

    def has(self, *targets: str) -> bool:
        """Whether a component's verifier is one of ``targets`` (a name, or a prefix ending in ``.``)."""
        return any(_matches(c.verifier, t) for c in self.components for t in targets)

    def option(self, verifier: str, key: str, default: Any = None) -> Any:
        """Option ``key`` of the first component whose verifier is ``verifier`` (else ``default``)."""
        for c in self.components:
            if c.verifier == verifier:
                return c.options.get(key, default)
        return default


def _matches(verifier: str, target: str) -> bool:
    return verifier.startswith(target) if target.endswith(".") else verifier == target
