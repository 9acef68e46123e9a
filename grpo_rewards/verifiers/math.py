"""``math``: is the completion's final answer mathematically equal to the gold answer?

The answer is extracted in a documented order (``<answer>`` tags, the last ``\\boxed{}``,
"final answer is", ``#### N``, ``Answer:``, the last math expression, the last number), compared
on a sympy-free fast path when both sides are plain numbers, and otherwise by math-verify and
sympy in worker processes with a hard wall-clock limit and a memory cap, with exact re-checks
of math-verify's equal verdicts. Hedged answers (several different candidates) are never
correct. See ``docs/verifiers/math.md``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from grpo_rewards.contract import Outcome, Sample, Score, Verifier
from grpo_rewards.errors import MissingColumnError
from grpo_rewards.hookspecs import Register, hookimpl
from grpo_rewards.reasoning import DEFAULT as DEFAULT_REASONING
from grpo_rewards.reasoning import parse_reasoning, prefilled_for
from grpo_rewards.verifiers._math.cache import VerdictCache
from grpo_rewards.verifiers._math.equivalence import TARGETS, JudgeOptions
from grpo_rewards.verifiers._math.extract import DEFAULT_ORDER, EXTRACTORS, extract_answer, extract_gold
from grpo_rewards.verifiers._math.normalize import _VAR_RE, canonical, numbers_equal, parse_number
from grpo_rewards.verifiers._math.pool import WorkerPool, acquire_pool, default_workers, release_pool
from grpo_rewards.verifiers._math.prescreen import prescreen

__all__ = ["MathVerifier"]

_GOLD_MAX_CHARS = 20_000
Verdict = tuple[str, str, str]  # (outcome, detail, path)


_SEP = "\x00"  # stands in for a significant space while the others are removed
# Spaces that change how math-verify reads an answer: after a command ("\\pi r"), after a comma
# ("32, 349" is a list, "32,349" a number) and between digits ("1 2").
_CMD_SPACE_RE = re.compile(r"(\\[A-Za-z]+)\s+(?=[A-Za-z])")
_SIGNIFICANT_SPACE_RE = re.compile(r"(?<=,)\s+|(?<=\d)\s+(?=\d)")


# A gold answer that spells a number in words ("forty two", "Twenty-one.") cannot be compared:
# math-verify reads a wrapped "forty two" as the product f*o*r*t*y*t*w*o, so every completion
# would score wrong. Only golds made of plain words with a number word among them are caught,
# which leaves symbolic golds ("x y", "\\text{odd}", "5 cm", "no solution") alone.
_WORDS_ONLY_RE = re.compile(r"[A-Za-z][A-Za-z' -]*[.!]?")
_NUMBER_WORDS = frozenset(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety "
    "hundred thousand million billion trillion half halves third thirds quarter quarters".split()
)


def _number_in_words(gold: str) -> bool:
    """Whether ``gold`` is plain words that spell a number ("forty two"), not mathematics."""
    if not _WORDS_ONLY_RE.fullmatch(gold.strip()):
        return False
    return any(w in _NUMBER_WORDS for w in re.split(r"[\s-]+", gold.lower().strip(" .!")))


_RAW = "\x01raw:"  # marks the key of a whole completion left to math-verify's own extraction


def _cache_key(pred: str, gold: str, raw: bool = False) -> tuple[str, str]:
    """The cache key of a comparison: the texts without insignificant whitespace (a whole
    completion for the ``math_verify`` rule is kept as it is, and marked)."""
    if raw:
        return _RAW + pred, gold

    def squeeze(s: str) -> str:
        s = _SIGNIFICANT_SPACE_RE.sub(_SEP, _CMD_SPACE_RE.sub(r"\1" + _SEP, s))
        return "".join(s.split()).replace(_SEP, " ")

    return squeeze(pred), squeeze(gold)


def _check_math_verify_options(
    numeric_precision: Any, targets: Any, boxed_match_priority: Any, strings: Any
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Validate the options that are math-verify's own; ``(targets, strings)`` as tuples."""
    if (
        isinstance(numeric_precision, bool)
        or not isinstance(numeric_precision, int)
        or not 1 <= numeric_precision <= 1000
    ):
        raise ValueError(f"numeric_precision must be an integer from 1 to 1000 (digits), got {numeric_precision!r}")
    if isinstance(targets, str):
        targets = [t.strip() for t in targets.split(",") if t.strip()]
    if not isinstance(targets, Sequence) or not targets or any(t not in TARGETS for t in targets):
        raise ValueError(f"targets must be a non-empty list of {list(TARGETS)}, got {targets!r}")
    if len(set(targets)) != len(targets):
        raise ValueError(f"targets lists a target twice: {list(targets)!r}")
    if isinstance(boxed_match_priority, bool) or not isinstance(boxed_match_priority, int) or boxed_match_priority < -1:
        raise ValueError(
            f"boxed_match_priority must be an integer >= -1 (0: boxed first, 50: math-verify's default, "
            f"-1: boxed answers not matched), got {boxed_match_priority!r}"
        )
    if isinstance(strings, str):
        strings = [x.strip() for x in strings.split(",") if x.strip()]
    if (
        not isinstance(strings, Sequence)
        or not strings
        or any(not isinstance(x, str) or not x.strip() or len(x) > 100 for x in strings)
    ):
        raise ValueError(f"strings must be a non-empty list of short non-empty strings, got {strings!r}")
    return tuple(targets), tuple(strings)


