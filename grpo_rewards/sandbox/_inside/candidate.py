"""A run (U): the candidate's side. It trusts nothing, and nothing trusts it.

PID 1 of its own PID namespace, forked from the zygote. Before any candidate code runs it takes
its private scratch, its descriptors (its own output pipe or RPC socket, nothing that reaches
the host), its limits, a cleared capability set and the inherited seccomp filter; set-up
failures up to that point are the sandbox's (reported as ``fault`` on the status pipe, which is
closed before candidate code runs). Then the candidate's program runs (``main``), or its module
loads and answers the tester's RPC requests with plain data or handles (``rpc``), or a compiled
program is exec'd (``exec``).
"""

from __future__ import annotations

import builtins
import errno
import fcntl
import json
import marshal
import os
import resource
import sys

from .kernel import check
from .wire import Channel, FrameError, _type_name, decode, encode, send_frame

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time: the candidate zygote stays small
    from typing import Any


def run(
    req: dict[str, Any],
    plan: Any,
    box: str,
    status_w: int,
    out_w: int,
    rpc_fd: int,
    run_calls: list[tuple[Any, tuple[Any, ...], str]],
    env: dict[str, str],
) -> None:
    """U: the candidate's process, PID 1 of its own namespace. Private mounts, descriptors,
    limits and filters first; then the candidate runs, holding no descriptor but its own."""
    # Every page this process writes is copied from the zygote (about 10 us each on a VM):
    # the setup below is kept to what cannot be done once in the zygote.
    # Our pipes must not be 0-3, which are rearranged below (in practice they never are: the
    # zygote's own 0-2 are taken and its channel to the tester came first).
    if 0 <= status_w <= 3:
        status_w = fcntl.fcntl(status_w, fcntl.F_DUPFD, 10)
    if 0 <= out_w <= 3:
        out_w = fcntl.fcntl(out_w, fcntl.F_DUPFD, 10)
    if 0 <= rpc_fd <= 3:
        rpc_fd = fcntl.fcntl(rpc_fd, fcntl.F_DUPFD, 10)
    os.setsid()  # own session and process group: kill(0, ...) reaches only this run
    try:
        for name, text in (req.get("files") or {}).items():
            with open(os.path.join(box, name), "w") as f:
                f.write(text)
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
            raise
        # The program (its source, for the languages that write it out) does not fit the
        # run's disk limit: the candidate's doing, a failed case like any other.
        os.write(status_w, json.dumps({"setup_error": f"the program does not fit the disk limit: {exc}"}).encode())
        os._exit(120)
    # The zygote's descriptors 0 and 1 are /dev/null (see main); 2 may be the host's stderr.
    # dup2() makes the copies inheritable, as exec mode needs.
    os.dup2(out_w if out_w >= 0 and req.get("stderr_to_stdout") else 1, 2)
    if out_w >= 0:
        os.dup2(out_w, 1)
    if req.get("stdin"):
        stdin_path = os.path.join(box, ".stdin")
        with open(stdin_path, "wb") as fb:
            fb.write(req["stdin"].encode())
        fd_in = os.open(stdin_path, os.O_RDONLY)
        os.unlink(stdin_path)
        os.dup2(fd_in, 0)
    if rpc_fd >= 0:
        os.dup2(rpc_fd, 3)
        rpc_fd = 3
    keep = 4 if rpc_fd == 3 else 3
    os.closerange(keep, status_w)  # everything else the zygote held: its channel, other pipes
    os.closerange(status_w + 1, 1 << 16)
    os.chdir(box)
    for which, pair in plan:  # see rlimit_plan
        resource.setrlimit(which, pair)
    for fn, args, what in run_calls:  # capset, then the seccomp filter (see _run_calls)
        check(fn(*args), what)
    os.close(status_w)  # from here on nothing but the candidate's own descriptors
    mode = req["mode"]
    if mode == "exec":
        argv = req["argv"]
        try:
            os.execve(argv[0], argv, env)
        except OSError as exc:
            os.write(1, f"cannot execute {argv[0]}: {exc}\n".encode())
            os._exit(127)
    code = req["code"]
    if type(code) is bytes:  # compiled by the tester (see _candidate_code)
        code = marshal.loads(code)
    if mode == "main":
        _run_main(code)
    if mode == "rpc":
        _rpc_server(code, rpc_fd)
    os._exit(0)


