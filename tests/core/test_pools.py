"""The pool primitive both process pools are built on (grpo_rewards.pools): lazy start, the
start-failure budget, replace-on-fault, the owner check, one exit path, sharing by key.

The workers here are ``sleep`` processes, so that "stopped" and "reaped" are facts about real
processes, read from ``/proc``."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from grpo_rewards import pools
from grpo_rewards.pools import Pool, PoolUnavailable

REPO = Path(__file__).resolve().parents[2]


class Sleeper:
    """A worker: one ``sleep`` process."""

    ready = True

    def __init__(self) -> None:
        self.proc = subprocess.Popen(["sleep", "600"])
        self.grace: float | None = None

    def hang_up(self) -> None:
        pass

    def stop(self, grace: float = 0.0) -> None:
        if self.grace is None:
            self.grace = grace
            self.proc.kill()
            self.proc.wait()


def exists(pid: int) -> bool:
    return os.path.exists(f"/proc/{pid}")


class Spawner:
    """Counts its calls; fails while ``fail`` is set."""

    def __init__(self) -> None:
        self.calls = 0
        self.fail: BaseException | None = None
        self.made: list[Sleeper] = []

    def __call__(self, previous: Sleeper | None) -> Sleeper:
        self.calls += 1
        if self.fail is not None:
            raise self.fail
        w = Sleeper()
        self.made.append(w)
        return w


@pytest.fixture
def spawn() -> Spawner:
    return Spawner()


def test_nothing_starts_before_the_first_worker_is_asked_for(spawn: Spawner) -> None:
    pool = Pool(spawn, 2)
    try:
        assert spawn.calls == 0 and not pool.started
        w = pool.take()
        assert spawn.calls == 2 and pool.started and w in pool.workers()
        pool.give(w)
        assert pool.take() is w  # the most recently used one
    finally:
        pool.close()


def test_the_start_failure_budget_kills_the_pool_and_names_the_first_cause(spawn: Spawner) -> None:
    pool = Pool(spawn, 1, what="test worker", max_start_failures=3)
    try:
        for i in range(3):
            spawn.fail = OSError(f"cause {i}")
            with pytest.raises(OSError, match=f"cause {i}"):
                pool.take()  # each failed start is raised as itself
        calls = spawn.calls
        for _ in range(3):  # dead: at once, naming the first cause, starting nothing more
            with pytest.raises(PoolUnavailable, match="3 failed starts in a row; the first: OSError: cause 0") as info:
                pool.take()
            assert isinstance(info.value.__cause__, OSError) and str(info.value.__cause__) == "cause 0"
        assert spawn.calls == calls
    finally:
        pool.close()


def test_a_start_that_succeeds_ends_the_run_of_failures(spawn: Spawner) -> None:
    pool = Pool(spawn, 1, max_start_failures=2)
    try:
        spawn.fail = OSError("once")
        with pytest.raises(OSError):
            pool.start()
        spawn.fail = None
        w = pool.take()
        spawn.fail = OSError("again")
        with pytest.raises(OSError):
            pool.replace(w, RuntimeError("fault"))
        spawn.fail = None  # one failure in a row, not two: not dead
        pool.start()
        assert len(pool.workers()) == 1
    finally:
        pool.close()


def test_a_failed_first_start_stops_every_worker_it_started(spawn: Spawner) -> None:
    def check(workers: list[Sleeper]) -> None:
        raise ValueError("refused")

    pool = Pool(spawn, 3, parallel_start=True)
    with pytest.raises(ValueError, match="refused"):
        pool.start(check=check)
    assert len(spawn.made) == 3 and pool.workers() == []
    assert not [w for w in spawn.made if exists(w.proc.pid)]
    pool.close()


def test_a_worker_that_faulted_is_stopped_and_never_handed_out_again(spawn: Spawner) -> None:
    pool = Pool(spawn, 1)
    try:
        bad = pool.take()
        new = pool.replace(bad, RuntimeError("fault"))
        assert new is not bad and bad.grace is not None and not exists(bad.proc.pid)
        assert pool.take() is new and pool.workers() == [new] and pool.replacements == 1
        pool.give(bad)  # a stale hand-back: stopped, not taken in
        assert pool.workers() == [new]
    finally:
        pool.close()


def test_a_caller_waiting_for_a_worker_is_woken_when_the_last_one_is_lost(spawn: Spawner) -> None:
    pool = Pool(spawn, 1)
    try:
        busy = pool.take()
        box: list[BaseException] = []

        def wait_for_one() -> None:
            try:
                pool.take()
            except BaseException as exc:  # noqa: BLE001 - checked below
                box.append(exc)

        waiter = threading.Thread(target=wait_for_one, daemon=True)
        waiter.start()
        time.sleep(0.2)
        assert waiter.is_alive()  # waiting: the only worker is busy
        spawn.fail = FileNotFoundError("no such interpreter")
        with pytest.raises(FileNotFoundError):
            pool.replace(busy, RuntimeError("fault"))
        waiter.join(5)
        assert not waiter.is_alive(), "a caller waits for a worker that will not come"
        (err,) = box
        assert isinstance(err, PoolUnavailable) and "could not be restarted" in str(err)
        assert "no such interpreter" in str(err) and isinstance(err.__cause__, FileNotFoundError)
    finally:
        pool.close()


def test_close_stops_and_reaps_every_worker_idle_ones_with_grace_busy_ones_without(spawn: Spawner) -> None:
    pool = Pool(spawn, 2, grace=1.5)
    busy = pool.take()
    (idle,) = [w for w in pool.workers() if w is not busy]
    pool.close()
    assert busy.grace == 0.0 and idle.grace is not None and idle.grace > 1.0
    assert not exists(busy.proc.pid) and not exists(idle.proc.pid)
    assert pool.closed and pool.workers() == []
    with pytest.raises(PoolUnavailable, match="closed") as info:
        pool.take()
    assert info.value.closed
    pool.give(busy)  # a job that ends after close: harmless
    pool.close()  # twice: harmless


def test_a_pool_nobody_closed_is_stopped_when_collected(spawn: Spawner) -> None:
    pool = Pool(spawn, 2)
    pool.start()
    pids = [w.proc.pid for w in spawn.made]
    del pool
    gc.collect()
    assert not [p for p in pids if exists(p)]


EXIT = """
import sys
sys.path.insert(0, {repo!r})
sys.path.insert(0, {here!r})
from test_pools import Sleeper
from grpo_rewards.pools import Pool
pool = Pool(lambda previous: Sleeper(), 2)
pool.start()
print(" ".join(str(w.proc.pid) for w in pool.workers()), flush=True)
keep = pool  # no close(): interpreter exit must stop them
"""


def test_interpreter_exit_stops_a_pool_nobody_closed() -> None:
    code = EXIT.format(repo=str(REPO), here=str(Path(__file__).parent))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    pids = [int(p) for p in out.stdout.split()]
    assert len(pids) == 2
    time.sleep(0.1)
    assert not [p for p in pids if exists(p) and Path(f"/proc/{p}/stat").read_text().split()[2] != "Z"]


def test_a_forked_child_starts_its_own_workers_and_leaves_the_parents_alone(spawn: Spawner) -> None:
    pool = Pool(spawn, 1)
    try:
        mine = pool.take()
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: report, and never return into pytest
            try:
                seen = pool.workers()
                theirs = pool.take()
                report = {
                    "inherited": [w.proc.pid for w in seen],
                    "new": theirs.proc.pid,
                    "new_is_child": Path(f"/proc/{theirs.proc.pid}/stat").read_text().split()[3] == str(os.getpid()),
                }
                pool.close()
                report["closed_new"] = not exists(theirs.proc.pid)
                os.write(write, json.dumps(report).encode())
            finally:
                os._exit(0)
        os.close(write)
        os.waitpid(pid, 0)
        with os.fdopen(read) as f:
            report = json.loads(f.read())
        assert report["inherited"] == []  # the parent's workers are the parent's
        assert report["new"] != mine.proc.pid and report["new_is_child"] and report["closed_new"]
        # The child's close() stopped only its own worker.
        assert exists(mine.proc.pid) and mine.grace is None
        assert pool.workers() == [mine] and not pool.closed
    finally:
        pool.close()


class Closable:
    def __init__(self) -> None:
        self.closed = False

    def close(self) -> None:
        self.closed = True


def test_acquire_shares_by_key_and_the_last_release_closes() -> None:
    key = ("test", "share", 1)
    a = pools.acquire(key, Closable)
    b = pools.acquire(key, Closable)
    other = pools.acquire(("test", "share", 2), Closable)
    assert a is b and other is not a and pools.users(a) == 2
    pools.release(a)
    assert not a.closed and pools.users(a) == 1
    pools.release(b)
    assert a.closed and pools.users(a) == 0
    c = pools.acquire(key, Closable)
    assert c is not a  # a new one after the last release
    c.close()  # closed behind the registry's back: the next user gets a new one
    d = pools.acquire(key, Closable)
    assert d is not c
    for x in (c, d, other):
        pools.release(x)
    assert d.closed and other.closed


def test_releasing_an_object_that_is_not_shared_closes_it() -> None:
    x = Closable()
    pools.release(x)
    assert x.closed
    pools.release(object())  # nothing to close: fine
