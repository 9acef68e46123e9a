"""The mix that benchmarks/soak_code.py sends through the code reward: eight small problems,
each under four test formats, and the programs (correct, wrong and hostile) that answer them,
with their shares. Plain data and pure functions: nothing here runs a sandbox (the honest
fraction of a wrong program is computed by running it on the host, in a subprocess)."""

from __future__ import annotations

import json
import random
import secrets
from dataclasses import dataclass, field
from typing import Any

# A marker in the command line of the processes the "children left behind" samples start, so
# that any survivor can be found on the host afterwards.
TOKEN = "soak" + secrets.token_hex(6)

# -- the problems -------------------------------------------------------------------------------

# stdio programs read the arguments as JSON and print the result as JSON (so that no expected
# output is empty: a program that prints nothing never matches).
STDIO_MAIN = "\nimport sys as _sys, json as _json\nprint(_json.dumps({fn}(*_json.loads(_sys.stdin.read()))))\n"


def fmt(v: Any) -> str:
    return json.dumps(v)


@dataclass
class Task:
    fn: str
    correct: str
    wrong: list[str]
    cases: list[tuple[list[Any], Any]]
    prompt: str
    wrap: str = ""  # assert tests compare wrap(result): "list" or "set"


TASKS = [
    Task(
        "add",
        "def add(a, b):\n    return a + b\n",
        [
            "def add(a, b):\n    return a - b\n",
            "def add(a, b):\n    return a + b + 1\n",
            "def add(a, b):\n    return a + b if a < 5 else 0\n",  # honest partial credit
        ],
        [([1, 2], 3), ([2, 2], 4), ([10, 5], 15), ([-5, 5], 0)],
        "Write add(a, b) returning the sum.",
    ),
    Task(
        "rev",
        "def rev(s):\n    return s[::-1]\n",
        [
            "def rev(s):\n    return s\n",  # passes the palindrome only
            "def rev(s):\n    return ''.join(sorted(s))\n",
        ],
        [(["abc"], "cba"), (["racecar"], "racecar"), (["hello"], "olleh"), (["ab"], "ba")],
        "Write rev(s) returning the string reversed.",
    ),
    Task(
        "fib",
        "def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n",
        [
            "def fib(n):\n    a, b = 1, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n",
            "def fib(n):\n    return n\n",
        ],
        [([0], 0), ([1], 1), ([2], 1), ([10], 55), ([20], 6765)],
        "Write fib(n), the n-th Fibonacci number (fib(0) = 0).",
    ),
    Task(
        "is_prime",
        "def is_prime(n):\n    if n < 2:\n        return False\n    i = 2\n    while i * i <= n:\n"
        "        if n % i == 0:\n            return False\n        i += 1\n    return True\n",
        [
            "def is_prime(n):\n    return n % 2 == 1\n",
            "def is_prime(n):\n    return True\n",
        ],
        [([2], True), ([9], False), ([17], True), ([1], False), ([91], False)],
        "Write is_prime(n).",
    ),
    Task(
        "uniq_sorted",
        "def uniq_sorted(xs):\n    return sorted(set(xs))\n",
        [
            "def uniq_sorted(xs):\n    return sorted(xs)\n",
            "def uniq_sorted(xs):\n    return list(set(xs))[::-1]\n",
        ],
        [([[3, 1, 3, 2]], [1, 2, 3]), ([[]], []), ([[5, 5, 5]], [5]), ([[2, 1]], [1, 2])],
        "Write uniq_sorted(xs): the distinct items of xs in ascending order.",
    ),
    Task(
        "gcd",
        "def gcd(a, b):\n    while b:\n        a, b = b, a % b\n    return a\n",
        [
            "def gcd(a, b):\n    return min(a, b)\n",
            "def gcd(a, b):\n    return 1\n",
        ],
        [([12, 18], 6), ([7, 5], 1), ([100, 10], 10), ([9, 6], 3)],
        "Write gcd(a, b).",
    ),
    Task(
        "evens",
        "def evens(n):\n    return list(range(0, n, 2))\n",
        [
            "def evens(n):\n    return list(range(1, n, 2))\n",
            "def evens(n):\n    return list(range(0, n + 1, 2))\n",  # right for odd n only
        ],
        [([5], [0, 2, 4]), ([1], [0]), ([6], [0, 2, 4]), ([0], [])],
        "Write evens(n): the even numbers below n, ascending, as a list.",
        "list",
    ),
    Task(
        "dedupe",
        "def dedupe(xs):\n    return list(dict.fromkeys(xs))\n",
        [
            "def dedupe(xs):\n    return list(set(xs))[:1]\n",
            "def dedupe(xs):\n    return xs[::2]\n",
        ],
        [([[1, 2, 2]], [1, 2]), ([[]], []), ([[3, 3, 3]], [3]), ([[5, 4, 5, 4]], [5, 4])],
        "Write dedupe(xs): the items of xs without repeats, in first-seen order.",
        "set",
    ),
]
TASK = {t.fn: t for t in TASKS}
FORMATS = ("assert", "assert_check", "call", "stdio")


