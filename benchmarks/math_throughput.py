"""Throughput, agreement and worst-case latency of the ``math`` verifier against plain math-verify.

The peer is math-verify used the way TRL's ``accuracy_reward`` uses it (trl/rewards/accuracy_rewards.py):
sequentially, ``parse(gold, extraction_mode="first_match")``, ``parse(completion, [LatexExtractionConfig(
normalization_config=NormalizationConfig(nits=False, malformed_operators=False, basic_latex=True,
boxed="all", units=True), boxed_match_priority=0, try_extract_without_anchor=False)],
extraction_mode="first_match")`` and ``verify(gold, answer)``, in the main thread (so its
``signal.alarm`` timeouts are active). Both run in this one process run, on the same items:

- ``gsm8k_test.jsonl``: each gold solution (``... #### 72``) scored against itself;
- ``math_cot_samples.jsonl``: 800 real completions on MATH against their gold answers;
- adversarial inputs (power towers, huge factorials, a megabyte answer, a polynomial that makes
  sympy's simplify run for minutes, ...): per-item latency. The peer runs each in a subprocess
  killed after ``--adversarial-limit`` seconds, because ``signal.alarm`` cannot interrupt sympy
  inside C code and some of these would otherwise never return.

"Cold cache": the verifier's verdict cache starts empty for each data set, its worker processes
are freshly started (their start-up is reported separately), and math-verify's parse caches are
cleared before the peer's run.

Usage::

    python benchmarks/math_throughput.py [--data ../shared/data] [--workers N] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grpo_rewards.contract import Outcome, Sample  # noqa: E402
from grpo_rewards.verifiers._math.pool import default_workers  # noqa: E402
from grpo_rewards.verifiers.math import MathVerifier  # noqa: E402

ADVERSARIAL: list[tuple[str, str, str]] = [
    ("power tower", "The answer is $\\boxed{9^{9^{9^{9}}}}$", "3"),
    ("huge power", "The answer is $\\boxed{2^{10^{8}}}$", "3"),
    ("factorial of a power", "The answer is $\\boxed{(10^{10})!}$", "3"),
    ("slow simplify", "The answer is $\\boxed{x^{2000}+1}$", "$(x+1)^{2000}$"),
    ("slow expansion", "The answer is $\\boxed{(x+y+1)^{200}}$", "$x^{200}+1$"),
    ("megabyte answer", "The answer is $\\boxed{" + "1+" * 500_000 + "1}$", "1000001"),
    ("deep nesting", "$\\boxed{" + "\\frac{1}{" * 300 + "2" + "}" * 300 + "}$", "2"),
    ("unclosed boxes", "\\boxed{" * 20_000 + "7", "7"),
]

_PEER_SNIPPET = textwrap.dedent(
    """
    import json, sys, time, logging
    logging.disable(logging.WARNING)
    from latex2sympy2_extended import NormalizationConfig
    from math_verify import LatexExtractionConfig, parse, verify
    completion, gold, alarm = json.loads(sys.stdin.read())
    # With alarm=False: math-verify's signal.alarm timeouts off, as they must be off the main
    # thread (TRL's async reward functions, any threaded trainer).
    kw = {} if alarm else {"parsing_timeout": None}
    vkw = {} if alarm else {"timeout_seconds": None}
    t = time.perf_counter()
    g = parse(gold, extraction_mode="first_match", **kw)
    ok = None
    if g:
        a = parse(completion, extraction_config=[LatexExtractionConfig(normalization_config=NormalizationConfig(
            nits=False, malformed_operators=False, basic_latex=True, boxed="all", units=True),
            boxed_match_priority=0, try_extract_without_anchor=False)], extraction_mode="first_match", **kw)
        try:
            ok = bool(verify(g, a, **vkw))
        except Exception:
            ok = None
    print(json.dumps({"seconds": time.perf_counter() - t, "ok": ok}))
    """
)


def peer_reward(completion: str, gold: str) -> float | None:
    """TRL's accuracy_reward for one completion (math-verify parse + verify, default timeouts)."""
    from latex2sympy2_extended import NormalizationConfig
    from math_verify import LatexExtractionConfig, parse, verify

    gold_parsed = parse(gold, extraction_mode="first_match")
    if not gold_parsed:
        return None
    answer_parsed = parse(
        completion,
        extraction_config=[
            LatexExtractionConfig(
                normalization_config=NormalizationConfig(
                    nits=False, malformed_operators=False, basic_latex=True, boxed="all", units=True
                ),
                boxed_match_priority=0,
                try_extract_without_anchor=False,
            )
        ],
        extraction_mode="first_match",
    )
    try:
        return float(verify(gold_parsed, answer_parsed))
    except Exception:  # noqa: BLE001 - TRL returns None here too
        return None


