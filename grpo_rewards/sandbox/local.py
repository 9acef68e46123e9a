"""The built-in ``local`` sandbox: a warm pool of isolated workers on this machine.

Each worker is a small interpreter (``python3 -I -S``, the system one when there is one)
that, once at start, enters fresh user, mount, network, PID, IPC and UTS namespaces, pivots
into a read-only root built from bind mounts, and then forks once per run (from a small
zygote that already has the isolation set up), so a run pays one ``fork()`` rather than an
interpreter start-up. The kernel layers come from
``unshare(2)`` through ctypes; no extra packages or setuid helpers are needed. See
docs/sandbox.md for the process tree and the threat model.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import warnings
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from grpo_rewards.hookspecs import Register, hookimpl
from grpo_rewards.pools import Pool, PoolUnavailable
from grpo_rewards.sandbox import CaseResult, Job, Judge, RunResult, SandboxFaultError, SandboxUnavailable
from grpo_rewards.sandbox._inside.wire import Channel, FrameError, decode, encode, send_frame

__all__ = ["LocalSandbox", "LAYERS"]

log = logging.getLogger("grpo_rewards.sandbox")

LAYERS = ("userns", "netns", "mountns", "pidns", "ipcns", "utsns", "fs", "seccomp", "caps", "rlimits")
"""Isolation layers, as reported by each worker: ``"ok"`` or ``"unavailable: why"``."""

_HERE = os.path.dirname(os.path.abspath(__file__))
# Imported, not run as a script: a script is compiled in memory at every start, and the
# compiler's garbage would stay in the worker's heap and be copied by every fork of a run.
_BOOT = f"import sys; sys.path.insert(0, {_HERE!r}); from _inside import bootstrap; bootstrap.main()"
_BINDS = ["/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32", "/etc/alternatives", "/etc/ld.so.cache"]
_ETC = {
    "passwd": "root:x:0:0:sandbox:/tmp:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n",
    "group": "root:x:0:\nnogroup:x:65534:\n",
    "hosts": "127.0.0.1 localhost\n::1 localhost\n",
    "hostname": "sandbox\n",
}
_ENV = {
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "HOME": "/tmp",
    "TMPDIR": "/tmp",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONIOENCODING": "utf-8",
}
PRELOAD = (
    "typing", "re", "collections", "itertools", "functools", "heapq", "bisect", "string",
    "math", "copy", "operator", "fractions", "decimal", "datetime",
)  # fmt: skip
"""Modules the candidate zygote imports once, so that runs inherit them instead of each loading
them (``import typing`` alone costs a run more CPU than the rest of its start-up). ``random``
(and ``statistics``, which imports it) is left out: once imported, it reseeds itself after
every ``fork()``, which costs every run more than it saves the few that use it."""
_warned: set[str] = set()
_warn_lock = threading.Lock()


def _default_python() -> str:
    """The interpreter workers run on: the system Python 3 when present (it lives under /usr,
    which the sandbox root already shows read-only), else this interpreter."""
    for cand in ("/usr/bin/python3",):
        if os.path.exists(cand):
            return cand
    return sys.executable


def _toolchain(language: str) -> dict[str, Any]:
    if language == "c":
        cc = shutil.which("gcc") or shutil.which("cc")
        return (
            {"compiler": os.path.realpath(cc), "flags": ["-O2", "-pipe", "-std=gnu17"], "libs": ["-lm"]} if cc else {}
        )
    if language == "cpp":
        cxx = shutil.which("g++") or shutil.which("c++")
        flags = ["-O2", "-pipe", "-std=gnu++17"]
        return {"compiler": os.path.realpath(cxx), "flags": flags, "libs": ["-lm"]} if cxx else {}
    if language == "javascript":
        node = shutil.which("node") or shutil.which("nodejs")
        return {"node": os.path.realpath(node)} if node else {}
    return {"python": True}


HOST_SLACK_S = 2.0
"""How long past ``Limits.total_s`` the host waits for a job's end before it stops the worker
(plus ``Limits.compile_s`` for C and C++): the wall time of one sample is bounded by
``total_s + HOST_SLACK_S``."""


TESTER_CPU_S = 3600
"""The hard ``RLIMIT_CPU`` of a worker's tester over its life. Each job gets a soft limit of its
own budget; a worker whose tester has used half of this is retired between jobs and replaced
(a job whose total time exceeds the other half is refused: see :meth:`LocalSandbox.run`)."""
RETIRE_AFTER_CPU_S = TESTER_CPU_S / 2

MAX_START_FAILURES = 3
"""Failed worker starts in a row (the first start, or replacements) after which a sandbox is
dead: every job then fails at once with :class:`SandboxUnavailable`, naming the first failure."""


class JobStalled(TimeoutError):
    """The tester did not end a job by the host's deadline; ``result`` holds what came back."""

    def __init__(self, result: RunResult) -> None:
        super().__init__("the job did not end by the host's deadline")
        self.result = result


