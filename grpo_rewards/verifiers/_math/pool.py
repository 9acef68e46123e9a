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

Runs in the host process. Lazy start, the start-failure budget, replacement, the owner check,
shutdown and sharing come from :mod:`grpo_rewards.pools`; what a worker sends back is decoded
as plain data by :mod:`.wire` and trusted no further (a malformed reply is that worker's fault:
it is replaced, and its task is a ``timeout``, like a worker that died).
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
from multiprocessing.connection import wait
from typing import Any

from grpo_rewards import pools
from grpo_rewards.pools import Pool, PoolUnavailable
from grpo_rewards.verifiers._math import wire

__all__ = ["WorkerPool", "TaskResult", "default_workers", "acquire_pool", "release_pool"]

log = logging.getLogger("grpo_rewards.math")

TaskResult = tuple[str, str]
"""(outcome, detail): outcome is ``correct``/``wrong``/``unparseable``/``bad_reference``/``timeout``."""

START_TIMEOUT = 120.0
"""Seconds a new worker may take to import sympy and math-verify and report ready."""
_MAX_START_FAILURES = 3
_WORKER_MODULE = "grpo_rewards.verifiers._math.worker"
_USE_ZYGOTE = sys.platform.startswith("linux") and hasattr(socket, "send_fds")
_HINT = f"run `{sys.executable} -m {_WORKER_MODULE}` to see why"


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


