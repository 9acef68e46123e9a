"""The local sandbox's own behaviour: layers, strict mode, languages, limits, pickling."""

from __future__ import annotations

import pickle
import shutil
import warnings

import pytest

from grpo_rewards.plugins import get_registry
from grpo_rewards.sandbox import Job, Limits, SandboxUnavailable, get_sandbox
from grpo_rewards.sandbox._inside.seccomp import seccomp_program
from grpo_rewards.sandbox._inside.wire import Opaque, decode, encode
from grpo_rewards.sandbox.local import LAYERS, LocalSandbox

from .conftest import userns_available

FAST = Limits(wall_s=2.0, total_s=8.0, cpu_s=2.0, memory_mb=512, processes=16)


def test_registered_as_local_through_the_hook() -> None:
    entry = get_registry().sandboxes["local"]
    assert entry.factory is LocalSandbox and entry.plugin.builtin


@pytest.mark.skipif(not userns_available(), reason="this kernel refuses user namespaces")
def test_every_layer_is_up_on_this_kernel(sandbox: LocalSandbox) -> None:
    assert set(sandbox.layers) == set(LAYERS)
    assert all(v == "ok" for v in sandbox.layers.values()), sandbox.layers


def test_strict_mode_refuses_when_a_layer_is_missing() -> None:
    sb = LocalSandbox(workers=1, namespaces=False, strict=True)
    with pytest.raises(SandboxUnavailable, match="strict sandbox refuses to run.*mountns"):
        sb.start()
    sb.close()


