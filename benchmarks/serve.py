"""Scoring 2,048 mixed samples through ``grpo-rewards serve`` from the client, against in-process.

The samples, the reward set and the alternating rounds are those of ``benchmarks/scale.py``
(half MATH/GSM8K ``math``, half HumanEval ``code`` run in the sandbox, in GRPO prompt groups;
the math verdict cache off and the prompts changed each round). Both sides go through TRL's
path: each component's reward function is called as ``GRPOTrainer`` calls it, in-process on a
``RewardSet``, remotely on a ``RemoteRewardSet`` (one ``POST /v1/score`` per batch, shared by
both functions) talking to a ``grpo-rewards serve`` on loopback that this script starts and
stops. Reports samples/s, the server's overhead in wall-clock time and in CPU time (this process
tree: the server, its pools and sandboxes included), the cost of one batch of 8, and whether
every round gave the same rewards on both sides.

    python benchmarks/serve.py --rounds 3 --json serve.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import scale  # noqa: E402 - the samples, the reward set and the CPU accounting of benchmarks/scale.py

CONFIG = """
[[rewards]]
name = "math"
options = { cache_size = 0 }

[[rewards]]
name = "code"
options = { timeout = 3.0 }
"""


def trl_call(funcs: list[Any], rows: list[dict[str, Any]], tag: str) -> list[list[float | None]]:
    """Every reward function called as GRPOTrainer calls it, in order."""
    kwargs = scale.batch_of(rows, tag)
    columns = kwargs.pop("columns")
    return [f(prompts=kwargs["prompts"], completions=kwargs["completions"], **columns) for f in funcs]


def timed(funcs: list[Any], rows: list[dict[str, Any]], tag: str) -> tuple[float, float, Any]:
    c0, t0 = scale.tree_cpu(), time.perf_counter()
    values = trl_call(funcs, rows, tag)
    return time.perf_counter() - t0, scale.cpu_since(c0), values


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(config: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "grpo_rewards",
            "serve",
            "--config",
            str(config),
            "--port",
            str(port),
            "--max-concurrent",
            "1",
            "--deadline",
            "600",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2):
                return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("grpo-rewards serve did not come up within 60 s")


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--data", type=Path, default=HERE.parent.parent / "shared" / "data")
    ap.add_argument("--samples", type=int, default=2048)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--small-repeats", type=int, default=20, help="batches of 8 timed for the per-batch cost")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()

    from grpo_rewards import RemoteRewardSet, load_rewards

    rows = scale.build_rows(args.data, args.samples)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "rewards.toml"
        config.write_text(CONFIG)
        local = load_rewards(str(config))
        port = free_port()
        server = start_server(config, port)
        try:
            remote = RemoteRewardSet(f"http://127.0.0.1:{port}", timeout=600)
            for funcs in (local.reward_funcs, remote.reward_funcs):
                trl_call(funcs, rows[:8] + rows[-8:], "warm-up")  # pools and sandboxes start
            res: dict[str, dict[str, list[float]]] = {s: {"wall": [], "cpu": []} for s in ("in_process", "served")}
            same = True
            for r in range(args.rounds):
                order = [("in_process", local.reward_funcs), ("served", remote.reward_funcs)]
                got = {}
                for side, funcs in order if r % 2 == 0 else order[::-1]:
                    wall, cpu, values = timed(funcs, rows, f"round {r}")
                    res[side]["wall"].append(wall)
                    res[side]["cpu"].append(cpu)
                    got[side] = values
                    print(
                        f"round {r} {side:10} {len(rows) / wall:7.1f} samples/s ({wall:.2f} s, {cpu:.1f} CPU-s)",
                        flush=True,
                    )
                same = same and got["in_process"] == got["served"]
            small = {}
            for side, funcs in (("in_process", local.reward_funcs), ("served", remote.reward_funcs)):
                small[side] = statistics.median(
                    timed(funcs, rows[:8], f"small {i}")[0] for i in range(args.small_repeats)
                )
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            local.close()

    n = len(rows)
    wl, ws = statistics.median(res["in_process"]["wall"]), statistics.median(res["served"]["wall"])
    cl, cs = statistics.median(res["in_process"]["cpu"]), statistics.median(res["served"]["cpu"])
    out = {
        "samples": n,
        "rounds": args.rounds,
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "in_process": {
            "samples_per_s": round(n / wl, 1),
            "wall_s_median": round(wl, 3),
            "walls_s": [round(x, 3) for x in res["in_process"]["wall"]],
            "cpu_s_median": round(cl, 2),
        },
        "served": {
            "samples_per_s": round(n / ws, 1),
            "wall_s_median": round(ws, 3),
            "walls_s": [round(x, 3) for x in res["served"]["wall"]],
            "cpu_s_median": round(cs, 2),
        },
        "server_overhead": round(ws / wl - 1, 4),
        "server_cpu_overhead": round(cs / cl - 1, 4),
        "batch_of_8_s": {k: round(v, 4) for k, v in small.items()},
        "per_batch_overhead_s": round(small["served"] - small["in_process"], 4),
        "same_rewards_every_round": same,
        "load_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }
    print(json.dumps(out, indent=2))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
