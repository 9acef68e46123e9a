"""Answer normalization and the sympy-free fast path for plain numbers.

:func:`canonical` turns an extracted answer into the string that the cache is keyed on and
that the workers parse. :func:`parse_number` reads the common case (integers, decimals,
fractions, mixed numbers, scientific notation, percent, currency, units and degrees stripped)
into an exact :class:`fractions.Fraction`, and :func:`numbers_equal` compares two of them exactly,
with a rounding tolerance only when one side was written as a decimal. Anything else returns
``None`` and goes to the sympy path.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from fractions import Fraction

__all__ = ["Number", "canonical", "parse_number", "numbers_equal", "close_enough"]

_MAX_DIGITS = 400
_MAX_EXP = 400

_NEG_SPACE_RE = re.compile(r"\\!\s*")
_SPACING_RE = re.compile(r"\\[,;:]|\\q?quad\b|\\displaystyle\b|\\left\b|\\right\b|\\(?:big|Big|bigg|Bigg)[lr]?\b")
_FRAC_VARIANT_RE = re.compile(r"\\[dtc]frac\b")
_MATHRM_CONST_RE = re.compile(r"\\(?:mathrm|operatorname|rm)\s*\{\s*([ei])\s*\}")
_WRAPPERS = (
    ("$$", "$$"),
    ("$", "$"),
    ("\\(", "\\)"),
    ("\\[", "\\]"),
)
_BOX_WRAP_RE = re.compile(r"^\\(?:boxed|fbox)\s*\{(.*)\}$", re.DOTALL)


def canonical(s: str) -> str:
    """Normalize an extracted answer for caching and parsing: NFKC, spacing commands and
    ``\\left``/``\\right`` removed, ``\\dfrac``/``\\tfrac``/``\\cfrac`` -> ``\\frac``,
    ``\\mathrm{e}`` -> ``e`` (math-verify truncates the answer at ``\\mathrm{e}``; see
    huggingface/Math-Verify#14), outer ``$``/``\\(``/``\\[``/``\\boxed{}`` and a final period
    removed, whitespace collapsed."""
    s = unicodedata.normalize("NFKC", s).replace("\u2212", "-")
    s = _NEG_SPACE_RE.sub("", s)
    s = _SPACING_RE.sub(" ", s)
    s = _FRAC_VARIANT_RE.sub(r"\\frac", s)
    s = _MATHRM_CONST_RE.sub(r"\1", s)
    s = s.replace("{,}", "")
    s = " ".join(s.split())
    changed = True
    while changed and s:
        changed = False
        s = s.rstrip(" .")
        for a, b in _WRAPPERS:
            if s.startswith(a) and s.endswith(b) and len(s) >= len(a) + len(b):
                inner = s[len(a) : len(s) - len(b)]
                if a == "$" and "$" in inner:
                    continue
                s, changed = inner.strip(), True
                break
        m = _BOX_WRAP_RE.match(s)
        if m and _balanced(m.group(1)):
            s, changed = m.group(1).strip(), True
    return s


def _balanced(s: str) -> bool:
    depth = 0
    i = 0
    while i < len(s):
        c = s[i]
        if c == "\\":
            i += 2
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth < 0:
                return False
        i += 1
    return depth == 0


@dataclass(frozen=True, slots=True)
class Number:
    """A plain number read by the fast path.

    :param value: its exact value.
    :param decimal: written with a decimal point (an approximation: compared with rounding).
    :param percent: written with ``%``/"percent" (then ``value`` is the number before the sign).
    :param var: the variable of an ``x = 5`` form, else ``""``.
    """

    value: Fraction
    decimal: bool = False
    percent: bool = False
    var: str = ""


_NUM = r"(?:\d+\.?\d*|\.\d+)"
_SIGNED = rf"[+-]?{_NUM}"
_PLAIN_RE = re.compile(rf"^({_SIGNED})$")
_THOUSANDS_RE = re.compile(r"^[+-]?[1-9]\d{0,2}(?:(,)\d{3})+(?:\.\d+)?$|^[+-]?[1-9]\d{0,2}(?:( )\d{3})+(?:\.\d+)?$")
_FRAC_RE = re.compile(rf"^([+-]?)\\frac\s*\{{\s*({_SIGNED})\s*\}}\s*\{{\s*({_SIGNED})\s*\}}$")
_FRAC_SHORT_RE = re.compile(r"^([+-]?)\\frac\s*(\d)\s*(\d)$")
_MIXED_RE = re.compile(r"^([+-]?)(\d+)\s*\\frac\s*\{\s*(\d+)\s*\}\s*\{\s*(\d+)\s*\}$")
_SLASH_RE = re.compile(rf"^({_SIGNED})\s*/\s*({_NUM})$")
_SCI_RE = re.compile(rf"^({_SIGNED})\s*(?:\\times|\\cdot|×|\*)\s*10\s*\^\s*\{{?\s*([+-]?\d+)\s*\}}?$")
_SCI_E_RE = re.compile(rf"^({_SIGNED})[eE]([+-]?\d+)$")
_POW10_RE = re.compile(r"^([+-]?)10\s*\^\s*\{?\s*([+-]?\d+)\s*\}?$")
_VAR_RE = re.compile(r"^([A-Za-z](?:_\{?\w+\}?)?)\s*=\s*(?!=)")
_PERCENT_RE = re.compile(r"\s*(?:\\%|%|\\text\{\s*\\?%\s*\}|\\?(?:percent(?:age)?|pct)\b)$", re.IGNORECASE)
_DEGREE_RE = re.compile(r"\s*(?:\^\s*\{?\s*\\circ\s*\}?|°|\\circ|\\degree)\s*(?:[CF]\b)?$")
_TEXT_UNIT_RE = re.compile(r"\s*\\(?:text|textbf|textrm|textnormal|mathrm|mbox|rm)\s*\{\s*[A-Za-z][A-Za-z .]*\}$")
_WORD_UNIT_RE = re.compile(r"(?<=[\d.}])\s*(?:[A-Za-z]{1,12}\.?)(?:\s+[A-Za-z]{1,12}\.?)?$")
_CURRENCY_RE = re.compile(r"\\\$|\$|\\text\{\s*\\?\$\s*\}|\\(?:pounds|euro)\b|[€£¥]")
_NOT_UNITS = frozenset({"or", "and", "pm", "i", "e", "x", "y", "n", "to"})


def _frac(num: str) -> Fraction | None:
    digits = sum(ch.isdigit() for ch in num)
    if digits > _MAX_DIGITS:
        return None
    return Fraction(num)


def parse_number(s: str) -> Number | None:
    """Read ``s`` (a :func:`canonical` string) as a plain number, or ``None``."""
    if not s or len(s) > 200:
        return None
    var = ""
    m = _VAR_RE.match(s)
    if m:
        var, s = m.group(1), s[m.end() :]
    s = _CURRENCY_RE.sub("", s).strip()
    percent = False
    for _ in range(3):  # "28 \% of", "30^\circ C", "5 \text{ cm}" in any order
        before = s
        pm = _PERCENT_RE.search(s)
        if pm:
            percent, s = True, s[: pm.start()]
        s = _DEGREE_RE.sub("", s)
        s = _TEXT_UNIT_RE.sub("", s)
        wm = _WORD_UNIT_RE.search(s)
        if wm and not ({w.strip(".").lower() for w in wm.group(0).split()} & _NOT_UNITS):
            s = s[: wm.start()]
        s = s.strip()
        if s == before:
            break
    if s.startswith("{") and s.endswith("}") and _balanced(s[1:-1]):
        s = s[1:-1].strip()
    if _THOUSANDS_RE.match(s):
        s = s.replace(",", "").replace(" ", "")
    value: Fraction | None = None
    decimal = False
    try:
        if pm_ := _PLAIN_RE.match(s):
            value, decimal = _frac(pm_.group(1)), "." in s
        elif fm := _FRAC_RE.match(s):
            n, d = _frac(fm.group(2)), _frac(fm.group(3))
            if n is not None and d is not None and d != 0:
                value = n / d * (-1 if fm.group(1) == "-" else 1)
                decimal = "." in s
        elif fm := _FRAC_SHORT_RE.match(s):
            if fm.group(3) != "0":
                value = Fraction(int(fm.group(2)), int(fm.group(3))) * (-1 if fm.group(1) == "-" else 1)
        elif mm := _MIXED_RE.match(s):
            whole, num, den = int(mm.group(2)), int(mm.group(3)), int(mm.group(4))
            if den != 0 and num < den:
                value = (whole + Fraction(num, den)) * (-1 if mm.group(1) == "-" else 1)
        elif sm := _SLASH_RE.match(s):
            n, d = _frac(sm.group(1)), _frac(sm.group(2))
            if n is not None and d is not None and d != 0:
                value, decimal = n / d, "." in s
        elif (em := _SCI_RE.match(s)) or (em := _SCI_E_RE.match(s)):
            base, exp = _frac(em.group(1)), int(em.group(2))
            if base is not None and abs(exp) <= _MAX_EXP:
                value, decimal = base * Fraction(10) ** exp, "." in em.group(1)
        elif pw := _POW10_RE.match(s):
            exp = int(pw.group(2))
            if abs(exp) <= _MAX_EXP:
                value = Fraction(10) ** exp * (-1 if pw.group(1) == "-" else 1)
    except (ValueError, ZeroDivisionError):
        return None
    if value is None:
        return None
    return Number(value, decimal, percent, var)


def close_enough(a: Fraction, b: Fraction, inexact: bool, float_rounding: int, rel_tol: float) -> bool:
    """Exact equality; or, when a side was written as a decimal, equality after rounding.

    The rounding rule follows math-verify's ``float_rounding`` (both sides agree to
    ``float_rounding`` decimal places) but also requires a relative agreement of
    ``10**-(float_rounding - 1)``, so that tiny magnitudes (``1e-7`` vs ``2e-7``) are not
    declared equal because both round to zero. ``rel_tol`` (default 0) is an extra relative
    tolerance applied to every comparison."""
    if a == b:
        return True
    diff = abs(a - b)
    scale = max(abs(a), abs(b))
    if rel_tol > 0 and diff <= Fraction(rel_tol) * scale:
        return True
    if inexact:
        return diff < Fraction(1, 10**float_rounding) and diff <= scale / 10 ** max(0, float_rounding - 1)
    return False


def numbers_equal(pred: Number, gold: Number, float_rounding: int = 6, rel_tol: float = 0.0) -> bool:
    """Whether two fast-path numbers are the same answer. A percent equals both its number and
    its fraction (``28\\%`` = ``28`` = ``0.28``), as in math-verify."""
    pv = [pred.value] + ([pred.value / 100] if pred.percent else [])
    gv = [gold.value] + ([gold.value / 100] if gold.percent else [])
    inexact = pred.decimal or gold.decimal
    return any(close_enough(p, g, inexact, float_rounding, rel_tol) for p in pv for g in gv)
