"""The tester (T): the job loop and the runners. Trusted: the only process that sees the tests.

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

import base64
import builtins
import json
import marshal
import math
import os
import re
import resource
import select
import signal
import socket
import sys
import time

from .kernel import PR_SET_DUMPABLE, drop_capabilities, prctl, set_name
from .rpc import RPC, CandidateGone, Remote
from .seccomp import install_seccomp
from .wire import Channel, FrameError, _frame, _write_all, decode, encode, recv_frame, send_trusted

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time: the candidate zygote stays small
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


_alarm = {"critical": False, "pending": False}


def _on_alarm(signum: int, frame: Any) -> None:
    if _alarm["critical"]:
        _alarm["pending"] = True
        return
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
            if exc[0] is None:
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


def serve(setup: Setup, host: Channel, spawn_sock: socket.socket, zygote_pid: int) -> None:
    """Z' as the tester: one job at a time, test code run here (never candidate code), with a
    SIGALRM at the job's deadline; case frames go to the host as they complete, then "end".

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
        signal.setitimer(signal.ITIMER_REAL, budget)
        used = _cpu_used()
        resource.setrlimit(resource.RLIMIT_CPU, (min(cpu_hard, math.ceil(used + budget + 1)), cpu_hard))
        try:
            _tester(job)
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
            signal.setitimer(signal.ITIMER_REAL, 0)
        for run in list(Spawned.live):
            run.close()
        _reap()
        _send_host({"end": True, "timed_out": timed_out, "cpu_s": round(_cpu_used(), 3)})
        _flush_host(critical=False)  # the alarm is off


def _cpu_used() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


_COMPILE_HERE_MAX = 256 << 10  # characters of candidate source the tester compiles itself


def _candidate_code(job: dict[str, Any], filename: str) -> bytes | None:
    """The candidate's Python source compiled here in the tester, as ``marshal`` data for its
    run (None when it does not compile: the run then compiles it and fails exactly as Python
    would). Compiling runs none of the candidate's code; doing it here, once per job, spares
    every run the compiler's copy-on-write page faults and a stdio job the compile per case."""
    if "_compiled" not in job:
        job["_compiled"] = None
        if len(job["code"]) <= _COMPILE_HERE_MAX:  # a giant program compiles in its run, limited
            try:
                job["_compiled"] = marshal.dumps(compile(job["code"], filename, "exec", dont_inherit=True))
            except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
                pass
    compiled: bytes | None = job["_compiled"]
    return compiled


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


def _tester(job: dict[str, Any]) -> None:
    kind = job["kind"]
    lang = job["language"]
    send = _send_host
    if lang in ("c", "cpp"):
        ok = _compile(job, send)
        if not ok:
            return
    job_deadline = time.monotonic() + float(job["limits"]["total_s"])
    if kind == "stdio":
        _run_stdio(job, send, job_deadline)
    elif kind == "call":
        _run_call(job, send, job_deadline)
    elif kind == "assert":
        if lang == "python":
            _run_assert(job, send, job_deadline)
        else:
            _run_assert_program(job, send, job_deadline)
    else:
        send({"fatal": f"unknown test kind {kind!r}"})


def _limits(job: dict[str, Any], wall: float | None = None) -> dict[str, Any]:
    lim = dict(job["limits"])
    if job["language"] == "javascript":
        # V8 reserves gigabytes of address space up front; its heap is capped by a flag instead.
        lim["memory_mb"] = int(lim["memory_mb"]) + 8192
    if wall is not None:
        lim["wall_s"] = wall
    return lim


def _compile(job: dict[str, Any], send: Any) -> bool:
    lang = job["language"]
    src = "main.c" if lang == "c" else "main.cpp"
    out = "/build/a.out" if T.setup.mountns else os.path.join(T.setup.box_parent, "build", "a.out")
    compiler = job["toolchain"]["compiler"]
    argv = [compiler, *job["toolchain"]["flags"], src, "-o", out, *job["toolchain"]["libs"]]
    lim = _limits(job, float(job["limits"]["compile_s"]))
    lim["memory_mb"] = max(int(lim["memory_mb"]), 2048)
    lim["cpu_s"] = float(job["limits"]["compile_s"])
    code = job["code"]
    run = Spawned(
        {"mode": "exec", "argv": argv, "limits": lim, "files": {src: code}, "build_rw": True, "stderr_to_stdout": True}
    )
    text, _ = _read_output(run, 64 << 10)
    st = run.status()
    run.close()
    if st.get("exit") != 0:
        send({"compile_error": text.decode(errors="replace")[-2000:], "status": st})
        return False
    return True


