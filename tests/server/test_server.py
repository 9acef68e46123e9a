"""``grpo-rewards serve`` on loopback: what it answers, and what it refuses, while it keeps serving."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from server_harness import CONFIG, HERE, TOKEN, Server, start_server

from grpo_rewards.cli import main as cli_main

ROWS = [
    {"prompt": "2+2=", "completion": "4", "answer": "4"},
    {"prompt": "2+2=", "completion": "5", "answer": "4"},
    {"prompt": "1+1=", "completion": [{"role": "assistant", "content": "2"}], "answer": "2", "extra": [1, {"x": None}]},
    {"completion": "x", "answer": None},
]


def _redacted(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    out["details"] = {k: v for k, v in row["details"].items() if row["outcomes"][k] != "error"}
    return out


def test_rows_are_scored_as_grpo_rewards_score_writes_them(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = server.score(ROWS)
    assert answer.status == 200, answer.body
    served = answer.json()["rows"]

    (tmp_path / "rows.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    (tmp_path / "rewards.toml").write_text(CONFIG)
    monkeypatch.syspath_prepend(str(HERE))
    monkeypatch.setenv("GRPO_REWARDS_LOAD_PLUGINS", "")
    out = tmp_path / "scored.jsonl"
    assert cli_main(["score", str(tmp_path / "rows.jsonl"), "-c", str(tmp_path / "rewards.toml"), "-o", str(out)]) == 0
    local = [json.loads(line) for line in out.read_text().splitlines()]

    # Every field as `score` writes it; only an error's detail is cut to its type (no host detail).
    assert served[0]["details"]["crashes"] == "RuntimeError (the message is in the server's log)"
    assert [_redacted(r) for r in served] == [_redacted(r) for r in local]
    assert [r["outcomes"] for r in served][0] == {"exact": "correct", "crashes": "error", "naps": "scored"}
    assert [r["reward"] for r in served] == [1.0, 0.0, 1.0, 0.0]
    assert served[3]["outcomes"]["exact"] == "bad_reference"


def test_echo_false_answers_only_the_scores(server: Server) -> None:
    body = json.dumps({"rows": ROWS[:2], "echo": False, "details": False}).encode()
    rows = server.request("POST", "/v1/score", body).json()["rows"]
    assert rows[0] == {
        "reward": 1.0,
        "rewards": {"exact": 1.0, "crashes": None, "naps": 0.0},
        "outcomes": {"exact": "correct", "crashes": "error", "naps": "scored"},
    }
    assert server.request("POST", "/v1/score", b'{"rows": [], "echo": 1}').json()["field"] == "echo"


def test_a_crashing_verifier_scores_error_and_leaks_no_host_detail(server: Server) -> None:
    answer = server.score([{"completion": "4", "answer": "4"}])
    assert answer.status == 200
    row = answer.json()["rows"][0]
    assert row["outcomes"]["crashes"] == "error"
    assert row["details"]["crashes"].startswith("RuntimeError")
    text = answer.body.decode()
    assert f"on {os.uname().nodename}" not in text and "Traceback" not in text and "/tmp" not in text
    assert server.alive()


def test_a_verifier_that_calls_sys_exit_answers_500_and_the_server_goes_on(tmp_path: Path) -> None:
    s = start_server(tmp_path, ["-r", "exact", "-r", "server_rewards:exits"])
    try:
        for _ in range(2):
            answer = s.score([{"completion": "4", "answer": "4"}])
            assert answer.status == 500
            assert answer.json() == {"error": "internal error while scoring; see the server's log"}
        assert s.alive()
    finally:
        s.stop()


def test_health_rewards_and_metrics(server: Server) -> None:
    assert server.request("GET", "/health", token=None).json() == {"status": "ok"}
    described = server.request("GET", "/v1/rewards").json()
    assert described["names"] == ["exact", "crashes", "naps"]
    assert described["weights"] == [1.0, 0.0, 0.0]
    assert described["components"][0] == {
        "name": "exact",
        "verifier": "exact",
        "weight": 1.0,
        "required_columns": ["answer"],
    }
    assert server.score([{"completion": "4", "answer": "4"}, {"completion": "3", "answer": "4"}]).status == 200
    metrics = server.request("GET", "/metrics").body.decode()
    assert 'grpo_rewards_requests_total{endpoint="score",status="200"}' in metrics
    assert 'grpo_rewards_outcomes_total{component="exact",outcome="wrong"}' in metrics
    assert 'grpo_rewards_outcomes_total{component="crashes",outcome="error"}' in metrics
    assert "grpo_rewards_samples_total" in metrics and "grpo_rewards_request_seconds_bucket" in metrics


@pytest.mark.parametrize(
    "auth", [None, "Bearer wrong-token-0123456789abcdef", f"Basic {TOKEN}", f"Bearer {TOKEN}x", "Bearer "]
)
@pytest.mark.parametrize(("method", "path"), [("POST", "/v1/score"), ("GET", "/v1/rewards"), ("GET", "/metrics")])
def test_no_token_or_a_wrong_one_is_401(server: Server, auth: str | None, method: str, path: str) -> None:
    headers = {"Authorization": auth} if auth is not None else {}
    body = json.dumps({"rows": [{"completion": "4", "answer": "4"}]}).encode() if method == "POST" else None
    answer = server.request(method, path, body, token=None, headers=headers)
    assert answer.status == 401
    assert answer.headers["www-authenticate"].startswith("Bearer")
    assert answer.json()["field"] == "authorization"
    assert server.alive()


def test_an_oversized_body_is_413_whatever_content_length_says(server: Server) -> None:
    big = json.dumps({"rows": [{"completion": "x" * 70_000, "answer": "4"}]}).encode()
    answer = server.request("POST", "/v1/score", big)
    assert answer.status == 413 and answer.json()["field"] == "body"
    # Sent in chunks, with no Content-Length: cut off at the limit all the same.
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as s:
        head = (
            "POST /v1/score HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n\r\n"
        )
        s.sendall(head.encode())
        for i in range(0, len(big), 8192):
            part = big[i : i + 8192]
            s.sendall(f"{len(part):x}\r\n".encode() + part + b"\r\n")
        s.sendall(b"0\r\n\r\n")
        status_line = s.recv(4096).split(b"\r\n", 1)[0]
    assert b" 413 " in status_line
    assert server.alive()


def test_too_many_samples_is_413(server: Server) -> None:
    answer = server.score([{"completion": "4", "answer": "4"}] * 101)
    assert answer.status == 413 and answer.json()["field"] == "rows"
    assert "at most 100" in answer.json()["error"]
    assert server.score([{"completion": "4", "answer": "4"}] * 100).status == 200


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (b'{"rows": [{"completion": "4"', 400, "body"),
        (b"\xff\xfe", 400, "body"),
        (b"[" * 60_000, 400, "body"),
        (b"[]", 422, "body"),
        (b"{}", 422, "rows"),
        (b'{"rows": {"completion": "4"}}', 422, "rows"),
        (b'{"rows": [], "extra": 1}', 422, "extra"),
        (b'{"rows": [], "details": "yes"}', 422, "details"),
        (b'{"rows": ["4"]}', 422, "rows[0]"),
        (b'{"rows": [{"answer": "4"}]}', 422, "rows[0].completion"),
        (b'{"rows": [{"completion": 4, "answer": "4"}]}', 422, "rows[0].completion"),
        (b'{"rows": [{"completion": [], "answer": "4"}]}', 422, "rows[0].completion"),
        (b'{"rows": [{"completion": "4", "answer": "4"}, {"completion": "4", "prompt": 3}]}', 422, "rows[1].prompt"),
        (b'{"rows": [{"completion": "4", "answer": "4", "completion_ids": ["a"]}]}', 422, "rows[0].completion_ids"),
        (b'{"rows": [{"completion": "4"}]}', 422, "rows[*].answer"),
    ],
)
def test_malformed_requests_get_a_4xx_naming_the_field(server: Server, body: bytes, status: int, field: str) -> None:
    answer = server.request("POST", "/v1/score", body)
    assert answer.status == status, answer.body
    assert answer.json()["field"] == field
    assert "Traceback" not in answer.body.decode()
    assert server.alive()


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)
ROW = st.one_of(
    JSON,
    st.fixed_dictionaries(
        {"completion": JSON | st.text(max_size=30)}, optional={"answer": JSON, "prompt": JSON, "completion_ids": JSON}
    ),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.one_of(JSON, st.lists(ROW, max_size=6)))
def test_any_malformed_rows_get_200_or_a_4xx_that_names_a_field(server: Server, rows: Any) -> None:
    answer = server.request("POST", "/v1/score", json.dumps({"rows": rows}).encode())
    assert answer.status in (200, 413, 422), answer.body
    data = answer.json()
    if answer.status == 200:
        assert len(data["rows"]) == len(rows)
    else:
        assert data["field"].startswith("rows") and data["error"]


def test_a_flood_past_the_concurrency_limit_gets_429_with_retry_after(server: Server) -> None:
    slow = [{"completion": "4", "answer": "4", "nap": 3}]
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(server.score(slow).status)) for _ in range(2)]
    for t in threads:
        t.start()
    server.wait_in_flight(2)  # both naps hold the two work slots now
    flood = [server.score([{"completion": "4", "answer": "4"}]) for _ in range(5)]
    for t in threads:
        t.join()
    assert results == [200, 200]
    assert {a.status for a in flood} == {429}
    assert flood[0].headers["retry-after"] == "1"
    assert server.score([{"completion": "4", "answer": "4"}]).status == 200
    assert 'status="429"' in server.request("GET", "/metrics").body.decode()


def test_it_refuses_to_start_on_a_non_loopback_address_without_a_token(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "GRPO_REWARDS_TOKEN"}
    for host in ("0.0.0.0", "::", "192.0.2.1", "example.com"):
        run = subprocess.run(
            [sys.executable, "-m", "grpo_rewards", "serve", "-r", "exact", "--host", host, "--port", "1"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert run.returncode == 2, run.stderr
        assert f"--host {host} is reachable from other machines" in run.stderr
        assert "GRPO_REWARDS_TOKEN" in run.stderr
    short = tmp_path / "token"
    short.write_text("short\n")
    run = subprocess.run(
        [sys.executable, "-m", "grpo_rewards", "serve", "-r", "exact", "--token-file", str(short)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2 and "at least 16 characters" in run.stderr


def test_the_deadline_answers_504_and_the_server_goes_on(tmp_path: Path) -> None:
    (tmp_path / "rewards.toml").write_text(CONFIG)
    s = start_server(tmp_path, ["--config", str(tmp_path / "rewards.toml"), "--deadline", "1"])
    try:
        answer = s.score([{"completion": "4", "answer": "4", "nap": 3}])
        assert answer.status == 504 and "deadline of 1 s" in answer.json()["error"]
        assert s.alive()
    finally:
        s.stop()


@pytest.mark.slow
def test_hostile_code_samples_are_scored_and_the_server_keeps_serving(tmp_path: Path) -> None:
    s = start_server(tmp_path, ["-r", "code"])
    tests = {"kind": "call", "fn_name": "add", "cases": [{"args": [1, 2], "expected": 3}]}
    fork_bomb = "```python\nimport os\ndef add(a, b):\n    while True:\n        try:\n            os.fork()\n        except OSError:\n            pass\n```"
    killer = (
        "```python\nimport os, signal\nfor pid in (os.getppid(), 1, -1):\n    try:\n        os.kill(pid, signal.SIGKILL)\n"
        "    except OSError:\n        pass\ndef add(a, b):\n    return a - b\n```"
    )
    good = "```python\ndef add(a, b):\n    return a + b\n```"
    try:
        answer = s.score([{"completion": c, "tests": tests} for c in (fork_bomb, killer, good)])
        assert answer.status == 200, answer.body
        outcomes = [r["outcomes"]["code"] for r in answer.json()["rows"]]
        assert outcomes[0] in ("timeout", "wrong", "error") and outcomes[1] == "wrong" and outcomes[2] == "correct"
        assert s.alive()
        assert s.score([{"completion": good, "tests": tests}]).json()["rows"][0]["reward"] == 1.0
    finally:
        s.stop()
