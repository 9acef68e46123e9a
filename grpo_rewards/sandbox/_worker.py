"""One worker process, seen from the host: start it, hand it a job, read the job's end, stop it.

Runs in the host process (the trainer's), one thread at a time per worker: it starts the
worker bootstrap (``_inside/bootstrap.py``) as a child with a fixed environment, writes its uid
and gid maps, sends it config and job frames, and reads frames back. It trusts the worker's
process handle and the options of the :class:`~grpo_rewards.sandbox.local.LocalSandbox` that
starts it, and nothing the worker sends: every frame is read through
:class:`~grpo_rewards.sandbox._inside.wire.Channel` (bounded in size and time, plain JSON
data), and a job that does not end by the host's deadline stops the worker.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from grpo_rewards.sandbox import CaseResult, Job, Judge, RunResult, SandboxUnavailable
from grpo_rewards.sandbox._inside.wire import Channel, decode, encode, send_frame
from grpo_rewards.sandbox._reap import children, kill_child

if TYPE_CHECKING:
    from grpo_rewards.sandbox.local import LocalSandbox

log = logging.getLogger("grpo_rewards.sandbox")

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
_warned: set[str] = set()
_warn_lock = threading.Lock()


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
(a job whose total time exceeds the other half is refused: see
:meth:`grpo_rewards.sandbox.local.LocalSandbox.run`)."""


class JobStalled(TimeoutError):
    """The tester did not end a job by the host's deadline; ``result`` holds what came back."""

    def __init__(self, result: RunResult) -> None:
        super().__init__("the job did not end by the host's deadline")
        self.result = result


class WorkerFault(RuntimeError):
    """The sandbox, not the candidate, failed during a job (the tester's ``fault`` or
    ``fatal`` frame): the worker is replaced and the job's sample is ``error``."""


class _Worker:
    """One warm worker process and its pipes. Used by one thread at a time."""

    ready = True  # started, handshaken and self-checked by the time it exists

    def __init__(
        self,
        sandbox: LocalSandbox,
        cpu: int | None = None,
        self_check: Callable[[_Worker], str | None] | None = None,
    ) -> None:
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
            why = self_check(self) if self_check is not None else None
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
                for child in children(self.proc.pid):
                    kill_child(self.proc.pid, child)
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
