"""A real ``grpo-rewards serve`` on loopback (a random free port), started and stopped by the tests
(imported by name: pytest's conftest modules would clash with tests/conftest.py)."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi", reason="the serve extra is not installed (pip install -e '.[serve]')")
pytest.importorskip("uvicorn", reason="the serve extra is not installed (pip install -e '.[serve]')")
pytest.importorskip("prometheus_client", reason="the serve extra is not installed (pip install -e '.[serve]')")

HERE = Path(__file__).resolve().parent
TOKEN = "test-token-0123456789abcdef"

# exact scores; crashes raises on every batch (weight 0: its error must not change reward);
# naps holds a work slot as long as a row asks.
CONFIG = """
[[rewards]]
name = "exact"
weight = 1.0

[[rewards]]
name = "server_rewards:crashes"
weight = 0.0

[[rewards]]
name = "server_rewards:naps"
weight = 0.0
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Server:
    url: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        *,
        token: str | None = TOKEN,
        headers: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> Answer:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        h = dict(headers or {})
        if token is not None:
            h["Authorization"] = f"Bearer {token}"
        try:
            conn.request(method, path, body=body, headers=h)
            resp = conn.getresponse()
            return Answer(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
        finally:
            conn.close()

    def score(self, rows: Any, **kw: Any) -> Answer:
        return self.request("POST", "/v1/score", json.dumps({"rows": rows}).encode(), **kw)

    def in_flight(self) -> float:
        for line in self.request("GET", "/metrics").body.decode().splitlines():
            if line.startswith("grpo_rewards_in_flight "):
                return float(line.split()[-1])
        return 0.0

    def wait_in_flight(self, n: int, timeout: float = 10.0) -> None:
        """Until ``n`` requests hold work slots (the flood tests need them full, however loaded the machine)."""
        deadline = time.monotonic() + timeout
        while self.in_flight() < n:
            assert time.monotonic() < deadline, f"{n} requests never held work slots at once"
            time.sleep(0.05)

    def alive(self) -> bool:
        return self.process.poll() is None and self.request("GET", "/health", token=None).status == 200

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_server(
    tmp: Path, args: list[str], *, token: str | None = TOKEN, wait: bool = True, port: int | None = None
) -> Server:
    port = port or free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    env.pop("GRPO_REWARDS_TOKEN", None)
    env["GRPO_REWARDS_LOAD_PLUGINS"] = ""
    if token is not None:
        env["GRPO_REWARDS_TOKEN"] = token
    log = tmp / f"server-{port}.log"
    with log.open("wb") as fh:
        process = subprocess.Popen(
            [sys.executable, "-m", "grpo_rewards", "serve", "--port", str(port), *args],
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            cwd=tmp,
        )
    server = Server(f"http://127.0.0.1:{port}", port, process, log)
    if wait:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"the server exited with {process.returncode}:\n{log.read_text()}")
            try:
                if server.request("GET", "/health", token=None, timeout=2).status == 200:
                    return server
            except OSError:
                pass
            time.sleep(0.1)
        server.stop()
        raise AssertionError(f"the server did not answer /health within 60 s:\n{log.read_text()}")
    return server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for a module: exact + a crashing reward + a napping one, max 2 concurrent, 64 KiB bodies,
    100 rows per request."""
    tmp = tmp_path_factory.mktemp("server")
    config = tmp / "rewards.toml"
    config.write_text(CONFIG)
    s = start_server(
        tmp,
        [
            "--config",
            str(config),
            "--max-concurrent",
            "2",
            "--max-body-bytes",
            "65536",
            "--max-samples",
            "100",
            "--deadline",
            "20",
        ],
    )
    yield s
    s.stop()
