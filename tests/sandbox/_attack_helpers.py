"""Shared set-up of the attack battery's later files (test_attacks_processes, test_attacks_stalls,
test_attacks_tampering): small limits (``timeout=1``, ``total_timeout=3``), the ``code`` verifier
on the session's warm pool, and the checks that the pool still judges honestly afterwards.

Runs in the test process (the host); it trusts the sandbox fixtures of ``conftest.py`` and the
host checks of ``test_attacks.py``, and nothing a candidate returns.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from grpo_rewards.contract import Outcome, Sample, Score
from grpo_rewards.sandbox import Job, Limits
from grpo_rewards.sandbox.local import LocalSandbox
from grpo_rewards.verifiers.code import CodeVerifier

from . import test_attacks as base

# The host checks and helpers of the first battery, reused: canary files in the host's /tmp,
# home and a temporary directory, the secret in the environment, the sandbox's process count.
host_state = base.host_state
assert_host_clean = base.assert_host_clean
block = base.block
HUMANEVAL_STYLE = base.HUMANEVAL_STYLE

TIMEOUT, TOTAL = 1.0, 3.0
FAST = Limits(wall_s=TIMEOUT, total_s=TOTAL, cpu_s=TIMEOUT, memory_mb=512, processes=16)
# A sample ends by total_timeout plus the host's slack (2 s) plus a worker's replacement;
# generous, so that a loaded machine does not fail the test, yet far below "stuck".
BOUND_S = TOTAL + 5.0
HONEST_ADD = "def add(a, b):\n    return a + b\n"
ADD_TESTS = {"kind": "assert", "code": HUMANEVAL_STYLE}


@pytest.fixture(scope="module")
def fast(sandbox: LocalSandbox) -> Iterator[CodeVerifier]:
    """The ``code`` verifier with the small limits, on the session's warm pool."""
    v = CodeVerifier(timeout=TIMEOUT, total_timeout=TOTAL, memory_mb=512, processes=16)
    v._sandbox = sandbox
    yield v
    v._sandbox = None  # the pool is the session's: not closed here


def run_sample(verifier: CodeVerifier, code: str, tests: dict) -> tuple[Score, float]:
    t0 = time.monotonic()
    s = verifier.score(Sample(completion=block(code), row={"tests": tests}))
    return s, time.monotonic() - t0


def assert_pool_still_honest(verifier: CodeVerifier) -> None:
    """The next samples on the pool are judged as usual: a right one passes, a wrong one fails."""
    s, _ = run_sample(verifier, HONEST_ADD, ADD_TESTS)
    assert (s.value, s.outcome) == (1.0, Outcome.CORRECT), s
    s, _ = run_sample(verifier, "def add(a, b):\n    return a - b\n", ADD_TESTS)
    assert (s.value, s.outcome) == (0.0, Outcome.WRONG), s


def probe_call(sb: LocalSandbox, code: str, *args: object) -> object:
    res = sb.run(Job("python", "call", code, fn_name="probe", args=[(list(args), {})], limits=FAST))
    assert res.error is None and res.cases, res
    assert res.cases[0].has_value, res.cases[0].error
    return res.cases[0].value