def call_text(task: Task, name: str, args: list[Any]) -> str:
    """``name(args...)`` as test code, wrapped in the task's ``list()`` or ``set()``."""
    call = f"{name}({', '.join(repr(a) for a in args)})"
    return f"{task.wrap}({call})" if task.wrap else call


def expected_text(task: Task, want: Any) -> str:
    return repr(set(want)) if task.wrap == "set" else repr(want)


def tests_for(task: Task, form: str) -> dict[str, Any]:
    """The ``tests`` column value of ``task`` in one of the formats."""
    if form == "assert":  # MBPP style: one case per assert
        lines = [f"assert {call_text(task, task.fn, args)} == {expected_text(task, want)}" for args, want in task.cases]
        return {"kind": "assert", "code": "\n".join(lines) + "\n"}
    if form == "assert_check":  # HumanEval style: one case
        body = "".join(
            f"    assert {call_text(task, 'candidate', args)} == {expected_text(task, want)}\n"
            for args, want in task.cases
        )
        return {"kind": "assert", "code": f"def check(candidate):\n{body}\ncheck({task.fn})\n"}
    if form == "call":
        return {"kind": "call", "fn_name": task.fn, "cases": [{"args": a, "expected": w} for a, w in task.cases]}
    return {"kind": "stdio", "cases": [{"input": json.dumps(a), "output": fmt(w) + "\n"} for a, w in task.cases]}


def program_for(code: str, task: Task, form: str) -> str:
    return code + STDIO_MAIN.format(fn=task.fn) if form == "stdio" else code


def honest_fraction(code: str, task: Task, form: str) -> float:
    """The reward a benign program earns, computed on the host by running it (only the
    correct and wrong programs above, which are ours)."""
    from grpo_rewards.verifiers.code import values_equal

    ns: dict[str, Any] = {}
    exec(compile(code, "<reference>", "exec"), ns)
    f = ns[task.fn]
    ok = []
    for args, want in task.cases:
        got = f(*json.loads(json.dumps(args)))
        if task.wrap and form.startswith("assert"):
            got, want = (list(got), want) if task.wrap == "list" else (set(got), set(want))
        if form.startswith("assert"):
            ok.append(type(got) is type(want) and got == want if isinstance(want, bool) else got == want)
        elif form == "call":
            ok.append(values_equal(got, want))
        else:
            ok.append(fmt(got) == fmt(want))
    if form == "assert_check":
        return 1.0 if all(ok) else 0.0
    return sum(ok) / len(ok)


# -- the hostile programs -----------------------------------------------------------------------
# Each is (where, text): "fn" puts the text in the body of the task's function (its arguments
# are *args, **kwargs), "top" puts it at module level before an honest-looking wrong function.
# None of them may ever earn a reward above 0.


def _fn(body: str) -> tuple[str, str]:
    return "fn", body