class MathVerifier(Verifier):
    """Mathematical equivalence of the completion's final answer and the gold answer.

    Options (keyword-only; all have defaults):

    :param column: dataset column holding the gold answer (``answer``; ``solution`` is common):
        a bare value, LaTeX, a GSM8K solution ending in ``#### N``, or a full solution with
        ``\\boxed{}``; a list means "any of these".
    :param extract: extraction rules to try, in order; any subset of ``tag``, ``boxed``,
        ``final_answer``, ``hashes``, ``answer_line``, ``last_math``, ``last_number``. Drop
        ``last_math``/``last_number`` to require an explicit answer. ``math_verify`` (not in the
        default) leaves extraction to math-verify, as TRL's ``accuracy_reward`` does.
    :param tag: the answer tag name for the ``tag`` rule.
    :param float_rounding: decimals to which an answer written as a decimal must agree (as
        math-verify's ``float_rounding``; a relative agreement of ``10**-(n-1)`` is also required).
    :param rel_tol: extra relative tolerance for every numeric comparison (default 0: exact).
    :param strict: variables must match (``f(x)`` is not ``f(y)``), as math-verify's ``strict``.
    :param allow_set_relation_comp: let ``x \\in [1, 2]``-style relations match intervals both ways.
    :param numeric_precision: significant digits of math-verify's numeric comparison
        (``verify(numeric_precision=)``, 15 as there).
    :param targets: math-verify's extraction targets, in order: ``latex``
        (``LatexExtractionConfig``), ``expr`` (``ExprExtractionConfig``), ``string``
        (``StringExtractionConfig``); default ``["latex", "expr"]``.
    :param boxed_match_priority: ``LatexExtractionConfig.boxed_match_priority``: 0 (default here)
        reads ``\\boxed{}`` before "final answer is"; 50 is math-verify's default; -1 ignores boxes.
        Matters where math-verify extracts from a whole text (the ``math_verify`` rule).
    :param strings: ``StringExtractionConfig.strings``, the literal answers of the ``string`` target.
    :param equation_form: accept ``x = 5`` for a gold ``5`` (and the reverse).
    :param timeout: wall-clock seconds for one sympy comparison (fractions allowed); past it the
        worker is killed and the outcome is ``timeout``.
    :param memory_mb: address space a worker may add while comparing (``RLIMIT_AS``).
    :param workers: worker processes (0: one per CPU available to this process).
    :param cache_size: verdicts cached, keyed on (normalized answer, normalized gold); 0 disables.
    :param max_answer_chars: longer extracted answers are ``unparseable`` without parsing.
    :param reasoning: the reasoning delimiters (``think``, ``reasoning``, ``thought``,
        ``harmony``, ``auto``, ``none``, or explicit ones: :mod:`grpo_rewards.reasoning`); the
        answer is looked for outside the reasoning only. Usually set once in ``[defaults]``.
    """

    name = "math"
    description = (
        "Math answer equivalence (boxed/#### / tags; numbers, LaTeX, sympy) with hard timeouts; hedges score wrong"
    )
    outcomes = (
        Outcome.CORRECT,
        Outcome.WRONG,
        Outcome.NO_ANSWER,
        Outcome.UNPARSEABLE,
        Outcome.BAD_REFERENCE,
        Outcome.TIMEOUT,
        Outcome.ERROR,
    )

    def __init__(
        self,
        *,
        column: str = "answer",
        extract: Sequence[str] = DEFAULT_ORDER,
        tag: str = "answer",
        float_rounding: int = 6,
        rel_tol: float = 0.0,
        strict: bool = True,
        allow_set_relation_comp: bool = False,
        numeric_precision: int = 15,
        targets: Sequence[str] = ("latex", "expr"),
        boxed_match_priority: int = 0,
        strings: Sequence[str] = ("A", "B", "C", "D"),
        equation_form: bool = True,
        timeout: float = 5.0,
        memory_mb: int = 1024,
        workers: int = 0,
        cache_size: int = 100_000,
        max_answer_chars: int = 1_000,
        reasoning: Any = DEFAULT_REASONING,
    ) -> None:
        self.reasoning = parse_reasoning(reasoning)
        if isinstance(extract, str):
            extract = [e.strip() for e in extract.split(",") if e.strip()]
        unknown = [e for e in extract if e not in EXTRACTORS]
        if unknown or not extract:
            raise ValueError(f"extract: unknown rule(s) {unknown}; choose from {list(EXTRACTORS)}")
        if not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        if not 0 <= float_rounding <= 30:
            raise ValueError(f"float_rounding must be between 0 and 30, got {float_rounding!r}")
        if rel_tol < 0:
            raise ValueError(f"rel_tol must be >= 0, got {rel_tol!r}")
        if workers < 0:
            raise ValueError(f"workers must be >= 0 (0: one per CPU), got {workers!r}")
        targets, strings = _check_math_verify_options(numeric_precision, targets, boxed_match_priority, strings)
        self.column = column
        self.extract = tuple(extract)
        self.tag = tag
        self.float_rounding = int(float_rounding)
        self.rel_tol = float(rel_tol)
        self.strict = strict
        self.allow_set_relation_comp = allow_set_relation_comp
        self.numeric_precision = int(numeric_precision)
        self.targets = targets
        self.boxed_match_priority = int(boxed_match_priority)
        self.strings = strings
        self.equation_form = equation_form
        self.timeout = float(timeout)
        self.memory_mb = int(memory_mb)
        self.workers = int(workers)
        self.cache_size = int(cache_size)
        self.max_answer_chars = int(max_answer_chars)
        self._init_runtime()

    def _init_runtime(self) -> None:
        self._pool: WorkerPool | None = None
        self._pool_lock = threading.Lock()
        self._cache: VerdictCache[tuple[str, str], Verdict] = VerdictCache(self.cache_size)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for k in ("_pool", "_pool_lock", "_cache"):
            state.pop(k, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._init_runtime()

    def required_columns(self) -> list[str]:
        return [self.column]

    @property
    def judge_options(self) -> JudgeOptions:
        return JudgeOptions(
            self.float_rounding,
            self.rel_tol,
            self.strict,
            self.allow_set_relation_comp,
            self.numeric_precision,
            self.targets,
            self.boxed_match_priority,
            self.strings,
        )

    def pool(self) -> WorkerPool:
        """The worker pool, started on first use (shared with other ``math`` verifiers of this
        process that have the same ``workers``, ``timeout`` and ``memory_mb``)."""
        with self._pool_lock:
            if self._pool is None:
                self._pool = acquire_pool(self.workers or default_workers(), self.timeout, self.memory_mb)
            return self._pool

    def close(self) -> None:
        """Release the worker pool (its workers stop when no other verifier shares it)."""
        with self._pool_lock:
            if self._pool is not None:
                release_pool(self._pool)
                self._pool = None

    # -- scoring ------------------------------------------------------------------------------

    def score(self, sample: Sample) -> Score:
        """Score one sample (a batch of one; prefer :meth:`score_batch`)."""
        result = self.score_batch([sample])[0]
        if isinstance(result, BaseException):
            raise result
        return result

    def score_batch(self, samples: Sequence[Sample]) -> list[Score | BaseException]:
        """Score a batch: extract and pre-check every sample here, decide plain numbers and cached
        pairs at once, and send the remaining distinct (answer, gold) pairs to the worker pool in
        parallel. A missing column is returned as :class:`MissingColumnError` for that sample."""
        out: list[Score | BaseException | None] = [None] * len(samples)
        texts: dict[tuple[str, str], tuple[str, str]] = {}  # cache key -> the texts to compare
        plans: list[tuple[int, str, list[str], Any]] = []  # (index, pred, golds, extraction)
        pending: dict[tuple[str, str], Verdict | None] = {}
        for i, sample in enumerate(samples):
            try:
                planned = self._plan(sample, pending, texts)
            except MissingColumnError as exc:
                out[i] = exc
                continue
            if isinstance(planned, Score):
                out[i] = planned
            else:
                plans.append((i, *planned))
        todo = [k for k, v in pending.items() if v is None]
        if todo:
            opts = self.judge_options
            raw = opts._replace(raw=True)
            results = self.pool().run([(*texts[k], raw if k[0].startswith(_RAW) else opts) for k in todo])
            for key, (outcome, detail) in zip(todo, results, strict=True):
                verdict = (outcome, detail, "sympy")
                pending[key] = verdict
                if outcome != "timeout":  # a timeout may be load, not the input: retry next batch
                    self._cache.put(key, verdict)
        for i, pred, golds, extraction in plans:
            verdicts: list[Verdict] = []
            for g in golds:
                v = pending[_cache_key(pred, g, extraction.method == "math_verify")]
                assert v is not None
                verdicts.append(v)
            out[i] = self._to_score(pred, golds, verdicts, extraction)
        return [s if s is not None else Score.error("internal: math verifier produced no score") for s in out]

    def _plan(
        self,
        sample: Sample,
        pending: dict[tuple[str, str], Verdict | None],
        texts: dict[tuple[str, str], tuple[str, str]],
    ) -> Score | tuple[str, list[str], Any]:
        """Extract and pre-check one sample; queue the pairs that need a verdict."""
        try:
            golds = [canonical(g) for g in extract_gold(sample.column(self.column), self.column)]
        except ValueError as exc:
            return Score.bad_reference(str(exc))
        golds = [g for g in golds if g]
        if not golds:
            return Score.bad_reference(f"gold answer in column {self.column!r} is empty after normalization")
        bad = [why for g in golds if (why := prescreen(g, _GOLD_MAX_CHARS))]
        if len(bad) == len(golds):
            return Score.bad_reference(f"gold answer rejected: {bad[0]}")
        golds = [g for g in golds if not prescreen(g, _GOLD_MAX_CHARS)]
        # Checked before the completion: an unusable gold makes the row unusable whatever the
        # completion holds, so bad_reference comes before no_answer/unparseable (as in TRL).
        if all(_number_in_words(g) for g in golds):
            return Score.bad_reference(
                f"gold answer {golds[0][:80]!r} is a number written in words, not mathematics; "
                f"write it as a number in column {self.column!r}"
            )
        golds = [g for g in golds if not _number_in_words(g)]
        extraction = extract_answer(
            sample.completion,
            self.extract,
            self.tag,
            reasoning=self.reasoning,
            prefilled=prefilled_for(self.reasoning, sample.prompt),
        )
        if extraction.answer is None:
            return Score.no_answer("no final answer found (tried: " + ", ".join(self.extract) + ")")
        if extraction.hedge:
            return Score.wrong(f"hedging: {extraction.hedge}", answer=extraction.answer[:200], method=extraction.method)
        if extraction.parts and self._same_numbers(extraction.parts):
            # "\\boxed{3} ... \\boxed{3.0}": one answer written twice, not a list
            extraction = replace(extraction, answer=extraction.parts[-1], parts=())
        raw = extraction.method == "math_verify"  # math-verify extracts from the whole text
        pred = (extraction.answer or "").strip() if raw else canonical(extraction.answer or "")
        if not pred:
            return Score.no_answer(f"empty answer ({extraction.method})", method=extraction.method)
        if not self.equation_form and any(bool(_VAR_RE.match(pred)) != bool(_VAR_RE.match(g)) for g in golds):
            return Score.wrong("answer given as an equation (equation_form=false)", answer=pred[:200])
        why = prescreen(pred, _GOLD_MAX_CHARS if raw else self.max_answer_chars)
        if why:
            return Score.unparseable(f"answer rejected: {why}", answer=pred[:200], method=extraction.method)
        for g in golds:
            key = _cache_key(pred, g, raw)
            if key in pending:
                continue
            texts[key] = (pred, g)
            cached = self._cache.get(key)
            if cached is not None:
                pending[key] = (cached[0], cached[1], "cache")
                continue
            fast = None if raw else self._fast(pred, g)
            if fast is not None:
                pending[key] = fast
                self._cache.put(key, fast)
            else:
                pending[key] = None
        return pred, golds, extraction

    def _same_numbers(self, parts: Sequence[str]) -> bool:
        nums = [parse_number(canonical(p)) for p in parts]
        first = nums[0]
        return first is not None and all(
            n is not None and numbers_equal(n, first, self.float_rounding, self.rel_tol) for n in nums[1:]
        )

    def _fast(self, pred: str, gold: str) -> Verdict | None:
        """Both plain numbers: decide without sympy. ``None``: not for the fast path."""
        p = parse_number(pred)
        if p is None:
            return None
        g = parse_number(gold)
        if g is None:
            return None
        if p.var and g.var and p.var != g.var:
            return None  # x = 1 vs y = 1: math-verify's rules for assignments apply
        if numbers_equal(p, g, self.float_rounding, self.rel_tol):
            return ("correct", "", "fast")
        return ("wrong", f"expected {gold[:80]!r}, got {pred[:80]!r}", "fast")

    def _to_score(self, pred: str, golds: list[str], verdicts: list[Verdict], extraction: Any) -> Score:
        info = {"answer": pred[:200], "method": extraction.method}
        for gold, (outcome, _detail, path) in zip(golds, verdicts, strict=True):
            if outcome == "correct":
                return Score.correct(f"{pred[:80]} == {gold[:80]}", path=path, **info)
        usable = [v for v in verdicts if v[0] != "bad_reference"] or verdicts
        outcome, detail, path = usable[0]
        if extraction.parts:
            detail = f"{len(extraction.parts)} different boxed answers given together (hedging?): {detail}"
        kind = Outcome(outcome)
        if kind is Outcome.WRONG:
            return Score.wrong(detail, path=path, **info)
        if kind is Outcome.UNPARSEABLE:
            return Score.unparseable(detail, path=path, **info)
        if kind is Outcome.BAD_REFERENCE:
            return Score.bad_reference(detail, path=path, **info)
        if kind is Outcome.TIMEOUT:
            return Score.timeout(detail, path=path, **info)
        return Score.error(f"unexpected verdict {outcome!r}: {detail}", **info)


@hookimpl
def register_verifiers(register: Register) -> None:
    register(MathVerifier)
