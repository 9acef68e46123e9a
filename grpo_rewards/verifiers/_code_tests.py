"""Reading a ``code`` row's ``tests`` value: the four test formats, validated on the host.

What runs here: the host process of the ``code`` verifier, before any sandbox is involved. The
input is the row's ``tests`` column, which comes from the user's dataset: trusted not to be
hostile, but not trusted to be well formed; anything malformed raises ``ValueError`` naming the
problem (the verifier turns it into ``bad_reference``). Completions never reach this module;
they are hostile and only ever run inside the sandbox. Nothing here executes test code: Python
``assert`` code is only parsed (``ast.parse``) to count its cases.

The formats are ``{"kind": "assert" | "stdio" | "call", ...}`` and, with no ``kind``, the
APPS format ``{"inputs": [...], "outputs": [...], "fn_name"?: ...}`` used by APPS, TACO and
PRIME and read by verl's ``prime_code`` reward (docs/verifiers/code.md).
"""

from __future__ import annotations

import ast
import functools
import json
from collections.abc import Mapping
from typing import Any

from grpo_rewards.sandbox import KINDS

__all__ = ["TestSpec", "assert_case_count", "parse_tests"]


def _python_syntax_error(code: str) -> str | None:
    """Why ``code`` does not parse, or None. Cached for test texts up to 64 KiB (in GRPO every
    completion of a prompt carries the same tests, so each is parsed once)."""
    return _syntax_error_cached(code) if len(code) <= 1 << 16 else _syntax_error(code)


def _syntax_error(code: str) -> str | None:
    try:
        ast.parse(code, "tests")
    except SyntaxError as exc:
        return f"line {exc.lineno}: {exc.msg}"
    except (ValueError, RecursionError) as exc:  # a null byte, absurd nesting
        return str(exc) or type(exc).__name__
    return None


_syntax_error_cached = functools.lru_cache(maxsize=512)(_syntax_error)


def assert_case_count(code: str) -> int | None:
    """How many cases Python ``assert`` test code has, counted by the host before anything runs
    (the sandbox's tester groups the statements the same way, ``_inside.tester._test_groups``): with
    no top-level ``assert`` (HumanEval's ``check(candidate)``) the whole text is one case;
    otherwise the statements before the first top-level ``assert`` are setup and **every**
    statement from it on is a case, an ``assert`` or not, so that a ``check(add)`` after the
    last ``assert`` that raises fails a case instead of passing unseen. None: it does not parse."""
    return _count_cached(code) if len(code) <= 1 << 16 else _count(code)


def _count(code: str) -> int | None:
    try:
        body = ast.parse(code, "tests").body
    except (SyntaxError, ValueError, RecursionError):
        return None
    first = next((i for i, s in enumerate(body) if isinstance(s, ast.Assert)), None)
    return 1 if first is None else len(body) - first


_count_cached = functools.lru_cache(maxsize=512)(_count)


