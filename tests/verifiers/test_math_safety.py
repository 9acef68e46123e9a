"""Hard limits of ``math``: the timeout holds from the main thread, from another thread, from an
``async`` reward function and from the ``grpo-rewards score`` CLI; workers that hang or die are
killed and replaced; memory is capped; no worker outlives its owner.

``(x+1)^{2000}`` against ``x^{2000}+1`` passes the prescreen (a degree-2000 polynomial is a
legitimate expression) but makes sympy's simplify run for minutes, so it is the stand-in for
"an input that hangs the checker". The time bounds asserted below are loose (timeout plus many
seconds): they check that nothing hangs, not how fast anything is.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from grpo_rewards import load_rewards
from grpo_rewards.contract import Outcome, Sample, Score
from grpo_rewards.verifiers.math import MathVerifier

pytestmark = pytest.mark.slow  # each test starts worker processes and waits out a timeout

HANG = Sample("The answer is \\boxed{x^{2000}+1}.", {"answer": "(x+1)^{2000}"})
EASY = Sample("The answer is \\boxed{2\\sqrt{2}}.", {"answer": "\\sqrt{8}"})
TIMEOUT = 3.0  # well above what a normal comparison takes on a loaded CI machine
NO_HANG = 30.0  # far above TIMEOUT: only a real hang exceeds it


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture(scope="module")
def verifier() -> Iterator[MathVerifier]:
    v = MathVerifier(timeout=TIMEOUT, workers=2, cache_size=0)
    v.pool().start()  # start-up is not part of any task's time limit
    yield v
    v.close()


def _check(results: list[Score | BaseException]) -> None:
    hang, easy = results
    assert isinstance(hang, Score) and hang.outcome is Outcome.TIMEOUT, hang
    assert hang.value == 0.0 and "worker killed" in hang.detail
    assert isinstance(easy, Score) and easy.outcome is Outcome.CORRECT, easy


def test_timeout_in_the_main_thread(verifier: MathVerifier) -> None:
    before = verifier.pool().pids()
    start = time.monotonic()
    _check(verifier.score_batch([HANG, EASY]))
    assert time.monotonic() - start < NO_HANG
    killed = set(before) - set(verifier.pool().pids())
    assert len(killed) == 1 and not any(_alive(p) for p in killed), "the stuck worker must be killed and reaped"


def test_timeout_in_another_thread(verifier: MathVerifier) -> None:
    box: list[list[Score | BaseException]] = []
    t = threading.Thread(target=lambda: box.append(verifier.score_batch([HANG, EASY])))
    t.start()
    t.join(NO_HANG)
    assert not t.is_alive(), "scoring from a thread hung"
    _check(box[0])


def test_timeout_in_concurrent_threads(verifier: MathVerifier) -> None:
    boxes: list[list[Score | BaseException]] = []
    threads = [threading.Thread(target=lambda: boxes.append(verifier.score_batch([HANG, EASY]))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(NO_HANG * 3)
    assert not any(t.is_alive() for t in threads)
    for b in boxes:
        _check(b)


def test_timeout_in_async_reward_function() -> None:
    rs = load_rewards([{"name": "math", "options": {"timeout": TIMEOUT, "workers": 2}}])
    func = rs.async_reward_funcs[0]
    seen: dict[str, list[str]] = {}

    async def main() -> list[list[float | None]]:
        calls = [
            func(
                completions=[HANG.completion, EASY.completion],
                answer=[HANG.row["answer"], EASY.row["answer"]],
                log_extra=lambda key, values: seen.setdefault(key, values),
            ),
            func(completions=["\\boxed{4}"], answer=["4"]),
        ]
        return list(await asyncio.wait_for(asyncio.gather(*calls), NO_HANG))

    try:
        first, second = asyncio.run(main())
        assert first == [0.0, 1.0] and second == [1.0]
        assert seen["outcome/math"] == ["timeout", "correct"]
    finally:
        rs.close()


def test_timeout_from_the_cli(tmp_path: Path) -> None:
    data = tmp_path / "in.jsonl"
    rows = [
        {"completion": HANG.completion, "answer": HANG.row["answer"]},
        {"completion": "#### 72", "answer": "Natalia sold 72 clips.\n#### 72"},
    ]
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    config = tmp_path / "rewards.toml"
    config.write_text(f'[[rewards]]\nname = "math"\noptions = {{ timeout = {TIMEOUT}, workers = 1 }}\n')
    out = tmp_path / "out.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "grpo_rewards", "score", str(data), "-c", str(config), "-o", str(out), "--no-progress"],
        capture_output=True,
        text=True,
        timeout=NO_HANG * 4,  # includes interpreter and worker start-up
    )
    assert proc.returncode == 0, proc.stderr
    got = [json.loads(line) for line in out.read_text().splitlines()]
    assert [g["outcomes"]["math"] for g in got] == ["timeout", "correct"]
    assert "worker killed" in got[0]["details"]["math"]


def test_worker_that_dies_mid_task_is_replaced(verifier: MathVerifier) -> None:
    slow = MathVerifier(timeout=NO_HANG, workers=1, cache_size=0)
    try:
        pool = slow.pool()
        pool.start()
        (victim,) = pool.pids()
        threading.Timer(0.5, os.kill, (victim, signal.SIGKILL)).start()  # as the OOM killer would
        (res,) = slow.score_batch([HANG])
        assert isinstance(res, Score) and res.outcome is Outcome.TIMEOUT and "worker died" in res.detail
        assert not _alive(victim)
        (ok,) = slow.score_batch([EASY])  # the replacement works
        assert isinstance(ok, Score) and ok.outcome is Outcome.CORRECT
    finally:
        slow.close()


def test_workers_have_a_memory_cap(verifier: MathVerifier) -> None:
    for pid in verifier.pool().pids():
        limits = Path(f"/proc/{pid}/limits").read_text()
        line = next(ln for ln in limits.splitlines() if ln.startswith("Max address space"))
        soft = line.split()[3]
        assert soft != "unlimited", line
        assert int(soft) < 64 * 2**30


def test_workers_exit_when_their_owner_dies_without_closing() -> None:
    code = textwrap.dedent(
        """
        import os, sys
        from grpo_rewards.verifiers.math import MathVerifier
        v = MathVerifier(workers=2, timeout=3)
        v.pool().start()
        print(" ".join(map(str, v.pool().pids())), flush=True)
        os._exit(0)  # no close(), no atexit: the worst case
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=NO_HANG * 4)
    pids = [int(p) for p in proc.stdout.split()]
    assert len(pids) == 2, proc.stderr
    deadline = time.monotonic() + NO_HANG
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(p) for p in pids), "orphaned math workers kept running"


def test_memory_cap_turns_a_blow_up_into_memory_error() -> None:
    # The cap each worker sets on itself: past it, allocations fail instead of growing until the
    # machine swaps (the pool then reports "memory limit" as a timeout, or replaces a dead worker).
    code = textwrap.dedent(
        """
        from grpo_rewards.verifiers._math.worker import _cap_memory
        _cap_memory(64)
        small = bytearray(16 * 2**20)
        try:
            big = bytearray(512 * 2**20)
        except MemoryError:
            print("capped")
        else:
            print("not capped")
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=NO_HANG)
    assert proc.stdout.strip() == "capped", proc.stderr


def test_fractional_timeouts_are_honoured() -> None:
    # math-verify's alarm takes whole seconds (a fraction silently disables it); ours does not.
    v = MathVerifier(timeout=0.5, workers=1, cache_size=0)
    try:
        v.pool().start()
        start = time.monotonic()
        (res,) = v.score_batch([HANG])
        assert isinstance(res, Score) and res.outcome is Outcome.TIMEOUT and "0.5s" in res.detail, res
        assert time.monotonic() - start < NO_HANG
    finally:
        v.close()
