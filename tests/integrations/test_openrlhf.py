"""OpenRLHF 0.11.2's reward contract, sent exactly as its source sends it (the package needs vLLM
and DeepSpeed, which do not install on this CPU machine): ``openrlhf/utils/agent.py``,
``SingleTurnAgentExecutor`` loads ``reward_func`` from the ``.py`` file given to
``--reward.remote_url`` and calls it in a thread with ``([query], [prompt], [label])``, or POSTs
``{"query", "prompts", "labels"}`` as JSON to the URL given."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from grpo_rewards import load_rewards
from grpo_rewards.inputs import row_from_data
from grpo_rewards.integrations import openrlhf
from grpo_rewards.scoring import score_rows

SERVER_TESTS = Path(__file__).resolve().parent.parent / "server"
SPEC = ["math", "format.think:0.2"]

# Qwen's ChatML, as OpenRLHF's prompts dataset renders it (apply_chat_template, add_generation_prompt=True),
# and the query as agent.py decodes prompt + response tokens (skip_special_tokens=False).
PROMPTS = [
    "<|im_start|>user\nWhat is 2 + 2?<|im_end|>\n<|im_start|>assistant\n",
    "<|im_start|>user\nWhat is 3 + 4?<|im_end|>\n<|im_start|>assistant\n",
    "Q: 5 * 5 = ?\nA:",
]
RESPONSES = [
    "<think>2 and 2</think> The answer is \\boxed{4}.<|im_end|>",
    "<think>easy</think> It is 8.<|im_end|><|endoftext|>",
    " 25</s>",
]
LABELS = ["4", "7", "25"]
QUERIES = [p + r for p, r in zip(PROMPTS, RESPONSES, strict=True)]


def _local_scores() -> tuple[list[float], dict[str, list[float]]]:
    rs = load_rewards(SPEC)
    rows = [
        {"prompt": p, "completion": c, "answer": a}
        for p, c, a in zip(
            PROMPTS,
            ["<think>2 and 2</think> The answer is \\boxed{4}.", "<think>easy</think> It is 8.", " 25"],
            LABELS,
            strict=True,
        )
    ]
    scored = list(score_rows(rs, [row_from_data(r, "row") for r in rows]))
    rs.close()
    return [r["reward"] or 0.0 for r in scored], {n: [r["rewards"][n] or 0.0 for r in scored] for n in rs.names}


def test_the_completion_is_what_follows_the_prompt_without_end_of_turn_tokens() -> None:
    got = [openrlhf.completion_from_query(q, p) for q, p in zip(QUERIES, PROMPTS, strict=True)]
    assert got == ["<think>2 and 2</think> The answer is \\boxed{4}.", "<think>easy</think> It is 8.", " 25"]
    assert openrlhf.completion_from_query("<s>" + QUERIES[2], PROMPTS[2]) == " 25"  # a BOS the decoding added


def test_reward_func_loaded_from_its_file_as_openrlhf_loads_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRPO_REWARDS_CONFIG", ",".join(SPEC))
    # agent.py, SingleTurnAgentExecutor.__init__: the file path given to --reward.remote_url
    spec = importlib.util.spec_from_file_location("reward_func", openrlhf.__file__)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    async def fetch() -> list[Any]:  # _fetch_rewards_via_func: one query per call, in a thread
        return await asyncio.gather(
            *(
                asyncio.to_thread(module.reward_func, [q], [p], [lab])
                for q, p, lab in zip(QUERIES, PROMPTS, LABELS, strict=True)
            )
        )

    answers = asyncio.run(fetch())
    rewards, components = _local_scores()
    assert [a["rewards"][0] for a in answers] == rewards
    assert [a["scores"][0] for a in answers] == rewards
    assert {n: [a["extra_logs"][n][0] for a in answers] for n in components} == components
    assert rewards[0] > rewards[1]  # the comparison says something


def test_the_server_answers_post_get_reward(tmp_path: Path) -> None:
    pytest.importorskip("fastapi")
    sys.path.insert(0, str(SERVER_TESTS))
    try:
        from server_harness import TOKEN, start_server
    finally:
        sys.path.remove(str(SERVER_TESTS))
    server = start_server(tmp_path, ["-r", "math", "-r", "format.think:0.2"])
    try:
        # agent.py, _fetch_rewards_via_http: session.post(url, json=payload)
        payload = {"query": QUERIES, "prompts": PROMPTS, "labels": LABELS}
        answer = server.request(
            "POST", "/get_reward", json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
        )
        assert answer.status == 200, answer.body
        data = answer.json()
        rewards, components = _local_scores()
        assert data["rewards"] == rewards and data["scores"] == rewards
        assert data["extra_logs"] == components
        # One query per request, as a rollout sends it.
        one = server.request(
            "POST",
            "/get_reward",
            json.dumps({"query": QUERIES[:1], "prompts": PROMPTS[:1], "labels": LABELS[:1]}).encode(),
        )
        assert one.json()["rewards"] == rewards[:1]
        bad = server.request(
            "POST", "/get_reward", json.dumps({"query": QUERIES, "prompts": PROMPTS[:1], "labels": LABELS}).encode()
        )
        assert bad.status == 422 and bad.json()["field"] == "prompts"
        assert server.request("POST", "/get_reward", b"{}", token=None).status == 401
        assert TOKEN
    finally:
        server.stop()
