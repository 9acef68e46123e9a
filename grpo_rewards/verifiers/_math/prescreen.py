"""Cheap rejection of absurd answers before they reach sympy.

sympy evaluates integer powers and factorials eagerly in C, where no timeout can interrupt it
and memory grows until the machine swaps: ``9^{9^{9^9}}`` or ``(10^{10})!`` would hang a worker
until it is killed. These checks run in linear time on the answer string and reject such inputs
up front, so the worker pool's kill-and-replace is a backstop, not the common path.
"""

from __future__ import annotations

import math
import re

__all__ = ["prescreen"]

MAX_DIGITS = 2_000
"""Longest run of digits accepted (a 2000-digit integer is already far beyond any real answer)."""
MAX_EXPONENT_DIGITS = 6
"""An integer power whose result would have more decimal digits than 10**this is rejected."""
MAX_FACTORIAL = 10_000
MAX_NESTING = 40

_DIGITS_RE = re.compile(rf"\d{{{MAX_DIGITS + 1},}}")
_FACT_RE = re.compile(r"(\d+)\s*!")
_FACT_OF_GROUP_RE = re.compile(r"[)}\]]\s*!")
_BRACED_TOWER_RE = re.compile(r"[\s{]*\d+(?:[\s}]*\^[\s{]*\d+)+[\s}]*")
_INT_RE = re.compile(r"^\s*\{?\s*([+-]?\d+(?:\.\d+)?)\s*\}?\s*$")


def _exponent(text: str, i: int) -> tuple[str, int]:
    """The exponent after the ``^`` at ``i``: its text and the index after it."""
    j = i + 1
    while j < len(text) and text[j] == " ":
        j += 1
    if j >= len(text):
        return "", j
    if text[j] == "{":
        depth = 0
        k = j
        while k < len(text):
            if text[k] == "\\":
                k += 2
                continue
            if text[k] == "{":
                depth += 1
            elif text[k] == "}":
                depth -= 1
                if depth == 0:
                    return text[j + 1 : k], k + 1
            k += 1
        return text[j + 1 :], len(text)
    if text[j] == "\\":
        m = re.match(r"\\[A-Za-z]+", text[j:])
        return (m.group(0), j + m.end()) if m else (text[j : j + 2], j + 2)
    m = re.match(r"\d+|.", text[j:])
    assert m is not None
    return m.group(0), j + m.end()


def _group_before(text: str, close: int) -> str:
    """The content of the bracket group that closes at ``close`` (scanning back at most 2000 chars)."""
    pairs = {")": "(", "}": "{", "]": "["}
    closer = text[close]
    opener = pairs.get(closer, "")
    depth = 0
    for i in range(close, max(-1, close - 2000), -1):
        if text[i] == closer:
            depth += 1
        elif text[i] == opener:
            depth -= 1
            if depth == 0:
                return text[i + 1 : close]
    return text[max(0, close - 2000) : close]


def _base_digits(text: str, i: int) -> float:
    """log10 of the integer base right before ``i`` (1.0 when it is not an integer literal)."""
    m = re.search(r"(\d+)\s*\}?\s*\)?\s*$", text[max(0, i - 50) : i])
    if not m:
        return 1.0
    return math.log10(max(2, int(m.group(1)[-50:])))


def _log10_value(exp: str) -> float | None:
    """log10 of an exponent's magnitude when it is a number or a tower of numbers, else None."""
    if _BRACED_TOWER_RE.fullmatch(exp):
        # "2^{2^{2^{2^{2}}}}": the braces only group the exponents, which right-associate anyway
        # (the recursive match below stops at the first "}}" it cannot read).
        nums = [int(n[-50:]) for n in re.findall(r"\d+", exp)]
        lv = math.log10(max(1, nums[-1]))
        for base in reversed(nums[:-1]):
            if lv > 6:
                return float("inf")
            lv = (10**lv) * math.log10(max(2, base))
        return lv
    m = _INT_RE.match(exp)
    if m:
        v = abs(float(m.group(1)))
        return math.log10(v) if v > 0 else 0.0
    tower = re.match(r"^\s*\{?\s*(\d+)\s*\}?\s*\^\s*(.+)$", exp)
    if tower:
        inner = _log10_value(tower.group(2).strip())
        if inner is None:
            return None
        if inner > 6:
            return float("inf")
        return (10**inner) * math.log10(max(2, int(tower.group(1)[-50:])))
    return None


def prescreen(s: str, max_chars: int) -> str | None:
    """Why ``s`` is too absurd to parse, or ``None`` when it may be parsed.

    :param s: an extracted answer or gold answer.
    :param max_chars: the longest answer accepted.
    """
    if len(s) > max_chars:
        return f"answer has {len(s)} characters (limit {max_chars})"
    if _DIGITS_RE.search(s):
        return f"a number with more than {MAX_DIGITS} digits"
    depth = 0
    for ch in s:
        if ch in "{([":
            depth += 1
            if depth > MAX_NESTING:
                return f"brackets nested more than {MAX_NESTING} deep"
        elif ch in "})]":
            depth -= 1
    for m in _FACT_RE.finditer(s):
        if len(m.group(1)) > 6 or int(m.group(1)) > MAX_FACTORIAL:
            return f"factorial of {m.group(1)[:20]} (limit {MAX_FACTORIAL})"
    for m in _FACT_OF_GROUP_RE.finditer(s):
        inner = _group_before(s, m.start())
        if "!" in inner:
            return "factorial of a factorial"
        power = re.match(r"^\s*\{?\s*(\d+)\s*\}?\s*\^\s*(.+)$", inner)
        if power:
            ev = _log10_value(power.group(2).strip())
            if ev is None or 10 ** min(ev, 9) * math.log10(max(2, int(power.group(1)[-50:]))) > math.log10(
                MAX_FACTORIAL
            ):
                return "factorial of a large power"
    if "\\uparrow" in s:
        return "Knuth arrows"
    i = s.find("^")
    while i != -1:
        exp, after = _exponent(s, i)
        lv = _log10_value(exp)
        if lv is not None and lv > MAX_EXPONENT_DIGITS:
            return "a power tower" if "^" in exp else f"an exponent of about 10^{lv:.0f}"
        if lv is not None and lv + math.log10(max(1.0, _base_digits(s, i))) > MAX_EXPONENT_DIGITS:
            return "a power with more than a million digits"
        i = s.find("^", i + 1)
    return None
