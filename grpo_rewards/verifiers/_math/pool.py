"""A pool of worker processes with a hard per-task wall-clock limit and a memory cap.

Why not ``concurrent.futures.ProcessPoolExecutor`` or math-verify's own timeouts: math-verify
uses ``signal.alarm``, which only works in the main thread (TRL's async reward functions and
any threaded caller run elsewhere), only takes whole seconds, and cannot interrupt sympy while
it is inside C code (a big-integer power); an executor cannot kill one stuck task. Here every
task runs in a worker process; the caller (any thread, any event loop's executor) waits on the
workers' pipes with a deadline, and a worker that overruns is killed with ``SIGKILL`` and
replaced. Each worker caps its own address space with ``RLIMIT_AS``, so a memory blow-up raises
``MemoryError`` (reported as a timeout: "ran past its time or memory limit") or kills only that
worker.

Workers are plain subprocesses (``python -m grpo_rewards.verifiers._math.worker``), not
``multiprocessing`` children: they never re-import the caller's ``__main__`` (a training script
without a ``__name__`` guard), and ``fork``+``exec`` is safe from any thread. A worker announces
itself ready only after its imports and a warm-up comparison, so start-up never counts against
a task's time limit. A worker whose parent disappears exits on its own (see ``worker.py``).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection, wait
from typing import Any

__all__ = ["WorkerPool", "TaskResult", "default_workers", "acquire_pool", "release_pool"]

log = logging.getLogger("grpo_rewards.math")

TaskResult = tuple[str, str]
"""(outcome, detail): outcome is ``correct``/``wrong``/``unparseable``/``bad_reference``/``timeout``."""

START_TIMEOUT = 120.0
"""Seconds a new worker may take to import sympy and math-verify and report ready."""
_MAX_START_FAILURES = 3
_WORKER_MODULE = "grpo_rewards.verifiers._math.worker"


def default_workers() -> int:
    """CPUs this process may run on (``sched_getaffinity``, so container limits are honoured)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return max(1, os.cpu_count() or 1)


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    # The package's parent directory, so the worker imports this very copy of grpo_rewards.
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


class _Duplex:
    """A read end and a write end, waitable like a :class:`multiprocessing.connection.Connection`."""

    def __init__(self, read_fd: int, write_fd: int) -> None:
        self._r = Connection(read_fd, writable=False)
        self._w = Connection(write_fd, readable=False)

    def fileno(self) -> int:
        return self._r.fileno()

    def send(self, obj: Any) -> None:
        self._w.send(obj)

    def recv(self) -> Any:
        return self._r.recv()

    def close(self) -> None:
        for c in (self._r, self._w):
            try:
                c.close()
            except Exception:  # noqa: BLE001 - already closed
                pass


class _Worker:
    """One worker process and its pipes."""

    __slots__ = ("proc", "conn", "ready", "task", "deadline", "started")

    def __init__(self, memory_mb: int) -> None:
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", _WORKER_MODULE, str(to_child_r), str(from_child_w), str(memory_mb)],
                pass_fds=(to_child_r, from_child_w),
                stdin=subprocess.DEVNULL,
                env=_child_env(),
            )
        except BaseException:
            for fd in (to_child_w, from_child_r):
                os.close(fd)
            raise
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        self.conn = _Duplex(from_child_r, to_child_w)
        self.ready = False
        self.task: int | None = None
        self.deadline = 0.0
        self.started = time.monotonic()

    def kill(self) -> None:
        try:
            self.proc.kill()
        except Exception:  # noqa: BLE001 - already gone
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL not delivered yet
            pass
        self.conn.close()


def _shutdown(workers: list[_Worker]) -> None:
    for w in workers:
        try:
            w.conn.send(None)
        except Exception:  # noqa: BLE001 - broken pipe: killed below
            pass
    deadline = time.monotonic() + 2.0
    for w in workers:
        try:
            w.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        w.kill()
    workers.clear()


