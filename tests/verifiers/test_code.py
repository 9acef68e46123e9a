"""The ``code`` verifier: extraction, test formats, comparison and scoring policy."""

from __future__ import annotations

import json
import pickle
import shutil
from collections.abc import Iterator

import pytest

from grpo_rewards import load_rewards
from grpo_rewards.contract import Outcome, Sample
from grpo_rewards.plugins import get_registry
from grpo_rewards.sandbox.local import LocalSandbox
from grpo_rewards.verifiers.code import CodeVerifier, extract_code, parse_tests, stdout_matches, values_equal

ADD_TESTS = {"kind": "assert", "code": "assert add(1, 2) == 3\nassert add(2, 2) == 4\nassert add(0, 5) == 5\n"}


@pytest.fixture(scope="module")
def pool() -> Iterator[LocalSandbox]:
    sb = LocalSandbox(workers=2).start()
    yield sb
    sb.close()


def make(pool: LocalSandbox, **options: object) -> CodeVerifier:
    v = CodeVerifier(timeout=2.0, total_timeout=8.0, **options)  # type: ignore[arg-type]
    v._sandbox = pool
    return v


def run(v: CodeVerifier, completion: str, tests: object) -> tuple[float | None, Outcome, str]:
    s = v.score(Sample(completion=completion, row={"tests": tests}))
    return s.value, s.outcome, s.detail


def py(code: str) -> str:
    return f"Sure.\n```python\n{code}\n```\n"


# -- extraction --------------------------------------------------------------------------------


def test_extracts_the_last_block_of_the_language_by_default() -> None:
    text = "```python\nx = 1\n```\ntext\n```js\nlet y\n```\n```py\nx = 2\n```\n"
    assert extract_code(text, "python") == "x = 2\n"
    assert extract_code(text, "python", "first") == "x = 1\n"
    assert extract_code(text, "python", "all") == "x = 1\n\n\nx = 2\n"
    assert extract_code(text, "javascript") == "let y\n"
    assert extract_code("no code here", "python") is None


def test_unlabelled_blocks_are_a_fallback_and_think_is_ignored() -> None:
    assert extract_code("```\nprint(1)\n```", "python") == "print(1)\n"
    assert extract_code("```\nprint(1)\n```", "python", allow_unlabeled=False) is None
    assert extract_code("<think>```python\nbad\n```</think>```python\ngood\n```", "python") == "good\n"
    assert extract_code("```python\nunclosed", "python") is None


def test_full_mode_takes_the_whole_completion() -> None:
    assert extract_code("<think>hm</think>print(1)", "python", "full") == "print(1)"


# -- test formats ------------------------------------------------------------------------------