_CodeType = type(run.__code__)


def _run_main(code: Any) -> None:
    """Run a Python program as ``python main.py`` would, with stdout flushed at the end."""
    sys.stdin = open(0, closefd=False)
    sys.stdout = open(1, "w", closefd=False)
    sys.stderr = open(2, "w", closefd=False)
    sys.argv = ["main.py"]
    sys.path[:0] = ["/box"]
    g = {"__name__": "__main__", "__builtins__": builtins, "__file__": "main.py"}
    status = 0
    try:
        exec(code if type(code) is _CodeType else compile(code, "main.py", "exec", dont_inherit=True), g)
    except SystemExit as exc:
        c = exc.code
        status = c if isinstance(c, int) else (0 if c is None else 1)
        if c is not None and not isinstance(c, int):
            print(c, file=sys.stderr)
    except BaseException:  # noqa: BLE001 - reported as the program's stderr and exit status
        import traceback

        traceback.print_exc()
        status = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # noqa: BLE001
        pass
    os._exit(status & 0xFF)


def _rpc_server(code: Any, fd: int) -> None:
    """Load the candidate module, then answer T's requests: calls, attribute reads, iteration.
    Results go back as plain data or as handles; T never sees a candidate object."""
    objects: dict[int, Any] = {}

    def handle(x: Any) -> int:
        objects[id(x)] = x
        return id(x)

    sys.argv = ["solution.py"]
    sys.path[:0] = ["/box"]
    g: dict[str, Any] = {"__name__": "solution", "__builtins__": builtins}
    try:
        exec(code if type(code) is _CodeType else compile(code, "solution.py", "exec", dont_inherit=True), g)
    except BaseException as exc:  # noqa: BLE001 - SystemExit included: loading must finish
        send_frame(fd, {"load_error": _exc_info(exc)})
        os._exit(0)
    names: dict[str, Any] = {}
    for k, v in list(g.items()):
        if k.startswith("__"):
            continue
        if type(v).__name__ == "module":
            names[k] = {"m": getattr(v, "__name__", k)}
            continue
        try:
            names[k] = encode(v, handle)
        except (ValueError, RecursionError):
            names[k] = {"h": [handle(v), _type_name(v), callable(v)]}
    send_frame(fd, {"globals": names})

    def value(x: Any) -> Any:
        return decode(x, lambda i, t, c: objects[i])

    chan = Channel(fd)
    while True:
        try:
            req = chan.recv_trusted()
        except (FrameError, OSError):
            os._exit(0)
        try:
            op = req["op"]
            obj = objects[req["h"]]
            if op == "call":
                args = [value(a) for a in req["a"]]
                kwargs = {k: value(v) for k, v in req["k"].items()}
                res: Any = obj(*args, **kwargs)
            elif op == "attr":
                res = getattr(obj, req["n"])
            elif op == "iter":
                res = iter(obj)
            elif op == "next":
                try:
                    res = next(obj)
                except StopIteration:
                    send_frame(fd, {"stop": True})
                    continue
            elif op == "len":
                res = len(obj)
            elif op == "item":
                res = obj[value(req["k"])]
            elif op == "contains":
                res = value(req["k"]) in obj
            else:
                raise ValueError(f"unknown op {op!r}")
            try:
                out = {"v": encode(res, handle)}
            except (ValueError, RecursionError) as exc:
                out = {"e": _exc_info(exc)}
        except BaseException as exc:  # noqa: BLE001 - the candidate's exception, sent to T
            out = {"e": _exc_info(exc)}
        send_frame(fd, out)


def _exc_info(exc: BaseException) -> list[str]:
    t = type(exc)
    name = t.__name__ if t.__module__ == "builtins" else "RemoteError"
    try:
        msg = str(exc)[:500]
    except BaseException:  # noqa: BLE001 - a hostile __str__
        msg = "<unprintable>"
    import traceback

    tb = traceback.extract_tb(exc.__traceback__)
    where = f" (solution.py line {tb[-1].lineno})" if tb and tb[-1].filename == "solution.py" else ""
    return [name, msg, f"{t.__name__}: {msg}{where}"]
