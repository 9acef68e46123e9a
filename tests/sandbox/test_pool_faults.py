"""The local sandbox's pool when things go wrong: a worker that faulted mid-job is replaced,
never reused; a pool with no workers left fails fast and says why; every process the sandbox
starts is reaped by ``close()`` and at interpreter exit (issue #17, defects 4 and 5).

Leftover processes are caught with a child subreaper (``PR_SET_CHILD_SUBREAPER``): a small
script that never reaps orphans runs the sandbox (or the CLI) below itself, so a process the
sandbox fails to reap is reparented to that script, where it stays (as a zombie, or alive)
instead of being reaped by whatever the host's PID 1 happens to be, and other tests' sandboxes
running at the same time cannot be mistaken for ours."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from grpo_rewards.sandbox import Job, Limits, RunResult, SandboxFaultError, SandboxUnavailable
from grpo_rewards.sandbox.local import MAX_START_FAILURES, LocalSandbox

from .conftest import sandbox_processes

FAST = Limits(wall_s=2.0, total_s=8.0, cpu_s=2.0, memory_mb=512, processes=16)
ECHO = Job("python", "stdio", "print(input())", inputs=["5"], limits=FAST)
REPO = Path(__file__).resolve().parents[2]


def run_within(seconds: float, fn: Any) -> Any:
    """``fn()`` in a thread; fails the test (instead of hanging it) when it does not return."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the test below
            box["error"] = exc

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(seconds)
    assert not t.is_alive(), f"still blocked after {seconds} s"
    if "error" in box:
        raise box["error"]
    return box["value"]


# --- Defect 4 (a): a worker that faulted is replaced ---------------------------------------


def test_a_job_that_raises_midway_does_not_leak_into_the_next_job() -> None:
    sb = LocalSandbox(workers=1).start()
    try:
        before = sb._all[0].proc.pid

        def judge(case: object) -> bool:
            raise RuntimeError("judge bug")

        job = Job("python", "stdio", "print(input())", inputs=["1", "2", "3"], limits=FAST, early_stop=True)
        with pytest.raises(RuntimeError, match="judge bug"):
            sb.run(job, judge=judge)  # the tester is left waiting for an answer mid-job
        res = run_within(30, lambda: sb.run(ECHO))
        assert [c.stdout for c in res.cases] == ["5\n"], res
        assert [w.proc.pid for w in sb._all] != [before]  # replaced, not reused
    finally:
        sb.close()


# --- Defect 4 (b): a dead pool fails fast -------------------------------------------------


def test_a_pool_whose_workers_cannot_restart_fails_fast_and_says_why() -> None:
    sb = LocalSandbox(workers=1).start()
    try:
        sb.python = "/nonexistent/python3"  # fault injection: every restart now fails
        os.kill(sb._all[0].proc.pid, signal.SIGKILL)
        time.sleep(0.2)
        failed = sb.run(ECHO)
        assert failed.error and "restart failed" in failed.error
        with pytest.raises(SandboxUnavailable, match="no sandbox workers left.*/nonexistent/python3") as info:
            run_within(10, lambda: sb.run(ECHO))
        assert isinstance(info.value.__cause__, OSError)  # the start-up error itself, traceback and all
        with pytest.raises(SandboxUnavailable, match="no sandbox workers left"):
            run_within(10, lambda: sb.run_many([ECHO, ECHO, ECHO]))
    finally:
        sb.close()


def test_a_job_waiting_for_a_worker_is_woken_when_the_last_one_dies() -> None:
    sb = LocalSandbox(workers=1).start()
    try:
        sb.python = "/nonexistent/python3"
        worker = sb._all[0].proc.pid
        slow = Job("python", "stdio", "import time\ntime.sleep(1.5)\nprint(1)", inputs=[""], limits=FAST)
        results: list[RunResult | BaseException] = []

        def job(j: Job) -> None:
            try:
                results.append(sb.run(j))
            except BaseException as exc:  # noqa: BLE001 - checked below
                results.append(exc)

        first = threading.Thread(target=job, args=(slow,), daemon=True)
        first.start()
        time.sleep(0.5)  # the only worker is busy with the slow job
        second = threading.Thread(target=job, args=(ECHO,), daemon=True)
        second.start()  # blocks in _take()
        time.sleep(0.3)
        os.kill(worker, signal.SIGKILL)
        first.join(15)
        second.join(15)
        assert not first.is_alive() and not second.is_alive(), "a job hangs on a dead pool"
        errors = [r for r in results if isinstance(r, SandboxUnavailable)]
        assert len(errors) == 1 and "/nonexistent/python3" in str(errors[0]), results
    finally:
        sb.close()


def test_a_sandbox_whose_workers_never_start_gives_up_and_names_the_first_cause() -> None:
    sb = LocalSandbox(workers=2, python="/nonexistent/python3")
    try:
        for _ in range(MAX_START_FAILURES):  # each start is tried, and its error raised
            with pytest.raises(SandboxUnavailable, match="could not start sandbox workers.*/nonexistent/python3"):
                sb.run(ECHO)
        began = time.monotonic()
        for _ in range(3):  # then none: every job fails at once, naming the first failure
            with pytest.raises(SandboxUnavailable, match="failed starts in a row; the first:.*/nonexistent") as info:
                sb.run(ECHO)
        assert time.monotonic() - began < 1
        assert isinstance(info.value.__cause__, FileNotFoundError)
        strict = LocalSandbox(workers=1, python="/nonexistent/python3", strict=True)
        for _ in range(MAX_START_FAILURES + 1):
            with pytest.raises(SandboxFaultError, match="/nonexistent/python3"):
                strict.run(ECHO)
        strict.close()
    finally:
        sb.close()