def _read_output(run: Spawned, cap: int) -> tuple[bytes, bool]:
    """Read the run's stdout until EOF, the cap or the deadline; then the run is killed."""
    buf = bytearray()
    truncated = False
    while True:
        left = run.deadline - time.monotonic()
        if left <= 0:
            break
        r, _, _ = select.select([run.io_fd], [], [], left)
        if not r:
            break
        chunk = os.read(run.io_fd, 1 << 16)
        if not chunk:
            break
        buf += chunk
        if len(buf) > cap:
            truncated = True
            del buf[cap:]
            break
    run.kill()
    return bytes(buf), truncated


def _program_argv(job: dict[str, Any]) -> tuple[str, list[str] | None, dict[str, str]]:
    lang = job["language"]
    if lang == "python":
        return "main", None, {}
    if lang in ("c", "cpp"):
        return "exec", ["/build/a.out" if T.setup.mountns else os.path.join(T.setup.box_parent, "build", "a.out")], {}
    if lang == "javascript":
        heap = f"--max-old-space-size={int(job['limits']['memory_mb'])}"
        return "exec", [job["toolchain"]["node"], heap, "main.js"], {"main.js": job["code"]}
    raise ValueError(f"unsupported language {lang!r}")


def _run_stdio(job: dict[str, Any], send: Any, job_deadline: float) -> None:
    mode, argv, files = _program_argv(job)
    for i, case in enumerate(job["cases"]):
        left = job_deadline - time.monotonic()
        if left <= 0:
            send({"case": i, "skipped": "job time limit reached"})
            continue
        wall = min(float(job["limits"]["wall_s"]), left)
        code = _candidate_code(job, "main.py") if mode == "main" else None
        req = {"mode": mode, "argv": argv, "code": code or job["code"], "files": files, "limits": _limits(job, wall)}
        req["stdin"] = case.get("input", "")
        run = Spawned(req)
        out, truncated = _read_output(run, int(job["limits"]["output_bytes"]))
        st = run.status()
        run.close()
        send({"case": i, "stdout": out.decode(errors="replace"), "truncated": truncated, "status": st})
        if job.get("early_stop") and not _ack():
            return


# A top-level statement starts in column 0, or follows a semicolon or a backslash line
# continuation (an indented ``assert`` is inside a block, never top-level); test code where
# nothing matches has no top-level assert. A match anywhere else (in a string, after a ``;``
# inside a block) only sends the test down the slower, exact path.
_TOP_ASSERT = re.compile(r"^\f*assert\b|(?:;|\\\r?\n)[ \t\f]*(?:\\\r?\n[ \t\f]*)*assert\b", re.MULTILINE)


def _rpc_spawner(job: dict[str, Any]) -> Any:
    """How :class:`.rpc.RPC` starts a run of this job's candidate module."""

    def spawn(wall: float) -> Spawned:
        code = _candidate_code(job, "solution.py") or job["code"]
        return Spawned({"mode": "rpc", "code": code, "limits": _limits(job, wall)})

    return spawn


def _case_wall(job: dict[str, Any], job_deadline: float) -> float:
    return max(0.05, min(float(job["limits"]["wall_s"]), job_deadline - time.monotonic()))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, AssertionError):
        return "assertion failed" + (f": {exc}" if str(exc) else "")
    return f"{type(exc).__name__}: {exc}"[:500]


