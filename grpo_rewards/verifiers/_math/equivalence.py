"""The slow path: math-verify parsing and comparison, with an exact re-check of its "equal" verdicts.

Runs only inside worker processes (see :mod:`.pool`), which impose the wall-clock and memory
limits; math-verify's own ``signal.alarm`` timeouts are therefore disabled here.

math-verify (huggingface/Math-Verify, ``grader.sympy_numeric_eq``) compares non-literal numeric
expressions with ``(a - b).evalf(chop=True) == 0``, and ``chop`` discards anything below the
working precision: ``1/2004!`` equals ``1/2006!`` and ``10^{-20}`` equals ``10^{-21}``
(huggingface/Math-Verify#14). Every ``True`` it returns is therefore re-checked by
:func:`confirm`: rationals exactly, other constants at 60 significant digits, expressions with
free symbols at a few rational points, sets/tuples/matrices/intervals element by element.
"""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, NamedTuple

__all__ = ["JudgeOptions", "TARGETS", "extraction_configs", "judge", "confirm", "warm_up"]


class JudgeOptions(NamedTuple):
    """Options of one comparison (plain data: sent to the worker with each task, as a JSON list,
    so sequences arrive as lists). The last five are math-verify's own settings: ``targets``
    picks its extraction configs (``latex``: ``LatexExtractionConfig``, ``expr``:
    ``ExprExtractionConfig``, ``string``: ``StringExtractionConfig``), ``boxed_match_priority``
    is ``LatexExtractionConfig``'s, ``strings`` are ``StringExtractionConfig``'s, and
    ``numeric_precision`` is ``verify``'s. ``raw`` hands the answer to math-verify's ``parse``
    as it is (the ``math_verify`` extraction rule) instead of wrapped in ``$\\boxed{}$``."""

    float_rounding: int = 6
    rel_tol: float = 0.0
    strict: bool = True
    allow_set_relation_comp: bool = False
    numeric_precision: int = 15
    targets: Sequence[str] = ("latex", "expr")
    boxed_match_priority: int = 0
    strings: Sequence[str] = ("A", "B", "C", "D")
    raw: bool = False


_DIGITS = 60
TARGETS = ("latex", "expr", "string")
"""The extraction targets of math-verify that ``math``'s ``targets`` option names."""


def extraction_configs(targets: Sequence[str], boxed_match_priority: int, strings: Sequence[str]) -> list[Any]:
    """math-verify's extraction configs for ``targets``, in that order (the caller validates)."""
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, StringExtractionConfig

    make = {
        "latex": lambda: LatexExtractionConfig(boxed_match_priority=boxed_match_priority),
        "expr": ExprExtractionConfig,
        "string": lambda: StringExtractionConfig(strings=tuple(strings)),
    }
    return [make[t]() for t in targets]


@lru_cache(maxsize=16)
def _cfg_cached(targets: tuple[str, ...], boxed_match_priority: int, strings: tuple[str, ...]) -> list[Any]:
    return extraction_configs(targets, boxed_match_priority, strings)


def _cfg(opts: JudgeOptions | None = None) -> list[Any]:
    o = opts or JudgeOptions()
    return _cfg_cached(tuple(o.targets), int(o.boxed_match_priority), tuple(o.strings))


_WORD_RE = re.compile(r"(?<![\\A-Za-z])[A-Za-z]{3,}\b")
_TEXT_CMD_RE = re.compile(r"\\(?:text|textbf|mathrm|mbox|operatorname|begin|end)\s*\{[^{}]*\}")


def _needs_wrap(s: str) -> bool:
    """Wrap a bare answer in ``$\\boxed{}$`` (all of it is the answer) unless it already has math
    delimiters or reads like a sentence ("Jane started 3 hours ago": math-verify finds the 3)."""
    if any(d in s for d in ("$", "\\(", "\\[", "\\boxed", "\\fbox")):
        return False
    return len(_WORD_RE.findall(_TEXT_CMD_RE.sub(" ", s))) < 3


def parse_answer(s: str, opts: JudgeOptions | None = None, raw: bool = False) -> list[Any]:
    """math-verify's parse of an answer string: a short extracted answer is wrapped in
    ``$\\boxed{...}$`` so that all of it is the answer; a full solution, or any text when
    ``raw``, is parsed as is. ``opts`` gives the extraction targets (default: LaTeX with boxed
    answers first, then expressions)."""
    o = opts or JudgeOptions()
    return _parse_cached(s, tuple(o.targets), int(o.boxed_match_priority), tuple(o.strings), raw)