HOSTILE: dict[str, tuple[str, str]] = {
    # time
    "infinite_loop": _fn("while True:\n    pass\n"),
    "sleep": _fn("import time\ntime.sleep(100)\nreturn 0\n"),
    # memory
    "memory_bomb": _fn("x = bytearray(1 << 36)\nreturn len(x)\n"),
    "growing_memory_bomb": _fn("xs = []\nwhile True:\n    xs.append(bytearray(1 << 24))\n"),
    # crashes
    "os_exit": _fn("import os\nos._exit(0)\n"),
    "segfault_ctypes": _fn("import ctypes\nctypes.string_at(0)\nreturn 0\n"),
    "raise": _fn("raise RuntimeError('boom')\n"),
    "abort": _fn("import os\nos.abort()\n"),
    # forged verdicts
    "print_pass_markers": _fn(
        "import sys\n"
        "for s in (sys.stdout, sys.stderr):\n"
        '    print(\'PASSED\\nALL TESTS PASSED\\n{"case": 0, "passed": true}\\nOK\', file=s)\n'
        "    s.flush()\n"
        "return None\n"
    ),
    "sys_exit_early": ("top", "import sys\nsys.exit(0)\n"),
    "sys_exit_in_function": _fn("import sys\nsys.exit(0)\n"),
    "atexit_success": (
        "top",
        "import atexit, os, sys\n"
        "atexit.register(lambda: (print('ALL TESTS PASSED'), sys.stdout.flush(), os._exit(0)))\n",
    ),
    "eq_always_true": _fn(
        "class Yes:\n"
        "    def __eq__(self, other): return True\n"
        "    def __ne__(self, other): return False\n"
        "    def __bool__(self): return True\n"
        "    def __hash__(self): return 0\n"
        "    def __iter__(self): return iter([Yes()])\n"  # list(f()) / set(f()) hold a Yes, never []
        "    def __len__(self): return 1\n"
        "return Yes()\n"
    ),
    "int_subclass_eq": _fn(
        "class I(int):\n    def __eq__(self, other): return True\n    __hash__ = int.__hash__\nreturn I(-987654321)\n"
    ),
    "patch_builtins": (
        "top",
        "import builtins\n"
        "builtins.AssertionError = type('Nope', (Exception,), {})\n"
        "builtins.print = lambda *a, **k: None\n"
        "builtins.isinstance = lambda *a: True\n"
        "builtins.__import__ = None\n",
    ),
    "fake_frames_to_fds": (
        "top",
        "import json, os, struct\n"
        "_m = json.dumps({'case': 0, 'passed': True}).encode()\n"
        "for _fd in range(64):\n"
        "    try:\n        os.write(_fd, struct.pack('>I', len(_m)) + _m)\n    except OSError:\n        pass\n",
    ),
    "kill_parent": _fn(
        "import os, signal\n"
        "for pid in (os.getppid(), 1, 0, -1):\n"
        "    for sig in (signal.SIGKILL, signal.SIGTERM):\n"
        "        try:\n            os.kill(pid, sig)\n        except (OSError, ValueError):\n            pass\n"
        "return None\n"
    ),
    "close_fds": ("top", "import os\nos.closerange(0, 65536)\n"),
    # endless iterators handed to the test code (list(f()) never ends)
    "endless_iterator": _fn("import itertools\nreturn itertools.count()\n"),
    "endless_generator": _fn("def g():\n    while True:\n        yield 0\nreturn g()\n"),
    # ints equal modulo 2**61 - 1 share a hash: set() of them is one long C call in the tester
    "hash_collisions": _fn("return [(2**61 - 1) * k for k in range(1, 35_000)]\n"),
    # processes
    "fork_bomb": _fn("import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"),
    "children_left_behind": _fn(
        "import os\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        f"        os.execv('/bin/sh', ['/bin/sh', '-c', 'sleep 60 # {TOKEN}'])\n"
        "    os._exit(0)\n"
        "if os.fork() == 0:\n"
        "    import time\n"
        "    time.sleep(60)\n"
        "    os._exit(0)\n"
        "return None\n"
    ),
    "runaway_threads": (
        "top",
        "import threading as _t, time as _tm\n"
        "def _spin():\n    while True:\n        _tm.sleep(0.001)\n"
        "for _ in range(8):\n    _t.Thread(target=_spin, daemon=False).start()\n",
    ),
    # recursion, output
    "deep_recursion": _fn(
        "import sys\nsys.setrecursionlimit(10**8)\ndef r(n):\n    return r(n + 1) + 1\nreturn r(0)\n"
    ),
    "endless_output": _fn("import sys\nwhile True:\n    print('x' * 10000)\n"),
    "huge_string": _fn("return 'x' * (1 << 28)\n"),
    "huge_integer": _fn("return 7 ** 2_000_000\n"),
}

