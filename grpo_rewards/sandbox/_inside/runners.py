"""The runners, one per test kind: how the tester runs a job's cases and what each case's
verdict is. Runs in the tester (see :mod:`.tester` for what it may trust).

- ``stdio``: one run per case; its output goes to the host, which compares it.
- ``call``: one run of the candidate's module; each case calls its function through
  :mod:`.rpc`; the return value (plain data) goes to the host, which compares it.
- ``assert`` (Python): the test code runs here, in the tester, against proxies of the
  candidate's module; statements before the first top-level ``assert`` are setup, every
  statement from it on is a case. The candidate's globals never shadow what the test code
  relies on (:func:`_candidate_names`).
- ``assert`` (JavaScript): the tests are appended to the program, which must print a token
  drawn here as its last line.
"""

from __future__ import annotations

import base64
import builtins
import marshal
import os
import re
import select
import sys
import time

from .rpc import RPC, CandidateGone, Remote
from .tester import JobTimeout, SandboxFault, Spawned, T, _ack, _send_host
from .wire import decode, encode

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time: the candidate zygote stays small
    from typing import Any


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


def run_job(job: dict[str, Any]) -> None:
    """Run one job's cases with the runner of its kind; frames go to the host as they end."""
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