class WorkerFault(RuntimeError):
    """The sandbox, not the candidate, failed during a job (the tester's ``fault`` or
    ``fatal`` frame): the worker is replaced and the job's sample is ``error``."""


SELF_CHECK = (
    (Job("python", "assert", "def inc(x):\n    return x + 1\n", test_code="assert inc(1) == 2\n"), None),
    (Job("python", "stdio", "print(int(input()) + 1)\n", inputs=["41\n"]), "42\n"),
)
"""Known-good programs every new worker must pass before it takes a job (the assert path,
through RPC, and the program path): a sandbox that is broken in a way its start-up cannot
see (every run failing in its set-up, say) would otherwise score every sample ``wrong``."""


def _self_check_failure(w: _Worker) -> str | None:
    """Why the worker fails the self-check, or None when it passes."""
    for job, want in SELF_CHECK:
        try:
            res = w.run(job, None)
        except (WorkerFault, JobStalled, FrameError, OSError, TimeoutError, ValueError, KeyError) as exc:
            return f"{type(exc).__name__}: {exc}"
        case = res.cases[0] if len(res.cases) == 1 else None
        ok = case is not None and not res.error and (case.passed if want is None else case.stdout == want)
        if not ok:
            got = res.error or (case.error if case is not None else f"{len(res.cases)} case results")
            return f"a known-good {job.kind} program failed ({got or 'wrong output'})"
    return None


