"""``grpo-rewards serve --executor ray``: one server fanning out to a Ray cluster (a local one it
starts, on loopback) answers what local scoring writes."""

from __future__ import annotations

from pathlib import Path

import pytest
from server_harness import start_server

from grpo_rewards import load_rewards
from grpo_rewards.inputs import row_from_data
from grpo_rewards.scoring import score_rows

pytestmark = pytest.mark.slow

ROWS = [
    {"prompt": "p1", "completion": "The answer is \\boxed{4}.", "answer": "4"},
    {"prompt": "p1", "completion": "The answer is \\boxed{5}.", "answer": "4"},
    {"prompt": "p2", "completion": "<think>x</think><answer>7</answer>", "answer": "7"},
    {"prompt": "p2", "completion": "no idea", "answer": "7"},
]


@pytest.mark.timeout(300)
def test_the_server_scores_on_ray_as_locally(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("ray")
    monkeypatch.setenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # every Ray process on 127.0.0.1
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    server = start_server(tmp_path, ["-r", "math", "-r", "format.think:0.2", "--executor", "ray"])
    try:
        answer = server.score(ROWS)
        assert answer.status == 200, answer.body
        served = answer.json()["rows"]
    finally:
        server.stop()
    log = server.log.read_text()
    assert "Started a local Ray instance" in log
    assert server.process.returncode == 130 and "Traceback" not in log, log[-2000:]  # Ctrl-C: stopped cleanly
    rs = load_rewards(["math", "format.think:0.2"])
    local = list(score_rows(rs, [row_from_data(r, "row") for r in ROWS]))
    rs.close()
    assert served == local
    assert [r["outcomes"]["math"] for r in served] == ["correct", "wrong", "correct", "wrong"]
