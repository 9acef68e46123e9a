"""The built-in ``local`` sandbox: a warm pool of isolated workers on this machine.

Each worker is a small interpreter (``python3 -I -S``, the system one when there is one)
that, once at start, enters fresh user, mount, network, PID, IPC and UTS namespaces, pivots
into a read-only root built from bind mounts, and then forks once per run (from a small
zygote that already has the isolation set up), so a run pays one ``fork()`` rather than an
interpreter start-up. The kernel layers come from
``unshare(2)`` through ctypes; no extra packages or setuid helpers are needed. See
docs/sandbox.md for the process tree and the threat model.

This module holds :class:`LocalSandbox`: the pool, its options, strict mode, the retirement and
replacement of workers, and the plugin hook. It runs in the host process and trusts its
caller's options; what it learns from workers comes through :mod:`grpo_rewards.sandbox._worker`
(one worker process and its frames, none of them trusted) and
:mod:`grpo_rewards.sandbox._selfcheck` (the programs every new worker must pass). The names
tests and plugins import from here stay importable from here; ``SELF_CHECK`` and
``RETIRE_AFTER_CPU_S`` are read from this module at each use, so patching them here works.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import warnings
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from grpo_rewards.hookspecs import Register, hookimpl
from grpo_rewards.pools import Pool, PoolUnavailable
from grpo_rewards.sandbox import Job, Judge, RunResult, SandboxFaultError, SandboxUnavailable
from grpo_rewards.sandbox._inside.wire import FrameError
from grpo_rewards.sandbox._selfcheck import SELF_CHECK, self_check_failure
from grpo_rewards.sandbox._worker import (
    HOST_SLACK_S,
    TESTER_CPU_S,
    JobStalled,
    WorkerFault,
    _log_once,
    _toolchain,
    _warn_lock,
    _warned,
    _Worker,
)

__all__ = ["LocalSandbox", "LAYERS"]

log = logging.getLogger("grpo_rewards.sandbox")

LAYERS = ("userns", "netns", "mountns", "pidns", "ipcns", "utsns", "fs", "seccomp", "caps", "rlimits")
"""Isolation layers, as reported by each worker: ``"ok"`` or ``"unavailable: why"``."""

PRELOAD = (
    "typing", "re", "collections", "itertools", "functools", "heapq", "bisect", "string",
    "math", "copy", "operator", "fractions", "decimal", "datetime",
)  # fmt: skip
"""Modules the candidate zygote imports once, so that runs inherit them instead of each loading
them (``import typing`` alone costs a run more CPU than the rest of its start-up). ``random``
(and ``statistics``, which imports it) is left out: once imported, it reseeds itself after
every ``fork()``, which costs every run more than it saves the few that use it."""


def _default_python() -> str:
    """The interpreter workers run on: the system Python 3 when present (it lives under /usr,
    which the sandbox root already shows read-only), else this interpreter."""
    for cand in ("/usr/bin/python3",):
        if os.path.exists(cand):
            return cand
    return sys.executable


RETIRE_AFTER_CPU_S = TESTER_CPU_S / 2
"""Tester CPU time after which a worker is retired between jobs (see :data:`TESTER_CPU_S`)."""

MAX_START_FAILURES = 3
"""Failed worker starts in a row (the first start, or replacements) after which a sandbox is
dead: every job then fails at once with :class:`SandboxUnavailable`, naming the first failure."""


class LocalSandbox:
    """A pool of warm, isolated workers on this machine (registered as sandbox ``"local"``).

    :param workers: number of worker processes (default: the CPU count); jobs run in parallel
        across them.
    :param strict: refuse to run (raise :class:`SandboxUnavailable`) when the kernel refuses
        any isolation layer, instead of warning once and running with the layers it has.
    :param namespaces: use Linux namespaces (turn off only to debug).
    :param python: the interpreter the workers (and Python candidates) run on.
    :param extra_binds: more host paths to show read-only inside the sandbox (e.g. a
        site-packages directory so that candidate code can import numpy).
    :param preload: modules imported once in the candidate zygote (see :data:`PRELOAD`).
    :param debug: let workers write their stderr to this process's stderr.
    :param tester_memory_mb: the hard address-space limit of each worker's trusted tester, where
        test code runs: candidate values that make it allocate without end fail their case with
        a MemoryError instead of growing the host's memory use.
    :param pin_cpus: run each worker (its tester, its zygote and every run it starts) on one CPU
        of this process's allowed set, round robin. A job hands control back and forth between
        the tester and the run for every call; on one CPU those hand-offs are local wake-ups
        instead of cross-CPU ones, which on the machines measured raised throughput by about
        a quarter (docs/benchmarks/code.md). A run's processes then share that one CPU.
    """

    checks_test_syntax = True
    """The tester compiles Python assert test code and reports code that does not compile as
    :attr:`RunResult.bad_tests`, so the ``code`` verifier does not parse it first."""

    def __init__(
        self,
        *,
        workers: int | None = None,
        strict: bool = False,
        namespaces: bool = True,
        python: str | None = None,
        extra_binds: Sequence[str] = (),
        preload: Sequence[str] = PRELOAD,
        debug: bool = False,
        pin_cpus: bool = True,
        tester_memory_mb: int = 4096,
    ) -> None:
        self.n_workers = max(1, int(workers or os.cpu_count() or 1))
        self.strict = strict
        self.namespaces = namespaces
        self.python = python or _default_python()
        self.extra_binds = tuple(extra_binds)
        self.preload = tuple(preload)
        self.debug = debug
        self.pin_cpus = pin_cpus
        self.tester_memory_mb = int(tester_memory_mb)
        self._cpu_turn = 0
        self._cpu_lock = threading.Lock()
        self.layers: dict[str, str] = {}
        # Lazy start, the start-failure budget, replacement, the owner check (a forked child
        # starts its own workers) and one exit path for close(), a sandbox nobody closed being
        # collected, and interpreter exit: grpo_rewards.pools. The pool holds no reference back
        # to the sandbox, so that a sandbox nobody closed can still be collected.
        self._pool: Pool[_Worker] = Pool(
            _spawner(self),
            self.n_workers,
            what="sandbox worker",
            max_start_failures=MAX_START_FAILURES,
            parallel_start=True,
        )

    @property
    def replacements(self) -> int:
        """Workers stopped after a fault or a stall (or retired) and started anew, since this
        sandbox started."""
        return self._pool.replacements

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called (a closed sandbox runs nothing more)."""
        return self._pool.closed

    @property
    def _all(self) -> list[_Worker]:
        """The current workers, busy and idle (a copy)."""
        return self._pool.workers()

    # pickling: a sandbox travels as its options; the pool is rebuilt where it lands.
    def __getstate__(self) -> dict[str, Any]:
        keep = (
            "n_workers", "strict", "namespaces", "python", "extra_binds", "preload", "debug", "pin_cpus",
            "tester_memory_mb",
        )  # fmt: skip
        return {k: self.__dict__[k] for k in keep}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(  # type: ignore[misc]
            workers=state["n_workers"],
            strict=state["strict"],
            namespaces=state["namespaces"],
            python=state["python"],
            extra_binds=state["extra_binds"],
            preload=state["preload"],
            debug=state["debug"],
            pin_cpus=state.get("pin_cpus", True),
            tester_memory_mb=state.get("tester_memory_mb", 4096),
        )

    def start(self) -> LocalSandbox:
        """Start the workers now (otherwise the first job does). Returns self."""
        if self._pool.closed:
            raise SandboxUnavailable("this sandbox was closed")
        if self._pool.started:
            return self
        refused: list[BaseException] = []

        def admit(workers: list[_Worker]) -> None:
            self.layers = dict(workers[0].layers)
            try:
                self._check_layers()
            except SandboxUnavailable as exc:
                refused.append(exc)
                raise

        try:
            self._pool.start(check=admit)
        except PoolUnavailable as exc:
            raise self._unavailable(exc) from exc.__cause__
        except Exception as exc:
            if refused and exc is refused[0]:
                raise
            raise SandboxUnavailable(f"could not start sandbox workers: {exc}") from exc
        return self

    def _next_cpu(self) -> int:
        """The CPU for the next worker: this process's allowed CPUs in turn."""
        cpus = sorted(os.sched_getaffinity(0))
        with self._cpu_lock:
            cpu = cpus[self._cpu_turn % len(cpus)]
            self._cpu_turn += 1
        return cpu

    def _check_layers(self) -> None:
        missing = {k: v for k, v in self.layers.items() if v != "ok"}
        if not missing:
            return
        text = "; ".join(f"{k}: {v}" for k, v in sorted(missing.items()))
        if self.strict:
            raise SandboxUnavailable(
                f"strict sandbox refuses to run: isolation layers missing ({text}). Run where unprivileged "
                "user namespaces are allowed (sysctl kernel.unprivileged_userns_clone=1, "
                "user.max_user_namespaces>0) or drop strict=True to run with the layers available."
            )
        with _warn_lock:
            if text in _warned:
                return
            _warned.add(text)
        msg = (
            f"grpo-rewards local sandbox: the kernel refused isolation layers ({text}). Candidate code runs with "
            "weaker isolation; pass strict=True to refuse instead."
        )
        log.error(msg)
        warnings.warn(msg, RuntimeWarning, stacklevel=3)

    def _take(self) -> _Worker:
        if not self._pool.started:
            self.start()
        try:
            return self._pool.take()  # waits for a free worker; never for one that will not come
        except PoolUnavailable as exc:
            raise self._unavailable(exc) from exc.__cause__

    @staticmethod
    def _unavailable(exc: PoolUnavailable) -> SandboxUnavailable:
        if exc.closed:
            return SandboxUnavailable("this sandbox was closed")
        # raised `from` the start-up error itself, with its traceback (exc.__cause__)
        return SandboxUnavailable(
            f"no sandbox workers left: {exc}. Fix the cause, then close this sandbox and make a new one."
        )

    def _give(self, w: _Worker) -> None:
        if w.tester_cpu_s > RETIRE_AFTER_CPU_S and not self._pool.closed:
            # Retired before its tester nears its hard CPU limit: a job must never meet it.
            self._replace(w, RuntimeError(f"retired after {w.tester_cpu_s:.0f} s of tester CPU time"))
        else:
            self._pool.give(w)

    def _replace(self, w: _Worker, exc: BaseException) -> RunResult:
        """Stop a worker that faulted (it may be mid-job, with frames in flight that the next
        job would read as its own) and start another in its place, self-checked like every new
        one; the job's result says which happened. When the restart fails and no worker is
        left, every job waiting for one is woken: there will be none."""
        what = f"{type(exc).__name__}: {exc}"
        try:
            self._pool.replace(w, exc)
        except PoolUnavailable as exc2:
            if exc2.closed:
                return RunResult(error=f"sandbox worker failed ({what}) while the sandbox was being closed")
            return RunResult(error=f"sandbox worker failed ({what}); no restart: {exc2}")
        except Exception as exc2:  # noqa: BLE001 - the job's error; the pool has the cause
            log.error("grpo-rewards local sandbox: could not restart a worker: %s", exc2)
            return RunResult(error=f"sandbox worker failed ({what}); restart failed: {exc2}")
        return RunResult(error=f"sandbox worker failed and was restarted: {what}")

    def run(self, job: Job, judge: Judge | None = None) -> RunResult:
        """Run one job on a free worker (blocking until one is free)."""
        budget = job.limits.total_s + (job.limits.compile_s if job.language in ("c", "cpp") else 0.0)
        if budget + HOST_SLACK_S >= TESTER_CPU_S - RETIRE_AFTER_CPU_S:
            raise ValueError(
                f"a job's total time (total_s, plus compile_s for C and C++) must be under "
                f"{TESTER_CPU_S - RETIRE_AFTER_CPU_S - HOST_SLACK_S:.0f} s, got {budget:g} s"
            )
        if job.language in ("c", "cpp", "javascript") and not _toolchain(job.language):
            tool = {"c": "gcc", "cpp": "g++", "javascript": "node"}[job.language]
            raise SandboxUnavailable(f"language {job.language!r} needs {tool}, which is not installed here")
        try:
            w = self._take()
        except SandboxUnavailable as exc:
            if self.strict and not isinstance(exc, SandboxFaultError):
                raise SandboxFaultError(str(exc)) from exc
            raise
        try:
            result = w.run(job, judge)
        except JobStalled as exc:
            # The candidate's doing, not the worker's: a timeout for the sample. The worker is
            # stuck mid-job, so it is replaced all the same.
            self._replace(w, exc)
            return exc.result
        except (WorkerFault, FrameError, OSError, TimeoutError, ValueError, KeyError) as exc:
            # The worker broke: never the candidate's doing, so the job has no verdict. It is
            # replaced by one that passed the self-check; strict mode raises instead.
            res = self._replace(w, exc)
            _log_once(f"grpo-rewards local sandbox: {res.error}")
            if self.strict:
                raise SandboxFaultError(res.error or "sandbox worker failed") from exc
            return res
        except BaseException as exc:
            # Not the worker's fault (a judge that raises, KeyboardInterrupt), but it is left
            # mid-job all the same: replaced, never reused; the error is the caller's.
            self._replace(w, exc)
            raise
        self._give(w)
        return result

    def run_many(self, jobs: Sequence[Job], judges: Sequence[Judge | None] | None = None) -> list[RunResult]:
        """Run jobs in parallel across the workers; results in input order."""
        if not jobs:
            return []
        self.start()
        js = list(judges) if judges is not None else [None] * len(jobs)
        with ThreadPoolExecutor(self.n_workers) as ex:
            futures = [ex.submit(self.run, j, jd) for j, jd in zip(jobs, js, strict=True)]
            return [f.result() for f in futures]

    def close(self) -> None:
        """Stop every worker (and so every process any run started), and reap them all: when
        this returns, no process the sandbox started is left, not even as a zombie. A job
        running meanwhile ends with an error; later ones raise :class:`SandboxUnavailable`.
        Idle workers get two seconds to end on their own; a busy one would read EOF only once
        its job ends, so it gets none. The same runs at interpreter exit, and when a sandbox
        nobody closed is collected."""
        self._pool.close()

    def __enter__(self) -> LocalSandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def cpu_seconds(self) -> float:
        """CPU time used so far by the workers and every run they have reaped (user + system),
        read from ``/proc``; benchmarks compare it with a peer's CPU time per sample."""
        return sum(self._proc_totals((11, 12, 13, 14))) / os.sysconf("SC_CLK_TCK")

    def page_faults(self) -> int:
        """Minor page faults so far in the workers and every run they have reaped, read from
        ``/proc``: on a virtual machine most of a run's overhead is these (docs/sandbox.md)."""
        return sum(self._proc_totals((7, 8)))

    def _proc_totals(self, fields: tuple[int, ...]) -> list[int]:
        """Sum of the given ``/proc/PID/stat`` fields (counted after the command name) over
        every process below this pool's workers."""
        roots = {w.proc.pid for w in self._all}
        parent: dict[int, int] = {}
        values: dict[int, list[int]] = {}
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/stat") as f:
                    rest = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parent[int(name)] = int(rest[1])
            values[int(name)] = [int(rest[i]) for i in fields]
        total = [0] * len(fields)
        for pid, vals in values.items():
            p = pid
            while p > 1 and p not in roots:
                p = parent.get(p, 0)
            if p in roots:
                total = [a + b for a, b in zip(total, vals, strict=True)]
        return total

    def describe(self) -> str:
        """One line per layer, for ``grpo-rewards`` diagnostics and the docs."""
        self.start()
        return "\n".join(f"{k:8} {v}" for k, v in self.layers.items())


def _spawner(sandbox: LocalSandbox) -> Callable[[_Worker | None], _Worker]:
    """How the pool starts a worker: on the CPU of the one it replaces, if any. Holds the
    sandbox weakly (the pool must not keep it alive)."""
    ref = weakref.ref(sandbox)

    def spawn(previous: _Worker | None) -> _Worker:
        sb = ref()
        if sb is None:
            raise PoolUnavailable("the sandbox was collected", closed=True)
        return _Worker(sb, previous.cpu if previous is not None else None, _self_check)

    return spawn


def _self_check(w: _Worker) -> str | None:
    """The self-check a new worker must pass: :data:`SELF_CHECK` as this module holds it now."""
    return self_check_failure(w, SELF_CHECK)


@hookimpl
def register_sandboxes(register: Register) -> None:
    register(LocalSandbox, name="local", description="Warm pool of namespaced, seccomp-filtered local workers")
