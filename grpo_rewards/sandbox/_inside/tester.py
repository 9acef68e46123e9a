"""The tester (T): the job loop, its deadlines, and its handle on runs. Trusted: the only
process that sees the tests (the runners, one per test kind, are in :mod:`.runners`).

Runs in Z', PID 1 of the worker's PID namespace, with capabilities dropped, under the seccomp
filter, non-dumpable, with hard limits of its own (address space, CPU time), and never forks.
It reads jobs from the host (fd 0) and writes case results to it (fd 1). Assert test code runs
here, against proxies (:mod:`.rpc`) of the candidate's functions living in a run; program
output goes back to the host, which compares it. What comes from a run is untrusted data: it
is decoded by :mod:`.wire` and bounded in size and time. A failure of the sandbox itself (the
zygote gone, a run's set-up failing before any candidate code) is a :class:`SandboxFault`,
reported to the host as ``fault`` and never scored.
"""

from __future__ import annotations

import json
import math
import os
import resource
import signal
import socket
import time

from .kernel import PR_SET_DUMPABLE, drop_capabilities, prctl, set_name
from .seccomp import install_seccomp
from .wire import Channel, FrameError, _frame, _write_all, recv_frame, send_trusted

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time: the candidate zygote stays small
    from collections.abc import Callable
    from typing import Any

    from .bootstrap import Setup


class _Tester:
    """The tester's own state: set once by :func:`serve`, before the first job."""

    def __init__(self) -> None:
        self.setup: Setup = None  # type: ignore[assignment]
        self.host = Channel(0)  # jobs in on fd 0; frames out on fd 1
        self.spawn_sock: socket.socket | None = None  # to the zygote
        self.zygote_pid = 0  # the zygote, this process's child: collected before it exits
        self.job = 0  # jobs served: the zygote clears /build when this changes


T = _Tester()


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


class JobTimeout(BaseException):
    """The job's total time ran out while test code was running (raised by SIGALRM)."""


class SandboxFault(BaseException):
    """The sandbox itself failed: the candidate zygote is gone, or a run's set-up failed before
    any candidate code ran. Never the candidate's doing, so never part of its score: the host
    gets a ``fault`` frame (the sample is ``error``, the worker is replaced). A BaseException,
    so that no runner's ``except Exception`` takes it for a failing case."""


_alarm = {"armed": False, "critical": False, "pending": False}


def _on_alarm(signum: int, frame: Any) -> None:
    """SIGALRM (the job's wall clock) and SIGXCPU (its CPU share): the job ends, once. Both can
    come due while test code is stuck in C, and Python then runs this twice in a row: only the
    first raises, and a signal that arrives outside a job (or after it ended) does nothing, for
    a JobTimeout raised there would kill the tester."""
    if not _alarm["armed"]:
        return
    if _alarm["critical"]:
        _alarm["pending"] = True
        return
    _alarm["armed"] = False
    raise JobTimeout()


class _Critical:
    """Defer the job alarm while a protocol exchange is half done (a frame half written, file
    descriptors sent but not yet received): the channel must stay in step for the next job."""

    def __enter__(self) -> None:
        _alarm["critical"] = True

    def __exit__(self, *exc: object) -> None:
        _alarm["critical"] = False
        if _alarm["pending"]:
            _alarm["pending"] = False
            if exc[0] is None and _alarm["armed"]:
                _alarm["armed"] = False
                raise JobTimeout()


def _ack() -> bool:
    """Early stop: the host's word on whether to go on (it compares outputs, not us)."""
    _flush_host()
    with _Critical():
        return bool(T.host.recv().get("go"))


_OUT: list[bytes] = []


def _send_host(obj: Any) -> None:
    """Queue a frame for the host; :func:`_flush_host` writes the queue in one go when the host
    has to answer (early stop) or the job ends, so a job usually costs the host one wake-up."""
    _OUT.append(_frame(obj))


def _flush_host(critical: bool = True) -> None:
    """Write the queued frames; ``critical=False`` once the job's alarm is off (a deferred
    alarm must not fire after the job)."""
    if _OUT:
        data = b"".join(_OUT)
        _OUT.clear()
        if critical:
            with _Critical():
                _write_all(1, data)
        else:
            _write_all(1, data)


def _stop_zygote() -> None:
    """Kill and collect the candidate zygote before the tester exits: without a PID namespace
    nothing else would (it would be left ``<defunct>`` under PID 1)."""
    if T.zygote_pid:
        try:
            os.kill(T.zygote_pid, signal.SIGKILL)
            os.waitpid(T.zygote_pid, 0)
        except OSError:
            pass
        T.zygote_pid = 0