class _Worker:
    """One warm worker process and its pipes. Used by one thread at a time."""

    ready = True  # started, handshaken and self-checked by the time it exists

    def __init__(self, sandbox: LocalSandbox, cpu: int | None = None) -> None:
        # The sandbox is only read here: a worker keeps no reference to it, so that a sandbox
        # nobody closed can still be collected (and its finalizer stop its workers).
        self.stopped = False
        self._stop_lock = threading.Lock()  # a second stop() waits for the first to finish
        self.box_parent = tempfile.mkdtemp(prefix="grpo-sandbox-")
        os.chmod(self.box_parent, 0o777)
        os.makedirs(os.path.join(self.box_parent, "build"), mode=0o777, exist_ok=True)
        os.chmod(os.path.join(self.box_parent, "build"), 0o777)
        try:
            self.proc = subprocess.Popen(
                [sandbox.python, "-I", "-S", "-B", "-c", _BOOT],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=None if sandbox.debug else subprocess.DEVNULL,
                env=dict(_ENV),
                close_fds=True,
                start_new_session=True,
                cwd="/",
            )
        except BaseException:
            shutil.rmtree(self.box_parent, ignore_errors=True)
            raise
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.cpu = cpu
        self.tester_cpu_s = 0.0  # CPU time its tester has used, as of the last job's end
        if sandbox.pin_cpus:
            # Before the handshake the worker is one process, blocked on its first frame, so
            # everything it will fork (tester, zygote, every run) inherits this CPU.
            if self.cpu is None:
                self.cpu = sandbox._next_cpu()
            try:
                os.sched_setaffinity(self.proc.pid, {self.cpu})
            except OSError:
                pass  # a cpuset that changed under us: run unpinned
        self.w = self.proc.stdin.fileno()
        self.r = self.proc.stdout.fileno()
        self.chan = Channel(self.r)
        try:
            self.layers = self._handshake(sandbox)
            why = _self_check_failure(self)
            if why is not None:
                raise SandboxUnavailable(f"sandbox self-check failed: {why}")
        except BaseException:
            self.stop()
            raise
        if self.layers.get("fs") == "ok":
            shutil.rmtree(self.box_parent, ignore_errors=True)

    def _handshake(self, sb: LocalSandbox) -> dict[str, str]:
        binds = list(_BINDS)
        prefix = os.path.dirname(os.path.dirname(os.path.realpath(sb.python)))
        if not any(prefix == b or prefix.startswith(b + "/") for b in binds):
            binds.append(prefix)
        binds += list(sb.extra_binds)
        cfg = {
            "env": _ENV,
            "binds": binds,
            "etc": _ETC,
            "build_mb": 256,
            "tester_memory_mb": sb.tester_memory_mb,
            "tester_cpu_s": TESTER_CPU_S,
            "base_processes": 8,
            "preload": list(sb.preload),
            "box_parent": self.box_parent,
            "layers": {"userns": sb.namespaces, "netns": sb.namespaces, "mountns": sb.namespaces,
                       "pidns": sb.namespaces, "ipcns": sb.namespaces, "utsns": sb.namespaces},
        }  # fmt: skip
        deadline = time.monotonic() + 30
        send_frame(self.w, cfg)
        first = self.chan.recv(deadline)
        reply: dict[str, Any] = {"mapped": False}
        if first.get("userns"):
            try:
                self._write_id_maps(int(first["pid"]))
                reply = {"mapped": True}
            except OSError as exc:
                reply = {"mapped": False, "error": f"cannot write uid/gid map: {exc}"}
        send_frame(self.w, reply)
        ready = self.chan.recv(deadline)
        if not ready.get("ready"):
            error = str(ready.get("error", ready))
            _log_once(f"grpo-rewards local sandbox: a worker failed to start:\n{error}")
            raise SandboxUnavailable(f"sandbox worker failed to start: {_last_line(error)}")
        return dict(ready["layers"])

    @staticmethod
    def _write_id_maps(pid: int) -> None:
        # As root, map the sandbox's uid 0 to "nobody" outside: host files owned by root stay
        # out of reach even through a bug, and RLIMIT_NPROC applies (it exempts real root).
        uid, gid = os.geteuid(), os.getegid()
        out_uid, out_gid = (65534, 65534) if uid == 0 else (uid, gid)
        if uid != 0:  # unprivileged: required before writing gid_map; root clears groups instead
            with open(f"/proc/{pid}/setgroups", "w") as f:
                f.write("deny")
        with open(f"/proc/{pid}/uid_map", "w") as f:
            f.write(f"0 {out_uid} 1")
        with open(f"/proc/{pid}/gid_map", "w") as f:
            f.write(f"0 {out_gid} 1")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def hang_up(self) -> None:
        """Close the tester's pipe: an idle tester reads EOF and exits at once."""
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        except OSError:
            pass

    def stop(self, grace: float = 0.0) -> None:
        """End this worker and every process below it, and reap them all before returning.

        This process reaps only Z, its own child. Z' (the tester, PID 1 of the worker's PID
        namespace) is Z's child, and Z reaps it; the kernel ends and reaps everything below Z'
        when Z' ends. So Z' must end while Z is still there to reap it: killed together (one
        ``killpg``), Z may die first and leave Z' a zombie, reparented to PID 1 or a subreaper,
        which nobody here can reap. Hence: EOF on the tester's pipe (waited for up to ``grace``
        seconds), then SIGKILL to Z's children while Z waits for them, and Z itself last.
        """
        with self._stop_lock:
            if not self.stopped:
                self._stop(grace)
                self.stopped = True

    def _stop(self, grace: float) -> None:
        self.hang_up()
        try:
            if grace > 0:
                try:
                    self.proc.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    pass
            if self.proc.poll() is None:
                for child in _children(self.proc.pid):
                    _kill_child(self.proc.pid, child)
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
            if self.proc.poll() is None:  # Z did not follow: no reaper left below, kill it all
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except OSError:
                    pass
                self.proc.kill()
                try:
                    self.proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    log.error("grpo-rewards local sandbox: worker %d did not end", self.proc.pid)
        finally:
            if self.proc.stdout is not None:
                self.proc.stdout.close()
            shutil.rmtree(self.box_parent, ignore_errors=True)

    def run(self, job: Job, judge: Judge | None) -> RunResult:
        lim = job.limits
        frame: dict[str, Any] = {
            "language": job.language,
            "kind": job.kind,
            "code": job.code,
            "limits": lim.to_dict(),
            "early_stop": bool(job.early_stop),
            "toolchain": _toolchain(job.language),
        }
        if job.kind == "assert":
            frame["test_code"] = job.test_code
        elif job.kind == "stdio":
            frame["cases"] = [{"input": i} for i in job.inputs]
        elif job.kind == "call":
            frame["fn_name"] = job.fn_name
            frame["cases"] = [{"args": [encode(a) for a in args], "kwargs": {k: encode(v) for k, v in kw.items()}}
                              for args, kw in job.args]  # fmt: skip
        send_frame(self.w, frame)
        # The tester keeps the job within total_s itself; the host waits a little longer, and
        # compile time only for the languages that compile.
        deadline = time.monotonic() + lim.total_s + HOST_SLACK_S
        if job.language in ("c", "cpp"):
            deadline += lim.compile_s
        result = RunResult()
        fault = ""
        while True:
            try:
                msg = self.chan.recv(deadline)
            except TimeoutError:
                # The tester did not finish by the deadline: the candidate stalled it. What came
                # back counts; the cases that did not finish count as failed.
                result.timed_out = result.stalled = True
                raise JobStalled(result) from None
            if msg.get("end"):
                result.timed_out = bool(msg.get("timed_out"))
                self.tester_cpu_s = float(msg.get("cpu_s") or 0.0)
                if fault:
                    raise WorkerFault(fault)
                return result
            if "exhausted" in msg:
                log.debug("grpo-rewards local sandbox: %s", msg["exhausted"])
                continue
            if "fault" in msg:
                fault = f"sandbox fault: {msg['fault']}"
                continue
            if "fatal" in msg:
                fault = f"sandbox tester failed: {msg['fatal']}"
                continue
            if "bad_tests" in msg:
                result.bad_tests = str(msg["bad_tests"])
                continue
            if "compile_error" in msg:
                result.compile_error = msg["compile_error"] or f"compiler failed ({msg.get('status')})"
                continue
            case = _case_from_frame(msg)
            result.cases.append(case)
            if job.early_stop and not case.skipped:
                ok = judge(case) if judge is not None else bool(case.passed)
                send_frame(self.w, {"go": bool(ok)})