def _run_call(job: dict[str, Any], send: Any, job_deadline: float) -> None:
    rpc = RPC(job, _rpc_spawner(job))
    fn_name = job["fn_name"]
    for i, case in enumerate(job["cases"]):
        if time.monotonic() >= job_deadline:
            send({"case": i, "skipped": "job time limit reached"})
            continue
        wall = _case_wall(job, job_deadline)
        res: dict[str, Any] = {"case": i}
        try:
            if rpc.run is None:
                rpc.start(wall)
            rpc.deadline = time.monotonic() + wall
            if rpc.load_error:
                res["error"] = f"solution failed to load: {rpc.load_error}"
            else:
                target = rpc.globals.get(fn_name)
                if target is None:
                    res["error"] = f"solution defines no {fn_name!r}"
                elif not isinstance(target, Remote) or not target._c:
                    res["error"] = f"{fn_name!r} is not callable"
                else:
                    args = [decode(a) for a in case["args"]]
                    kwargs = {k: decode(v) for k, v in case.get("kwargs", {}).items()}
                    val = target(*args, **kwargs)
                    res["value"] = encode(val)
        except TimeoutError as exc:
            res["error"] = str(exc)
            res["timeout"] = True
        except CandidateGone as exc:
            res["error"] = str(exc)
        except Exception as exc:  # noqa: BLE001 - the candidate raised: this case fails
            res["error"] = _describe(exc)
        send(res)
        if job.get("early_stop") and not _ack():
            break
    rpc.stop()


_TESTS: dict[str, list[tuple[bool, Any]]] = {}
_TESTS_MAX = 256  # test texts kept compiled, each at most _TESTS_MAX_CHARS long
_TESTS_MAX_CHARS = 1 << 16


def _test_groups(src: str) -> list[tuple[bool, Any]]:
    """Test code as (is_case, code object) pairs: the statements before the first top-level
    ``assert`` are setup, and every statement from it on is a case (an ``assert`` or not, so a
    failing ``check(add)`` after the last assert fails a case); with no top-level assert
    (HumanEval's ``check(candidate)``) the whole text is one case. Compiled once per test
    text and kept (the newest
    :data:`_TESTS_MAX`, up to 64 KiB of text each): in GRPO every completion of a prompt is
    tested by the same code, and a code object is never changed by running it."""
    groups = _TESTS.pop(src, None)  # popped and re-inserted: dict order is recency
    if groups is None:
        if _TOP_ASSERT.search(src) is None:
            # No statement can be a top-level assert: one case, compiled from the text
            # (parsing it into Python AST objects first would double the cost).
            groups = [(True, compile(src, "tests.py", "exec", dont_inherit=True))]
        else:
            import ast

            body = ast.parse(src, "tests.py").body
            if not any(isinstance(s, ast.Assert) for s in body):
                groups = [
                    (True, compile(ast.Module(body=body, type_ignores=[]), "tests.py", "exec", dont_inherit=True))
                ]
            else:
                # Setup is what comes before the first assert; every statement from it on is a
                # case (grpo_rewards.verifiers.code.assert_case_count counts them the same way).
                first = next(i for i, s in enumerate(body) if isinstance(s, ast.Assert))
                groups = [
                    (
                        i >= first,
                        compile(ast.Module(body=[s], type_ignores=[]), "tests.py", "exec", dont_inherit=True),
                    )
                    for i, s in enumerate(body)
                ]
        if len(src) > _TESTS_MAX_CHARS:
            return groups
        if len(_TESTS) >= _TESTS_MAX:
            del _TESTS[next(iter(_TESTS))]
    _TESTS[src] = groups
    return groups


def _candidate_names(names: dict[str, Any], test_code: str) -> dict[str, Any]:
    """The candidate's globals as the test code sees them. They can never stand in for what the
    tests rely on: a global named like a builtin (``def sorted(...)``) is left out, so the tests'
    ``sorted``, ``len`` and ``range`` stay Python's own; and a global named like a standard
    module that is not that module (``class math: isclose = ...``) is replaced by the real
    module wherever the test code uses the name as a module (``math.isclose``)."""
    out = {}
    for k, v in names.items():
        if k in _BUILTIN_NAMES:
            continue
        if k in sys.stdlib_module_names and type(v) is not _ModuleType:
            if re.search(rf"(?<![\w.]){re.escape(k)}\s*\.", test_code):
                try:
                    v = __import__(k)
                except ImportError:
                    continue
        out[k] = v
    return out


