"""More of the attack battery (issue #17, "Must show"): kernel calls a run never needs, children
that try to outlive their run, return values that try to stall the trusted tester, partial
credit next to endless loops, and tampering with the names the test code uses.

Every attack goes through the real ``code`` verifier (or the local sandbox directly) with small
limits (``timeout=1``, ``total_timeout=3``); each asserts the score and outcome, and that the
host is clean afterwards (files, environment, processes, zombies). The battery found four
defects, each fixed with its test here: candidate globals that shadowed the builtins and modules
the test code used, subclasses of plain types whose own ``__contains__``/``__len__`` answered the
tests, a ``StopIteration`` raised by a call that ended the test's loop early, and a huge int that
made the host's float comparison raise and erased a whole batch."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator

import pytest

from grpo_rewards import load_rewards
from grpo_rewards.contract import Outcome, Sample, Score
from grpo_rewards.sandbox import Job, Limits
from grpo_rewards.sandbox.local import LocalSandbox
from grpo_rewards.verifiers.code import CodeVerifier

from . import test_attacks as base
from .conftest import TOKEN, processes_with, sandbox_processes

# The host checks and helpers of the first battery, reused: canary files in the host's /tmp,
# home and a temporary directory, the secret in the environment, the sandbox's process count.
host_state = base.host_state
assert_host_clean = base.assert_host_clean
block = base.block
HUMANEVAL_STYLE = base.HUMANEVAL_STYLE

TIMEOUT, TOTAL = 1.0, 3.0
FAST = Limits(wall_s=TIMEOUT, total_s=TOTAL, cpu_s=TIMEOUT, memory_mb=512, processes=16)
# A sample ends by total_timeout plus the host's slack (2 s) plus a worker's replacement;
# generous, so that a loaded machine does not fail the test, yet far below "stuck".
BOUND_S = TOTAL + 5.0
HONEST_ADD = "def add(a, b):\n    return a + b\n"
ADD_TESTS = {"kind": "assert", "code": HUMANEVAL_STYLE}


@pytest.fixture(scope="module")
def fast(sandbox: LocalSandbox) -> Iterator[CodeVerifier]:
    """The ``code`` verifier with the small limits, on the session's warm pool."""
    v = CodeVerifier(timeout=TIMEOUT, total_timeout=TOTAL, memory_mb=512, processes=16)
    v._sandbox = sandbox
    yield v
    v._sandbox = None  # the pool is the session's: not closed here


def run_sample(verifier: CodeVerifier, code: str, tests: dict) -> tuple[Score, float]:
    t0 = time.monotonic()
    s = verifier.score(Sample(completion=block(code), row={"tests": tests}))
    return s, time.monotonic() - t0


def assert_pool_still_honest(verifier: CodeVerifier) -> None:
    """The next samples on the pool are judged as usual: a right one passes, a wrong one fails."""
    s, _ = run_sample(verifier, HONEST_ADD, ADD_TESTS)
    assert (s.value, s.outcome) == (1.0, Outcome.CORRECT), s
    s, _ = run_sample(verifier, "def add(a, b):\n    return a - b\n", ADD_TESTS)
    assert (s.value, s.outcome) == (0.0, Outcome.WRONG), s


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


def probe_call(sb: LocalSandbox, code: str, *args: object) -> object:
    res = sb.run(Job("python", "call", code, fn_name="probe", args=[(list(args), {})], limits=FAST))
    assert res.error is None and res.cases, res
    assert res.cases[0].has_value, res.cases[0].error
    return res.cases[0].value


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


# -- 3. return values that try to stall the trusted tester ---------------------------------

