"""The attack battery (issue #17, "Must show"), processes: kernel calls a run never needs
(io_uring, pidfd_getfd) and children that try to outlive their run.

Every attack goes through the real ``code`` verifier (or the local sandbox directly) with small
limits (``timeout=1``, ``total_timeout=3``); each asserts the score and outcome, and that the
host is clean afterwards (files, environment, processes, zombies). Runs in the test process,
which trusts nothing the candidate returns; leaked children are looked for in the host's
``/proc``, not only from inside the sandbox.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import pytest

from grpo_rewards.contract import Outcome
from grpo_rewards.sandbox.local import LocalSandbox
from grpo_rewards.verifiers.code import CodeVerifier

from . import _attack_helpers as helpers
from ._attack_helpers import (
    ADD_TESTS,
    TIMEOUT,
    TOTAL,
    assert_host_clean,
    assert_pool_still_honest,
    probe_call,
    run_sample,
)
from .conftest import TOKEN, processes_with, sandbox_processes

# The fixtures of the shared set-up: the host's state before the battery, the fast verifier.
host_state = helpers.host_state
fast = helpers.fast


def _stat(pid: str) -> tuple[str, int, int] | None:
    """(state, parent, start time) of a process, from /proc."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
        return rest[0], int(rest[1]), int(rest[19])
    except (OSError, IndexError, ValueError):
        return None


def zombies_below(root: int) -> list[int]:
    """Host processes below ``root`` left ``<defunct>``."""
    info = {int(p): st for p in os.listdir("/proc") if p.isdigit() and (st := _stat(p)) is not None}
    found = []
    for pid, (state, _, _) in info.items():
        if state != "Z":
            continue
        p = pid
        for _ in range(64):
            p = info[p][1] if p in info else 0
            if p == root:
                found.append(pid)
                break
            if p <= 1:
                break
    return found


def processes_named(name: str) -> list[int]:
    """Host processes whose name (``/proc/PID/comm``) is ``name``."""
    found = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/comm") as f:
                if f.read().strip() == name:
                    found.append(int(p))
        except OSError:
            continue
    return found