def test_tests_may_be_a_json_string() -> None:
    spec = parse_tests(json.dumps({"kind": "call", "fn_name": "f", "cases": [{"args": [1], "expected": 2}]}))
    assert spec.kind == "call" and spec.args == [([1], {})] and spec.expected == [2]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("not json", "not valid JSON"),
        ([1, 2], "JSON object"),
        ({"kind": "unit"}, "tests.kind"),
        ({"kind": "assert", "code": ""}, "non-empty 'code'"),
        ({"kind": "assert", "code": "assert (1"}, "does not parse"),
        ({"kind": "stdio", "cases": []}, "non-empty 'cases'"),
        ({"kind": "stdio", "cases": [{"input": "1"}]}, "string 'input' and 'output'"),
        ({"kind": "call", "fn_name": "f", "cases": [{"args": [1]}]}, "'expected'"),
        ({"kind": "call", "fn_name": "not valid", "cases": [{"args": [], "expected": 1}]}, "fn_name"),
    ],
)
def test_malformed_tests_are_bad_reference(pool: LocalSandbox, raw: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_tests(raw)
    value, outcome, detail = run(make(pool), py("def f(x): return x"), raw)
    assert outcome == Outcome.BAD_REFERENCE and value is None and message.split("'")[0].strip() in detail
    # ... with or without a program in the completion
    assert run(make(pool), "no code here", raw)[1] == Outcome.BAD_REFERENCE


def test_other_sandboxes_get_test_code_that_parses() -> None:
    # Only a sandbox that says it compiles the tests itself is trusted to report bad ones.
    class Plain:
        def run(self, job: object, judge: object = None) -> object:
            raise AssertionError("a job with unparsable tests must not reach the sandbox")

    v = CodeVerifier()
    v._sandbox = Plain()
    s = v.score(Sample(completion=py("def f(x): return x"), row={"tests": {"kind": "assert", "code": "assert (1"}}))
    assert s.outcome == Outcome.BAD_REFERENCE and "does not parse" in s.detail


@pytest.mark.parametrize("code", ["return 1", "def check(c):\n    nonlocal c\ncheck(f)"])
def test_test_code_that_parses_but_does_not_compile_is_bad_reference(pool: LocalSandbox, code: str) -> None:
    # ast.parse accepts these; only the compiler (in the tester) refuses them. The row is at
    # fault, so the candidate is neither rewarded nor punished.
    raw = {"kind": "assert", "code": code}
    assert parse_tests(raw).code == code
    value, outcome, detail = run(make(pool), py("def f(x): return x"), raw)
    assert outcome == Outcome.BAD_REFERENCE and value is None
    assert "does not parse" in detail and "line" in detail


def test_top_level_asserts_are_cases_and_indented_ones_are_not(pool: LocalSandbox) -> None:
    honest = py("def f(x): return x")
    split = "x = 1; assert f(1) == 1\nassert f(2) == 3\nassert f(3) == 3"
    _, outcome, detail = run(make(pool), honest, {"kind": "assert", "code": split})
    assert outcome == Outcome.PARTIAL and "2/3" in detail
    whole = "def check(c):\n    assert c(1) == 1\n    assert c(2) == 3\ncheck(f)"
    _, outcome, detail = run(make(pool), honest, {"kind": "assert", "code": whole})
    assert outcome == Outcome.WRONG and "0/1" in detail
    continued = "y = 2; \\\n    assert f(2) == 2\nassert f(1) == 0"
    _, outcome, detail = run(make(pool), honest, {"kind": "assert", "code": continued})
    assert outcome == Outcome.PARTIAL and "1/2" in detail
    for _ in range(2):  # the tester keeps compiled tests (not ones this big): same verdict twice
        big = "# " + "x" * (70 << 10) + "\n" + split
        _, outcome, detail = run(make(pool), honest, {"kind": "assert", "code": big})
        assert outcome == Outcome.PARTIAL and "2/3" in detail
        _, outcome, detail = run(make(pool), honest, {"kind": "assert", "code": split})
        assert outcome == Outcome.PARTIAL and "2/3" in detail


def test_unsupported_kind_for_a_language_is_bad_reference(pool: LocalSandbox) -> None:
    _, outcome, detail = run(make(pool, language="c"), "```c\nint main(){}\n```", ADD_TESTS)
    assert outcome == Outcome.BAD_REFERENCE and "not supported for c" in detail


def test_stdout_comparison() -> None:
    assert stdout_matches("3 \n\n", "3")
    assert stdout_matches("a\r\nb\n", "a\nb\n")
    assert not stdout_matches("3\n4\n", "3\n")  # an extra line fails
    assert not stdout_matches("", "3\n")
    assert not stdout_matches("3.0001\n", "3\n")
    assert stdout_matches("3.0001 x\n", "3 x\n", tolerance=1e-3)
    assert not stdout_matches("3.1 x\n", "3 x\n", tolerance=1e-3)


def test_value_comparison() -> None:
    assert values_equal((1, [2, 3]), [1, [2, 3]])  # JSON has no tuples
    assert not values_equal(1, True) and not values_equal(True, 1)
    assert values_equal(2, 2.0)
    assert values_equal(0.1 + 0.2, 0.3, tolerance=1e-9) and not values_equal(0.1 + 0.2, 0.3)
    assert values_equal({1: "a"}, {"1": "a"})
    assert not values_equal("1", 1) and not values_equal(None, 0)


# -- scoring -----------------------------------------------------------------------------------


def test_correct_partial_wrong_and_no_answer(pool: LocalSandbox) -> None:
    v = make(pool)
    assert run(v, py("def add(a, b):\n    return a + b"), ADD_TESTS)[:2] == (1.0, Outcome.CORRECT)
    value, outcome, detail = run(v, py("def add(a, b):\n    return a * b if a else b"), ADD_TESTS)
    assert outcome == Outcome.PARTIAL and value == pytest.approx(2 / 3) and "2/3" in detail
    assert run(v, py("def add(a, b):\n    return 0"), ADD_TESTS)[:2] == (0.0, Outcome.WRONG)
    assert run(v, "I think it's 3.", ADD_TESTS)[1] == Outcome.NO_ANSWER
    _, outcome, detail = run(v, py("def add(a, b) return"), ADD_TESTS)
    assert outcome == Outcome.WRONG and "SyntaxError" in detail


def test_candidate_code_runs_as_python_runs_it(pool: LocalSandbox) -> None:
    # The sandbox's own modules use `from __future__ import annotations`; none of that may leak
    # into the candidate's (or the tests') compilation: an annotation naming something
    # undefined is a NameError in plain Python, so the program must fail here too.
    undefined = py("def add(a: Undefined, b) -> int:\n    return a + b")
    _, outcome, detail = run(make(pool), undefined, ADD_TESTS)
    assert outcome == Outcome.WRONG and "NameError" in detail
    stdio = {"kind": "stdio", "cases": [{"input": "", "output": "<class 'int'>"}]}
    assert run(make(pool), py("def f(x: int): pass\nprint(f.__annotations__['x'])"), stdio)[1] == Outcome.CORRECT
    assert run(make(pool), py("x: Undefined = 1\nprint(x)"), {**stdio, "cases": [{"input": "", "output": "1"}]})[1] == (
        Outcome.WRONG
    )
    test_sees_classes = {"kind": "assert", "code": "def g(y: int): pass\nassert g.__annotations__['y'] is int"}
    assert run(make(pool), py("def f(x): return x"), test_sees_classes)[1] == Outcome.CORRECT
    # A syntax error in a stdio program fails every case the way `python main.py` does.
    two = {"kind": "stdio", "cases": [{"input": "", "output": "1"}, {"input": "", "output": "1"}]}
    _, outcome, detail = run(make(pool), py("print(1"), two)
    assert outcome == Outcome.WRONG and "0/2" in detail and "exit status 1" in detail


def test_a_program_too_big_for_the_tester_to_compile_still_runs(pool: LocalSandbox) -> None:
    # Above 256 KiB of source the tester leaves compiling to the run (and its limits).
    big = "# " + "x" * (300 << 10) + "\ndef add(a, b):\n    return a + b\n"
    assert run(make(pool), py(big), ADD_TESTS)[:2] == (1.0, Outcome.CORRECT)
    _, outcome, detail = run(make(pool), py(big + "def broken(:\n"), ADD_TESTS)
    assert outcome == Outcome.WRONG and "SyntaxError" in detail


def test_all_or_nothing_and_early_stop(pool: LocalSandbox) -> None:
    half = py("def add(a, b):\n    return a * b if a else b")
    assert run(make(pool, scoring="all"), half, ADD_TESTS)[:2] == (0.0, Outcome.WRONG)
    fails_second = py("def add(a, b):\n    return a + b if a < 2 else 0")
    assert run(make(pool), fails_second, ADD_TESTS)[0] == pytest.approx(2 / 3)
    s = make(pool, early_stop=True).score(Sample(completion=fails_second, row={"tests": ADD_TESTS}))
    assert s.info["passed"] == 1 and s.value == pytest.approx(1 / 3)  # the third case never ran


def test_stdio_tests(pool: LocalSandbox) -> None:
    tests = {"kind": "stdio", "cases": [{"input": "1 2\n", "output": "3\n"}, {"input": "5 6\n", "output": "11"}]}
    good = py("a, b = map(int, input().split())\nprint(a + b)")
    assert run(make(pool), good, tests)[:2] == (1.0, Outcome.CORRECT)
    crash = py("a, b = map(int, input().split())\nprint(a + b)\nraise ValueError('late')")
    value, outcome, detail = run(make(pool), crash, tests)
    assert value == 0.0 and "runtime error" in detail
    floats = {"kind": "stdio", "float_tolerance": 1e-6, "cases": [{"input": "", "output": "0.3333333"}]}
    assert run(make(pool), py("print(1/3)"), floats)[1] == Outcome.CORRECT


def test_call_tests(pool: LocalSandbox) -> None:
    tests = {
        "kind": "call",
        "fn_name": "pair",
        "cases": [{"args": [1], "expected": [1, 2]}, {"args": [5], "kwargs": {"k": 0}, "expected": [5, 5]}],
    }
    assert run(make(pool), py("def pair(x, k=1):\n    return (x, x + k)"), tests)[:2] == (1.0, Outcome.CORRECT)
    value, _, detail = run(make(pool), py("def other(x):\n    return x"), tests)
    assert value == 0.0 and "defines no 'pair'" in detail


# -- APPS format (APPS, TACO, PRIME; verl's prime_code) ------------------------------------------

APPS_SUM = {"inputs": ["1 2\n", "5 6\n", "0 0\n"], "outputs": ["3\n", "11\n", "0\n"]}


def test_apps_stdio_tests(pool: LocalSandbox) -> None:
    spec = parse_tests(APPS_SUM)
    assert spec.kind == "stdio" and spec.apps and spec.inputs == APPS_SUM["inputs"]
    good = py("a, b = map(int, input().split())\nprint(a + b)")
    assert run(make(pool), good, APPS_SUM)[:2] == (1.0, Outcome.CORRECT)
    assert run(make(pool), good, json.dumps(APPS_SUM))[:2] == (1.0, Outcome.CORRECT)  # a JSON string too
    value, outcome, detail = run(make(pool), py("a, b = map(int, input().split())\nprint(a * b)"), APPS_SUM)
    assert (value, outcome) == (pytest.approx(1 / 3), Outcome.PARTIAL) and "1/3" in detail  # 0 * 0 == 0 + 0
    value, outcome, detail = run(make(pool), py("print(42)"), APPS_SUM)
    assert (value, outcome) == (0.0, Outcome.WRONG) and "wrong output on case 0" in detail


def test_apps_stdio_lists_of_lines_are_joined_with_newlines(pool: LocalSandbox) -> None:
    tests = {"inputs": [["2", "3 4"]], "outputs": [["3", "4"]], "fn_name": None}
    spec = parse_tests(tests)
    assert spec.kind == "stdio" and spec.inputs == ["2\n3 4"] and spec.outputs == ["3\n4"]
    good = py("input()\nfor t in input().split():\n    print(t)")
    assert run(make(pool), good, tests)[:2] == (1.0, Outcome.CORRECT)
    # the same comparison as the stdio kind: trailing whitespace is ignored, an extra line is not
    assert run(make(pool), py("print('3   ')\nprint(4)\n\nprint()"), tests)[1] == Outcome.CORRECT
    assert run(make(pool), py("print(3)\nprint(4)\nprint(5)"), tests)[1] == Outcome.WRONG


def test_apps_call_tests_take_argument_lists(pool: LocalSandbox) -> None:
    # APPS/TACO store a return value wrapped in a one-element list; a bare value matches too
    tests = {"fn_name": "add", "inputs": [[1, 2], [2, 3], [0, 0]], "outputs": [[3], 5, [0]]}
    spec = parse_tests(tests)
    assert spec.kind == "call" and spec.args == [([1, 2], {}), ([2, 3], {}), ([0, 0], {})]
    assert run(make(pool), py("def add(a, b):\n    return a + b"), tests)[:2] == (1.0, Outcome.CORRECT)
    value, outcome, _ = run(make(pool), py("def add(a, b):\n    return a * b"), tests)
    assert (value, outcome) == (pytest.approx(1 / 3), Outcome.PARTIAL)
    value, outcome, detail = run(make(pool), py("def add(a, b):\n    return [a + b, 0]"), tests)
    assert (value, outcome) == (0.0, Outcome.WRONG) and "case 0" in detail


def test_apps_call_results_that_are_lists(pool: LocalSandbox) -> None:
    # expected [[1, 2]]: the result [1, 2] matches (the wrapped value), and so do [[1, 2]] and
    # a tuple (1, 2) (tuples match lists); [1] and [[1, 2], [1, 2]] do not
    tests = {"fn_name": "f", "inputs": [[1]], "outputs": [[[1, 2]]]}
    for body, want in [("[x, 2]", 1.0), ("[[x, 2]]", 1.0), ("(x, 2)", 1.0), ("[x]", 0.0), ("[[x, 2]] * 2", 0.0)]:
        assert run(make(pool), py(f"def f(x):\n    return {body}"), tests)[0] == want, body


def test_apps_call_keeps_the_call_kinds_comparison(pool: LocalSandbox) -> None:
    # verl compares with ==, so True matches 1 there; code's call comparison does not (bools
    # match only bools), in the APPS format as in the call kind
    tests = {"fn_name": "f", "inputs": [[1]], "outputs": [[True]]}
    assert run(make(pool), py("def f(x):\n    return True"), tests)[0] == 1.0
    assert run(make(pool), py("def f(x):\n    return 1"), tests)[0] == 0.0
    floats = {"fn_name": "f", "inputs": [[1]], "outputs": [[0.3]], "float_tolerance": 1e-9}
    assert run(make(pool), py("def f(x):\n    return 0.1 + 0.2"), floats)[0] == 1.0


def test_apps_call_tests_in_verls_json_lines_form(pool: LocalSandbox) -> None:
    # verl/PRIME: inputs[i] is a string with one JSON argument per line, outputs[i] a JSON text
    tests = {"fn_name": "join", "inputs": ['"a"\n["b", "c"]', '"-"\n[]\n'], "outputs": ['"b a c"', '""']}
    spec = parse_tests(json.dumps(tests))
    assert spec.args == [(["a", ["b", "c"]], {}), (["-", []], {})] and spec.expected == ["b a c", ""]
    assert run(make(pool), py("def join(sep, xs):\n    return f' {sep} '.join(xs)"), tests)[1] == Outcome.CORRECT
    value, outcome, _ = run(make(pool), py("def join(sep, xs):\n    return sep.join(xs)"), tests)
    assert (value, outcome) == (0.5, Outcome.PARTIAL)


def test_a_kind_decides_the_format(pool: LocalSandbox) -> None:
    # "kind" wins: inputs/outputs beside it are ignored, and a kind-based row reads as before
    tests = {"kind": "stdio", "cases": [{"input": "", "output": "1"}], "inputs": [["x"]], "outputs": []}
    spec = parse_tests(tests)
    assert not spec.apps and spec.inputs == [""]
    assert run(make(pool), py("print(1)"), tests)[1] == Outcome.CORRECT


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"inputs": "1 2", "outputs": ["3"]}, "'inputs' to be a list, got str"),
        ({"inputs": ["1 2"]}, "'outputs' to be a list, got NoneType"),
        ({"inputs": [], "outputs": []}, "no cases: 'inputs' is empty"),
        ({"inputs": ["1", "2"], "outputs": ["1"]}, "2 inputs but 1 outputs"),
        ({"inputs": [1], "outputs": ["1"]}, r"inputs\[0\] must be a string or a list of strings, got int"),
        ({"inputs": ["1"], "outputs": [["1", 2]]}, r"outputs\[0\] must be a string or a list of strings"),
        ({"fn_name": "not valid", "inputs": [[1]], "outputs": [1]}, "fn_name"),
        ({"fn_name": 3, "inputs": [[1]], "outputs": [1]}, "fn_name"),
        ({"fn_name": "f", "inputs": [{"a": 1}], "outputs": [1]}, r"inputs\[0\] must be a list of arguments"),
        ({"fn_name": "f", "inputs": ["1\n{oops"], "outputs": ["1"]}, r"inputs\[0\] is not valid JSON"),
        ({"fn_name": "f", "inputs": ["1"], "outputs": ["[1,"]}, r"outputs\[0\] is not valid JSON"),
        ({"fn_name": "f", "inputs": ["1"], "outputs": [1]}, r"outputs\[0\] must be a JSON text"),
        ({"inputs": ["1"], "outputs": ["1"], "float_tolerance": -1}, "float_tolerance"),
    ],
)
def test_malformed_apps_tests_are_bad_reference(pool: LocalSandbox, raw: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_tests(raw)
    value, outcome, detail = run(make(pool), py("def f(x): return x"), raw)
    assert outcome == Outcome.BAD_REFERENCE and value is None and "tests" in detail
    assert run(make(pool), "no code here", raw)[1] == Outcome.BAD_REFERENCE


def test_apps_call_tests_for_a_language_without_calls_is_bad_reference(pool: LocalSandbox) -> None:
    tests = {"fn_name": "f", "inputs": [[1]], "outputs": [1]}
    value, outcome, detail = run(make(pool, language="c"), "```c\nint main(){}\n```", tests)
    assert value is None and outcome == Outcome.BAD_REFERENCE and "APPS tests with fn_name" in detail


def test_timeouts_are_their_own_outcome(pool: LocalSandbox) -> None:
    v = CodeVerifier(timeout=0.5, total_timeout=3.0)
    v._sandbox = pool
    value, outcome, _ = run(v, py("def add(a, b):\n    while a == 0: pass\n    return a + b"), ADD_TESTS)
    assert outcome == Outcome.TIMEOUT and value == pytest.approx(2 / 3)


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")
def test_c_completion(pool: LocalSandbox) -> None:
    tests = {"kind": "stdio", "cases": [{"input": "2 3", "output": "5"}]}
    code = '```c\n#include <stdio.h>\nint main(){int a,b;scanf("%d%d",&a,&b);printf("%d\\n",a+b);}\n```'
    assert run(make(pool, language="c"), code, tests)[:2] == (1.0, Outcome.CORRECT)
    _, outcome, detail = run(make(pool, language="c"), "```c\nint main( {\n```", tests)
    assert outcome == Outcome.WRONG and detail.startswith("compile error")


def test_missing_column_is_an_error_naming_it(pool: LocalSandbox) -> None:
    out = make(pool).score_batch([Sample(completion=py("x=1"), row={"answer": "1"})])
    assert isinstance(out[0], KeyError) and "tests" in str(out[0])


def test_registered_and_usable_from_load_rewards(pool: LocalSandbox) -> None:
    assert get_registry().verifiers["code"].factory is CodeVerifier
    rs = load_rewards([{"name": "code", "options": {"sandbox_options": {"workers": 1}}}])
    try:
        res = rs.score([py("def add(a, b):\n    return a + b")], columns={"tests": [json.dumps(ADD_TESTS)]})
        assert res.totals == [1.0]
    finally:
        rs.close()


def test_verifier_pickles_without_its_pool(pool: LocalSandbox) -> None:
    v = make(pool, language="python")
    clone = pickle.loads(pickle.dumps(v))
    assert clone._sandbox is None and clone.limits == v.limits


# -- issue #17: no credit that was not earned --------------------------------------------------


def test_a_failing_statement_after_the_last_assert_fails_a_case(pool: LocalSandbox) -> None:
    # check(add) after the last assert used to be "setup": its failure was never reported and the
    # sample scored 1.0. Every statement from the first assert on is a case now.
    honest_but_wrong = py("def add(a, b):\n    return a + b if a < 2 else 0")
    code = "assert add(0, 0) == 0\ndef check(candidate):\n    assert candidate(2, 2) == 4\ncheck(add)\n"
    value, outcome, detail = run(make(pool), honest_but_wrong, {"kind": "assert", "code": code})
    assert outcome != Outcome.CORRECT and value != 1.0, detail
    assert "2/3 tests passed" in detail and "case 2" in detail
    value, outcome, detail = run(make(pool), py("def add(a, b): return a + b"), {"kind": "assert", "code": code})
    assert (value, outcome, detail) == (1.0, Outcome.CORRECT, "3/3 tests passed")


def test_cases_are_counted_by_the_host_not_by_the_results_that_came_back(pool: LocalSandbox) -> None:
    from grpo_rewards.sandbox import CaseResult, RunResult
    from grpo_rewards.verifiers.code import TestSpec, assert_case_count

    v = make(pool, scoring="partial")
    spec = TestSpec(ADD_TESTS, "python")
    assert assert_case_count(spec.code) == 3
    # A run that reported one passing case of three: 1/3, not 1/1.
    s = v._score(RunResult(cases=[CaseResult(index=0, passed=True)]), spec)
    assert s.outcome == Outcome.PARTIAL and s.value == pytest.approx(1 / 3) and s.info["total"] == 3
    # A case index counts once, and an index the tests do not have counts not at all.
    cases = [CaseResult(index=0, passed=True)] * 3 + [CaseResult(index=7, passed=True)]
    s = v._score(RunResult(cases=cases), spec)
    assert s.info == {"passed": 1, "total": 3}
    # call tests: the same rule
    call = TestSpec({"kind": "call", "fn_name": "add", "cases": [{"args": [1, 2], "expected": 3}] * 2}, "python")
    s = v._score(RunResult(cases=[CaseResult(index=0, value=3, has_value=True)] * 2), call)
    assert s.info == {"passed": 1, "total": 2}
    assert assert_case_count("x = 1\nassert f(1)\ny = 2\nassert f(2)\n") == 3  # setup, then every statement
    assert assert_case_count("def check(c):\n    assert c(1)\ncheck(f)\n") == 1  # HumanEval's form: one case


def test_a_candidate_that_stalls_the_tester_gets_a_timeout_not_no_signal(pool: LocalSandbox) -> None:
    # sum(range(n)) runs in C in the tester: no signal handler runs until it ends, so only the
    # host's deadline (total_timeout + HOST_SLACK_S, not minutes later) stops it. The candidate
    # chose n: its stall is its timeout (value 0 for the cases the host did not see finish),
    # never the error outcome (no signal).
    from grpo_rewards.sandbox import Job, Limits

    code = "assert f(1) == 1\nassert sum(range(f(10**14))) > 0\nassert f(2) == 2\n"
    res = pool.run(Job("python", "assert", "def f(x): return x\n", test_code=code, limits=Limits(wall_s=2, total_s=4)))
    assert res.stalled and res.timed_out and res.error is None, res
    value, outcome, detail = run(
        make(pool, scoring="partial"), py("def f(x): return x"), {"kind": "assert", "code": code}
    )
    assert outcome == Outcome.TIMEOUT, detail
    # The tester sends case results with the job's end, so none reached the host: no credit
    # that the host did not see earned.
    assert (value, detail) == (0.0, "0/3 tests passed; stalled past the time limit (the host stopped the job)")
    # The pool replaced the stuck worker and goes on scoring.
    assert (
        run(make(pool), py("def f(x): return x"), {"kind": "assert", "code": "assert f(3) == 3"})[1] == Outcome.CORRECT
    )
