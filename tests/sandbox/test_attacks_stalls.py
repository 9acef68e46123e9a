"""The attack battery (issue #17, "Must show"), time: return values that try to stall the
trusted tester, and partial credit next to endless loops.

Every attack goes through the real ``code`` verifier with small limits (``timeout=1``,
``total_timeout=3``); each asserts the score and outcome, that the sample ended within
``BOUND_S``, and that the host is clean afterwards. Runs in the test process, which trusts
nothing the candidate returns. One defect the battery found is fixed with its test here: a
huge int that made the host's float comparison raise and erased a whole batch.
"""

from __future__ import annotations

import pytest

from grpo_rewards import load_rewards
from grpo_rewards.contract import Outcome
from grpo_rewards.sandbox.local import LocalSandbox
from grpo_rewards.verifiers.code import CodeVerifier

from . import _attack_helpers as helpers
from ._attack_helpers import (
    BOUND_S,
    TIMEOUT,
    TOTAL,
    assert_host_clean,
    assert_pool_still_honest,
    block,
    run_sample,
)

# The fixtures of the shared set-up: the host's state before the battery, the fast verifier.
host_state = helpers.host_state
fast = helpers.fast


# -- 3. return values that try to stall the trusted tester ---------------------------------

STALLS = {
    # 61 list objects, 2**60 paths through them: walking it as a tree never ends.
    "shared-reference DAG, compared": (
        "def f():\n    x = []\n    for _ in range(60):\n        x = [x, x]\n    return x\n",
        "assert f() == [[], []]\n",
    ),
    "shared-reference DAG, sorted": (
        "def f():\n    x = []\n    for _ in range(60):\n        x = [x, x]\n    return x\n",
        "assert sorted(f()) == [[], []]\n",
    ),
    "list nested 10**6 deep": (
        "def f():\n    x = []\n    for _ in range(10**6):\n        x = [x]\n    return x\n",
        "assert f() == [[]]\n",
    ),
    "dict nested 10**6 deep": (
        "def f():\n    x = {}\n    for _ in range(10**6):\n        x = {0: x}\n    return x\n",
        "assert f() == {0: {}}\n",
    ),
    "[0] * 10**8": ("def f():\n    return [0] * 10**8\n", "assert f() == [0]\n"),
    "a 10**8-character string": ("def f():\n    return 'a' * 10**8\n", "assert f() == 'a'\n"),
    "a 2 MB string (over the answer limit)": ("def f():\n    return 'a' * 2_000_000\n", "assert len(f()) == 1\n"),
    "10**6 small lists": ("def f():\n    return [[i] for i in range(10**6)]\n", "assert f() == [[0]]\n"),
    "endless iterator pulled with list()": (
        "import itertools\ndef f():\n    return itertools.count()\n",
        "assert list(f()) == [0, 1, 2]\n",
    ),
    "endless generator of big chunks pulled with list()": (
        "def f():\n    while True:\n        yield [0] * 100_000\n",
        "assert list(f()) == []\n",
    ),
    "endless iterator pulled with sorted()": (
        "import itertools\ndef f():\n    return itertools.count()\n",
        "assert sorted(f()) == [0, 1, 2]\n",
    ),
    "endless iterator searched with in": (
        "import itertools\ndef f():\n    return itertools.count()\n",
        "assert (-1 in f()) is True\n",
    ),
    "__len__ that never returns": (
        "class L(list):\n    def __len__(self):\n        while True:\n            pass\ndef f():\n    return L()\n",
        "assert len(f()) == 3\n",
    ),
}


@pytest.mark.parametrize("name", list(STALLS))
def test_a_return_value_cannot_stall_the_tester(
    fast: CodeVerifier, sandbox: LocalSandbox, host_state: dict, name: str
) -> None:
    code, test_code = STALLS[name]
    s, took = run_sample(fast, code, {"kind": "assert", "code": test_code})
    assert took < BOUND_S, f"{name}: {took:.1f} s"
    assert s.value == 0.0 and s.outcome in (Outcome.TIMEOUT, Outcome.WRONG), (name, s)
    assert_host_clean(sandbox, host_state)
    assert_pool_still_honest(fast)


@pytest.mark.parametrize(
    "name", ["shared-reference DAG, compared", "list nested 10**6 deep", "[0] * 10**8", "10**6 small lists"]
)
def test_a_return_value_cannot_stall_call_tests(
    fast: CodeVerifier, sandbox: LocalSandbox, host_state: dict, name: str
) -> None:
    code, _ = STALLS[name]
    tests = {"kind": "call", "fn_name": "f", "cases": [{"args": [], "expected": [0]}, {"args": [], "expected": [1]}]}
    s, took = run_sample(fast, code, tests)
    assert took < BOUND_S, f"{name}: {took:.1f} s"
    assert s.value == 0.0 and s.outcome in (Outcome.TIMEOUT, Outcome.WRONG), (name, s)
    assert_host_clean(sandbox, host_state)