def clear_peer_caches() -> None:
    from math_verify import parser

    for name in ("parse_latex_cached", "parse_expr_cached"):
        fn = getattr(parser, name, None)
        if fn is not None and hasattr(fn, "cache_clear"):
            fn.cache_clear()


def load(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def run_dataset(name: str, items: list[tuple[str, str]], args: argparse.Namespace) -> dict[str, Any]:
    clear_peer_caches()
    t = time.perf_counter()
    peer = [peer_reward(c, g) for c, g in items]
    peer_s = time.perf_counter() - t

    def score_all(v: MathVerifier) -> list[Any]:
        out: list[Any] = []
        for i in range(0, len(items), args.batch_size):
            chunk = items[i : i + args.batch_size]
            out.extend(v.score_batch([Sample(c, {"answer": g}) for c, g in chunk]))
        return out

    # Cold process: nothing started; worker start-up is paid if (and when) a batch needs sympy.
    v = MathVerifier(workers=args.workers, timeout=args.timeout)
    t = time.perf_counter()
    score_all(v)
    cold_s = time.perf_counter() - t
    v.close()
    # Warm workers, cold cache: a new verifier (empty cache), fresh workers started untimed.
    v = MathVerifier(workers=args.workers, timeout=args.timeout)
    t = time.perf_counter()
    v.pool().start()
    startup_s = time.perf_counter() - t
    t = time.perf_counter()
    ours = score_all(v)
    ours_s = time.perf_counter() - t
    paths: dict[str, int] = {}
    for s in ours:
        assert not isinstance(s, BaseException), s
        p = str(s.info.get("path", s.outcome.value))
        paths[p] = paths.get(p, 0) + 1
    v.close()
    correct = [not isinstance(s, BaseException) and s.outcome is Outcome.CORRECT for s in ours]
    agree = sum(c == (p == 1.0) for c, p in zip(correct, peer, strict=True)) / len(items)
    return {
        "dataset": name,
        "items": len(items),
        "peer_seconds": peer_s,
        "peer_items_per_s": len(items) / peer_s,
        "ours_seconds": ours_s,
        "ours_items_per_s": len(items) / ours_s,
        "ratio": peer_s / ours_s,
        "cold_process_seconds": cold_s,
        "ratio_cold_process": peer_s / cold_s,
        "startup_seconds": startup_s,
        "agreement_with_peer": agree,
        "ours_correct": sum(correct),
        "peer_correct": sum(p == 1.0 for p in peer),
        "peer_none": sum(p is None for p in peer),
        "paths": paths,
        "_correct": correct,
        "_peer": peer,
    }


def _peer_isolated(completion: str, gold: str, alarm: bool, limit: float) -> dict[str, Any]:
    """The peer on one item in a subprocess killed after ``limit`` seconds."""
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _PEER_SNIPPET],
            input=json.dumps([completion, gold, alarm]),
            capture_output=True,
            text=True,
            timeout=limit,
        )
    except subprocess.TimeoutExpired:
        return {"seconds": None, "ok": f"killed after {limit:g}s"}
    line = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    return json.loads(line) if line else {"seconds": None, "ok": f"crashed (exit code {proc.returncode})"}