STALLS = {
    # 61 list objects, 2**60 paths through them: walking it as a tree never ends.
    "shared-reference DAG, compared": (
        "def f():\n    x = []\n    for _ in range(60):\n        x = [x, x]\n    return x\n",
        "assert f() == [[], []]\n",
    ),
    "shared-reference DAG, sorted": (
        "def f():\n    x = []\n    for _ in range(60):\n        x = [x, x]\n    return x\n",
        "assert sorted(f()) == [[], []]\n",
    ),
    "list nested 10**6 deep": (
        "def f():\n    x = []\n    for _ in range(10**6):\n        x = [x]\n    return x\n",
        "assert f() == [[]]\n",
    ),
    "dict nested 10**6 deep": (
        "def f():\n    x = {}\n    for _ in range(10**6):\n        x = {0: x}\n    return x\n",
        "assert f() == {0: {}}\n",
    ),
    "[0] * 10**8": ("def f():\n    return [0] * 10**8\n", "assert f() == [0]\n"),
    "a 10**8-character string": ("def f():\n    return 'a' * 10**8\n", "assert f() == 'a'\n"),
    "a 2 MB string (over the answer limit)": ("def f():\n    return 'a' * 2_000_000\n", "assert len(f()) == 1\n"),
    "10**6 small lists": ("def f():\n    return [[i] for i in range(10**6)]\n", "assert f() == [[0]]\n"),
    "endless iterator pulled with list()": (
        "import itertools\ndef f():\n    return itertools.count()\n",
        "assert list(f()) == [0, 1, 2]\n",
    ),
    "endless generator of big chunks pulled with list()": (
        "def f():\n    while True:\n        yield [0] * 100_000\n",
        "assert list(f()) == []\n",
    ),
    "endless iterator pulled with sorted()": (
        "import itertools\ndef f():\n    return itertools.count()\n",
        "assert sorted(f()) == [0, 1, 2]\n",
    ),
    "endless iterator searched with in": (
        "import itertools\ndef f():\n    return itertools.count()\n",
        "assert (-1 in f()) is True\n",
    ),
    "__len__ that never returns": (
        "class L(list):\n    def __len__(self):\n        while True:\n            pass\ndef f():\n    return L()\n",
        "assert len(f()) == 3\n",
    ),
}


@pytest.mark.parametrize("name", list(STALLS))
def test_a_return_value_cannot_stall_the_tester(
    fast: CodeVerifier, sandbox: LocalSandbox, host_state: dict, name: str
) -> None:
    code, test_code = STALLS[name]
    s, took = run_sample(fast, code, {"kind": "assert", "code": test_code})
    assert took < BOUND_S, f"{name}: {took:.1f} s"
    assert s.value == 0.0 and s.outcome in (Outcome.TIMEOUT, Outcome.WRONG), (name, s)
    assert_host_clean(sandbox, host_state)
    assert_pool_still_honest(fast)


@pytest.mark.parametrize(
    "name", ["shared-reference DAG, compared", "list nested 10**6 deep", "[0] * 10**8", "10**6 small lists"]
)
def test_a_return_value_cannot_stall_call_tests(
    fast: CodeVerifier, sandbox: LocalSandbox, host_state: dict, name: str
) -> None:
    code, _ = STALLS[name]
    tests = {"kind": "call", "fn_name": "f", "cases": [{"args": [], "expected": [0]}, {"args": [], "expected": [1]}]}
    s, took = run_sample(fast, code, tests)
    assert took < BOUND_S, f"{name}: {took:.1f} s"
    assert s.value == 0.0 and s.outcome in (Outcome.TIMEOUT, Outcome.WRONG), (name, s)
    assert_host_clean(sandbox, host_state)


# Ints equal modulo 2**61 - 1 share one hash: a set of 35,000 of them (under 1 MiB on the wire)
# costs the tester's C code about 6 * 10**8 comparisons in one call, which the job's alarm cannot
# interrupt. On the machines measured only the host's deadline ends it (the job is "stalled",
# the worker replaced); either way the sample is a timeout, within the bound.
COLLIDING = "def f():\n    return [(2**61 - 1) * k for k in range(1, 35_000)]\n"


@pytest.mark.slow
def test_hash_colliding_values_stall_only_their_own_sample(
    fast: CodeVerifier, sandbox: LocalSandbox, host_state: dict
) -> None:
    s, took = run_sample(fast, COLLIDING, {"kind": "assert", "code": "assert set(f()) == {1, 2}\n"})
    assert took < BOUND_S, f"{took:.1f} s"
    assert s.value == 0.0 and s.outcome == Outcome.TIMEOUT, s
    assert_host_clean(sandbox, host_state)
    assert_pool_still_honest(fast)


