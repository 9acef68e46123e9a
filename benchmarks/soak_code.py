"""Soak test of the ``code`` reward: many mixed samples (correct, wrong and hostile) through one
``RewardSet``, scored in batches through the TRL reward function, as a trainer would.

Checks while it runs: every correct sample scores 1.0 with outcome ``correct``; every wrong
sample scores exactly its honest fraction (computed here by running the benign program on the
host); no hostile sample ever gets a reward above 0. Reports throughput, the slowest batch,
per-sample latency (time in the sandbox), the host's resident memory, the sandbox's worker
replacements, and what is left behind after ``RewardSet.close()``: processes, file descriptors
and ``grpo-sandbox-*`` temporary directories.

    python benchmarks/soak_code.py                    # 20,000 samples, about 14 min on 2 cores
    python benchmarks/soak_code.py --quick            # a smoke run: every kind at least once
    python benchmarks/soak_code.py --samples 2000 --batch-size 256 --json soak.json

Exit status: 0 clean; 1 a correctness or credit violation; 3 no violation, but something was
left behind after close (processes, descriptors or temporary directories).
"""

from __future__ import annotations

import argparse
import glob
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from soak_mix import (
    KINDS,
    TOKEN,
    build_items,
)

# -- host observation ---------------------------------------------------------------------------


def rss_kib() -> dict[str, int]:
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                out[line.split(":")[0]] = int(line.split()[1])
    return out


def fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def fd_targets() -> list[str]:
    out = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            out.append(f"{fd}->{os.readlink(f'/proc/self/fd/{fd}')}")
        except OSError:
            continue
    return sorted(out, key=lambda s: int(s.split("->")[0]))


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    comm: str
    state: str
    session: int
    start: int  # clock ticks after boot: (pid, start) names one process even if pids are reused


def processes() -> dict[int, Proc]:
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                text = f.read()
        except OSError:
            continue
        head, rest = text.rsplit(")", 1)
        fields = rest.split()
        out[int(name)] = Proc(
            int(name), int(fields[1]), head.split("(", 1)[1], fields[0], int(fields[3]), int(fields[19])
        )
    return out


def descendants(procs: dict[int, Proc], root: int) -> list[Proc]:
    kids: dict[int, list[int]] = defaultdict(list)
    for p in procs.values():
        kids[p.ppid].append(p.pid)
    out, todo = [], list(kids[root])
    while todo:
        pid = todo.pop()
        out.append(procs[pid])
        todo += kids[pid]
    return out


def cmdline_has(pid: int, text: str) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return text.encode() in f.read()
    except OSError:
        return False


def describe(p: Proc) -> dict[str, Any]:
    try:
        with open(f"/proc/{p.pid}/cmdline", "rb") as f:
            cmd = f.read().replace(b"\0", b" ").decode(errors="replace").strip()[:120]
    except OSError:
        cmd = ""
    return {"pid": p.pid, "ppid": p.ppid, "session": p.session, "comm": p.comm, "state": p.state, "cmdline": cmd}


def sandbox_temp_dirs() -> set[str]:
    return set(glob.glob(os.path.join(tempfile.gettempdir(), "grpo-sandbox-*")))


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))] if xs else float("nan")


# -- the soak -----------------------------------------------------------------------------------


@dataclass
class Violation:
    what: str
    kind: str
    task: str
    form: str
    reward: float | None
    expected: float
    outcome: str
    detail: str
    program: str


