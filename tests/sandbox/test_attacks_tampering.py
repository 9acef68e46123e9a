"""The attack battery (issue #17, "Must show"), tampering with the names the test code uses:
builtins, modules and plain types patched or shadowed by the candidate.

Every attack goes through the real ``code`` verifier with small limits (``timeout=1``,
``total_timeout=3``); each asserts the score and outcome, and that the host is clean
afterwards. Runs in the test process, which trusts nothing the candidate returns. The battery
found defects fixed with their tests here: candidate globals that shadowed the builtins and
modules the test code used, subclasses of plain types whose own ``__contains__``/``__len__``
answered the tests, and a ``StopIteration`` raised by a call that ended the test's loop early.
"""

from __future__ import annotations

import pytest

from grpo_rewards.contract import Outcome
from grpo_rewards.sandbox.local import LocalSandbox
from grpo_rewards.verifiers.code import CodeVerifier

from . import _attack_helpers as helpers
from ._attack_helpers import BOUND_S, HUMANEVAL_STYLE, assert_host_clean, run_sample

# The fixtures of the shared set-up: the host's state before the battery, the fast verifier.
host_state = helpers.host_state
fast = helpers.fast


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