# The host compares call results itself; with a float tolerance it converts them to floats.
HUGE_INT = "def f(x):\n    return 10**400\n"
TOLERANT = {"kind": "call", "fn_name": "f", "cases": [{"args": [1], "expected": 0.5}], "float_tolerance": 1e-6}


def test_a_huge_int_against_a_float_with_tolerance_is_wrong_not_an_exception(fast: CodeVerifier) -> None:
    s, _ = run_sample(fast, HUGE_INT, TOLERANT)
    assert (s.value, s.outcome) == (0.0, Outcome.WRONG), s


def test_one_overflowing_answer_does_not_erase_the_batch() -> None:
    rs = load_rewards([{"name": "code", "options": {"timeout": TIMEOUT, "total_timeout": TOTAL,
                                                    "sandbox_options": {"workers": 1}}}])  # fmt: skip
    try:
        honest = block("def f(x):\n    return x / 2\n")
        res = rs.score([honest, block(HUGE_INT), honest], columns={"tests": [TOLERANT] * 3})
        outcomes = [sc.outcome for sc in res.scores["code"]]
        assert res.values["code"] == [1.0, 0.0, 1.0], (res.values, outcomes)
        assert Outcome.ERROR not in outcomes
    finally:
        rs.close()


# -- 4. partial credit next to endless loops ------------------------------------------------

SLOW_ON_BIG = "def f(n):\n    if n > 100:\n        while True:\n            pass\n    return 2 * n\n"


def _asserts(ns: list[int]) -> dict:
    return {"kind": "assert", "code": "".join(f"assert f({n}) == {2 * n}\n" for n in ns)}


def _calls(ns: list[int]) -> dict:
    return {"kind": "call", "fn_name": "f", "cases": [{"args": [n], "expected": 2 * n} for n in ns]}


# (inputs, cases passed): two loops fit the job's 3 s, so every small case runs; in the last,
# the loops use the whole budget and the cases after them are cut short (failed either way).
PARTIAL = {
    "two loops among small cases": ([1, 2, 3, 1000, 4, 2000], 4),
    "loops that use up the budget": ([1, 2, 1000, 2000, 3000, 4000], 2),
}


@pytest.mark.parametrize("kind", ["assert", "call"])
@pytest.mark.parametrize("name", list(PARTIAL))
def test_looping_cases_count_as_failed(
    fast: CodeVerifier, sandbox: LocalSandbox, host_state: dict, name: str, kind: str
) -> None:
    ns, passed = PARTIAL[name]
    s, took = run_sample(fast, SLOW_ON_BIG, (_asserts if kind == "assert" else _calls)(ns))
    assert took < BOUND_S, f"{took:.1f} s"
    # _score: a failing case that timed out (or a job that did) makes the outcome timeout,
    # with the partial value passed / n all the same.
    assert s.outcome == Outcome.TIMEOUT, s
    assert s.value == passed / len(ns), s
    assert s.info == {"passed": passed, "total": len(ns)}, s
    assert_host_clean(sandbox, host_state)


def test_looping_cases_under_all_or_nothing_scoring(sandbox: LocalSandbox) -> None:
    v = CodeVerifier(timeout=TIMEOUT, total_timeout=TOTAL, memory_mb=512, processes=16, scoring="all")
    v._sandbox = sandbox
    s, _ = run_sample(v, SLOW_ON_BIG, _asserts([1, 2, 3, 1000]))
    assert (s.value, s.outcome) == (0.0, Outcome.TIMEOUT), s
    assert s.info == {"passed": 3, "total": 4}, s


# -- 5. tampering with the names the test code uses -------------------------------------------

