"""judge.llm against a real OpenAI-compatible server: ``transformers serve`` on loopback serving a tiny
locally built chat model. Its verdicts are random; the plumbing (messages, parsing, caching) is exact."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import openai
import pytest
from grpo_rewards_judge import LLMJudge, ScoreParseError, parse_score
from transformers import AutoTokenizer

import grpo_rewards
from grpo_rewards import Sample
from grpo_rewards.plugins import Registry
from grpo_rewards.testing import assert_reward_contract

pytestmark = pytest.mark.slow  # starts a server (about 15 s, once per session)

RUBRIC = "grade the response to the task . task : {prompt} response : {completion} answer : {answer} Score :"
ROWS = [{"prompt": "how many legs does a cat have ?", "answer": "four"}] * 2 + [
    {"prompt": "please add two and two", "answer": "4"}
] * 2
COMPLETIONS = ["four", "three legs", "4", "the answer is 5"]


def _judge(served: tuple[str, str], **opts: Any) -> LLMJudge:
    base_url, model = served
    opts.setdefault("max_tokens", 1)
    return LLMJudge(model=model, base_url=base_url, rubric=RUBRIC, **opts)


def _samples() -> list[Sample]:
    return [
        Sample(c, row={"answer": r["answer"]}, prompt=r["prompt"], index=i)
        for i, (c, r) in enumerate(zip(COMPLETIONS, ROWS, strict=True))
    ]


def test_verdicts_follow_the_servers_replies_exactly(served_model: tuple[str, str]) -> None:
    base_url, model = served_model
    judge = _judge(served_model)
    samples = _samples()
    scores = judge.score_batch(samples)
    client = openai.OpenAI(base_url=base_url, api_key="EMPTY", max_retries=0)
    tok = AutoTokenizer.from_pretrained(model)
    for sample, score in zip(samples, scores, strict=True):
        assert isinstance(score, grpo_rewards.Score)
        messages = judge.messages(sample)
        # the rubric was filled from the prompt, the completion and the row's column
        assert messages == [
            {
                "role": "user",
                "content": RUBRIC.format(
                    prompt=sample.prompt, completion=sample.completion, answer=sample.row["answer"]
                ),
            }
        ]
        # the server tokenized exactly these messages (greedy decoding makes the reply reproducible)
        ids = tok.apply_chat_template(messages, add_generation_prompt=True, tokenize=True, return_dict=True)[
            "input_ids"
        ]
        assert score.info["prompt_tokens"] == len(ids)
        reply = client.chat.completions.create(model=model, messages=messages, temperature=0.0, max_tokens=1)
        text = reply.choices[0].message.content
        assert score.info["judge_reply"] == text
        # and the verdict is exactly what parsing that reply gives
        try:
            expected = parse_score(text, 0, 10) / 10
        except ScoreParseError:
            assert (score.value, score.outcome.value) == (None, "unparseable"), score
        else:
            assert (score.value, score.outcome.value) == (pytest.approx(expected), "scored"), score


def test_one_token_replies_are_verdicts_and_longer_ones_unparseable(served_model: tuple[str, str]) -> None:
    # the tiny model only says "3" or "7" (see tiny.build_causal_lm): one token is a bare-number verdict
    scores = _judge(served_model, max_tokens=1).score_batch(_samples())
    assert {(s.value, s.outcome.value) for s in scores} <= {(0.3, "scored"), (0.7, "scored")}  # type: ignore[union-attr]
    # "3 7 3" holds no verdict: unparseable, and no reward (None) rather than 0
    judge = _judge(served_model, max_tokens=3)
    scores = judge.score_batch(_samples())
    assert {(s.value, s.outcome.value) for s in scores} == {(None, "unparseable")}  # type: ignore[union-attr]
    assert all("no score found" in s.detail for s in scores)  # type: ignore[union-attr]


def test_cache_answers_without_the_server(served_model: tuple[str, str], tmp_path: Path) -> None:
    cache = tmp_path / "judge.sqlite"
    first = _judge(served_model, cache_path=str(cache)).score_batch(_samples())
    assert all(s.info["cached"] is False for s in first if isinstance(s, grpo_rewards.Score))  # type: ignore[union-attr]
    # a fresh judge with the same cache file, pointed at a dead endpoint: every verdict comes from the cache
    dead = LLMJudge(model=served_model[1], base_url="http://127.0.0.1:9/v1", rubric=RUBRIC, max_tokens=1,
                    cache_path=str(cache), max_retries=0)  # fmt: skip
    again = dead.score_batch(_samples())
    assert [(s.value, s.outcome) for s in again] == [(s.value, s.outcome) for s in first]  # type: ignore[union-attr]
    assert all(s.info["cached"] is True for s in again)  # type: ignore[union-attr]
    # without the cache, the dead endpoint is an error outcome
    nocache = LLMJudge(model=served_model[1], base_url="http://127.0.0.1:9/v1", rubric=RUBRIC, max_tokens=1, cache=False,
                       max_retries=0, cache_path=str(cache))  # fmt: skip
    assert {s.outcome.value for s in nocache.score_batch(_samples())} == {"error"}  # type: ignore[union-attr]


def test_reward_contract_through_trl_call(registry: Registry, served_model: tuple[str, str]) -> None:
    base_url, model = served_model
    spec = {"name": "judge.llm", "options": {"model": model, "base_url": base_url, "rubric": RUBRIC, "max_tokens": 1}}
    values = assert_reward_contract(spec, ROWS, COMPLETIONS)
    assert set(values) <= {0.3, 0.7}
