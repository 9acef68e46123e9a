"""judge.llm when the endpoint misbehaves: down -> error, slow -> timeout, flaky -> retried; concurrency capped."""

from __future__ import annotations

import pytest
from grpo_rewards_judge import LLMJudge
from stub_server import Behaviour, free_port, stub_server

import grpo_rewards
from grpo_rewards import Sample, Score
from grpo_rewards.plugins import Registry


def _samples(n: int = 3) -> list[Sample]:
    return [Sample(f"completion number {i}", prompt="task", index=i) for i in range(n)]


def _outcomes(scores: list) -> list[tuple[float | None, str]]:
    assert all(isinstance(s, Score) for s in scores), scores
    return [(s.value, s.outcome.value) for s in scores]


def test_endpoint_down_is_an_error_outcome_naming_the_endpoint() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    scores = LLMJudge(model="m", base_url=url, max_retries=0).score_batch(_samples())
    assert _outcomes(scores) == [(None, "error")] * 3
    assert f"cannot reach {url}" in scores[0].detail  # type: ignore[union-attr]


def test_slow_endpoint_times_out_after_the_retries() -> None:
    behaviour = Behaviour(delay=3.0)
    with stub_server(behaviour) as url:
        scores = LLMJudge(model="m", base_url=url, timeout=0.4, max_retries=1).score_batch(_samples(1))
    assert _outcomes(scores) == [(None, "timeout")]
    assert "no reply within 0.4s (2 tries)" in scores[0].detail  # type: ignore[union-attr]
    assert len(behaviour.requests) == 2


def test_server_errors_are_retried_then_reported() -> None:
    flaky = Behaviour(fail_first=2, status=503, reply="Score: 8")
    with stub_server(flaky) as url:
        scores = LLMJudge(model="m", base_url=url, max_retries=2).score_batch(_samples(1))
    assert _outcomes(scores) == [(0.8, "scored")]
    assert len(flaky.requests) == 3
    broken = Behaviour(fail_first=99, status=500)
    with stub_server(broken) as url:
        scores = LLMJudge(model="m", base_url=url, max_retries=0).score_batch(_samples(1))
    assert _outcomes(scores) == [(None, "error")]
    assert "answered HTTP 500" in scores[0].detail  # type: ignore[union-attr]
    bad_request = Behaviour(fail_first=99, status=400)
    with stub_server(bad_request) as url:
        LLMJudge(model="m", base_url=url, max_retries=3).score_batch(_samples(1))
    assert len(bad_request.requests) == 1  # a 400 is not retried


@pytest.mark.parametrize("concurrency", [1, 3])
def test_concurrency_limit(concurrency: int) -> None:
    behaviour = Behaviour(delay=0.5)
    with stub_server(behaviour) as url:
        judge = LLMJudge(model="m", base_url=url, concurrency=concurrency)
        scores = judge.score_batch(_samples(6))
    assert _outcomes(scores) == [(0.7, "scored")] * 6
    assert behaviour.max_in_flight == concurrency


def test_requests_carry_the_rubric_and_identical_ones_are_sent_once() -> None:
    behaviour = Behaviour(reply="Rating: [[4]]")
    samples = [Sample("same", prompt="task"), Sample("same", prompt="task"), Sample("other", prompt="task")]
    with stub_server(behaviour) as url:
        judge = LLMJudge(
            model="judge-model",
            base_url=url,
            system_prompt="be strict",
            rubric="Q: {prompt}\nA: {completion}\nScore 1-5:",
            scale_min=1,
            scale_max=5,
            temperature=0.5,
            max_tokens=7,
            seed=3,
        )
        scores = judge.score_batch(samples)
        assert _outcomes(scores) == [(0.75, "scored")] * 3
        assert len(behaviour.requests) == 2
        # the two requests run concurrently: find the one for "same"
        req = next(r for r in behaviour.requests if r["messages"][-1]["content"].endswith("A: same\nScore 1-5:"))
        assert req["model"] == "judge-model"
        assert req["messages"] == [
            {"role": "system", "content": "be strict"},
            {"role": "user", "content": "Q: task\nA: same\nScore 1-5:"},
        ]
        assert (req["temperature"], req["max_tokens"], req["seed"]) == (0.5, 7, 3)
        judge.score_batch(samples)  # all cached: no new request
        assert len(behaviour.requests) == 2


def test_options_and_missing_columns(registry: Registry) -> None:
    with pytest.raises(grpo_rewards.ConfigError, match="needs 'model'"):
        grpo_rewards.load_rewards(["judge.llm"])
    with pytest.raises(grpo_rewards.ConfigError, match=r"must contain \{completion\}"):
        grpo_rewards.load_rewards([{"name": "judge.llm", "options": {"model": "m", "rubric": "{prompt}"}}])
    behaviour = Behaviour()
    with stub_server(behaviour) as url:
        rs = grpo_rewards.load_rewards(
            [{"name": "judge.llm", "options": {"model": "m", "base_url": url, "rubric": "{completion} vs {reference}"}}]
        )
        assert rs.required_columns() == {"judge.llm": ["reference"]}
        result = rs.score(["a", "b"], columns={"other": [1, 2]})
    score = result.scores["judge.llm"][0]
    assert (score.value, score.outcome.value) == (None, "bad_reference")
    assert "missing column 'reference'" in score.detail
    assert behaviour.requests == []