def serve(
    setup: Setup, host: Channel, spawn_sock: socket.socket, zygote_pid: int, run_job: Callable[[dict[str, Any]], None]
) -> None:
    """Z' as the tester: one job at a time (``run_job``: :func:`.runners.run_job`), test code run
    here (never candidate code), with a SIGALRM at the job's deadline; case frames go to the host
    as they complete, then "end".

    The tester has hard limits of its own: address space (``tester_memory_mb``: a candidate
    whose values make test code allocate without end gets a MemoryError, its case fails) and
    CPU time over its life (``tester_cpu_s``; a job's share is its soft limit, SIGXCPU ends the
    job as its alarm would, and the host retires a worker past half of it, between jobs)."""
    T.setup, T.host, T.spawn_sock, T.zygote_pid = setup, host, spawn_sock, zygote_pid
    prctl(PR_SET_DUMPABLE, 0)
    set_name(b"sbx-tester")
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))  # the tester never forks
    mem = int(T.setup.cfg.get("tester_memory_mb", 4096)) << 20
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    cpu_hard = int(T.setup.cfg.get("tester_cpu_s", 3600))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_hard, cpu_hard))
    if T.setup.caps_ok:
        drop_capabilities()
    if T.setup.seccomp_ok:
        install_seccomp()
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.signal(signal.SIGXCPU, _on_alarm)
    while True:
        try:
            job = T.host.recv()
        except FrameError:
            _stop_zygote()
            os._exit(0)
        if "kind" not in job:
            continue  # a stray early-stop answer for a job that already ended
        timed_out = False
        T.job += 1
        budget = float(job["limits"]["total_s"]) + 0.5
        if job["language"] in ("c", "cpp"):
            budget += float(job["limits"]["compile_s"])
        used = _cpu_used()
        resource.setrlimit(resource.RLIMIT_CPU, (min(cpu_hard, math.ceil(used + budget + 1)), cpu_hard))
        _alarm["pending"] = False
        _alarm["armed"] = True
        signal.setitimer(signal.ITIMER_REAL, budget)
        try:
            run_job(job)
        except JobTimeout:
            timed_out = True
        except MemoryError:
            # Only candidate data grows the tester's memory (values it returned, items it
            # yielded): the job ends here, and the cases that did not report count as failed.
            _send_host({"exhausted": "the test run hit the tester's memory limit"})
        except SandboxFault as exc:
            _send_host({"fault": str(exc)})
        except BaseException as exc:  # noqa: BLE001 - reported to the host, never swallowed
            try:
                import traceback

                _send_host({"fatal": f"{type(exc).__name__}: {exc}", "tb": traceback.format_exc()[-2000:]})
            except JobTimeout:
                timed_out = True
        finally:
            _alarm["armed"] = False  # first: a signal due from here on does nothing
            signal.setitimer(signal.ITIMER_REAL, 0)
            resource.setrlimit(resource.RLIMIT_CPU, (cpu_hard, cpu_hard))  # no SIGXCPU between jobs
        for run in list(Spawned.live):
            run.close()
        _reap()
        _send_host({"end": True, "timed_out": timed_out, "cpu_s": round(_cpu_used(), 3)})
        _flush_host(critical=False)  # the alarm is off


def _cpu_used() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def _parse_status(line: bytes) -> dict[str, Any]:
    """The zygote's status line for a run that ended (see _supervise)."""
    _, ex, sig, killed, cpu, rss, flt = line.split()
    return {
        "exit": None if ex == b"-1" else int(ex),
        "signal": int(sig) or None,
        "killed": "" if killed == b"-" else killed.decode(),
        "cpu_s": float(cpu),
        "maxrss_kb": int(rss),
        "minflt": int(flt),
    }


class Spawned:
    """T's view of one candidate run: status pipe, kill switch, output pipe or RPC socket."""

    live: set[Spawned] = set()

    def __init__(self, req: dict[str, Any]) -> None:
        sock = T.spawn_sock
        assert sock is not None
        req["job"] = T.job
        self._status: dict[str, Any] | None = None
        self._closed = False
        with _Critical():  # registered in `live` before a deferred job alarm can fire
            try:
                send_trusted(sock.fileno(), req)
                msg, fds, _, _ = socket.recv_fds(sock, 1, 4)
            except OSError as exc:
                raise SandboxFault(f"the candidate zygote is gone ({type(exc).__name__}: {exc})") from None
            if msg != b"k" or len(fds) < 3:
                for f in fds:
                    os.close(f)
                if not msg:
                    raise SandboxFault("the candidate zygote is gone (it closed its socket)")
                try:
                    why = recv_frame(sock.fileno(), time.monotonic() + 10).get("error")
                except (FrameError, OSError, TimeoutError) as exc:
                    why = f"no reason given ({type(exc).__name__})"
                raise SandboxFault(f"the candidate zygote could not start a run: {why}")
            self.status_fd, self.ctrl_fd, self.io_fd = fds[0], fds[1], fds[2]
            self.chan = Channel(self.io_fd)
            self.deadline = time.monotonic() + float(req["limits"]["wall_s"]) + 0.5
            Spawned.live.add(self)

    def kill(self) -> None:
        try:
            os.write(self.ctrl_fd, b"k")
        except OSError:
            pass

    def status(self) -> dict[str, Any]:
        """Wait for the run to end and return how it ended (exit, signal, killed, cpu_s).
        Raises :class:`SandboxFault` when the sandbox, not the run, failed: the run's set-up
        failed before any candidate code ran, or the zygote that watched it died."""
        st = self._wait()
        if "fault" in st:
            raise SandboxFault(st["fault"])
        return st

    def _wait(self) -> dict[str, Any]:
        if self._status is None:
            buf = b""
            while True:
                chunk = os.read(self.status_fd, 4096)
                if not chunk:
                    break
                buf += chunk
            st: dict[str, Any] = {}
            for line in buf.splitlines():
                if line.startswith(b"S "):
                    st.update(_parse_status(line))
                    continue
                try:
                    st.update(json.loads(line))
                except ValueError:
                    continue
            if "setup_error" in st:
                st["error"] = st["setup_error"]
            elif not st:
                st = {"fault": "the candidate zygote died while it watched a run"}
            self._status = st
        return self._status

    def close(self) -> None:
        if self._closed:
            return
        self.kill()
        self._wait()
        self._closed = True
        Spawned.live.discard(self)
        for f in (self.status_fd, self.ctrl_fd, self.io_fd):
            try:
                os.close(f)
            except OSError:
                pass