def wait_gone(what: str, probe: Callable[[], list[int]], seconds: float = 3.0) -> None:
    deadline = time.monotonic() + seconds
    while (left := probe()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not left, f"{what} still running on the host: {left}"


# -- 1. kernel calls a run never needs: io_uring and pidfd_getfd ------------------------------

# A raw syscall(2) through ctypes, as the candidate sees it: [return value, errno name].
SYSCALL = (
    "import ctypes, errno, os\n"
    "_libc = ctypes.CDLL(None, use_errno=True)\n"
    "_libc.syscall.restype = ctypes.c_long\n"
    "def _sys(nr, *args):\n"
    "    ctypes.set_errno(0)\n"
    "    a = [x if isinstance(x, ctypes.Array) else ctypes.c_long(x) for x in args]\n"
    "    ret = _libc.syscall(ctypes.c_long(nr), *a)\n"
    "    return [ret, errno.errorcode.get(ctypes.get_errno(), '') if ret == -1 else '']\n"
    "def seccomp_mode():\n"
    "    return [l.split()[1] for l in open('/proc/self/status') if l.startswith('Seccomp:')][0]\n"
)
IO_URING = SYSCALL + (
    "def io_uring_setup():\n"
    "    return _sys(425, 8, ctypes.create_string_buffer(120))  # zeroed struct io_uring_params\n"
    "def io_uring_enter():\n"
    "    r = _sys(425, 8, ctypes.create_string_buffer(120))\n"
    "    return _sys(426, r[0] if r[0] >= 0 else 1000, 1, 0, 0, 0, 0)\n"
    "def io_uring_register():\n"
    "    r = _sys(425, 8, ctypes.create_string_buffer(120))\n"
    "    return _sys(427, r[0] if r[0] >= 0 else 1000, 0, 0, 0)\n"
)
PIDFD_GETFD = SYSCALL + (
    "def pidfd_getfd(target=None):\n"
    "    try:\n"
    "        pidfd = os.pidfd_open(os.getpid() if target is None else target)\n"
    "    except OSError:\n"
    "        pidfd = -1\n"
    "    return _sys(438, pidfd, 3, 0)  # fd 3: the run's channel to the tester\n"
)
# The trusted test code checks what the candidate saw: -1 and a refusal, never a descriptor.
REFUSED = "r = {call}\nassert r[0] == -1 and r[1] in ('EPERM', 'ENOSYS'), r\n"


def _needs_x86_seccomp(sandbox: LocalSandbox) -> None:
    if os.uname().machine != "x86_64":
        pytest.skip("the syscall numbers here are x86-64's")
    if sandbox.layers.get("seccomp") != "ok":
        pytest.skip(f"no seccomp filter on this kernel: {sandbox.layers}")


def test_io_uring_fails_for_the_candidate(fast: CodeVerifier, sandbox: LocalSandbox, host_state: dict) -> None:
    _needs_x86_seccomp(sandbox)
    tests = {
        "kind": "assert",
        "code": "assert seccomp_mode() == '2'\n"
        + "".join(REFUSED.format(call=c) for c in ("io_uring_setup()", "io_uring_enter()", "io_uring_register()")),
    }
    s, _ = run_sample(fast, IO_URING, tests)
    # 1.0 only when the filter is on and all three calls failed for the candidate.
    assert (s.value, s.outcome) == (1.0, Outcome.CORRECT), s
    # The same through call tests, compared on the host: the exact answer is the filter's EPERM.
    tests = {
        "kind": "call",
        "fn_name": "io_uring_setup",
        "cases": [{"args": [], "expected": [-1, "EPERM"]}],
    }
    s, _ = run_sample(fast, IO_URING, tests)
    assert (s.value, s.outcome) == (1.0, Outcome.CORRECT), s
    assert probe_call(sandbox, IO_URING + "def probe():\n    return io_uring_setup()\n") == [-1, "EPERM"]
    assert_host_clean(sandbox, host_state)


def test_pidfd_getfd_fails_for_the_candidate(fast: CodeVerifier, sandbox: LocalSandbox, host_state: dict) -> None:
    _needs_x86_seccomp(sandbox)
    # A pidfd for itself (its parent lies outside its PID namespace), by its pid and as PID 1.
    tests = {
        "kind": "assert",
        "code": "assert seccomp_mode() == '2'\n"
        + REFUSED.format(call="pidfd_getfd()")
        + REFUSED.format(call="pidfd_getfd(1)"),
    }
    s, _ = run_sample(fast, PIDFD_GETFD, tests)
    assert (s.value, s.outcome) == (1.0, Outcome.CORRECT), s
    out = probe_call(sandbox, PIDFD_GETFD + "def probe():\n    return pidfd_getfd()\n")
    assert out == [-1, "EPERM"], out
    assert_host_clean(sandbox, host_state)


# -- 2. children that try to outlive their run --------------------------------------------

MARK = "lk" + TOKEN[-10:]  # a process name (comm, at most 15 characters) only leaked children take
NAME = "import ctypes\ndef _name():\n    ctypes.CDLL(None).prctl(15, ctypes.c_char_p(b'" + MARK + "'), 0, 0, 0)\n"
LEAKERS = {
    "os.fork child that sleeps, then writes and forges frames": (
        NAME + "import json, os, time\n"
        "_msg = json.dumps({'case': 0, 'passed': True}).encode()\n"
        "_forged = len(_msg).to_bytes(4, 'big') + _msg\n"
        "def add(a, b):\n"
        "    if os.fork() == 0:\n"
        "        _name()\n"
        "        time.sleep(0.5)\n"
        "        while True:\n"
        f"            for p in ('/tmp/{TOKEN}', '/box/{TOKEN}', '/{TOKEN}'):\n"
        "                try:\n"
        "                    open(p, 'a').write('late')\n"
        "                except OSError:\n"
        "                    pass\n"
        "            for fd in range(64):\n"
        "                try:\n"
        "                    os.write(fd, _forged)\n"
        "                except OSError:\n"
        "                    pass\n"
        "            time.sleep(0.01)\n"
        "    return a + b\n"
    ),
    "double fork and setsid, ignoring signals, spinning": (
        NAME + "import os, signal\n"
        "def add(a, b):\n"
        "    if os.fork() == 0:\n"
        "        os.setsid()\n"
        "        if os.fork() == 0:\n"
        "            for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT, signal.SIGPIPE):\n"
        "                signal.signal(s, signal.SIG_IGN)\n"
        "            _name()\n"
        "            while True:\n"
        "                pass\n"
        "        os._exit(0)\n"
        "    return a + b\n"
    ),
    "subprocess with start_new_session": (
        "import subprocess, sys\n"
        "def add(a, b):\n"
        "    subprocess.Popen([sys.executable, '-c', 'import time\\nwhile True:\\n    time.sleep(0.01)\\n'\n"
        f'                      \'    open("/tmp/{TOKEN}-late", "a").write("x")  # {TOKEN}\'],\n'
        "                     start_new_session=True, stdin=subprocess.DEVNULL,\n"
        "                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "    return a + b\n"
    ),
    "clone(CLONE_PARENT) from a child, to become U's sibling": (
        NAME + "import ctypes, os, time\n"
        "def add(a, b):\n"
        "    if os.fork() == 0:\n"
        "        libc = ctypes.CDLL(None, use_errno=True)\n"
        "        libc.syscall.restype = ctypes.c_long\n"
        "        pid = libc.syscall(ctypes.c_long(56), ctypes.c_long(0x8000 | 17), *[ctypes.c_long(0)] * 4)\n"
        "        if pid == 0:\n"
        "            _name()\n"
        "            while True:\n"
        "                time.sleep(0.01)\n"
        "        os._exit(0)\n"
        "    return a + b\n"
    ),
    "thread that forks after the call returned": (
        NAME + "import os, threading, time\n"
        "def _later():\n"
        "    time.sleep(0.2)\n"
        "    if os.fork() == 0:\n"
        "        os.setsid()\n"
        "        _name()\n"
        "        while True:\n"
        "            time.sleep(0.01)\n"
        "def add(a, b):\n"
        "    threading.Thread(target=_later, daemon=True).start()\n"
        "    return a + b\n"
    ),
}
# A stdio program whose atexit handler forks a child as the program exits.
STDIO_LEAKER = (
    NAME + "import atexit, os, time\n"
    "def _linger():\n"
    "    if os.fork() == 0:\n"
    "        os.setsid()\n"
    "        _name()\n"
    "        while True:\n"
    "            time.sleep(0.01)\n"
    "atexit.register(_linger)\n"
    "a, b = map(int, input().split())\n"
    "print(a + b)\n"
)
STDIO_TESTS = {"kind": "stdio", "cases": [{"input": "1 2\n", "output": "3\n"}, {"input": "5 5\n", "output": "10\n"}]}

NEXT_JOB = (
    "import os, time\n"
    "def _others():\n"
    "    return [p for p in os.listdir('/proc') if p.isdigit() and p != os.readlink('/proc/self')]\n"
    "def probe(token):\n"
    "    time.sleep(0.8)  # time for a leaked child (had one survived) to act\n"
    "    seen = {'tmp': sorted(os.listdir('/tmp')), 'box': sorted(os.listdir('.')), 'others': _others()}\n"
    "    import subprocess\n"
    "    subprocess.Popen(['/bin/sleep', '10'])\n"
    "    for _ in range(100):  # a process of this run's own, once exec'd, shows here\n"
    "        if _others():\n"
    "            break\n"
    "        time.sleep(0.005)\n"
    "    seen['control'] = len(_others())\n"
    "    return seen\n"
)


def _tree(sb: LocalSandbox) -> set[tuple[int, int]]:
    """The pool's processes, with their start times (a pid can be reused)."""
    pids = sandbox_processes(sb) | {w.proc.pid for w in sb._all}
    return {(p, st[2]) for p in pids if (st := _stat(str(p))) is not None}


def _still_there(procs: set[tuple[int, int]]) -> list[int]:
    return [p for p, start in procs if (st := _stat(str(p))) is not None and st[2] == start]


@pytest.mark.parametrize("name", [*LEAKERS, "stdio program forking at exit"])
def test_children_do_not_outlive_the_run(sandbox: LocalSandbox, host_state: dict, name: str) -> None:
    if name.startswith("clone(") and os.uname().machine != "x86_64":
        pytest.skip("clone is system call 56 on x86-64 only")
    # A pool of one worker of its own: the next job runs where the leaker ran.
    sb = LocalSandbox(workers=1).start()
    closed = False
    try:
        v = CodeVerifier(timeout=TIMEOUT, total_timeout=TOTAL, memory_mb=512, processes=16)
        v._sandbox = sb
        if name in LEAKERS:
            s, _ = run_sample(v, LEAKERS[name], ADD_TESTS)
        else:
            s, _ = run_sample(v, STDIO_LEAKER, STDIO_TESTS)
        assert (s.value, s.outcome) == (1.0, Outcome.CORRECT), s  # the honest part: it does add
        # After the run: nothing it started is left, under its name or its command line.
        wait_gone("a leaked child", lambda: processes_named(MARK) + processes_with(TOKEN))
        # The next job on the same worker sees a clean box and no one else (an exec'd survivor
        # would show in its /proc; forked ones inherit the zygote's non-dumpable flag and stay
        # hidden, which is why the host's own scan above is the check that counts)...
        seen = probe_call(sb, NEXT_JOB, TOKEN)
        assert seen == {"tmp": [], "box": [], "others": [], "control": 1}, seen
        # ...and is judged on its own: a wrong program fails, a right one passes.
        assert_pool_still_honest(v)
        assert not processes_named(MARK) and not processes_with(TOKEN)
        tree = _tree(sb)
        sb.close()
        closed = True
        # After close: no worker, tester, zygote or run left, and nothing left <defunct>.
        assert not _still_there(tree), _still_there(tree)
        assert not processes_named(MARK) and not processes_with(TOKEN)
        assert not zombies_below(os.getpid()), zombies_below(os.getpid())
        assert_host_clean(sandbox, host_state)
    finally:
        if not closed:
            sb.close()
