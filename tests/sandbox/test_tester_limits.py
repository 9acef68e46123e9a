"""The trusted tester has hard limits of its own (issue #17, defect 2): an address-space limit,
so that candidate values cannot make test code grow the host's memory without end, and a CPU
limit over its life, with the worker retired between jobs well before it."""

from __future__ import annotations

import pytest

from grpo_rewards.contract import Sample
from grpo_rewards.sandbox import Job, Limits, local
from grpo_rewards.sandbox.local import TESTER_CPU_S, LocalSandbox
from grpo_rewards.verifiers.code import CodeVerifier

from .conftest import sandbox_processes


def _limits_of(pid: int) -> dict[str, str]:
    out = {}
    with open(f"/proc/{pid}/limits") as f:
        for line in f.read().splitlines()[1:]:
            name = line[:26].strip()
            out[name] = line[47:68].strip()  # the hard limit's column
    return out


def _tester_pid(sb: LocalSandbox) -> int:
    for pid in sandbox_processes(sb):
        with open(f"/proc/{pid}/comm") as f:
            if f.read().strip() == "sbx-tester":
                return pid
    raise AssertionError("no sbx-tester process")


def test_the_tester_has_hard_memory_and_cpu_limits() -> None:
    sb = LocalSandbox(workers=1, tester_memory_mb=768).start()
    try:
        lim = _limits_of(_tester_pid(sb))
        assert lim["Max address space"] == str(768 << 20)
        assert lim["Max cpu time"] == str(TESTER_CPU_S)
    finally:
        sb.close()


# Half-MiB strings without end: test code that collects them would grow the tester (and before
# the limit, the host's memory) until the job's time ran out.
ENDLESS = """
def f():
    while True:
        yield "x" * (1 << 19)
"""


def test_values_that_exhaust_the_testers_memory_fail_their_case_and_cost_no_worker() -> None:
    sb = LocalSandbox(workers=1, tester_memory_mb=384).start()
    try:
        v = CodeVerifier(timeout=20, total_timeout=25)
        v._sandbox = sb
        tests = {"kind": "assert", "code": "assert f is not None\nassert len(list(f())) == 1\nassert 1 + 1 == 2"}
        s = v.score(Sample(completion=f"```python\n{ENDLESS}\n```", row={"tests": tests}))
        assert s.outcome == "partial" and s.value == pytest.approx(2 / 3), s  # the memory case failed
        assert "MemoryError" in s.detail
        assert sb.replacements == 0  # the candidate's doing, handled inside the tester
        ok = v.score(Sample(completion="```python\ndef f():\n    return [1]\n```", row={"tests": tests}))
        assert ok.outcome == "correct"
    finally:
        sb.close()


def test_a_worker_is_retired_between_jobs_once_its_tester_used_its_cpu_share(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local, "RETIRE_AFTER_CPU_S", 0.0)
    sb = LocalSandbox(workers=1).start()
    try:
        first = _tester_pid(sb)
        job = Job("python", "stdio", "print(input())", inputs=["5"], limits=Limits(wall_s=2, total_s=5))
        assert sb.run(job).cases[0].stdout == "5\n"
        assert sb.replacements == 1
        assert _tester_pid(sb) != first
        assert sb.run(job).cases[0].stdout == "5\n"
    finally:
        sb.close()


def test_a_job_longer_than_the_testers_cpu_share_is_refused() -> None:
    sb = LocalSandbox(workers=1)
    try:
        with pytest.raises(ValueError, match="total time"):
            sb.run(Job("python", "stdio", "print(1)", inputs=[""], limits=Limits(total_s=TESTER_CPU_S)))
    finally:
        sb.close()


COLLIDING = "def f():\n    return [(2**61 - 1) * k for k in range(1, 35_000)]\n"


def test_two_deadline_signals_at_once_end_the_job_once_and_keep_the_worker() -> None:
    """The tester's two deadlines (the wall-clock SIGALRM and the CPU limit's SIGXCPU) can both
    come due while test code is stuck in C (here: a set of 35,000 ints with equal hashes, which
    the candidate returned). Python then runs both handlers back to back; the second used to
    raise a second JobTimeout inside the handler of the first, which killed the tester, and the
    sample scored ``error``: a candidate could turn its own stall into "no signal". Found by
    benchmarks/soak_code.py (4 of 40 such samples on a loaded machine). Here the host sends both
    signals during the stall, so that it does not depend on the machine's load."""
    import os
    import signal
    import threading
    import time

    sb = LocalSandbox(workers=1).start()
    try:
        tester = _tester_pid(sb)
        v = CodeVerifier(timeout=8, total_timeout=8)
        v._sandbox = sb

        def poke() -> None:
            time.sleep(0.7)  # the set() is being built by then
            os.kill(tester, signal.SIGXCPU)
            os.kill(tester, signal.SIGALRM)

        t = threading.Thread(target=poke)
        t.start()
        tests = {"kind": "assert", "code": "assert len(set(f())) == 1\nassert 1 + 1 == 2\n"}
        s = v.score(Sample(completion=f"```python\n{COLLIDING}```", row={"tests": tests}))
        t.join()
        assert s.outcome == "timeout" and s.value == 0.0, s  # the candidate's stall, never "error"
        assert sb.replacements == 0  # the tester survived its two signals
        ok = v.score(Sample(completion="```python\ndef f():\n    return [1]\n```", row={"tests": tests}))
        assert ok.outcome == "correct"
    finally:
        sb.close()