class TestSpec:
    """A validated ``tests`` value. Raises ``ValueError`` naming the problem when malformed.

    ``check_syntax=False`` skips parsing Python ``assert`` code (the sandbox's tester
    compiles it and reports code that does not compile). ``apps`` is true for the APPS format;
    its ``call`` cases also match an expected one-element list wrapping the result."""

    __test__ = False  # not a pytest test class

    def __init__(self, raw: Any, language: str, check_syntax: bool = True) -> None:
        if isinstance(raw, str):
            try:
                raw = json.loads(raw)
            except ValueError as exc:
                raise ValueError(f"tests is a string but not valid JSON: {exc}") from None
        if not isinstance(raw, Mapping):
            raise ValueError(
                f"tests must be a JSON object with a 'kind' (or APPS 'inputs'/'outputs'), got {type(raw).__name__}"
            )
        self.apps = "kind" not in raw and ("inputs" in raw or "outputs" in raw)
        kind = ("stdio" if raw.get("fn_name") is None else "call") if self.apps else raw.get("kind")
        if kind not in ("assert", "stdio", "call"):
            raise ValueError(
                f"tests.kind must be 'assert', 'stdio' or 'call' (or no kind and APPS 'inputs'/'outputs'), got {kind!r}"
            )
        if kind not in KINDS[language]:
            what = f"APPS tests {'with' if kind == 'call' else 'without'} fn_name" if self.apps else "tests"
            raise ValueError(
                f"{what} of kind {kind!r} are not supported for {language}; supported: {', '.join(KINDS[language])}"
            )
        self.kind: str = kind
        self.code: str = ""
        self.inputs: list[str] = []
        self.outputs: list[str] = []
        self.fn_name: str = ""
        self.args: list[tuple[list[Any], dict[str, Any]]] = []
        self.expected: list[Any] = []
        if kind == "assert":
            code = raw.get("code")
            if not isinstance(code, str) or not code.strip():
                raise ValueError("assert tests need a non-empty 'code' string")
            if language == "python" and check_syntax:
                why = _python_syntax_error(code)
                if why is not None:
                    raise ValueError(f"assert test code does not parse: {why}")
            self.code = code
            return
        if self.apps:
            self._read_apps(raw)
        else:
            self._read_cases(raw)
        if kind == "call":
            fn = raw.get("fn_name")
            if not isinstance(fn, str) or not fn.isidentifier():
                raise ValueError(f"call tests need 'fn_name', a Python identifier, got {fn!r}")
            self.fn_name = fn
        tol = raw.get("float_tolerance")
        if tol is not None and (not isinstance(tol, int | float) or isinstance(tol, bool) or tol < 0):
            raise ValueError(f"tests.float_tolerance must be a non-negative number, got {tol!r}")
        self.tolerance: float | None = float(tol) if tol is not None else None

    def _read_cases(self, raw: Mapping[str, Any]) -> None:
        cases = raw.get("cases")
        if not isinstance(cases, list) or not cases:
            raise ValueError(f"{self.kind} tests need a non-empty 'cases' list")
        for i, c in enumerate(cases):
            if not isinstance(c, Mapping):
                raise ValueError(f"tests.cases[{i}] must be an object")
            if self.kind == "stdio":
                inp, out = c.get("input", ""), c.get("output")
                if not isinstance(inp, str) or not isinstance(out, str):
                    raise ValueError(f"tests.cases[{i}] needs string 'input' and 'output'")
                self.inputs.append(inp)
                self.outputs.append(out)
            else:
                args, kwargs = c.get("args", []), c.get("kwargs", {})
                if not isinstance(args, list) or not isinstance(kwargs, Mapping) or "expected" not in c:
                    raise ValueError(f"tests.cases[{i}] needs 'args' (a list) and 'expected' (kwargs optional)")
                self.args.append((list(args), dict(kwargs)))
                self.expected.append(c["expected"])

    def _read_apps(self, raw: Mapping[str, Any]) -> None:
        # The reading follows verl 0.9.0's verl/utils/reward_score/prime_code/testing_util.py
        # (run_test; its reading and comparison are unchanged from volcengine/verl@b178a3c, where
        # only the module loader differs): with no fn_name, inputs[i] is stdin and outputs[i] the
        # expected stdout, each a string or a list of lines joined with "\n"; with fn_name,
        # inputs[i] is either verl/PRIME's string of one JSON argument per line (then outputs[i]
        # is a JSON text) or APPS/TACO's list of arguments (then outputs[i] is the value itself).
        # Whether a result matches is decided in code.py (_call_matches).
        inputs, outputs = raw.get("inputs"), raw.get("outputs")
        for name, v in (("inputs", inputs), ("outputs", outputs)):
            if not isinstance(v, list):
                raise ValueError(f"APPS tests need '{name}' to be a list, got {type(v).__name__}")
        assert isinstance(inputs, list) and isinstance(outputs, list)
        if not inputs:
            raise ValueError("APPS tests have no cases: 'inputs' is empty")
        if len(inputs) != len(outputs):
            raise ValueError(f"APPS tests have {len(inputs)} inputs but {len(outputs)} outputs")
        for i, (inp, out) in enumerate(zip(inputs, outputs, strict=True)):
            if self.kind == "stdio":
                self.inputs.append(_text(inp, f"inputs[{i}]"))
                self.outputs.append(_text(out, f"outputs[{i}]"))
            elif isinstance(inp, list):
                self.args.append((list(inp), {}))
                self.expected.append(out)
            elif isinstance(inp, str):
                if not isinstance(out, str):
                    raise ValueError(
                        f"APPS tests: inputs[{i}] is JSON lines, so outputs[{i}] must be a JSON text, "
                        f"got {type(out).__name__}"
                    )
                args = [_json(line, f"inputs[{i}]") for line in inp.split("\n") if line.strip()]
                self.args.append((args, {}))
                self.expected.append(_json(out, f"outputs[{i}]"))
            else:
                raise ValueError(
                    f"APPS tests with fn_name: inputs[{i}] must be a list of arguments or a string of "
                    f"JSON lines, got {type(inp).__name__}"
                )

    def __repr__(self) -> str:
        return f"TestSpec({self.kind}{', apps' if self.apps else ''})"


def _text(v: Any, where: str) -> str:
    if isinstance(v, str):
        return v
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return "\n".join(v)
    raise ValueError(f"APPS tests: {where} must be a string or a list of strings, got {type(v).__name__}")


def _json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ValueError(f"APPS tests: {where} is not valid JSON ({exc}): {text[:60]!r}") from None


def parse_tests(raw: Any, language: str = "python") -> TestSpec:
    """Validate a ``tests`` column value; ``ValueError`` says what is wrong with it."""
    return TestSpec(raw, language)