# Shares of the mix (fractions of --samples). The cheap kinds (crashes, forgeries) are common;
# the kinds that cost a whole time limit each (loops, sleeps, bombs, stalls) are rarer so that the
# default run fits in about 10-15 minutes on 2 cores. "correct" takes what is left.
CHEAP_HOSTILE = (
    "memory_bomb",
    "os_exit",
    "segfault_ctypes",
    "raise",
    "abort",
    "print_pass_markers",
    "sys_exit_early",
    "sys_exit_in_function",
    "atexit_success",
    "eq_always_true",
    "int_subclass_eq",
    "patch_builtins",
    "fake_frames_to_fds",
    "kill_parent",
    "close_fds",
    "children_left_behind",
    "runaway_threads",
)
COSTLY_HOSTILE = (  # each runs into a time limit: up to total_timeout (3 s) of a worker
    "infinite_loop",
    "sleep",
    "growing_memory_bomb",
    "fork_bomb",
    "deep_recursion",
    "endless_output",
    "huge_string",
    "huge_integer",
    "endless_iterator",
    "endless_generator",
    "hash_collisions",
)
# Kinds that need a task's particular tests: (task, the test formats drawn from).
OWN_TESTS = {
    "endless_iterator": ("evens", ("assert", "assert", "assert_check", "call")),  # list(f()) in the tests
    "endless_generator": ("evens", ("assert", "assert", "assert_check", "call")),
    "hash_collisions": ("dedupe", ("assert", "assert", "assert_check", "call")),  # set(f()) in the tests
}
assert set(CHEAP_HOSTILE) | set(COSTLY_HOSTILE) == set(HOSTILE)
SHARES: dict[str, float] = {
    "wrong": 0.20,
    **{k: 0.01 for k in CHEAP_HOSTILE},  # 17 x 1% = 17%
    **{k: 0.002 for k in COSTLY_HOSTILE},  # 11 x 0.2% = 2.2%
}
SHARES["correct"] = 1.0 - sum(SHARES.values())
KINDS = ["correct", "wrong", *HOSTILE]


def hostile_program(kind: str, task: Task, form: str) -> str:
    where, text = HOSTILE[kind]
    if where == "fn":
        body = "".join("    " + ln + "\n" if ln else "\n" for ln in text.splitlines())
        code = f"def {task.fn}(*args, **kwargs):\n{body}"
    else:
        code = text + f"def {task.fn}(*args, **kwargs):\n    return None\n"
    return program_for(code, task, form)


@dataclass
class Item:
    kind: str
    task: Task
    form: str
    program: str
    expected: float  # the reward it has earned (0 for every hostile program)
    completion: str = ""
    tests: dict[str, Any] = field(default_factory=dict)


def kind_counts(n: int) -> dict[str, int]:
    """How many samples of each kind: each share of n rounded down, at least one of each kind
    from 40 samples on, and the rest correct."""
    counts = {k: int(SHARES[k] * n) for k in KINDS if k != "correct"}
    if n >= 40:
        counts = {k: max(1, c) for k, c in counts.items()}
    counts["correct"] = n - sum(counts.values())
    if counts["correct"] < 0:
        raise SystemExit(f"--samples {n} is too small for the mix")
    return counts


def build_items(n: int, seed: int) -> list[Item]:
    rng = random.Random(seed)
    counts = kind_counts(n)
    kinds = [k for k, c in counts.items() for _ in range(c)]
    rng.shuffle(kinds)
    fractions: dict[tuple[str, str, str], float] = {}
    items = []
    for i, kind in enumerate(kinds):
        if kind in OWN_TESTS:
            task, form = TASK[OWN_TESTS[kind][0]], rng.choice(OWN_TESTS[kind][1])
        else:
            task, form = rng.choice(TASKS), rng.choice(FORMATS)
        if kind == "correct":
            code = task.correct
            program, expected = program_for(code, task, form), 1.0
        elif kind == "wrong":
            code = rng.choice(task.wrong)
            key = (task.fn, code, form)
            if key not in fractions:
                fractions[key] = honest_fraction(code, task, form)
                assert fractions[key] < 1.0, f"a wrong program of {task.fn} passes every {form} case"
            program, expected = program_for(code, task, form), fractions[key]
        else:
            program, expected = hostile_program(kind, task, form), 0.0
        prose = rng.choice(("Here is my solution.\n", "<think>easy</think>\n", "Sure!\n\n"))
        item = Item(kind, task, form, program, expected)
        item.completion = f"{prose}```python\n{program}```\n" + ("Done.\n" if i % 3 == 0 else "")
        item.tests = tests_for(task, form)
        items.append(item)
    return items
