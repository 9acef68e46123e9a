"""A broken sandbox never reaches a candidate's score (issue #17, defect 8).

When the machine's ``/dev/null`` was a regular file, every worker's candidate zygote failed in
its set-up, and ``grpo-rewards score --reward code`` scored every sample, correct ones
included, 0.0 ``wrong`` ("BrokenPipeError") and exited 0: in training the code reward would
have become a constant 0. Here the fault is reproduced without touching the host: the CLI runs
in a private mount namespace (``unshare --mount``) where a regular file is bind-mounted over
``/dev/null``; the host's own ``/dev/null`` is never changed.

A fault that strikes a running pool (the zygote of a worker dies) is reproduced by killing that
process: the job it hits is ``error``, never ``wrong``, and the worker that replaces it passes a
self-check with a known-good program before it takes jobs.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grpo_rewards.contract import Sample
from grpo_rewards.sandbox import Job, Limits, SandboxUnavailable, local
from grpo_rewards.sandbox.local import LocalSandbox
from grpo_rewards.verifiers.code import CodeVerifier

from .conftest import sandbox_processes

ADD = {"kind": "assert", "code": "assert add(1, 2) == 3\nassert add(0, 0) == 0"}
ROWS = [
    {"completion": "```python\ndef add(a, b):\n    return a + b\n```", "tests": ADD},
    {"completion": "```python\ndef add(a, b):\n    return a - b\n```", "tests": ADD},
    {
        "completion": "```python\nprint(int(input()) * 2)\n```",
        "tests": {"kind": "stdio", "cases": [{"input": "3\n", "output": "6\n"}]},
    },
]
FAST = Limits(wall_s=2.0, total_s=8.0, cpu_s=2.0, memory_mb=512, processes=16)


def _can_unshare_mounts() -> bool:
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "--mount", "true"], capture_output=True).returncode == 0


needs_mountns = pytest.mark.skipif(not _can_unshare_mounts(), reason="needs root and unshare --mount")


def _score_with_fake_dev_null(tmp_path: Path, *extra: str) -> tuple[subprocess.CompletedProcess[str], list[dict]]:
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    fake = tmp_path / "not-null"
    fake.write_text("")
    out = tmp_path / "out.jsonl"
    cli = [sys.executable, "-m", "grpo_rewards.cli", "score", "-r", "code", str(rows), "-o", str(out), "--no-progress"]
    script = 'mount --bind "$1" /dev/null && shift && exec "$@"'
    proc = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", str(fake), *cli, *extra],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    scored = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    return proc, scored


@needs_mountns
def test_a_regular_file_for_dev_null_scores_error_never_wrong(tmp_path: Path) -> None:
    proc, scored = _score_with_fake_dev_null(tmp_path)
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")  # the host's is untouched
    assert len(scored) == len(ROWS), proc.stderr
    for row in scored:
        assert row["outcomes"]["code"] == "error", row
        assert row["rewards"]["code"] is None, row
        # The cause is named: the zygote's start-up error, not "Broken pipe".
        assert "/dev/null" in row["details"]["code"], row["details"]
        assert "Broken pipe" not in row["details"]["code"]
    # ... and logged once, not once per sample or per worker.
    assert proc.stderr.count("Traceback") <= 1, proc.stderr
    assert "/dev/null" in proc.stderr


@needs_mountns
def test_strict_raises_on_a_broken_sandbox(tmp_path: Path) -> None:
    proc, _ = _score_with_fake_dev_null(tmp_path, "--set", "code.sandbox_options={strict=true}")
    assert proc.returncode != 0
    assert "/dev/null" in proc.stderr


def _zygotes(sb: LocalSandbox) -> list[int]:
    found = []
    for pid in sandbox_processes(sb):
        try:
            with open(f"/proc/{pid}/comm") as f:
                if f.read().strip() == "sbx-zygote":
                    found.append(pid)
        except OSError:
            pass
    return found


def test_a_zygote_that_dies_makes_the_job_error_and_the_worker_is_replaced() -> None:
    sb = LocalSandbox(workers=1).start()
    try:
        v = CodeVerifier(timeout=2, total_timeout=8)
        v._sandbox = sb
        good = Sample(completion=ROWS[0]["completion"], row={"tests": ADD})
        assert v.score(good).outcome == "correct"
        (zygote,) = _zygotes(sb)
        os.kill(zygote, signal.SIGKILL)
        time.sleep(0.2)
        hit = v.score(good)
        assert hit.outcome == "error", hit  # the sandbox's fault: no signal, never "wrong"
        assert hit.value is None
        assert "zygote" in hit.detail
        assert sb.replacements == 1
        # The replacement passed its self-check and scores again.
        assert v.score(good).outcome == "correct"
        assert _zygotes(sb) and zygote not in _zygotes(sb)
    finally:
        sb.close()


def test_strict_sandbox_raises_instead_of_scoring_a_fault() -> None:
    sb = LocalSandbox(workers=1, strict=True).start()
    try:
        (zygote,) = _zygotes(sb)
        os.kill(zygote, signal.SIGKILL)
        time.sleep(0.2)
        with pytest.raises(SandboxUnavailable, match="zygote"):
            sb.run(Job("python", "assert", "def add(a, b):\n    return a + b", test_code=ADD["code"], limits=FAST))
    finally:
        sb.close()


def test_a_worker_that_fails_its_self_check_never_joins_the_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    # A "known-good" program whose expected output is not what it prints stands in for a
    # sandbox that runs programs wrongly in a way its start-up cannot see.
    bad = ((Job("python", "stdio", "print(1)\n", inputs=[""]), "2\n"),)
    monkeypatch.setattr(local, "SELF_CHECK", bad)
    sb = LocalSandbox(workers=1)
    with pytest.raises(SandboxUnavailable, match="self-check failed: a known-good stdio program failed"):
        sb.start()
    sb.close()


def test_the_worker_that_replaces_a_faulted_one_is_self_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    sb = LocalSandbox(workers=1).start()
    try:
        (zygote,) = _zygotes(sb)
        monkeypatch.setattr(local, "SELF_CHECK", ((Job("python", "stdio", "print(1)\n", inputs=[""]), "2\n"),))
        os.kill(zygote, signal.SIGKILL)
        time.sleep(0.2)
        job = Job("python", "assert", "def add(a, b):\n    return a + b", test_code=ADD["code"], limits=FAST)
        res = sb.run(job)  # the fault: no verdict
        assert res.error and not res.cases
        with pytest.raises(SandboxUnavailable, match="self-check failed"):
            sb.run(job)  # the replacement failed its check: no worker left, and the job says why
    finally:
        sb.close()
