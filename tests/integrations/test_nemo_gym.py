"""NeMo Gym's resources-server ``/verify``, sent as NeMo Gym sends it: the package (Python 3.12
only, not on this project's index) is not installed, so the request is the JSON form of
``BaseVerifyRequest`` from NVIDIA-NeMo/Gym ``nemo_gym/base_resources_server.py`` (commit
011c3386d691fd51a0ee388026c59660fcbffdac): the task's fields, ``responses_create_params`` and the
model's OpenAI Responses object as ``response``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from grpo_rewards import load_rewards
from grpo_rewards.inputs import row_from_data
from grpo_rewards.integrations import nemo_gym
from grpo_rewards.scoring import score_rows

SERVER_TESTS = Path(__file__).resolve().parent.parent / "server"
SPEC = ["math", "format.think:0.2"]
ANSWERS = ["<think>2 and 2</think><answer>4</answer>", "The answer is \\boxed{8}."]


def _request(question: str, text: str, expected: str) -> dict[str, Any]:
    return {
        "responses_create_params": {
            "input": [
                {"role": "system", "content": "Think, then answer."},
                {"role": "user", "content": question},
            ],
            "temperature": 1.0,
        },
        "response": {
            "id": "resp_1",
            "created_at": 1767225600.0,
            "model": "policy",
            "object": "response",
            "output": [
                {"id": "rs_1", "type": "reasoning", "summary": [{"type": "summary_text", "text": "hmm"}]},
                {
                    "id": "msg_1",
                    "type": "message",
                    "role": "assistant",
                    "status": "completed",
                    "content": [{"type": "output_text", "text": text, "annotations": []}],
                },
            ],
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
        },
        "answer": expected,
    }


REQUESTS = [_request("What is 2 + 2?", ANSWERS[0], "4"), _request("What is 3 + 4?", ANSWERS[1], "7")]


def _local() -> list[dict[str, Any]]:
    rs = load_rewards(SPEC)
    rows = [
        {
            "prompt": [{"role": "system", "content": "Think, then answer."}, {"role": "user", "content": q}],
            "completion": c,
            "answer": a,
        }
        for q, c, a in zip(["What is 2 + 2?", "What is 3 + 4?"], ANSWERS, ["4", "7"], strict=True)
    ]
    out = [next(score_rows(rs, [row_from_data(r, "row")])) for r in rows]
    rs.close()
    return out


def test_a_verify_request_is_the_row_score_reads() -> None:
    row = nemo_gym.verify_row(REQUESTS[0])
    assert row["completion"] == ANSWERS[0] and row["answer"] == "4"
    assert row["prompt"][1] == {"role": "user", "content": "What is 2 + 2?"}
    assert "response" not in row and "responses_create_params" not in row
    with pytest.raises(nemo_gym.VerifyRequestError) as info:
        nemo_gym.verify_row({"responses_create_params": {}, "response": {"output": "x"}})
    assert info.value.field == "response"


def test_the_server_answers_post_verify(tmp_path: Path) -> None:
    pytest.importorskip("fastapi")
    sys.path.insert(0, str(SERVER_TESTS))
    try:
        from server_harness import start_server
    finally:
        sys.path.remove(str(SERVER_TESTS))
    server = start_server(tmp_path, ["-r", "math", "-r", "format.think:0.2"])
    try:
        assert server.request("POST", "/seed_session", b"{}").json() == {}
        local = _local()
        for request, expected in zip(REQUESTS, local, strict=True):
            answer = server.request("POST", "/verify", json.dumps(request).encode())
            assert answer.status == 200, answer.body
            data = answer.json()
            assert data["reward"] == (expected["reward"] or 0.0)
            assert data["reward_components"] == {n: v or 0.0 for n, v in expected["rewards"].items()}
            assert {k: v for k, v in data.items() if k not in ("reward", "reward_components")} == request
        assert local[0]["reward"] > (local[1]["reward"] or 0.0)
        bad = server.request("POST", "/verify", json.dumps({"responses_create_params": {}}).encode())
        assert bad.status == 422 and bad.json()["field"] == "response"
    finally:
        server.stop()