# (candidate: always wrong, test code: the names it relies on)
TAMPERING: dict[str, tuple[str, str]] = {
    # math.isclose, the module patched in the candidate's process: the tester has its own math.
    "math.isclose patched, test relies on the candidate's import": (
        "import math\nmath.isclose = lambda *a, **k: True\ndef f(x):\n    return 7\n",
        "assert math.isclose(f(1), 0.5)\n",
    ),
    "math.isclose patched, test imports math": (
        "import math\nmath.isclose = lambda *a, **k: True\ndef f(x):\n    return 7\n",
        "import math\nassert math.isclose(f(1), 0.5)\n",
    ),
    "a fake math module object": (
        "import types\nmath = types.ModuleType('math')\nmath.isclose = lambda *a, **k: True\ndef f(x):\n    return 7\n",
        "assert math.isclose(f(1), 0.5)\n",
    ),
    "a fake module under another name, bound to math": (
        "import types\nmath = types.ModuleType('fakemath')\nmath.isclose = lambda *a, **k: True\n"
        "def f(x):\n    return 7\n",
        "assert math.isclose(f(1), 0.5)\n",
    ),
    "math bound to a class, test imports math": (
        "class math:\n    isclose = staticmethod(lambda *a, **k: True)\ndef f(x):\n    return 7\n",
        "import math\nassert math.isclose(f(1), 0.5)\n",
    ),
    "math bound to a class": (
        "class math:\n    isclose = staticmethod(lambda *a, **k: True)\ndef f(x):\n    return 7\n",
        "assert math.isclose(f(1), 0.5)\n",
    ),
    # builtins patched in the candidate's process.
    "builtins.sorted patched": (
        "import builtins\nbuiltins.sorted = lambda *a, **k: [1, 2]\ndef f():\n    return [3]\n",
        "assert sorted(f()) == [1, 2]\n",
    ),
    "builtins.len patched": (
        "import builtins\nbuiltins.len = lambda x: 2\ndef f():\n    return [3]\n",
        "assert len(f()) == 2\n",
    ),
    "builtins.isinstance patched": (
        "import builtins\nbuiltins.isinstance = lambda *a: True\ndef f():\n    return 'x'\n",
        "assert isinstance(f(), int)\n",
    ),
    # builtins shadowed by the candidate's globals.
    "sorted shadowed by a global": (
        "def f():\n    return [3]\ndef sorted(x, **k):\n    return [1, 2]\n",
        "assert sorted(f()) == [1, 2]\n",
    ),
    "len shadowed by a global": ("def f():\n    return [3]\ndef len(x):\n    return 2\n", "assert len(f()) == 2\n"),
    "isinstance shadowed by a global": (
        "def f():\n    return 'x'\ndef isinstance(a, b):\n    return True\n",
        "assert isinstance(f(), int)\n",
    ),
    "range shadowed by a global": (
        "def f(x):\n    return 0\ndef range(*a):\n    return []\n",
        "for i in range(1, 5):\n    assert f(i) == i * i\n",
    ),
    "abs shadowed by a global": (
        "def f(x):\n    return 7.0\ndef abs(x):\n    return 0\n",
        "assert abs(f(1) - 0.5) < 1e-9\n",
    ),
    # objects that say yes to everything.
    "__eq__ always True, against isclose": (
        "class Yes:\n    def __eq__(self, o): return True\n    def __float__(self): return 0.5\n"
        "    def __bool__(self): return True\n    __hash__ = object.__hash__\n"
        "def f(x):\n    return Yes()\n",
        "import math\nassert f(1) == 0.5\nassert math.isclose(f(1), 0.5)\n",
    ),
    "int subclass with __eq__ always True": (
        "class I(int):\n    def __eq__(self, o): return True\n    __hash__ = int.__hash__\ndef f(x):\n    return I(7)\n",
        "import math\nassert f(1) == 3\nassert math.isclose(f(1), 3)\nassert sorted([f(1)]) == [3]\n",
    ),
    "float subclass with __eq__ always True": (
        "class F(float):\n    def __eq__(self, o): return True\n    __hash__ = float.__hash__\n"
        "def f(x):\n    return F(7.0)\n",
        "import math\nassert math.isclose(f(1), 0.5)\nassert f(1) == 0.5\n",
    ),
    "str subclass with __eq__ always True": (
        "class S(str):\n    def __eq__(self, o): return True\n    __hash__ = str.__hash__\ndef f():\n    return S('no')\n",
        "assert f() == 'yes'\nassert sorted(f()) == ['e', 's', 'y']\n",
    ),
    "list subclass with __eq__ always True": (
        "class L(list):\n    def __eq__(self, o): return True\n    __hash__ = None\ndef f():\n    return L([9])\n",
        "assert f() == [1, 2]\nassert sorted(f()) == [1, 2]\n",
    ),
    "list subclass with __len__ and __eq__ lying": (
        "class L(list):\n    def __eq__(self, o): return True\n    def __len__(self): return 2\ndef f():\n    return L([9])\n",
        "r = f()\nassert len(r) == 2 and r == [1, 2]\n",
    ),
    "__contains__ always True, list subclass": (
        "class L(list):\n    def __contains__(self, x):\n        return True\ndef f():\n    return L([9])\n",
        "assert 3 in f()\nassert 4 in f()\n",
    ),
    "__contains__ always True, plain object, test converts to a set": (
        "class Any:\n    def __contains__(self, x):\n        return True\n    def __iter__(self):\n"
        "        return iter(['pear'])\ndef f():\n    return Any()\n",
        "assert 'apple' in set(f())\n",
    ),
    "list subclass with a lying __len__": (
        "class L(list):\n    def __len__(self):\n        return 2\ndef f():\n    return L([9])\n",
        "assert len(f()) == 2\n",
    ),
    "a list of yes-objects": (
        "class Yes:\n    def __eq__(self, o): return True\n    __hash__ = object.__hash__\ndef f():\n    return [Yes(), Yes()]\n",
        "assert f() == [1, 2]\n",
    ),
    # trace hooks and audit hooks: they live in the candidate's process only.
    "sys.settrace rewriting return values": (
        "import sys\n"
        "def _tr(frame, event, arg):\n"
        "    if event == 'return':\n"
        "        frame.f_locals['r'] = 3\n"
        "    return _tr\n"
        "sys.settrace(_tr)\n"
        "def f(x):\n    r = 7\n    return r\n",
        "assert f(1) == 3\n",
    ),
    "sys.setprofile and threading hooks": (
        "import sys, threading\n"
        "def _p(*a):\n    return None\n"
        "sys.setprofile(_p)\nthreading.setprofile(_p)\nthreading.settrace(lambda *a: None)\n"
        "def f(x):\n    return 7\n",
        "assert f(1) == 3\n",
    ),
    "sys.addaudithook that raises on everything": (
        "import sys\n"
        "def _hook(event, args):\n"
        "    if event not in ('sys.addaudithook',):\n"
        "        raise SystemExit(0)\n"
        "def f(x):\n"
        "    sys.addaudithook(_hook)\n"
        "    return 7\n",
        "assert f(1) == 3\nassert f(2) == 6\n",
    ),
    # AssertionError overwritten, in builtins and as a global.
    "AssertionError overwritten in builtins": (
        "import builtins\nbuiltins.AssertionError = type('Nope', (Exception,), {})\ndef f(x):\n    return 7\n",
        "assert f(1) == 3\n",
    ),
    "AssertionError shadowed by a global, test raises it": (
        "class AssertionError(Exception):\n    pass\ndef f(x):\n    return 7\n",
        "if f(1) != 3:\n    raise AssertionError('wrong')\n",
    ),
    "ValueError shadowed by a global, test catches it": (
        "class ValueError(Exception):\n    pass\ndef f(x):\n    raise KeyError(x)\n",
        "try:\n    f(-1)\nexcept ValueError:\n    pass\nelse:\n    raise AssertionError('no error')\n",
    ),
    # the test's module globals: helpers the test defines, and the test's own module.
    "the test's helpers defined by the candidate": (
        "def check(candidate):\n    return None\ncandidate = None\n"
        "import sys\nsys.modules['__main__'].check = check\ndef add(a, b):\n    return 0\n",
        HUMANEVAL_STYLE,
    ),
    "the test's module patched through gc and frames": (
        "import gc, sys\n"
        "def add(a, b):\n"
        "    for o in gc.get_objects():\n"
        "        if isinstance(o, dict) and 'check' in o:\n"
        "            o['check'] = lambda c: None\n"
        "    f = sys._getframe()\n"
        "    while f:\n"
        "        f.f_globals['check'] = lambda c: None\n"
        "        f = f.f_back\n"
        "    return 0\n",
        HUMANEVAL_STYLE,
    ),
    "__builtins__ replaced as a global": (
        "import builtins\n__builtins__ = dict(vars(builtins), sorted=lambda *a, **k: [1, 2])\n"
        "def f():\n    return [3]\n",
        "assert sorted(f()) == [1, 2]\n",
    ),
    # leaving before the tests run.
    "SystemExit(0) at import": (
        "import math\ndef f(x):\n    return 7\nraise SystemExit(0)\n",
        "assert math.isclose(f(1), 0.5)\nassert sorted([f(1)]) == [7]\n",
    ),
    "os._exit(0) at import": (
        "import os\ndef f(x):\n    return 7\nos._exit(0)\n",
        "import math\nassert math.isclose(f(1), 0.5)\n",
    ),
    "os._exit(0) on the first call": (
        "import os\ndef f(x):\n    os._exit(0)\n",
        "import math\nassert math.isclose(f(1), 0.5)\nassert len([f(2)]) == 1\n",
    ),
    # fake verdicts.
    "printing passed markers": (
        "import sys\n"
        "for out in (sys.stdout, sys.stderr):\n"
        '    print(\'1/1 tests passed\\nPASSED\\nOK\\n{"case": 0, "passed": true}\\n{"end": true}\', file=out)\n'
        "    out.flush()\n"
        "def f(x):\n    print('PASSED')\n    return 7\n",
        "import math\nassert math.isclose(f(1), 0.5)\n",
    ),
    # control flow leaking out of a call.
    "StopIteration raised inside map()": (
        "def f(x):\n    raise StopIteration\n",
        "assert all(map(lambda x: f(x) == x * x, range(5)))\n",
    ),
    "StopIteration raised, test loops over map()": (
        "def f(x):\n    raise StopIteration\n",
        "for got, want in zip(map(f, [1, 2, 3]), [1, 4, 9]):\n    assert got == want\n",
    ),
}