def test_missing_layers_warn_loudly_once_and_still_run() -> None:
    sb = LocalSandbox(workers=1, namespaces=False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sb.start()
        sb2 = LocalSandbox(workers=1, namespaces=False).start()
    msgs = [str(w.message) for w in caught if "refused isolation layers" in str(w.message)]
    assert len(msgs) <= 1  # once per process (an earlier test may already have warned)
    try:
        res = sb.run(Job("python", "stdio", "print(int(input()) * 2)", inputs=["21"], limits=FAST))
        assert res.cases[0].stdout == "42\n"
    finally:
        sb.close()
        sb2.close()


def test_pickles_as_options_and_rebuilds_its_pool(sandbox: LocalSandbox) -> None:
    clone = pickle.loads(pickle.dumps(sandbox))
    assert clone.n_workers == sandbox.n_workers and not clone._all
    clone.close()


def test_get_sandbox_by_name() -> None:
    sb = get_sandbox("local", workers=1)
    assert isinstance(sb, LocalSandbox)
    sb.close()


def test_wire_format_keeps_exact_types_and_hides_the_rest() -> None:
    value = [1, 2.5, "x", b"\x00", (1, 2), {"a": {1, 2}}, frozenset({3}), None, True, 2**80, float("inf"), 1j]
    assert decode(encode(value)) == value
    assert type(decode(encode((1,)))) is tuple

    class Sneaky(int):
        def __eq__(self, other: object) -> bool:
            return True

    # A subclass of a plain type travels as the base value it holds, read by the base type's
    # own methods: its __eq__ (or __contains__, __len__, __iter__) never crosses.
    out = decode(encode(Sneaky(3)))
    assert type(out) is int and out == 3 and out != 4

    class Liar(list):
        def __contains__(self, x: object) -> bool:
            return True

        def __iter__(self):  # type: ignore[no-untyped-def]
            return iter([7, 7])

        def __len__(self) -> int:
            return 9

    out = decode(encode(Liar([1])))
    assert type(out) is list and out == [1]

    class Thing:
        pass

    assert isinstance(decode(encode(Thing())), Opaque)


def test_seccomp_program_is_well_formed() -> None:
    prog = seccomp_program()
    assert len(prog) < 256
    for i, (code, jt, jf, _k) in enumerate(prog):
        if code in (0x15, 0x35, 0x45):
            assert i + 1 + jt < len(prog) and i + 1 + jf < len(prog)


def test_cpu_and_page_fault_counters_count_the_runs(sandbox: LocalSandbox) -> None:
    # What benchmarks/code_throughput.py reports: every run reaped by the pool is counted.
    job = Job("python", "stdio", "x = [0] * 3_000_000\nprint(len(x))", inputs=["", ""], limits=FAST)
    cpu, faults = sandbox.cpu_seconds(), sandbox.page_faults()
    res = sandbox.run(job)
    assert [c.stdout for c in res.cases] == ["3000000\n"] * 2
    # Two runs that each touched a 24 MB list: at least 2 x 5,000 pages between them.
    assert sandbox.page_faults() - faults >= 10_000
    assert sandbox.cpu_seconds() >= cpu


def test_stdio_program_gets_its_input_and_exit_status(sandbox: LocalSandbox) -> None:
    res = sandbox.run(
        Job("python", "stdio", "import sys\nprint(input()[::-1])\nsys.exit(3)", inputs=["abc", "xy"], limits=FAST)
    )
    assert [(c.stdout, c.exit_code) for c in res.cases] == [("cba\n", 3), ("yx\n", 3)]


def test_call_results_come_back_as_plain_data(sandbox: LocalSandbox) -> None:
    code = "def f(x):\n    return {'n': x, 't': (x, [x]), 's': {x}}\n"
    res = sandbox.run(Job("python", "call", code, fn_name="f", args=[([2], {})], limits=FAST))
    assert res.cases[0].value == {"n": 2, "t": (2, [2]), "s": {2}}


def test_early_stop_stops_at_the_first_failure(sandbox: LocalSandbox) -> None:
    job = Job("python", "stdio", "print(input())", inputs=["1", "2", "3"], limits=FAST, early_stop=True)
    res = sandbox.run(job, judge=lambda case: case.stdout == "1\n")
    assert [c.stdout for c in res.cases] == ["1\n", "2\n"]


def test_job_time_limit_stops_the_tester(sandbox: LocalSandbox) -> None:
    limits = Limits(wall_s=5.0, total_s=1.0, cpu_s=5.0)
    res = sandbox.run(Job("python", "assert", "x = 1", test_code="while True:\n    pass\n", limits=limits))
    assert res.timed_out
    assert sandbox.run(Job("python", "stdio", "print(1)", inputs=[""], limits=FAST)).cases[0].stdout == "1\n"


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")
def test_c_program(sandbox: LocalSandbox) -> None:
    code = '#include <stdio.h>\nint main(){int a,b; scanf("%d %d",&a,&b); printf("%d\\n", a+b); return 0;}\n'
    res = sandbox.run(Job("c", "stdio", code, inputs=["1 2", "40 2"], limits=FAST))
    assert [c.stdout for c in res.cases] == ["3\n", "42\n"]
    bad = sandbox.run(Job("c", "stdio", "int main( {", inputs=[""], limits=FAST))
    assert bad.compile_error and "error" in bad.compile_error


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("g++") is None, reason="g++ not installed")
def test_cpp_program(sandbox: LocalSandbox) -> None:
    code = "#include <iostream>\nint main(){long a,b; std::cin>>a>>b; std::cout<<a*b<<std::endl;}\n"
    res = sandbox.run(Job("cpp", "stdio", code, inputs=["6 7"], limits=FAST))
    assert [c.stdout for c in res.cases] == ["42\n"]


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
def test_javascript_program_and_assert_tests(sandbox: LocalSandbox) -> None:
    code = "const s = require('fs').readFileSync(0, 'utf8').trim();\nconsole.log(s.toUpperCase());\n"
    res = sandbox.run(Job("javascript", "stdio", code, inputs=["hi"], limits=FAST))
    assert res.cases[0].stdout == "HI\n"
    tests = "const assert = require('assert');\nassert.strictEqual(add(1, 2), 3);\n"
    ok = sandbox.run(Job("javascript", "assert", "function add(a, b) { return a + b; }", test_code=tests, limits=FAST))
    assert ok.cases[0].passed
    exits = sandbox.run(
        Job("javascript", "assert", "function add(a, b) { process.exit(0); }", test_code=tests, limits=FAST)
    )
    assert exits.cases[0].passed is False


def test_a_dead_worker_is_replaced_and_close_leaves_nothing_running() -> None:
    import os
    import signal
    import time

    from .conftest import sandbox_processes

    sb = LocalSandbox(workers=1).start()
    try:
        job = Job("python", "stdio", "print(7)", inputs=[""], limits=FAST)
        assert sb.run(job).cases[0].stdout == "7\n"
        os.kill(sb._all[0].proc.pid, signal.SIGKILL)  # the worker dies between two jobs
        time.sleep(0.2)
        failed = sb.run(job)
        assert failed.error and "restarted" in failed.error
        assert sb.run(job).cases[0].stdout == "7\n"  # the replacement works
        pids = sandbox_processes(sb)
        assert len(pids) == 3  # bootstrap, tester, candidate zygote
    finally:
        sb.close()
    # Reaped by the time close() returns, not even left as zombies for PID 1 to collect
    # (tests/sandbox/test_pool_faults.py checks the same with nobody else to collect them).
    assert not [p for p in pids if os.path.exists(f"/proc/{p}")]
    for p in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(p, 0)
