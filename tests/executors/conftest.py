"""Ray clusters for the executor tests: real ones, on loopback.

Ray 2.60 takes this machine's non-loopback address as its node IP, even for a plain
``ray.init()``; ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` keeps every Ray process on 127.0.0.1
(``test_ray_cluster.py`` checks with ``ss``). Set here, for the tests, never by the library.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # no token written to ~/.ray by the tests


def _descendants() -> set[int]:
    """This process's descendants (Ray's GCS, raylets and workers when it started them)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = set(), [os.getpid()]
    while todo:
        for c in children.get(todo.pop(), []):
            out.add(c)
            todo.append(c)
    return out


def ray_processes() -> list[str]:
    """Command lines of the Ray processes below this one still running."""
    out = []
    for pid in _descendants():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                cmd = fh.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "ray" in cmd and "zombie" not in cmd:
            out.append(f"{pid}: {cmd[:120]}")
    return out


def assert_no_ray_left(deadline_s: float = 30.0) -> None:
    t = time.monotonic() + deadline_s
    while (left := ray_processes()) and time.monotonic() < t:
        time.sleep(0.5)
    assert not left, f"Ray processes left running: {left}"


@pytest.fixture(scope="module")
def ray_local() -> Iterator[Any]:
    """A local one-node Ray cluster with 2 CPUs, shut down after the module's tests."""
    ray = pytest.importorskip("ray")
    assert not ray.is_initialized()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()
        assert_no_ray_left()


@pytest.fixture(scope="module")
def ray_two_nodes() -> Iterator[Any]:
    """Two Ray nodes on this machine (``ray.cluster_utils.Cluster``, as Ray's own multi-node
    tests make them): a head with 1 CPU and a worker node with 2."""
    ray = pytest.importorskip("ray")
    from ray.cluster_utils import Cluster

    assert not ray.is_initialized()
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    try:
        cluster.add_node(num_cpus=2)
        cluster.wait_for_nodes()
        ray.init(address=cluster.address, log_to_driver=False)
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()
        assert_no_ray_left()


def tcp_peers_of(pids: set[int]) -> list[tuple[str, str]]:
    """(local, peer) addresses of the TCP connections that ``pids`` hold, from ``ss -tnp``."""
    out = subprocess.run(["ss", "-tnpH"], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        fields = line.split()
        if len(fields) < 5 or not any(f"pid={p}," in line for p in pids):
            continue
        found.append((fields[3], fields[4]))
    return found
