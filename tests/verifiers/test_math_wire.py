"""The ``math`` pool trusts nothing its workers send back (issue #17): a worker parses model text
with sympy, so its replies are plain data (length-prefixed JSON), decoded without ``pickle``,
and a reply that is anything else is that worker's fault: it is replaced, and its task is a
``timeout``, as for a worker that died.

Each test runs a stand-in worker (a few lines of Python, no sympy) that misbehaves in one way;
one misbehaviour is a pickle whose loading would create a directory, which must never appear.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from grpo_rewards.pools import PoolUnavailable
from grpo_rewards.verifiers._math import pool as pool_mod
from grpo_rewards.verifiers._math.equivalence import JudgeOptions
from grpo_rewards.verifiers._math.pool import WorkerPool

FAKE = r"""
import json, os, pickle, struct, sys, time
r, w, mode, marker = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]

class Evil:
    def __reduce__(self):  # unpickling this creates the marker directory
        return (os.mkdir, (marker,))

def send(data):
    os.write(w, struct.pack("!I", len(data)) + data)

def recv():
    head = os.read(r, 4)
    if len(head) < 4:
        sys.exit(0)
    (n,) = struct.unpack("!I", head)
    body = b""
    while len(body) < n:
        body += os.read(r, n - len(body))
    return json.loads(body)

if mode == "ready-pickle":
    send(pickle.dumps(Evil()))
    time.sleep(60)
send(b'"ready"')
while True:
    msg = recv()
    if msg is None:
        sys.exit(0)
    idx = msg[0]
    if mode == "pickle":
        send(pickle.dumps(Evil()))
    elif mode == "old-format":  # what the worker used to send: a pickled tuple
        send(pickle.dumps((idx, "correct", "")))
    elif mode == "other-task":
        send(json.dumps([idx + 1, "correct", ""]).encode())
    elif mode == "bad-outcome":
        send(json.dumps([idx, "pwned", ""]).encode())
    elif mode == "two-replies":
        send(json.dumps([idx, "correct", ""]).encode())
        time.sleep(0.3)  # after the host has taken the first as the verdict
        send(json.dumps([idx, "correct", "stale"]).encode())
    elif mode == "huge":
        os.write(w, struct.pack("!I", 1 << 30))
    elif mode == "half-frame":
        os.write(w, struct.pack("!I", 100) + b"[0,")
    elif mode == "good":
        send(json.dumps([idx, "correct", "fine"]).encode())
    time.sleep(0.05)
"""


@pytest.fixture
def fake_worker(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Every worker of a new pool is the stand-in above, in the mode the test sets in $MODE."""
    marker = tmp_path / "unpickled"
    monkeypatch.setattr(pool_mod, "_USE_ZYGOTE", False)

    def argv(read_fd: int, write_fd: int, memory_mb: int) -> list[str]:
        return [sys.executable, "-c", FAKE, str(read_fd), str(write_fd), os.environ["MODE"], str(marker)]

    monkeypatch.setattr(pool_mod, "_worker_argv", argv)
    return marker


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


TASK = [("x", "x", JudgeOptions())]


@pytest.mark.parametrize(
    ("mode", "why"),
    [
        ("pickle", "not a JSON message"),
        ("old-format", "not a JSON message"),
        ("other-task", "a verdict for task 2 while it was given task 1"),
        ("bad-outcome", "unknown outcome 'pwned'"),
        ("huge", "1073741824-byte message"),
    ],
)
def test_a_reply_that_is_not_plain_data_is_the_workers_fault(
    fake_worker: Path, monkeypatch: pytest.MonkeyPatch, mode: str, why: str
) -> None:
    monkeypatch.setenv("MODE", mode)
    pool = WorkerPool(1, timeout=10, memory_mb=0)
    try:
        pool.start()
        (first,) = pool.pids()
        began = time.monotonic()
        ((outcome, detail),) = pool.run(TASK)
        assert time.monotonic() - began < 5  # at once, not at the task's deadline
        assert outcome == "timeout" and "malformed reply" in detail and why in detail, detail
        assert pool.restarts == 1 and pool.pids() != [first]  # replaced, never reused
        assert _gone(first)
    finally:
        pool.close()
    assert not fake_worker.exists(), "the host unpickled what a worker sent"


def test_a_second_reply_to_one_task_is_the_workers_fault(fake_worker: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODE", "two-replies")
    pool = WorkerPool(1, timeout=10, memory_mb=0)
    try:
        assert pool.run(TASK) == [("correct", "")]
        time.sleep(0.6)
        # The extra reply is read when the worker has its next task: it is not that task's
        # verdict (it names the earlier task), and the worker is replaced.
        ((outcome, detail),) = pool.run(TASK)
        assert outcome == "timeout" and "a verdict for task 1 while it was given task 2" in detail, detail
        assert pool.restarts == 1
    finally:
        pool.close()


def test_half_a_frame_never_blocks_the_host(fake_worker: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODE", "half-frame")
    pool = WorkerPool(1, timeout=1.0, memory_mb=0)
    try:
        pool.start()
        began = time.monotonic()
        ((outcome, detail),) = pool.run(TASK)
        assert time.monotonic() - began < 5
        assert outcome == "timeout" and "no verdict within 1s" in detail, detail
    finally:
        pool.close()


def test_plain_replies_are_verdicts(fake_worker: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODE", "good")
    pool = WorkerPool(2, timeout=10, memory_mb=0)
    try:
        assert pool.run(TASK * 5) == [("correct", "fine")] * 5
        assert pool.restarts == 0
    finally:
        pool.close()


def test_workers_that_never_say_ready_properly_kill_the_pool_fast_and_say_why(
    fake_worker: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MODE", "ready-pickle")
    pool = WorkerPool(1, timeout=10, memory_mb=0)
    try:
        with pytest.raises(PoolUnavailable, match="3 failed starts in a row; the first: .*not a JSON message"):
            pool.start()
        began = time.monotonic()
        for _ in range(3):  # dead: every later call fails at once, naming the first cause
            with pytest.raises(PoolUnavailable, match="failed starts in a row; the first: .*not a JSON message"):
                pool.run(TASK)
        assert time.monotonic() - began < 1
        pids = pool.pids()
    finally:
        pool.close()
    assert all(_gone(p) for p in pids)
    assert not fake_worker.exists(), "the host unpickled what a worker sent"
