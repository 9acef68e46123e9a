"""``code``: run the completion's program against the row's tests in a sandbox.

The program is a fenced code block of the target language taken from the completion; the
tests come from a ``tests`` column (a JSON object, or a JSON string of one) in one of four
formats (``assert``, ``stdio``, ``call``, or APPS ``inputs``/``outputs``; read and validated in
:mod:`grpo_rewards.verifiers._code_tests`, see docs/verifiers/code.md). Program output and call
results are compared here, outside the sandbox, against expected values the sandbox never
sees; ``assert`` tests run in the sandbox's trusted tester against proxies of the candidate's
functions, so the candidate cannot forge a pass (docs/sandbox.md).
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from grpo_rewards import pools
from grpo_rewards.answers import strip_think
from grpo_rewards.contract import Outcome, Sample, Score, Verifier
from grpo_rewards.hookspecs import Register, hookimpl
from grpo_rewards.reasoning import DEFAULT as DEFAULT_REASONING
from grpo_rewards.reasoning import parse_reasoning, prefilled_for
from grpo_rewards.sandbox import KINDS, CaseResult, Job, Limits, RunResult, SandboxUnavailable
from grpo_rewards.sandbox._inside.wire import Opaque
from grpo_rewards.verifiers._code_tests import TestSpec, _python_syntax_error, assert_case_count, parse_tests

__all__ = ["CodeVerifier", "extract_code", "parse_tests", "TestSpec"]

_ALIASES: dict[str, tuple[str, ...]] = {
    "python": ("python", "py", "python3", "py3"),
    "c": ("c", "h"),
    "cpp": ("cpp", "c++", "cc", "cxx", "hpp"),
    "javascript": ("javascript", "js", "node", "nodejs", "mjs"),
}
_FENCE = re.compile(r"^[ \t]*```[ \t]*([^\s`]*)[^\n]*\n(.*?)^[ \t]*```[ \t]*$", re.DOTALL | re.MULTILINE)
_KINDS = KINDS  # one table, the sandbox's (grpo_rewards.sandbox.KINDS)


def extract_code(
    text: str,
    language: str,
    mode: str = "last",
    allow_unlabeled: bool = True,
    reasoning: Any = DEFAULT_REASONING,
    prefilled: bool | None = None,
) -> str | None:
    """The program in ``text``: fenced blocks labelled with ``language`` (or an alias), else,
    when ``allow_unlabeled``, blocks with no label. ``mode``: ``"last"``, ``"first"``,
    ``"all"`` (joined with blank lines) or ``"full"`` (the whole text, reasoning removed).
    Code inside reasoning sections (``<think>`` unless ``reasoning`` says otherwise, see
    :mod:`grpo_rewards.reasoning`) is never run. Returns ``None`` when there is no such block."""
    text = strip_think(text, reasoning, prefilled=prefilled)
    if mode == "full":
        return text if text.strip() else None
    blocks = [(m.group(1).lower(), m.group(2)) for m in _FENCE.finditer(text)]
    names = _ALIASES.get(language, (language,))
    chosen = [b for lbl, b in blocks if lbl in names]
    if not chosen and allow_unlabeled:
        chosen = [b for lbl, b in blocks if lbl == ""]
    chosen = [b for b in chosen if b.strip()]
    if not chosen:
        return None
    if mode == "first":
        return chosen[0]
    if mode == "all":
        return "\n\n".join(chosen)
    return chosen[-1]


def _num(tok: str) -> float | None:
    try:
        return float(tok)
    except ValueError:
        return None


def stdout_matches(got: str, want: str, tolerance: float | None = None) -> bool:
    """Whole-output comparison: trailing whitespace of each line and trailing blank lines are
    ignored; every other difference (an extra or missing line included) is a mismatch. With a
    ``tolerance``, tokens that both parse as numbers match within it (absolute or relative)."""
    a = [ln.rstrip() for ln in got.replace("\r\n", "\n").split("\n")]
    b = [ln.rstrip() for ln in want.replace("\r\n", "\n").split("\n")]
    while a and not a[-1]:
        a.pop()
    while b and not b[-1]:
        b.pop()
    if tolerance is None:
        return a == b
    if len(a) != len(b):
        return False
    for la, lb in zip(a, b, strict=True):
        ta, tb = la.split(), lb.split()
        if len(ta) != len(tb):
            return False
        for x, y in zip(ta, tb, strict=True):
            if x == y:
                continue
            fx, fy = _num(x), _num(y)
            if fx is None or fy is None or not _close(fx, fy, tolerance):
                return False
    return True


def _close(x: float, y: float, tol: float) -> bool:
    return math.isclose(x, y, rel_tol=tol, abs_tol=tol)


def values_equal(got: Any, want: Any, tolerance: float | None = None) -> bool:
    """Compare a call result (plain data from the sandbox) with a JSON expected value.
    Tuples match lists (JSON has no tuples); bools match only bools; numbers compare by value
    (within ``tolerance`` when given); dict keys compare by ``str`` when the expected keys are
    strings (JSON keys always are). Non-plain results never match, and neither does a value
    that cannot be compared at all (an int too large for a float, or for ``str``): comparing
    never raises, so no candidate value can turn its sample, or its batch, into ``error``."""
    try:
        return _values_equal(got, want, tolerance)
    except (OverflowError, ValueError, TypeError, RecursionError, MemoryError):
        return False


def _values_equal(got: Any, want: Any, tolerance: float | None = None) -> bool:
    if isinstance(got, Opaque):
        return False
    if isinstance(want, bool) or isinstance(got, bool):
        return type(got) is bool and type(want) is bool and got is want
    if isinstance(want, int | float) and isinstance(got, int | float):
        if tolerance is not None and (isinstance(want, float) or isinstance(got, float)):
            return _close(float(got), float(want), tolerance)
        return bool(got == want)
    if isinstance(want, list | tuple):
        return (
            isinstance(got, list | tuple)
            and len(got) == len(want)
            and all(_values_equal(g, w, tolerance) for g, w in zip(got, want, strict=True))
        )
    if isinstance(want, dict):
        if not isinstance(got, dict) or len(got) != len(want):
            return False
        gk = {(k if isinstance(k, str) else str(k)): v for k, v in got.items()}
        return all(str(k) in gk and _values_equal(gk[str(k)], v, tolerance) for k, v in want.items())
    if want is None:
        return got is None
    if isinstance(want, str):
        return type(got) is str and got == want
    return bool(type(got) is type(want) and got == want)


def _call_matches(got: Any, want: Any, spec: TestSpec) -> bool:
    """A call result against its expected value. For APPS tests a result also matches an
    expected non-empty list's first element, as APPS/TACO store a return value wrapped in a
    one-element list: verl 0.9.0 verl/utils/reward_score/prime_code/testing_util.py, run_test,
    ``tmp_result = output == outputs[index]`` then ``or (output == outputs[index][0])`` when
    ``outputs[index]`` is a non-empty list. Its other call-based rules are covered by
    values_equal (a tuple result, or a list of tuples, matches lists) or deliberately not
    followed: ``==`` there lets ``True`` match ``1``, and a dict first argument gets int keys."""
    if values_equal(got, want, spec.tolerance):
        return True
    return spec.apps and isinstance(want, list) and len(want) > 0 and values_equal(got, want[0], spec.tolerance)


class CodeVerifier(Verifier):
    """Run the completion's program against the row's tests in a sandbox (default: the local one).

    Options: ``language`` (python, c, cpp, javascript); ``column`` holding the tests; ``extract``
    (last, first, all, full); ``scoring`` (``"partial"``: fraction of cases passed, or
    ``"all"``: 1.0 only when every case passes); ``early_stop`` (stop at the first failing
    case); limits ``timeout`` (wall seconds per case), ``total_timeout``, ``memory_mb``,
    ``processes``, ``output_bytes``; ``sandbox`` (a name registered through the
    ``register_sandboxes`` hook) and ``sandbox_options`` (passed to it; for the local sandbox
    e.g. ``{"strict": true, "workers": 4}``); ``reasoning`` (the reasoning delimiters, whose
    sections are removed before looking for code: :mod:`grpo_rewards.reasoning`).
    """

    name = "code"
    description = "Runs the completion's code block against assert/stdio/call or APPS tests in an isolated sandbox"
    outcomes = (
        Outcome.CORRECT,
        Outcome.PARTIAL,
        Outcome.WRONG,
        Outcome.NO_ANSWER,
        Outcome.TIMEOUT,
        Outcome.BAD_REFERENCE,
        Outcome.ERROR,
    )

    def __init__(
        self,
        *,
        language: str = "python",
        column: str = "tests",
        extract: str = "last",
        allow_unlabeled: bool = True,
        scoring: str = "partial",
        early_stop: bool = False,
        timeout: float = 5.0,
        total_timeout: float = 30.0,
        memory_mb: int = 1024,
        processes: int = 32,
        output_bytes: int = 1 << 20,
        sandbox: str = "local",
        sandbox_options: Mapping[str, Any] | None = None,
        reasoning: Any = DEFAULT_REASONING,
    ) -> None:
        self.reasoning = parse_reasoning(reasoning)
        language = {"py": "python", "c++": "cpp", "js": "javascript", "node": "javascript"}.get(language, language)
        if language not in _KINDS:
            raise ValueError(f"language must be one of {', '.join(_KINDS)}, got {language!r}")
        if extract not in ("last", "first", "all", "full"):
            raise ValueError(f"extract must be 'last', 'first', 'all' or 'full', got {extract!r}")
        if scoring not in ("partial", "all"):
            raise ValueError(f"scoring must be 'partial' or 'all', got {scoring!r}")
        if timeout <= 0 or total_timeout <= 0:
            raise ValueError("timeout and total_timeout must be positive")
        self.language = language
        self.column = column
        self.extract = extract
        self.allow_unlabeled = allow_unlabeled
        self.scoring = scoring
        self.early_stop = early_stop
        self.limits = Limits(
            wall_s=float(timeout),
            total_s=float(total_timeout),
            cpu_s=float(timeout),
            memory_mb=int(memory_mb),
            processes=int(processes),
            output_bytes=int(output_bytes),
        )
        self.sandbox_name = sandbox
        self.sandbox_options = dict(sandbox_options or {})
        self._sandbox: Any = None
        self._sandbox_lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_sandbox"] = None  # processes do not pickle; a copy makes its own pool
        state.pop("_sandbox_lock", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._sandbox_lock = threading.Lock()

    def required_columns(self) -> list[str]:
        return [self.column]

    @property
    def sandbox(self) -> Any:
        """The sandbox backend, made on first use by the factory registered under ``sandbox``,
        and shared: every ``code`` verifier of this process with the same ``sandbox`` and
        ``sandbox_options`` (a Python and a stdio component, two reward sets) uses one warm
        pool, stopped when the last of them is closed."""
        with self._sandbox_lock:
            if self._sandbox is None:
                from grpo_rewards.plugins import get_registry

                entry = get_registry().get("sandbox", self.sandbox_name)
                options = dict(self.sandbox_options)
                self._sandbox = pools.acquire(
                    ("sandbox", self.sandbox_name, _options_key(options)), lambda: entry.factory(**options)
                )
            return self._sandbox

    def close(self) -> None:
        """Let go of the sandbox: it stops when no other ``code`` verifier shares it."""
        with self._sandbox_lock:
            sb, self._sandbox = self._sandbox, None
        if sb is not None:
            pools.release(sb)

    # -- scoring --------------------------------------------------------------------------

    def _sandbox_checks_syntax(self) -> bool:
        if self.language != "python":
            return False
        try:
            return bool(getattr(self.sandbox, "checks_test_syntax", False))
        except Exception:  # noqa: BLE001 - a sandbox that cannot be built fails when it is used
            return False

    def _prepare(self, sample: Sample) -> tuple[Job, TestSpec] | Score:
        try:
            # A sandbox that compiles the test code itself (the local one) reports code that
            # does not compile as the row's fault (RunResult.bad_tests), so it is not parsed
            # here as well; for any other sandbox it is checked here.
            spec = TestSpec(sample.column(self.column), self.language, check_syntax=not self._sandbox_checks_syntax())
        except ValueError as exc:
            return Score.bad_reference(f"column {self.column!r}: {exc}")
        code = extract_code(
            sample.completion,
            self.language,
            self.extract,
            self.allow_unlabeled,
            self.reasoning,
            prefilled_for(self.reasoning, sample.prompt),
        )
        if code is None:
            why = _python_syntax_error(spec.code) if spec.kind == "assert" and self.language == "python" else None
            if why is not None:  # a broken row stays bad_reference, with or without a program
                return Score.bad_reference(f"column {self.column!r}: assert test code does not parse: {why}")
            return Score.no_answer(f"no ```{self.language} code block in the completion")
        job = Job(
            language=self.language,
            kind=spec.kind,
            code=code,
            test_code=spec.code,
            inputs=spec.inputs,
            fn_name=spec.fn_name,
            args=spec.args,
            limits=self.limits,
            early_stop=self.early_stop,
        )
        return job, spec

    def score(self, sample: Sample) -> Score:
        out = self.score_batch([sample])[0]
        if isinstance(out, BaseException):
            raise out
        return out

    def score_batch(self, samples: Sequence[Sample]) -> list[Score | BaseException]:
        prepared: list[tuple[Job, TestSpec] | Score | BaseException] = []
        for s in samples:
            try:
                prepared.append(self._prepare(s))
            except Exception as exc:  # noqa: BLE001 - e.g. a missing column: that sample's error
                prepared.append(exc)
        todo = [i for i, p in enumerate(prepared) if isinstance(p, tuple)]
        results: dict[int, Score | BaseException] = {}
        if todo:
            sb = self.sandbox

            def one(i: int) -> Score | BaseException:
                job, spec = prepared[i]  # type: ignore[misc]
                try:
                    res = sb.run(job, self._judge(spec))
                except SandboxUnavailable:
                    raise
                except Exception as exc:  # noqa: BLE001 - this sample's error, not the batch's
                    return exc
                try:
                    return self._score(res, spec)
                except Exception as exc:  # noqa: BLE001 - a fault of ours: this sample's error only
                    return exc

            workers = int(getattr(sb, "n_workers", 4))
            if len(todo) == 1:
                results[todo[0]] = one(todo[0])
            else:
                with ThreadPoolExecutor(max(1, min(workers, len(todo)))) as ex:
                    for i, r in zip(todo, ex.map(one, todo), strict=True):
                        results[i] = r
        out: list[Score | BaseException] = []
        for i, p in enumerate(prepared):
            if i in results:
                out.append(results[i])
            else:
                out.append(p)  # type: ignore[arg-type]
        return out

    def _judge(self, spec: TestSpec) -> Any:
        def judge(case: CaseResult) -> bool:
            return self._case_passed(case, spec)[0]

        return judge

    def _case_passed(self, case: CaseResult, spec: TestSpec) -> tuple[bool, str]:
        if case.skipped:
            return False, f"not run ({case.skipped})"
        if spec.kind == "assert":
            return bool(case.passed), case.error or ("" if case.passed else "failed")
        if case.error and not (spec.kind == "stdio" and not case.timeout and not case.truncated):
            return False, case.error
        if spec.kind == "stdio":
            i = case.index
            if case.truncated:
                return False, "output limit exceeded"
            if case.signal:
                return False, f"killed by signal {case.signal}"
            if case.exit_code not in (0, None):
                return False, f"runtime error (exit status {case.exit_code})"
            if stdout_matches(case.stdout, spec.outputs[i], spec.tolerance):
                return True, ""
            return False, f"wrong output on case {i}: got {case.stdout[:60]!r}, expected {spec.outputs[i][:60]!r}"
        i = case.index
        if not case.has_value:
            return False, case.error or "no value returned"
        if _call_matches(case.value, spec.expected[i], spec):
            return True, ""
        return False, f"case {i}: got {case.value!r:.60}, expected {spec.expected[i]!r:.60}"

    def _score(self, res: RunResult, spec: TestSpec) -> Score:
        if res.bad_tests is not None:
            return Score.bad_reference(f"column {self.column!r}: {res.bad_tests}")
        if res.error:
            return Score.error(res.error)
        if res.compile_error is not None:
            return Score.wrong(f"compile error: {res.compile_error[-300:]}", passed=0)
        n = len(spec.inputs) or len(spec.args)
        if spec.kind == "assert":
            # The host counts the cases itself: a case that never reported back counts as
            # failed, never as absent (counting the results would let a run that died early
            # score 1/1).
            n = (assert_case_count(spec.code) if self.language == "python" else 1) or len(res.cases)
        if n == 0:
            if res.timed_out:
                return Score.timeout("time limit exceeded before any test completed")
            return Score.error("sandbox returned no test results")
        passed = 0
        first_fail = ""
        timed_out = res.timed_out
        seen = set()
        for c in res.cases:
            if c.index in seen or not 0 <= c.index < n:
                continue  # a case index counts once, and only the cases the tests have
            seen.add(c.index)
            ok, why = self._case_passed(c, spec)
            if ok:
                passed += 1
            else:
                timed_out = timed_out or c.timeout
                if not first_fail:
                    first_fail = f"case {c.index}: {why}" if n > 1 else why
        if len(seen) < n and not first_fail:
            first_fail = (
                "stalled past the time limit (the host stopped the job)"
                if getattr(res, "stalled", False)
                else "time limit exceeded"
                if res.timed_out
                else "not every case ran"
            )
        info = {"passed": passed, "total": n}
        if passed == n:
            return Score.correct(f"{n}/{n} tests passed", **info)
        value = passed / n if self.scoring == "partial" else 0.0
        detail = f"{passed}/{n} tests passed; {first_fail}"
        if timed_out:
            return Score.timeout(detail, value=value, **info)
        if value > 0:
            return Score.partial(value, detail, **info)
        return Score.wrong(detail, **info)


def _options_key(options: Mapping[str, Any]) -> str:
    """Equal options, equal key (a list and a tuple of the same paths included)."""
    return json.dumps(options, sort_keys=True, default=repr)


@hookimpl
def register_verifiers(register: Register) -> None:
    register(CodeVerifier)