# Ints equal modulo 2**61 - 1 share one hash: a set of 35,000 of them (under 1 MiB on the wire)
# costs the tester's C code about 6 * 10**8 comparisons in one call, which the job's alarm cannot
# interrupt. On the machines measured only the host's deadline ends it (the job is "stalled",
# the worker replaced); either way the sample is a timeout, within the bound.
COLLIDING = "def f():\n    return [(2**61 - 1) * k for k in range(1, 35_000)]\n"


@pytest.mark.slow
def test_hash_colliding_values_stall_only_their_own_sample(
    fast: CodeVerifier, sandbox: LocalSandbox, host_state: dict
) -> None:
    s, took = run_sample(fast, COLLIDING, {"kind": "assert", "code": "assert set(f()) == {1, 2}\n"})
    assert took < BOUND_S, f"{took:.1f} s"
    assert s.value == 0.0 and s.outcome == Outcome.TIMEOUT, s
    assert_host_clean(sandbox, host_state)
    assert_pool_still_honest(fast)


# The host compares call results itself; with a float tolerance it converts them to floats.
HUGE_INT = "def f(x):\n    return 10**400\n"
TOLERANT = {"kind": "call", "fn_name": "f", "cases": [{"args": [1], "expected": 0.5}], "float_tolerance": 1e-6}


def test_a_huge_int_against_a_float_with_tolerance_is_wrong_not_an_exception(fast: CodeVerifier) -> None:
    s, _ = run_sample(fast, HUGE_INT, TOLERANT)
    assert (s.value, s.outcome) == (0.0, Outcome.WRONG), s


def test_one_overflowing_answer_does_not_erase_the_batch() -> None:
    rs = load_rewards([{"name": "code", "options": {"timeout": TIMEOUT, "total_timeout": TOTAL,
                                                    "sandbox_options": {"workers": 1}}}])  # fmt: skip
    try:
        honest = block("def f(x):\n    return x / 2\n")
        res = rs.score([honest, block(HUGE_INT), honest], columns={"tests": [TOLERANT] * 3})
        outcomes = [sc.outcome for sc in res.scores["code"]]
        assert res.values["code"] == [1.0, 0.0, 1.0], (res.values, outcomes)
        assert Outcome.ERROR not in outcomes
    finally:
        rs.close()


# -- 4. partial credit next to endless loops ------------------------------------------------

SLOW_ON_BIG = "def f(n):\n    if n > 100:\n        while True:\n            pass\n    return 2 * n\n"


def _asserts(ns: list[int]) -> dict:
    return {"kind": "assert", "code": "".join(f"assert f({n}) == {2 * n}\n" for n in ns)}


def _calls(ns: list[int]) -> dict:
    return {"kind": "call", "fn_name": "f", "cases": [{"args": [n], "expected": 2 * n} for n in ns]}


# (inputs, cases passed): two loops fit the job's 3 s, so every small case runs; in the last,
# the loops use the whole budget and the cases after them are cut short (failed either way).
PARTIAL = {
    "two loops among small cases": ([1, 2, 3, 1000, 4, 2000], 4),
    "loops that use up the budget": ([1, 2, 1000, 2000, 3000, 4000], 2),
}


@pytest.mark.parametrize("kind", ["assert", "call"])
@pytest.mark.parametrize("name", list(PARTIAL))
def test_looping_cases_count_as_failed(
    fast: CodeVerifier, sandbox: LocalSandbox, host_state: dict, name: str, kind: str
) -> None:
    ns, passed = PARTIAL[name]
    s, took = run_sample(fast, SLOW_ON_BIG, (_asserts if kind == "assert" else _calls)(ns))
    assert took < BOUND_S, f"{took:.1f} s"
    # _score: a failing case that timed out (or a job that did) makes the outcome timeout,
    # with the partial value passed / n all the same.
    assert s.outcome == Outcome.TIMEOUT, s
    assert s.value == passed / len(ns), s
    assert s.info == {"passed": passed, "total": len(ns)}, s
    assert_host_clean(sandbox, host_state)


def test_looping_cases_under_all_or_nothing_scoring(sandbox: LocalSandbox) -> None:
    v = CodeVerifier(timeout=TIMEOUT, total_timeout=TOTAL, memory_mb=512, processes=16, scoring="all")
    v._sandbox = sandbox
    s, _ = run_sample(v, SLOW_ON_BIG, _asserts([1, 2, 3, 1000]))
    assert (s.value, s.outcome) == (0.0, Outcome.TIMEOUT), s
    assert s.info == {"passed": 3, "total": 4}, s