def _last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1].strip() if lines else text


def _log_once(message: str) -> None:
    """Log an error once per process, however many workers or samples hit it."""
    with _warn_lock:
        if message in _warned:
            return
        _warned.add(message)
    log.error(message)


def _children(pid: int) -> list[int]:
    """The child processes of ``pid``, from ``/proc``."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(c) for c in f.read().split()]
    except OSError:
        pass  # a kernel without CONFIG_PROC_CHILDREN: scan
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit() and _parent(int(name)) == pid:
            found.append(int(name))
    return found


def _parent(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def _kill_child(parent: int, pid: int) -> None:
    """SIGKILL ``pid`` if it is still ``parent``'s child: through a pidfd, so that a pid
    reaped and reused in between is never signalled."""
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        if _parent(pid) == parent:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        return
    try:
        if _parent(pid) == parent:
            signal.pidfd_send_signal(fd, signal.SIGKILL)
    except OSError:
        pass
    finally:
        os.close(fd)


def _case_from_frame(msg: dict[str, Any]) -> CaseResult:
    case = CaseResult(index=int(msg["case"]))
    case.skipped = str(msg.get("skipped", ""))
    case.error = str(msg.get("error", ""))
    case.timeout = bool(msg.get("timeout"))
    if "passed" in msg:
        case.passed = bool(msg["passed"])
    if "value" in msg:
        case.value = decode(msg["value"])
        case.has_value = True
    if "stdout" in msg:
        case.stdout = str(msg["stdout"])
        case.truncated = bool(msg.get("truncated"))
        st = msg.get("status") or {}
        case.exit_code = st.get("exit")
        case.signal = st.get("signal")
        if st.get("killed") == "timeout":
            case.timeout = True
            case.error = case.error or "time limit exceeded"
        elif case.truncated:
            case.error = case.error or "output limit exceeded"
        elif st.get("error"):
            case.error = case.error or str(st["error"])
    return case


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
        return _Worker(sb, previous.cpu if previous is not None else None)

    return spawn


@hookimpl
def register_sandboxes(register: Register) -> None:
    register(LocalSandbox, name="local", description="Warm pool of namespaced, seccomp-filtered local workers")