def adversarial(args: argparse.Namespace) -> list[dict[str, Any]]:
    out = []
    v = MathVerifier(workers=args.workers, timeout=args.timeout, cache_size=0)
    v.pool().start()
    for label, completion, gold in ADVERSARIAL:
        t = time.perf_counter()
        s = v.score(Sample(completion, {"answer": gold}))
        ours_s = time.perf_counter() - t
        peer = {alarm: _peer_isolated(completion, gold, alarm, args.adversarial_limit) for alarm in (True, False)}
        out.append(
            {
                "input": label,
                "ours_seconds": ours_s,
                "ours_outcome": s.outcome.value,
                "peer_seconds": peer[True]["seconds"],
                "peer_result": peer[True]["ok"],
                "peer_thread_seconds": peer[False]["seconds"],
                "peer_thread_result": peer[False]["ok"],
            }
        )
    v.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--workers", type=int, default=0, help="worker processes (0: one per CPU)")
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("--batch-size", type=int, default=256, help="completions per score_batch call")
    ap.add_argument("--adversarial-limit", type=float, default=20.0, help="seconds before the peer is killed")
    ap.add_argument("--skip-adversarial", action="store_true")
    ap.add_argument("--json", type=Path, help="write the figures here")
    args = ap.parse_args()
    logging.disable(logging.WARNING)

    from math_verify import parse

    parse("$1$")  # import and initialise the peer before timing, as we start our workers first

    gsm = load(args.data / "gsm8k_test.jsonl")
    cot = load(args.data / "math_cot_samples.jsonl")
    results = [
        run_dataset("gsm8k gold solutions", [(r["answer"], r["answer"]) for r in gsm], args),
        run_dataset("MATH completions", [(r["completion"], r["answer"]) for r in cot], args),
    ]
    ref = [bool(r["reference_score"]) for r in cot]
    results[1]["ours_agreement_with_reference"] = sum(
        a == b for a, b in zip(results[1]["_correct"], ref, strict=True)
    ) / len(ref)
    results[1]["peer_agreement_with_reference"] = sum(
        (p == 1.0) == b for p, b in zip(results[1]["_peer"], ref, strict=True)
    ) / len(ref)
    adv = [] if args.skip_adversarial else adversarial(args)

    cpus = default_workers()
    print(
        f"# math verifier vs math-verify (TRL accuracy_reward), {cpus} CPUs, workers={args.workers or cpus}, timeout={args.timeout:g}s, load avg {os.getloadavg()[0]:.1f}\n"
    )
    print(
        "| data | items | math-verify items/s | ours items/s | ratio | ratio, cold process "
        "| agreement | ours correct | math-verify correct |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(
            f"| {r['dataset']} | {r['items']} | {r['peer_items_per_s']:.0f} | {r['ours_items_per_s']:.0f} | "
            f"{r['ratio']:.1f}x | {r['ratio_cold_process']:.1f}x | {r['agreement_with_peer']:.1%} | "
            f"{r['ours_correct']} | {r['peer_correct']} (None: {r['peer_none']}) |"
        )
    print(
        f"\nworker start-up: {results[0]['startup_seconds']:.1f}s / {results[1]['startup_seconds']:.1f}s; paths (MATH): {results[1]['paths']}; paths (gsm8k): {results[0]['paths']}"
    )
    print(
        f"agreement with the Qwen2.5-Math reference grader on MATH: ours {results[1]['ours_agreement_with_reference']:.1%}, "
        f"math-verify {results[1]['peer_agreement_with_reference']:.1%}"
    )
    if adv:
        print(
            "\n| adversarial input | ours (s) | ours outcome | math-verify, main thread (s) | result "
            "| math-verify, alarm off (s) | result |"
        )
        print("|---|---|---|---|---|---|---|")
        for a in adv:

            def sec(x: float | None) -> str:
                return f"{x:.2f}" if x is not None else "-"

            print(
                f"| {a['input']} | {a['ours_seconds']:.2f} | {a['ours_outcome']} | {sec(a['peer_seconds'])} | "
                f"{a['peer_result']} | {sec(a['peer_thread_seconds'])} | {a['peer_thread_result']} |"
            )
        worst = max(a["ours_seconds"] for a in adv)
        print(f"\nworst-case latency (ours): {worst:.2f}s (limit: timeout + 1s = {args.timeout + 1:g}s)")
    if args.json:
        for r in results:
            r.pop("_correct")
            r.pop("_peer")
        args.json.write_text(json.dumps({"datasets": results, "adversarial": adv, "cpus": cpus}, indent=2))


if __name__ == "__main__":
    main()