class Recorder:
    """Wraps the sandbox's ``run`` (the one call the ``code`` verifier makes per sample) to time
    each sample's job and to note the stalls and the jobs whose worker failed."""

    def __init__(self, sandbox: Any, kind_of: dict[str, str]) -> None:
        self.sandbox = sandbox
        self.kind_of = kind_of
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.stalled: Counter[str] = Counter()
        self.worker_failed: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        inner = sandbox.run

        def run(job: Any, judge: Any = None) -> Any:
            t = time.perf_counter()
            res = inner(job, judge)
            dt = time.perf_counter() - t
            kind = self.kind_of.get(job.code.strip(), "?")
            with self.lock:
                self.latency[kind].append(dt)
                if getattr(res, "stalled", False):
                    self.stalled[kind] += 1
                if res.error:
                    self.errors[kind] += 1
                    if "worker failed" in res.error:
                        self.worker_failed[kind] += 1
            return res

        sandbox.run = run  # an instance attribute: CodeVerifier calls sandbox.run(job, judge)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--samples", type=int, default=None, help="samples in all (default 20000; --quick: 300)")
    ap.add_argument("--quick", action="store_true", help="a smoke run: 300 samples unless --samples says otherwise")
    ap.add_argument("--batch-size", type=int, default=64, help="completions per reward call (default 64)")
    ap.add_argument("--generations", type=int, default=8, help="completions per prompt in a batch (default 8)")
    ap.add_argument("--workers", type=int, default=None, help="sandbox workers (default: the CPU count)")
    ap.add_argument("--timeout", type=float, default=1.0, help="code option timeout: seconds per case (default 1)")
    ap.add_argument("--total-timeout", type=float, default=3.0, help="code option total_timeout (default 3)")
    ap.add_argument("--api", choices=("trl", "score"), default="trl", help="RewardSet.reward_funcs (default) or .score")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--progress", type=float, default=30.0, help="seconds between progress lines on stderr")
    ap.add_argument("--json", help="also write the summary to this file")
    args = ap.parse_args(argv)
    if args.samples is None:
        args.samples = 300 if args.quick else 20000
    if args.samples < 1 or args.batch_size < 1 or args.generations < 1:
        ap.error("--samples, --batch-size and --generations must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    me = os.getpid()
    t_begin = time.time()

    # -- before: the host as it was --------------------------------------------------------
    from grpo_rewards import load_rewards
    from grpo_rewards.contract import Outcome
    from grpo_rewards.verifiers.code import extract_code

    # The code under test: the commit, and uncommitted changes to the library, if any.
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=here)
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "grpo_rewards"], capture_output=True, text=True, cwd=here
        )
        commit_id, library_changes = commit.stdout.strip(), dirty.stdout.splitlines()
    except OSError:
        commit_id, library_changes = "", []
    # Run from an exported tree (git archive), there is no repository: the caller names the commit.
    commit_id = commit_id or os.environ.get("SOAK_COMMIT", "")
    items = build_items(args.samples, args.seed)
    kind_of = {}
    for it in items:
        kind_of[(extract_code(it.completion, "python") or "").strip()] = it.kind
    procs0 = processes()
    start_keys = {(p.pid, p.start) for p in procs0.values()}
    fds0, fd_list0 = fd_count(), fd_targets()
    tmp0 = sandbox_temp_dirs()
    rss0 = rss_kib()
    load0 = os.getloadavg()

    options: dict[str, Any] = {"timeout": args.timeout, "total_timeout": args.total_timeout}
    if args.workers:
        options["sandbox_options"] = {"workers": args.workers}
    rs = load_rewards([{"name": "code", "options": options}])
    verifier = rs.verifier("code")
    sandbox = verifier.sandbox  # held here: after close() the verifier's property would make a new one
    t = time.perf_counter()
    if hasattr(sandbox, "start"):
        sandbox.start()
    startup_s = time.perf_counter() - t
    recorder = Recorder(sandbox, kind_of)
    reward_fn = rs.reward_funcs[0]
    rss_started = rss_kib()

    # -- the soak --------------------------------------------------------------------------
    outcomes: dict[str, Counter[str]] = defaultdict(Counter)
    reward_sum: dict[str, float] = defaultdict(float)
    violations: list[Violation] = []
    violation_counts: Counter[str] = Counter()
    batch_s: list[float] = []
    seen_procs: dict[tuple[int, int], Proc] = {}  # every process seen below this one during the run
    seen_tmp: set[str] = set()
    worker_pids: set[int] = {w.proc.pid for w in list(getattr(sandbox, "_all", []))}
    peak = {"sandbox_processes": 0, "fds": fds0}
    rss_track: list[tuple[int, int]] = []
    n_done = 0
    last_progress = time.perf_counter()
    t0 = time.perf_counter()
    bs, g = args.batch_size, args.generations
    logged: dict[str, list[Any]] = {}  # what the reward function logs through TRL's log_extra
    for b0 in range(0, len(items), bs):
        batch = items[b0 : b0 + bs]
        # GRPO batches: `generations` completions share a prompt (its group).
        prompts = [
            [{"role": "user", "content": f"{it.task.prompt} (prompt {(b0 + j) // g})"}] for j, it in enumerate(batch)
        ]
        conversational = (b0 // bs) % 2 == 1
        completions: list[Any] = [
            [{"role": "assistant", "content": it.completion}] if conversational else it.completion for it in batch
        ]
        tests = [it.tests for it in batch]
        logged.clear()
        tb = time.perf_counter()
        if args.api == "trl":
            values = reward_fn(
                prompts=prompts,
                completions=completions,
                completion_ids=None,
                tests=tests,
                trainer_state=None,
                log_metric=lambda k, v: None,
                log_extra=lambda k, v: logged.__setitem__(k, v),
            )
            batch_s.append(time.perf_counter() - tb)
            # The same batch again through score_component: served from the set's cache, it
            # gives the Score objects (details) behind the values the trainer got.
            scores, values2 = rs.score_component("code", completions, prompts=prompts, columns={"tests": tests})
            if values2 != values or [s.outcome.value for s in scores] != logged.get("outcome/code"):
                violation_counts["trl_path_mismatch"] += 1
        else:
            res = rs.score(completions, prompts=prompts, columns={"tests": tests})
            batch_s.append(time.perf_counter() - tb)
            scores, values = res.scores["code"], res.values["code"]
        for it, sc, v in zip(batch, scores, values, strict=True):
            outcomes[it.kind][sc.outcome.value] += 1
            reward_sum[it.kind] += v or 0.0
            what = None
            if it.kind == "correct":
                if v != 1.0 or sc.outcome != Outcome.CORRECT:
                    what = "correct_not_credited"
            elif it.kind == "wrong":
                if v is not None and v > it.expected + 1e-9:
                    what = "credit_above_honest"
                elif v is None or not math.isclose(v, it.expected, abs_tol=1e-9):
                    what = "honest_credit_missing"
            elif v is not None and v > 0 or sc.outcome in (Outcome.CORRECT, Outcome.PARTIAL):
                what = "hostile_credited"
            elif sc.outcome == Outcome.ERROR:
                # "No signal" caused by the candidate: in GRPO an excluded sample escapes the
                # penalty its failure earned (a sandbox fault of our own would show up here too).
                what = "hostile_scored_error"
            if what:
                violation_counts[what] += 1
                if violation_counts[what] <= 20:
                    print(
                        f"[soak] VIOLATION {what}: {it.kind} {it.task.fn}/{it.form} reward {v} "
                        f"(earned {it.expected}), {sc.outcome.value}: {sc.detail}",
                        file=sys.stderr,
                        flush=True,
                    )
                if len(violations) < 50:
                    violations.append(
                        Violation(
                            what, it.kind, it.task.fn, it.form, v, it.expected, sc.outcome.value, sc.detail, it.program
                        )
                    )
        n_done += len(batch)
        # Watch the host as it goes: every process below this one, the workers' temporary
        # directories, descriptors and memory.
        below = descendants(processes(), me)
        for p in below:
            seen_procs[(p.pid, p.start)] = p
        peak["sandbox_processes"] = max(peak["sandbox_processes"], len(below))
        peak["fds"] = max(peak["fds"], fd_count())
        workers_now = list(getattr(sandbox, "_all", []))
        seen_tmp |= {w.box_parent for w in workers_now}
        worker_pids |= {w.proc.pid for w in workers_now}
        rss_track.append((n_done, rss_kib()["VmRSS"]))
        now = time.perf_counter()
        if now - last_progress >= args.progress or n_done == len(items):
            last_progress = now
            el = now - t0
            print(
                f"[soak] {n_done}/{len(items)} samples, {el:.0f}s, {n_done / el:.1f}/s, "
                f"violations {sum(violation_counts.values())}, replacements {getattr(sandbox, 'replacements', '?')}, "
                f"RSS {rss_track[-1][1] / 1024:.1f} MiB, processes below {len(below)}",
                file=sys.stderr,
                flush=True,
            )
    wall = time.perf_counter() - t0
    replacements = getattr(sandbox, "replacements", None)
    rss_before_close = rss_kib()
    fds_before_close = fd_count()

    # -- after close: what is left ---------------------------------------------------------
    t = time.perf_counter()
    rs.close()
    close_s = time.perf_counter() - t

    def leftovers() -> dict[str, Any]:
        """Processes left: ours (below this process, seen below it during the run, in the
        session of one of our workers, or started by a sample) and, apart, new ``sbx-*``
        processes and zombies of PID 1 that cannot be traced to this run (other sandboxes on
        the machine, e.g. a test suite running at the same time)."""
        procs = processes()
        mine = {p.pid for p in descendants(procs, me)}
        new = [p for p in procs.values() if (p.pid, p.start) not in start_keys and p.pid != me]
        ours, other = [], []
        for p in new:
            why = (
                "below this process"
                if p.pid in mine
                else "seen below this process during the run"
                if (p.pid, p.start) in seen_procs
                else "in the session of one of our workers"
                if p.session in worker_pids
                else "started by a sample"
                if cmdline_has(p.pid, TOKEN)
                else None
            )
            if why:
                ours.append({**describe(p), "why_ours": why})
            elif p.comm.startswith("sbx-") or (p.state == "Z" and p.ppid == 1):
                chain, q = [], procs.get(p.ppid)
                while q is not None and len(chain) < 8:
                    chain.append(f"{q.pid} {q.comm}")
                    q = procs.get(q.ppid) if q.pid > 1 else None
                other.append({**describe(p), "ancestors": chain})
        return {"ours": ours, "unattributed_sbx_or_pid1_zombies": other}

    left_now = leftovers()
    time.sleep(3.0)
    left_later = leftovers()
    fds1 = fd_count()
    fd_list1 = fd_targets()
    tmp1 = sandbox_temp_dirs()
    rss1 = rss_kib()
    load1 = os.getloadavg()

    # -- the summary -----------------------------------------------------------------------
    all_lat = [x for xs in recorder.latency.values() for x in xs]
    counts = Counter(it.kind for it in items)
    per_kind = {}
    for k in KINDS:
        lat = recorder.latency.get(k, [])
        per_kind[k] = {
            "share": round(counts[k] / len(items), 4),
            "samples": counts[k],
            "outcomes": dict(sorted(outcomes[k].items())),
            "mean_reward": round(reward_sum[k] / counts[k], 4) if counts[k] else None,
            "p50_ms": round(1000 * statistics.median(lat), 1) if lat else None,
            "max_ms": round(1000 * max(lat), 1) if lat else None,
            "stalled": recorder.stalled[k],
            "worker_failed": recorder.worker_failed[k],
        }
    leftover_total = len(left_now["ours"]) + max(0, fds1 - fds0) + len(tmp1 & seen_tmp)
    n_viol = sum(v for k, v in violation_counts.items())
    summary: dict[str, Any] = {
        "command": " ".join(["python", "benchmarks/soak_code.py", *(argv if argv is not None else sys.argv[1:])]),
        "commit": commit_id,
        "uncommitted_library_changes": library_changes,
        "library": os.path.dirname(sys.modules["grpo_rewards"].__file__ or ""),
        "date": time.strftime("%Y-%m-%d %H:%M", time.localtime(t_begin)),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Linux {platform.release()}",
        "python": platform.python_version(),
        "load_average_1m_before_after": [round(load0[0], 2), round(load1[0], 2)],
        "samples": len(items),
        "batch_size": bs,
        "api": args.api,
        "options": options,
        "workers": getattr(sandbox, "n_workers", None),
        "sandbox_startup_s": round(startup_s, 3),
        "wall_s": round(wall, 1),
        "samples_per_s": round(len(items) / wall, 1),
        "batches": len(batch_s),
        "batch_worst_s": round(max(batch_s), 2),
        "batch_p50_s": round(statistics.median(batch_s), 3),
        "sample_p50_ms": round(1000 * statistics.median(all_lat), 1) if all_lat else None,
        "sample_p99_ms": round(1000 * pct(all_lat, 0.99), 1) if all_lat else None,
        "sample_max_ms": round(1000 * max(all_lat), 1) if all_lat else None,
        "correct_p99_ms": round(1000 * pct(recorder.latency["correct"], 0.99), 1)
        if recorder.latency["correct"]
        else None,
        "rss_kib": {
            "start": rss0["VmRSS"],
            "after_sandbox_start": rss_started["VmRSS"],
            "first_batch": rss_track[0][1],
            "end_before_close": rss_before_close["VmRSS"],
            "after_close": rss1["VmRSS"],
            "peak": rss1["VmHWM"],
            # after 10%, 25%, 50%, 75% and all of the samples: a leak grows steadily
            "by_progress": {
                f"{q:.0%}": next(r for n, r in rss_track if n >= q * len(items)) for q in (0.1, 0.25, 0.5, 0.75, 1.0)
            },
        },
        "worker_replacements": replacements,
        "stalled_jobs": sum(recorder.stalled.values()),
        "jobs_with_sandbox_error": sum(recorder.errors.values()),
        "peak_processes_below_host": peak["sandbox_processes"],
        "close_s": round(close_s, 2),
        "fds": {"start": fds0, "peak_during_run": peak["fds"], "before_close": fds_before_close, "after_close": fds1},
        "fds_new_after_close": sorted(set(fd_list1) - set(fd_list0)),
        "temp_dirs": {
            "start": len(tmp0),
            "after_close": len(tmp1),
            "new_after_close": sorted(tmp1 - tmp0),
            "ours_left": sorted(tmp1 & seen_tmp),
        },
        "leftovers_after_close": left_now,
        "leftovers_3s_later": left_later,
        "leftover_count": leftover_total,
        "violations": n_viol,
        "violation_counts": dict(violation_counts),
        "violation_examples": [asdict(v) for v in violations[:10]],
        "kinds": per_kind,
    }

    # -- the table -------------------------------------------------------------------------
    print(
        f"\nsoak: {len(items)} samples in batches of {bs} ({args.api}), {summary['workers']} workers, "
        f"timeout {args.timeout}s / total {args.total_timeout}s, {summary['machine']}, commit {commit_id}"
    )
    print(f"{'kind':22} {'share':>6} {'n':>6} {'mean':>6} {'p50 ms':>8} {'max ms':>8} {'stall':>5}  outcomes")
    for k, f in per_kind.items():
        outs = ", ".join(f"{o} {c}" for o, c in f["outcomes"].items())
        mean = f"{f['mean_reward']:.3f}" if f["mean_reward"] is not None else "-"
        print(
            f"{k:22} {100 * f['share']:>5.1f}% {f['samples']:>6} {mean:>6} {f['p50_ms'] or '-':>8} "
            f"{f['max_ms'] or '-':>8} {f['stalled']:>5}  {outs}"
        )
    r = summary["rss_kib"]
    print(
        f"\nthroughput {summary['samples_per_s']} samples/s ({summary['wall_s']} s); worst batch {summary['batch_worst_s']} s "
        f"(p50 {summary['batch_p50_s']} s); per sample p50 {summary['sample_p50_ms']} ms, "
        f"p99 {summary['sample_p99_ms']} ms, max {summary['sample_max_ms']} ms"
    )
    print(
        f"host RSS {r['start'] / 1024:.1f} MiB at start, {r['first_batch'] / 1024:.1f} after the first batch, "
        f"{r['end_before_close'] / 1024:.1f} at the end, {r['after_close'] / 1024:.1f} after close (peak {r['peak'] / 1024:.1f})"
    )
    print(
        f"worker replacements {replacements}; stalled jobs {summary['stalled_jobs']}; jobs with a sandbox error "
        f"{summary['jobs_with_sandbox_error']}; sandbox start {startup_s:.2f} s; close {close_s:.2f} s"
    )
    print(
        f"fds {fds0} at start, {fds_before_close} before close, {fds1} after close; "
        f"grpo-sandbox-* dirs {len(tmp0)} at start, {len(tmp1)} after close"
    )
    for when, left in (("right after close", left_now), ("3 s after close", left_later)):
        for p in left["ours"]:
            print(f"LEFT {when}: {p}")
        other = left["unattributed_sbx_or_pid1_zombies"]
        if other:
            roots = sorted({p["ancestors"][-2] if len(p["ancestors"]) > 1 else "-" for p in other})
            print(
                f"({len(other)} new sbx-* processes or zombies of PID 1 {when}, not traced to this run; "
                f"under {', '.join(roots)}: other sandboxes on this machine)"
            )
    if summary["fds_new_after_close"]:
        print(f"LEFT: descriptors {summary['fds_new_after_close']}")
    if summary["temp_dirs"]["ours_left"]:
        print(f"LEFT: temporary directories {summary['temp_dirs']['ours_left']}")
    elif summary["temp_dirs"]["new_after_close"]:
        print(f"(new temporary directories not traced to this run: {summary['temp_dirs']['new_after_close']})")
    print(f"violations: {n_viol} {dict(violation_counts) if n_viol else ''}")
    for v in violations[:10]:
        print(f"  {v.what}: {v.kind} {v.task}/{v.form} reward {v.reward} (earned {v.expected}) {v.outcome}: {v.detail}")
    print(json.dumps(summary, indent=2) if args.json is None else f"summary written to {args.json}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(summary, fh, indent=2)
    if n_viol:
        return 1
    return 3 if leftover_total else 0


if __name__ == "__main__":
    sys.exit(main())