def _worker_argv(read_fd: int, write_fd: int, memory_mb: int) -> list[str]:
    """The command line of a worker in its own interpreter (where there is no fork server)."""
    return [sys.executable, "-m", _WORKER_MODULE, str(read_fd), str(write_fd), str(memory_mb)]


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

    __slots__ = ("proc", "pid", "reader", "write_fd", "ready", "task", "tag", "deadline", "started", "stopped")

    def __init__(self, pid: int, read_fd: int, write_fd: int, proc: subprocess.Popen[bytes] | None = None) -> None:
        self.pid = pid
        self.reader = wire.FrameReader(read_fd)
        self.write_fd: int | None = write_fd
        self.proc = proc
        self.ready = False
        self.task: int | None = None  # the index of its task in this run
        self.tag = 0  # that task's number over the pool's life, which the reply must carry
        self.deadline = 0.0
        self.started = time.monotonic()
        self.stopped = False

    @classmethod
    def spawn(cls, memory_mb: int) -> _Worker:
        """A worker in a fresh interpreter (used where there is no fork server)."""
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        try:
            proc = subprocess.Popen(
                _worker_argv(to_child_r, from_child_w, memory_mb),
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
        return cls(proc.pid, from_child_r, to_child_w, proc)

    def fileno(self) -> int:
        return self.reader.fd

    def send(self, obj: Any) -> None:
        if self.write_fd is None:
            raise OSError("the worker's pipe is closed")
        wire.write_frame(self.write_fd, obj)

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

    def hang_up(self) -> None:
        """Close its task pipe: an idle worker reads EOF and exits."""
        fd, self.write_fd = self.write_fd, None
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass

    def stop(self, grace: float = 0.0) -> None:
        """Wait up to ``grace`` seconds for it to exit, then ``SIGKILL``; reaped (by the fork
        server, or by ``Popen.wait``) before this returns."""
        if self.stopped:
            return
        self.stopped = True
        self.hang_up()
        if grace > 0:
            self.wait(grace)
        try:
            os.kill(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.wait(5.0)
        self.reader.close()


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
                    f"the math verifier's fork server failed to start (exit code {self.proc.poll()}); {_HINT}"
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
        return _Worker(int(msg), result_r, task_w)

    def stop(self) -> None:
        try:
            self.sock.close()  # the fork server exits on EOF; its workers follow
        except OSError:
            pass
        try:
            self.proc.wait(timeout=2.0)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5.0)


def _spawner(owner: WorkerPool) -> Callable[[_Worker | None], _Worker]:
    # A weak reference: the pool (and its finalizer) must not keep its owner alive.
    ref = weakref.ref(owner)

    def spawn(previous: _Worker | None) -> _Worker:
        wp = ref()
        if wp is None:
            raise PoolUnavailable("the math verifier's pool was collected", closed=True)
        return wp._new_worker()

    return spawn


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
        self._tags = 0
        self._pool: Pool[_Worker] = Pool(
            _spawner(self), self.size, what="math verifier worker", max_start_failures=_MAX_START_FAILURES
        )

    @property
    def restarts(self) -> int:
        """Workers replaced after a timeout, a death or a malformed reply."""
        return self._pool.replacements

    @property
    def closed(self) -> bool:
        return self._pool.closed

    def start(self) -> None:
        """Start the workers and wait until they are ready (:meth:`run` does this lazily)."""
        with self._lock:
            self._fill()
            while waiting := [w for w in self._pool.workers() if not w.ready]:
                self._pump(waiting, START_TIMEOUT, lambda i, r: None)

    def _fill(self) -> None:
        """Start workers for the empty slots (all of them the first time)."""
        try:
            self._pool.start()
        except PoolUnavailable as exc:
            if exc.closed:
                raise
            raise PoolUnavailable(f"math verifier workers cannot start: {exc}") from exc.__cause__

    def _new_worker(self) -> _Worker:
        if not _USE_ZYGOTE:
            return _Worker.spawn(self.memory_mb)
        for attempt in range(2):
            zygotes = self._pool.helpers()  # zero or one
            zygote = zygotes[0] if zygotes else None
            if zygote is None or not isinstance(zygote, _Zygote) or not zygote.alive():
                if zygote is not None:
                    self._pool.remove_helper(zygote)
                zygote = _Zygote(self.memory_mb)
                self._pool.add_helper(zygote)
            try:
                return zygote.fork()
            except (OSError, RuntimeError):
                self._pool.remove_helper(zygote)
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def _replace(self, w: _Worker, why: str, finish: Callable[[int, TaskResult], None], result: str) -> None:
        """``w`` failed (``why``): its task, if any, gets ``("timeout", result)``; a worker that
        never became ready is a failed start. Raises when the pool cannot go on."""
        idx = w.task
        w.task = None
        if idx is not None:
            finish(idx, ("timeout", result))
        try:
            self._pool.replace(w, RuntimeError(why), failed_start=not w.ready)
        except PoolUnavailable as exc:
            if exc.closed:
                raise
            raise PoolUnavailable(f"math verifier workers cannot start: {exc}") from exc.__cause__

    def _pump(self, waiting: list[_Worker], max_wait: float, finish: Callable[[int, TaskResult], None]) -> None:
        """Wait for messages from ``waiting`` (or the nearest deadline) and handle them."""
        now = time.monotonic()
        deadlines = [w.deadline for w in waiting if w.task is not None]
        timeout = max(0.0, min(deadlines) - now) if deadlines else max_wait
        got = set(wait([w.fileno() for w in waiting], timeout=timeout))
        now = time.monotonic()
        for w in waiting:
            if w.fileno() in got:
                try:
                    for msg in w.reader.read():
                        self._handle(w, msg, finish)
                except (EOFError, OSError):
                    code = w.exit_code()
                    why = (
                        f"a math verifier worker died (exit code {code})"
                        if w.ready
                        else f"a math verifier worker exited (exit code {code}) before it was ready; {_HINT}"
                    )
                    self._replace(w, why, finish, f"worker died (exit code {code}): memory limit or crash")
                    continue
                except wire.Malformed as exc:
                    log.error("grpo-rewards math: worker %d sent %s; replaced", w.pid, exc)
                    self._replace(
                        w,
                        f"a math verifier worker sent {exc}",
                        finish,
                        f"worker sent a malformed reply ({exc}); worker replaced",
                    )
                    continue
            if w.task is not None and now >= w.deadline:
                why = f"no verdict within {self.timeout:g}s"
                self._replace(w, why, finish, f"{why}; worker killed")
            elif not w.ready and now - w.started > START_TIMEOUT:
                self._replace(w, f"a math verifier worker did not start within {START_TIMEOUT:.0f}s", finish, "")

    def _handle(self, w: _Worker, msg: Any, finish: Callable[[int, TaskResult], None]) -> None:
        if not w.ready:
            if msg != "ready":
                raise wire.Malformed(f"{wire.show(msg)} instead of 'ready'")
            self._pool.confirm(w)
            return
        if w.task is None:
            raise wire.Malformed(f"a message when it had no task: {wire.show(msg)}")
        outcome, detail = wire.parse_reply(msg, w.tag)
        idx, w.task = w.task, None
        finish(idx, (outcome, detail))

    def run(
        self,
        tasks: Sequence[tuple[str, str, Any]],
        on_result: Callable[[int, TaskResult], None] | None = None,
    ) -> list[TaskResult]:
        """Run ``(pred, gold, options)`` tasks; return one result per task, in order.

        Safe to call from any thread (calls are serialized). A task that overruns the time limit
        gets ``("timeout", ...)`` and its worker is replaced; a worker that dies (memory cap,
        crash) or sends a malformed reply likewise. Raises only when workers cannot be started
        (:class:`~grpo_rewards.pools.PoolUnavailable` once the start-failure budget is spent)."""
        results: list[TaskResult | None] = [None] * len(tasks)
        if not tasks:
            return []

        def finish(idx: int, res: TaskResult) -> None:
            results[idx] = res
            if on_result is not None:
                on_result(idx, res)

        with self._lock:
            self._fill()
            queue = list(range(len(tasks)))
            queue.reverse()
            while True:
                workers = self._pool.workers()
                if not queue and all(w.task is None for w in workers):
                    break
                for w in workers:
                    if queue and w.ready and w.task is None:
                        idx = queue.pop()
                        pred, gold, opts = tasks[idx]
                        # Numbered over the pool's life, not by index: a stale reply (a second
                        # one to an earlier task) can never pass for this task's verdict.
                        self._tags += 1
                        try:
                            w.send([self._tags, pred, gold, list(opts)])
                        except (OSError, ValueError):
                            queue.append(idx)
                            self._replace(w, "its task pipe broke", finish, "")
                            continue
                        w.task, w.tag = idx, self._tags
                        w.deadline = time.monotonic() + self.timeout
                waiting = [w for w in self._pool.workers() if w.task is not None or not w.ready]
                if waiting:
                    self._pump(waiting, 1.0, finish)
                elif queue:
                    self._fill()  # a replacement that could not start left a slot empty
        return [r if r is not None else ("timeout", "internal: no result") for r in results]

    def pids(self) -> list[int]:
        """Process ids of the current workers (for tests and diagnostics)."""
        return [w.pid for w in self._pool.workers()]

    def close(self) -> None:
        """Stop every worker (politely, then with ``SIGKILL``) and the fork server."""
        with self._lock:
            self._pool.close()


def acquire_pool(size: int, timeout: float, memory_mb: int) -> WorkerPool:
    """A pool with these settings, shared by every verifier in this process that asks for the
    same ones (two ``math`` components reading different columns use one set of workers).
    Pair with :func:`release_pool`."""
    size, timeout = max(1, size), float(timeout)
    return pools.acquire(("math", size, timeout, memory_mb), lambda: WorkerPool(size, timeout, memory_mb))


def release_pool(pool: WorkerPool) -> None:
    """Give back a pool from :func:`acquire_pool`; the last user's release stops its workers."""
    pools.release(pool)
