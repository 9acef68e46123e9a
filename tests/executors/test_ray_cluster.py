"""Two Ray nodes on this machine (``ray.cluster_utils.Cluster``): work placed on both, the
command line's ``--ray ADDRESS`` giving the local rows, and no connection off loopback."""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import _descendants, tcp_peers_of
from ray_workloads import SPEC, mixed_batch

from grpo_rewards import load_rewards
from grpo_rewards.cli import main

pytestmark = pytest.mark.slow


def _is_loopback(address: str) -> bool:
    host = address.rsplit(":", 1)[0].strip("[]")
    ip = ipaddress.ip_address(host)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback


@pytest.mark.timeout(600)
def test_work_is_placed_on_both_nodes_with_the_local_scores(ray_two_nodes: Any) -> None:
    import ray

    from grpo_rewards.executors import RayExecutor

    nodes = {n["NodeID"]: n["Resources"]["CPU"] for n in ray.nodes() if n["Alive"]}
    assert sorted(nodes.values()) == [1.0, 2.0]  # each node with its own CPU count
    completions, prompts, columns = mixed_batch(groups=12)
    local = load_rewards(SPEC)
    want = local.score(completions, prompts=prompts, columns=columns)
    local.close()
    rs = load_rewards(SPEC, executor=RayExecutor(cpus_per_actor=1))  # 3 actors: SPREAD over 2 nodes
    try:
        scorer = rs.start_executor()
        actors_on = {w["node_id"] for w in scorer.wait_ready(timeout=120)}
        assert actors_on == set(nodes), "the actors were not spread over both nodes"
        got = rs.score(completions, prompts=prompts, columns=columns)
        assert got.totals == want.totals
        assert set(scorer.placements) == set(nodes), scorer.placements  # shards ran on both nodes
        # Every Ray process (this driver, the GCS, both raylets, the workers) talks on 127.0.0.0/8 only.
        connections = tcp_peers_of(_descendants() | {os.getpid()})
        assert connections, "ss shows no connection of the Ray processes"
        off = [c for c in connections if not (_is_loopback(c[0]) and _is_loopback(c[1]))]
        assert not off, f"connections outside 127.0.0.0/8: {off}"
    finally:
        rs.close()


@pytest.mark.timeout(600)
def test_score_ray_address_gives_the_local_rows(ray_two_nodes: Any, tmp_path: Path) -> None:
    completions, prompts, columns = mixed_batch(groups=24)
    src = tmp_path / "in.jsonl"
    with src.open("w") as fh:
        for i, c in enumerate(completions):
            fh.write(
                json.dumps({"prompt": prompts[i], "completion": c, **{k: v[i] for k, v in columns.items()}}) + "\n"
            )
            if i == 30:
                fh.write("{not json\n")  # an invalid row: passed through, marked, on both paths
    args = ["score", str(src), "--skip-invalid", "--batch-size", "16", "--no-progress"]
    rewards = ["-r", "math", "-r", "code", "-r", "length.group:0.1", "--set", 'length.group.correctness="math"']
    assert main([*args, *rewards, "-o", str(tmp_path / "local.jsonl")]) == 0
    proc = subprocess.run(
        [sys.executable, "-m", "grpo_rewards", *args, *rewards, "-o", str(tmp_path / "ray.jsonl")]
        + ["--ray", ray_two_nodes.address],
        capture_output=True,
        text=True,
        timeout=500,
    )
    assert proc.returncode == 0, proc.stderr
    local_rows = (tmp_path / "local.jsonl").read_text()
    assert (tmp_path / "ray.jsonl").read_text() == local_rows
    assert len(local_rows.splitlines()) == len(completions) + 1
    assert "97 rows scored, 1 invalid" in proc.stderr + proc.stdout