def test_a_closed_sandbox_refuses_jobs_instead_of_hanging() -> None:
    sb = LocalSandbox(workers=1).start()
    sb.close()
    with pytest.raises(SandboxUnavailable, match="closed"):
        run_within(10, lambda: sb.run(ECHO))


def test_close_during_a_job_ends_it_and_starts_no_replacement() -> None:
    sb = LocalSandbox(workers=1).start()
    slow = Job("python", "stdio", "import time\ntime.sleep(5)\nprint(1)", inputs=[""], limits=FAST)
    results: list[RunResult] = []
    t = threading.Thread(target=lambda: results.append(sb.run(slow)), daemon=True)
    t.start()
    time.sleep(0.5)
    pids = sandbox_processes(sb)
    began = time.monotonic()
    sb.close()
    assert time.monotonic() - began < 2  # no grace period for a busy worker
    t.join(10)
    assert results and results[0].error and "closed" in results[0].error, results
    assert sb._all == [] and not [p for p in pids if os.path.exists(f"/proc/{p}")]


# --- Defect 5: every process the sandbox starts is reaped ---------------------------------

SUBREAPER = """
import ctypes, json, os, subprocess, sys, time
assert ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER

def stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return rest[0], int(rest[1])

def below(roots):
    parent = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                parent[int(name)] = stat(name)[1]
            except (OSError, IndexError, ValueError):
                pass
    out = set()
    for pid in parent:
        p = pid
        while p > 1 and p not in roots:
            p = parent.get(p, 0)
        if p in roots and pid not in roots or pid in roots:
            out.add(pid)
    return out

def orphans():
    # Whatever the sandbox failed to reap was reparented to us, and we never reap it.
    found = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                state, ppid = stat(name)
                with open(f"/proc/{name}/comm") as f:
                    comm = f.read().strip()
            except (OSError, IndexError, ValueError):
                continue
            if ppid == os.getpid():
                found[int(name)] = f"{comm} ({state})"
    return found
"""

LIBRARY = """
sys.path.insert(0, REPO)
from grpo_rewards.sandbox import Job
from grpo_rewards.sandbox.local import LocalSandbox
sb = LocalSandbox(workers=2).start()
assert sb.run(Job("python", "stdio", "print(7)", inputs=[""])).cases[0].stdout == "7\\n"
started = below({w.proc.pid for w in sb._all})
sb.close()
gone = []
for pid in started:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        gone.append(pid)
left = {p: s for p, s in orphans().items()}
print(json.dumps({"started": len(started), "not_gone": sorted(set(started) - set(gone)),
                  "in_proc": [p for p in started if os.path.exists(f"/proc/{p}")], "orphans": left}))
"""


def _subreaper(body: str, *args: str) -> dict[str, Any]:
    script = SUBREAPER + f"REPO = {str(REPO)!r}\n" + textwrap.dedent(body)
    out = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=120, cwd=REPO, check=False
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("namespaces", [True, False], ids=["namespaces", "no-namespaces"])
def test_close_reaps_every_process_the_sandbox_started(namespaces: bool) -> None:
    # Without a PID namespace the tester itself must collect the candidate zygote before it exits.
    res = _subreaper(LIBRARY.replace("LocalSandbox(workers=2)", f"LocalSandbox(workers=2, namespaces={namespaces})"))
    # two workers: bootstrap (namespaces only), tester and zygote each
    assert res["started"] >= (6 if namespaces else 4)
    assert res["not_gone"] == [] and res["in_proc"] == [], res
    assert res["orphans"] == {}, res


CLI = """
cmd = sys.argv[1:]
proc = subprocess.run(cmd, capture_output=True, text=True)
time.sleep(0.2)  # a process that outlived the CLI would have been reparented by now
print(json.dumps({"rc": proc.returncode, "out": proc.stdout, "err": proc.stderr[-2000:], "orphans": orphans()}))
"""


def _rows(path: Path) -> Path:
    tests = json.dumps({"kind": "assert", "code": "assert add(1, 2) == 3\nassert add(2, 2) == 4\n"})
    with open(path, "w") as f:
        for body in ("return a + b", "return a - b", "raise SystemExit(0)"):
            completion = f"```python\ndef add(a, b):\n    {body}\n```"
            f.write(json.dumps({"completion": completion, "tests": tests}) + "\n")
    return path


def test_the_score_cli_leaves_no_sandbox_process_behind(tmp_path: Path) -> None:
    rows = _rows(tmp_path / "rows.jsonl")
    cmd = [sys.executable, "-m", "grpo_rewards", "score", str(rows), "-r", "code", "--no-progress"]
    res = _subreaper(CLI, *cmd)
    assert res["rc"] == 0, res["err"]
    assert [json.loads(line)["rewards"]["code"] for line in res["out"].splitlines()[:3]] == [1.0, 0.0, 0.0]
    assert res["orphans"] == {}, res


EXIT_WITHOUT_CLOSE = """
child = sys.argv[1].replace("REPO", repr(REPO))
proc = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True)
time.sleep(0.2)
print(json.dumps({"rc": proc.returncode, "err": proc.stderr[-2000:], "orphans": orphans()}))
"""

NO_CLOSE = """
import sys
sys.path.insert(0, REPO)
from grpo_rewards.sandbox import Job
from grpo_rewards.sandbox.local import LocalSandbox
sb = LocalSandbox(workers=2)
assert sb.run(Job("python", "stdio", "print(7)", inputs=[""])).cases[0].stdout == "7\\n"
"""  # no close(): the interpreter's exit must reap the workers


def test_interpreter_exit_reaps_a_sandbox_nobody_closed() -> None:
    res = _subreaper(EXIT_WITHOUT_CLOSE, NO_CLOSE)
    assert res["rc"] == 0, res["err"]
    assert res["orphans"] == {}, res