@lru_cache(maxsize=4096)
def _parse_cached(s: str, targets: tuple[str, ...], prio: int, strings: tuple[str, ...], raw: bool) -> list[Any]:
    from math_verify import parse

    config = _cfg_cached(targets, prio, strings)
    texts = [f"$\\boxed{{{s}}}$", s] if not raw and _needs_wrap(s) and len(s) < 1000 else [s]
    for text in texts:
        out = parse(text, config, parsing_timeout=None)
        if out:
            return list(out)
    return []


def judge(pred: str, gold: str, opts: JudgeOptions) -> tuple[str, str]:
    """Compare a (canonical) predicted answer to a gold answer.

    :returns: ``(outcome, detail)`` with outcome ``correct``, ``wrong``, ``unparseable`` (the
        prediction) or ``bad_reference`` (the gold).
    """
    from math_verify import verify

    gold_parsed = parse_answer(gold, opts)
    if not gold_parsed:
        return "bad_reference", f"gold answer {gold[:80]!r} could not be parsed"
    pred_parsed = parse_answer(pred, opts, raw=bool(opts.raw))
    if not pred_parsed:
        return "unparseable", f"answer {pred[:80]!r} could not be parsed"
    ok = verify(
        gold_parsed,
        pred_parsed,
        float_rounding=opts.float_rounding,
        numeric_precision=opts.numeric_precision,
        strict=opts.strict,
        allow_set_relation_comp=opts.allow_set_relation_comp,
        timeout_seconds=None,
    )
    if not ok:
        if all(isinstance(x, str) for x in gold_parsed) and "string" not in opts.targets:
            # math-verify could not read the gold as mathematics, only as text: a mismatch says
            # nothing about the answer (unless text is what the ``string`` target asks for).
            return "bad_reference", f"gold answer {gold[:80]!r} could only be compared as text"
        return "wrong", f"expected {_show(gold_parsed)}, got {_show(pred_parsed)}"
    g, p = gold_parsed[0], pred_parsed[0]
    verdict = confirm(g, p, opts)
    if verdict is False:
        return "wrong", f"expected {_show(gold_parsed)}, got {_show(pred_parsed)} (differ when compared exactly)"
    return "correct", ""


def _show(parsed: list[Any]) -> str:
    for item in reversed(parsed):
        if isinstance(item, str):
            return repr(item[:80])
    return repr(str(parsed[0])[:80])


def _numeric(x: Any) -> Any:
    """A sympy number (exact Rational when possible) for a closed-form scalar, else None."""
    import sympy

    if not isinstance(x, sympy.Expr) or x.free_symbols:
        return None
    try:
        v = x.doit()
    except Exception:  # noqa: BLE001 - unevaluable: no opinion
        return None
    if isinstance(v, sympy.Rational | sympy.Float):
        return v
    if isinstance(v, sympy.Expr) and not v.free_symbols and v.is_number:
        return v
    return None


def _compare_numbers(a: Any, b: Any, opts: JudgeOptions) -> bool | None:
    from fractions import Fraction

    import sympy

    from grpo_rewards.verifiers._math.normalize import close_enough

    inexact = a.has(sympy.Float) or b.has(sympy.Float)
    if isinstance(a, sympy.Rational) and isinstance(b, sympy.Rational):
        return bool(a == b) or (
            opts.rel_tol > 0
            and close_enough(
                Fraction(int(a.p), int(a.q)), Fraction(int(b.p), int(b.q)), False, opts.float_rounding, opts.rel_tol
            )
        )
    try:
        av = sympy.N(a, _DIGITS)
        bv = sympy.N(b, _DIGITS)
        if not (av.is_number and bv.is_number):
            return None
        ar, ai = (Fraction(str(sympy.re(av))), Fraction(str(sympy.im(av))))
        br, bi = (Fraction(str(sympy.re(bv))), Fraction(str(sympy.im(bv))))
    except Exception:  # noqa: BLE001 - cannot evaluate: no opinion
        return None
    if inexact:
        return close_enough(ar, br, True, opts.float_rounding, opts.rel_tol) and close_enough(
            ai, bi, True, opts.float_rounding, opts.rel_tol
        )
    # Two closed forms: equal to ~50 significant digits (evalf's own error is far smaller).
    tol = Fraction(1, 10 ** (_DIGITS - 10))
    scale = max(abs(ar), abs(br), abs(ai), abs(bi))
    return (
        abs(ar - br) <= tol * scale
        and abs(ai - bi) <= tol * scale
        or (opts.rel_tol > 0 and close_enough(ar, br, False, opts.float_rounding, opts.rel_tol))
    )


