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

Workers are forked by a fork server (``python -m grpo_rewards.verifiers._math.worker --zygote``,
a plain subprocess that imports sympy and math-verify and warms them up once), not by
``multiprocessing``: they never re-import the caller's ``__main__`` (a training script without a
``__name__`` guard), the caller never forks itself (safe from any thread), and a replacement
worker is ready in milliseconds. Where the fork server cannot be used (no ``socket.send_fds``,
not Linux) each worker is its own subprocess. A worker announces itself ready after its imports,
so start-up never counts against a task's time limit. Workers exit when the fork server goes,
and the fork server exits when its owner closes the pool or dies.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
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
_USE_ZYGOTE = sys.platform.startswith("linux") and hasattr(socket, "send_fds")


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


def _gone(pid: int) -> bool:
    """True once ``pid`` no longer exists (or is a zombie)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return True
    except OSError:  # pragma: no cover - no /proc
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False


class _Worker:
    """One worker process and its pipes: a child of the fork server, or its own subprocess."""

    __slots__ = ("proc", "pid", "conn", "ready", "task", "deadline", "started")

    def __init__(self, pid: int, conn: _Duplex, proc: subprocess.Popen[bytes] | None = None) -> None:
        self.pid = pid
        self.conn = conn
        self.proc = proc
        self.ready = False
        self.task: int | None = None
        self.deadline = 0.0
        self.started = time.monotonic()

    @classmethod
    def spawn(cls, memory_mb: int) -> _Worker:
        """A worker in a fresh interpreter (used where there is no fork server)."""
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        try:
            proc = subprocess.Popen(
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
        return cls(proc.pid, _Duplex(from_child_r, to_child_w), proc)

    def exit_code(self) -> int | None:
        return self.proc.poll() if self.proc is not None else None

    def wait(self, timeout: float) -> None:
        if self.proc is not None:
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                pass
            return
        deadline = time.monotonic() + timeout
        while not _gone(self.pid) and time.monotonic() < deadline:
            time.sleep(0.01)

    def kill(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.wait(5.0)  # the fork server (or Popen.wait) reaps it
        self.conn.close()


class _Zygote:
    """The fork server (see ``worker.zygote_main``): one warm interpreter that forks workers."""

    def __init__(self, memory_mb: int) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", _WORKER_MODULE, "--zygote", str(theirs.fileno()), str(memory_mb)],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                env=_child_env(),
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self.sock = ours
        self.ready = False

    def alive(self) -> bool:
        return self.proc.poll() is None

    def fork(self) -> _Worker:
        """A new worker (waits for the fork server to finish its start-up first)."""
        if not self.ready:
            self.sock.settimeout(START_TIMEOUT)
            got = self.sock.recv(1)
            if got != b"R":
                raise RuntimeError(
                    f"the math verifier's fork server failed to start (exit code {self.proc.poll()}); "
                    f"run `{sys.executable} -m {_WORKER_MODULE}` to see why"
                )
            self.ready = True
        self.sock.settimeout(30.0)
        self.sock.sendall(b"F")
        msg, fds, _, _ = socket.recv_fds(self.sock, 16, 2)
        if len(fds) != 2 or len(msg) != 16:
            for fd in fds:
                os.close(fd)
            raise RuntimeError("the math verifier's fork server did not hand over a worker")
        task_w, result_r = fds
        return _Worker(int(msg), _Duplex(result_r, task_w))

    def close(self) -> None:
        try:
            self.sock.close()  # the fork server exits on EOF; its workers follow
        except OSError:
            pass
        try:
            self.proc.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5.0)


def _shutdown(workers: list[_Worker], zygotes: list[_Zygote]) -> None:
    for w in workers:
        try:
            w.conn.send(None)
        except Exception:  # noqa: BLE001 - broken pipe: killed below
            pass
    deadline = time.monotonic() + 2.0
    for w in workers:
        w.wait(max(0.0, deadline - time.monotonic()))
        w.kill()
    workers.clear()
    for z in zygotes:
        z.close()
    zygotes.clear()


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
        self._zygotes: list[_Zygote] = []  # zero or one; a list so the finalizer sees replacements
        self._finalizer = weakref.finalize(self, _shutdown, self._workers, self._zygotes)

    def start(self) -> None:
        """Start the workers and wait until they are ready (:meth:`run` does this lazily)."""
        with self._lock:
            self._ensure_started()
            while any(not w.ready for w in self._workers):
                self._pump([w for w in self._workers if not w.ready], START_TIMEOUT, lambda i, r: None)

    def _ensure_started(self) -> None:
        if self._pid != os.getpid():  # a forked child: those workers belong to the parent
            self._workers.clear()
            self._zygotes.clear()
            self._pid = os.getpid()
        while len(self._workers) < self.size:
            self._workers.append(self._new_worker())

    def _new_worker(self) -> _Worker:
        if not _USE_ZYGOTE:
            return _Worker.spawn(self.memory_mb)
        for attempt in range(2):
            if not self._zygotes or not self._zygotes[0].alive():
                for z in self._zygotes:
                    z.close()
                self._zygotes[:] = [_Zygote(self.memory_mb)]
            try:
                return self._zygotes[0].fork()
            except (OSError, RuntimeError):
                self._zygotes[0].close()
                self._zygotes.clear()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def _replace(self, w: _Worker) -> None:
        w.kill()
        self.restarts += 1
        self._workers[self._workers.index(w)] = self._new_worker()

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
                    code = w.exit_code()
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
        return [w.pid for w in self._workers]

    def close(self) -> None:
        """Stop every worker (politely, then with ``SIGKILL``)."""
        with self._lock:
            _shutdown(self._workers, self._zygotes)


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