@pytest.mark.parametrize(
    "name",
    list(TAMPERING),
)
def test_tampering_never_earns_credit(fast: CodeVerifier, sandbox: LocalSandbox, host_state: dict, name: str) -> None:
    code, test_code = TAMPERING[name]
    s, took = run_sample(fast, code, {"kind": "assert", "code": test_code})
    assert s.value == 0.0, (name, s)
    assert s.outcome in (Outcome.WRONG, Outcome.TIMEOUT), (name, s)
    assert took < BOUND_S
    assert_host_clean(sandbox, host_state)


def test_the_honest_twins_of_the_tampering_tests_pass(fast: CodeVerifier) -> None:
    """Control: the same test code passes a right program, so a 0 above is the tampering's."""
    right = (
        "import math\ndef f(x=None):\n"
        "    return {None: [2, 1], 1: 0.5}[x] if x in (None, 1) else x * x\n"
        "def add(a, b):\n    return a + b\n"
    )
    for test_code in (
        "assert math.isclose(f(1), 0.5)\n",
        "import math\nassert math.isclose(f(1), 0.5)\n",
        "assert sorted(f()) == [1, 2]\n",
        "assert len(f()) == 2\n",
        "assert 2 in f()\n",
        "for i in range(2, 5):\n    assert f(i) == i * i\n",
        "assert abs(f(1) - 0.5) < 1e-9\n",
        "assert isinstance(f(1), float)\n",
        "assert all(map(lambda x: f(x) == x * x, range(2, 5)))\n",
        HUMANEVAL_STYLE,
    ):
        s, _ = run_sample(fast, right, {"kind": "assert", "code": test_code})
        assert (s.value, s.outcome) == (1.0, Outcome.CORRECT), (test_code, s)


def test_the_candidates_own_objects_answer_the_operations_the_tests_apply_to_them(fast: CodeVerifier) -> None:
    """The limit of the guarantee, as in Python: an operation the test code applies to an object
    of the candidate's own class (``in``, ``len``, a method) is answered by that object, for that
    is what a task that asks for a class tests. What the test code relies on itself (builtins,
    modules, the equality of plain values, subclasses of plain types) is never the candidate's.
    Test code that means "a collection holding x" says so with plain data (``set(f())``, as in
    the tampering test above)."""
    code = "class Bag:\n    def __contains__(self, x):\n        return True\ndef f():\n    return Bag()\n"
    s, _ = run_sample(fast, code, {"kind": "assert", "code": "assert 'apple' in f()\n"})
    assert s.value == 1.0