def confirm(g: Any, p: Any, opts: JudgeOptions) -> bool | None:
    """Re-check a pair math-verify called equal. ``False``: they differ; ``True``/``None``: no
    evidence against math-verify's verdict."""
    import sympy

    if isinstance(g, str) or isinstance(p, str):
        return None
    try:
        if isinstance(g, sympy.MatrixBase) and isinstance(p, sympy.MatrixBase):
            if g.shape != p.shape:
                return None
            return _all(confirm(x, y, opts) for x, y in zip(g, p, strict=True))
        if isinstance(g, sympy.Tuple) and isinstance(p, sympy.Tuple) and len(g) == len(p):
            return _all(confirm(x, y, opts) for x, y in zip(g.args, p.args, strict=True))
        if isinstance(g, sympy.Interval) and isinstance(p, sympy.Interval):
            return _all(confirm(x, y, opts) for x, y in ((g.start, p.start), (g.end, p.end)))
        if isinstance(g, sympy.FiniteSet) and isinstance(p, sympy.FiniteSet):
            if len(g) != len(p):
                return None
            return _all(any(confirm(x, y, opts) is not False for y in p.args) for x in g.args) and _all(
                any(confirm(x, y, opts) is not False for x in g.args) for y in p.args
            )
        if isinstance(g, sympy.Expr) and isinstance(p, sympy.Expr):
            # A percent equals both its number and its fraction (28% = 28 = 0.28), as on the
            # fast path and in math-verify.
            gs, ps = _percent_forms(g), _percent_forms(p)
            if len(gs) > 1 or len(ps) > 1:
                return _any(confirm(x, y, opts) for x in gs for y in ps)
            a, b = _numeric(g), _numeric(p)
            if a is not None and b is not None:
                return _compare_numbers(a, b, opts)
            return _confirm_symbolic(g, p, opts)
    except Exception:  # noqa: BLE001 - the check itself failed: keep math-verify's verdict
        return None
    return None


def _percent_forms(x: Any) -> list[Any]:
    """``[x]``, or for math-verify's percent ``28*UnevaluatedExpr(1/100)``: ``[28/100, 28]``."""
    from math_verify.grader import get_pct_val

    inner = get_pct_val(x)
    if inner is None:
        return [x]
    return [inner / 100, inner]


def _any(results: Any) -> bool | None:
    out: bool | None = False
    for r in results:
        if r is True:
            return True
        if r is None:
            out = None
    return out


def _all(results: Any) -> bool | None:
    out: bool | None = True
    for r in results:
        if r is False:
            return False
        if r is None:
            out = None
    return out


def _confirm_symbolic(g: Any, p: Any, opts: JudgeOptions) -> bool | None:
    """Evaluate both at random rational points; ``False`` only when they clearly differ."""
    import sympy

    if g.free_symbols != p.free_symbols:
        return None  # math-verify matched them by its own rules (strict=False, \\text{odd} vs odd)
    syms = sorted(g.free_symbols, key=str)
    if not syms or len(syms) > 6:
        return None
    rng = random.Random(1234)
    checked = 0
    for _ in range(6):
        point = {s: sympy.Rational(rng.randint(2, 97), rng.randint(2, 29)) for s in syms}
        try:
            a = sympy.N(g.subs(point), 30)
            b = sympy.N(p.subs(point), 30)
            if not (a.is_number and b.is_number) or a.has(sympy.zoo, sympy.nan) or b.has(sympy.zoo, sympy.nan):
                continue
            diff = abs(complex(a) - complex(b))
            scale = max(abs(complex(a)), abs(complex(b)), 1e-300)
        except Exception:  # noqa: BLE001 - not evaluable at this point
            continue
        if diff > 1e-9 * scale and diff > 10.0**-opts.float_rounding:
            return False
        checked += 1
        if checked >= 3:
            return True
    return None


def warm_up() -> None:
    """Import and exercise the parser once, so that the first real task is not slow."""
    logging.getLogger("math_verify").setLevel(logging.ERROR)
    judge("\\frac{1}{2}", "0.5", JudgeOptions())
    judge("x^2+1", "1+x^2", JudgeOptions())