class WorkerPool:
    """Run comparison tasks in worker processes, each under a hard time limit.

    :param size: number of worker processes.
    :param timeout: wall-clock seconds one task may run (fractions allowed).
    :param memory_mb: address space each worker may add on top of its start-up size.
    """

    def __init__(self, size: int, timeout: float, memory_mb: int) -> None:
        self.size = max(1, size)
        self.timeout = float(timeout)
        self.memory_mb = memory_mb
        self._lock = threading.Lock()
        self._workers: list[_Worker] = []
        self._pid = os.getpid()
        self.restarts = 0
        self._start_failures = 0
        self._finalizer = weakref.finalize(self, _shutdown, self._workers)

    def start(self) -> None:
        """Start the workers and wait until they are ready (:meth:`run` does this lazily)."""
        with self._lock:
            self._ensure_started()
            while any(not w.ready for w in self._workers):
                self._pump([w for w in self._workers if not w.ready], START_TIMEOUT, lambda i, r: None)

    def _ensure_started(self) -> None:
        if self._pid != os.getpid():  # a forked child: those workers belong to the parent
            self._workers.clear()
            self._pid = os.getpid()
        while len(self._workers) < self.size:
            self._workers.append(_Worker(self.memory_mb))

    def _replace(self, w: _Worker) -> None:
        w.kill()
        self.restarts += 1
        self._workers[self._workers.index(w)] = _Worker(self.memory_mb)

    def _pump(self, waiting: list[_Worker], max_wait: float, finish: Callable[[int, TaskResult], None]) -> None:
        """Wait for messages from ``waiting`` (or the nearest deadline) and handle them."""
        now = time.monotonic()
        deadlines = [w.deadline for w in waiting if w.task is not None]
        timeout = max(0.0, min(deadlines) - now) if deadlines else max_wait
        got = set(wait([w.conn for w in waiting], timeout=timeout))  # type: ignore[misc]
        now = time.monotonic()
        for w in waiting:
            if w.conn in got:
                try:
                    msg = w.conn.recv()
                except (EOFError, OSError):
                    code = w.proc.poll()
                    idx = w.task
                    self._replace(w)
                    if idx is None:
                        self._start_failures += 1
                        if self._start_failures > _MAX_START_FAILURES:
                            raise RuntimeError(
                                f"math verifier workers keep dying while starting (exit code {code}); "
                                f"run `{sys.executable} -m {_WORKER_MODULE}` to see why"
                            ) from None
                    else:
                        finish(idx, ("timeout", f"worker died (exit code {code}): memory limit or crash"))
                    continue
                if not w.ready:
                    if msg != "ready":
                        raise RuntimeError(f"math verifier worker sent {msg!r} instead of 'ready'")
                    w.ready = True
                    self._start_failures = 0
                    continue
                idx, outcome, detail = msg
                w.task = None
                finish(idx, (outcome, detail))
            elif w.task is not None and now >= w.deadline:
                idx = w.task
                self._replace(w)
                finish(idx, ("timeout", f"no verdict within {self.timeout:g}s; worker killed"))
            elif not w.ready and now - w.started > START_TIMEOUT:
                raise RuntimeError(f"a math verifier worker did not start within {START_TIMEOUT:.0f}s")

    def run(
        self,
        tasks: Sequence[tuple[str, str, Any]],
        on_result: Callable[[int, TaskResult], None] | None = None,
    ) -> list[TaskResult]:
        """Run ``(pred, gold, options)`` tasks; return one result per task, in order.

        Safe to call from any thread (calls are serialized). A task that overruns the time limit
        gets ``("timeout", ...)`` and its worker is replaced; a worker that dies (memory cap,
        crash) likewise. Raises only when workers cannot be started at all."""
        results: list[TaskResult | None] = [None] * len(tasks)
        if not tasks:
            return []

        def finish(idx: int, res: TaskResult) -> None:
            results[idx] = res
            if on_result is not None:
                on_result(idx, res)

        with self._lock:
            self._ensure_started()
            queue = list(range(len(tasks)))
            queue.reverse()
            while queue or any(w.task is not None for w in self._workers):
                for w in self._workers:
                    if queue and w.ready and w.task is None:
                        idx = queue.pop()
                        try:
                            w.conn.send((idx, *tasks[idx]))
                        except (OSError, ValueError):
                            queue.append(idx)
                            self._replace(w)
                            continue
                        w.task = idx
                        w.deadline = time.monotonic() + self.timeout
                waiting = [w for w in self._workers if w.task is not None or not w.ready]
                if waiting:
                    self._pump(waiting, 1.0, finish)
        return [r if r is not None else ("timeout", "internal: no result") for r in results]

    def pids(self) -> list[int]:
        """Process ids of the current workers (for tests and diagnostics)."""
        return [w.proc.pid for w in self._workers]

    def close(self) -> None:
        """Stop every worker (politely, then with ``SIGKILL``)."""
        with self._lock:
            _shutdown(self._workers)


_shared: dict[tuple[int, float, int], tuple[WorkerPool, int]] = {}
_shared_lock = threading.Lock()


def acquire_pool(size: int, timeout: float, memory_mb: int) -> WorkerPool:
    """A pool with these settings, shared by every verifier in this process that asks for the
    same ones (two ``math`` components reading different columns use one set of workers).
    Pair with :func:`release_pool`."""
    key = (max(1, size), float(timeout), memory_mb)
    with _shared_lock:
        pool, users = _shared.get(key, (None, 0))
        if pool is None or pool._pid != os.getpid():
            pool, users = WorkerPool(*key), 0
        _shared[key] = (pool, users + 1)
        return pool


def release_pool(pool: WorkerPool) -> None:
    """Give back a pool from :func:`acquire_pool`; the last user's release stops its workers."""
    key = (pool.size, pool.timeout, pool.memory_mb)
    with _shared_lock:
        held, users = _shared.get(key, (None, 0))
        if held is not pool:
            pool.close()
            return
        if users <= 1:
            del _shared[key]
            pool.close()
        else:
            _shared[key] = (pool, users - 1)