_BUILTIN_NAMES = frozenset(vars(builtins))
_ModuleType = type(builtins)


def _run_assert(job: dict[str, Any], send: Any, job_deadline: float) -> None:
    """Run Python test code in T against proxies of the candidate's module in U. Statements
    before the first top-level ``assert`` are setup, every statement from it on is a case (a
    test with no top-level assert, e.g. HumanEval's ``check(candidate)``, is one case)."""
    try:
        groups = _test_groups(job["test_code"])
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        if isinstance(exc, SyntaxError):
            why = f"does not parse: line {exc.lineno}: {exc.msg}"
        else:
            why = f"does not compile: {type(exc).__name__}: {exc}"
        send({"bad_tests": f"assert test code {why}"})
        return
    rpc = RPC(job, _rpc_spawner(job))
    ns: dict[str, Any] = {}
    case = 0
    setup_error: str | None = None
    stop = False

    def ensure() -> None:
        nonlocal ns
        if rpc.run is None:
            rpc.start(_case_wall(job, job_deadline))
            ns = {"__name__": "__main__", "__builtins__": builtins}
            ns.update(_candidate_names(rpc.globals, job["test_code"]))
            if rpc.load_error:
                raise CandidateGone(f"solution failed to load: {rpc.load_error}")

    for is_case, code in groups:
        if not is_case and setup_error is not None:
            continue
        res: dict[str, Any] = {"case": case}
        if stop or time.monotonic() >= job_deadline:
            if is_case:
                res["skipped"] = "stopped early" if stop else "job time limit reached"
                send(res)
                case += 1
            continue
        try:
            if setup_error is not None:
                raise RuntimeError(setup_error)
            ensure()
            rpc.deadline = time.monotonic() + _case_wall(job, job_deadline)
            exec(code, ns)
            res["passed"] = True
        except TimeoutError as exc:
            res["error"] = str(exc) or "time limit exceeded"
            res["timeout"] = True
        except CandidateGone as exc:
            res["error"] = str(exc)
        except (JobTimeout, SandboxFault):
            raise
        except BaseException as exc:  # noqa: BLE001 - anything else fails the case
            res["error"] = _describe(exc)
            import traceback

            tb = traceback.extract_tb(exc.__traceback__)
            lines = [f.lineno for f in tb if f.filename == "tests.py"]
            if lines:
                res["line"] = lines[-1]
        if not is_case:
            if "passed" not in res:
                setup_error = f"test setup failed: {res['error']}"
                if rpc.load_error:
                    setup_error = res["error"]
            continue
        send(res)
        case += 1
        if job.get("early_stop") and not _ack():
            stop = True
    rpc.stop()


def _run_assert_program(job: dict[str, Any], send: Any, job_deadline: float) -> None:
    """Non-Python assert tests: test code appended to the program; it passes when the program
    exits with status 0 having printed the per-run token as its last line (the token is drawn
    here, after the candidate zygote forked, so the candidate cannot know it in advance)."""
    token = base64.b32encode(os.urandom(15)).decode()
    lang = job["language"]
    mode, argv, files = _program_argv(job)
    if lang == "javascript":
        files = {"main.js": job["code"] + "\n" + job["test_code"] + f'\nconsole.log("\\n{token}");\n'}
    wall = _case_wall(job, job_deadline)
    run = Spawned({"mode": mode, "argv": argv, "code": "", "files": files, "limits": _limits(job, wall)})
    out, _ = _read_output(run, int(job["limits"]["output_bytes"]))
    st = run.status()
    run.close()
    lines = out.decode(errors="replace").rstrip().splitlines()
    passed = st.get("exit") == 0 and bool(lines) and lines[-1].strip() == token
    res: dict[str, Any] = {"case": 0, "passed": passed}
    if not passed:
        res["error"] = "program did not complete the tests" + (f" ({_status_text(st)})" if st else "")
        if st.get("killed") == "timeout":
            res["timeout"] = True
    send(res)


def _status_text(st: dict[str, Any]) -> str:
    if st.get("killed") == "timeout":
        return "time limit exceeded"
    if st.get("signal"):
        return f"killed by signal {st['signal']}"
    return f"exit status {st.get('exit')}"
