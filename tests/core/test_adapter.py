"""Reward functions as TRL calls them: signature, shapes, names, pickling, async, gating, errors."""

from __future__ import annotations

import asyncio
import logging
import pickle
import threading
from collections import defaultdict
from typing import Any

import pytest
from core_test_plugin import Length

from grpo_rewards import Outcome, completion_text, load_rewards
from grpo_rewards.errors import DatasetColumnError
from grpo_rewards.testing import call_like_trl


class FakeState:
    global_step = 3


def test_accepts_trl_kwargs_and_returns_one_float_per_completion(test_registry: object) -> None:
    rs = load_rewards(["exact", "test.length:0.5"])
    assert rs.reward_weights == [1.0, 0.5]
    assert [f.__name__ for f in rs.reward_funcs] == ["exact", "test.length"]
    prompts = ["q1", "q1", "q2", "q2"]
    completions = ["<answer>4</answer>", "<answer>5</answer>", "Paris", "paris "]
    inputs = [
        {"prompt": p, "answer": a, "id": i}
        for i, (p, a) in enumerate(zip(prompts, ["4", "4", "Paris", "Paris"], strict=True))
    ]
    call = call_like_trl(rs.reward_funcs[0], inputs, completions)
    out = call.values
    metrics: dict[str, list[float]] = defaultdict(list)
    for name, value in call.metrics:
        metrics[name].append(value)
    extras: dict[str, list[Any]] = defaultdict(list)
    for column, values in call.extra:
        extras[column].extend(values)
    assert out == [1.0, 0.0, 1.0, 1.0]
    assert all(isinstance(x, float) for x in out)
    assert metrics["outcomes/exact/correct"] == [0.75]
    assert metrics["outcomes/exact/wrong"] == [0.25]
    assert extras["outcome/exact"] == ["correct", "wrong", "correct", "correct"]
    lengths = call_like_trl(rs.reward_funcs[1], inputs, completions).values
    assert lengths == pytest.approx([1.8, 1.8, 0.5, 0.6])


def test_conversational_completions_use_last_assistant_message(test_registry: object) -> None:
    rs = load_rewards(["exact"])
    prompts = [[{"role": "user", "content": "capital of France?"}]] * 3
    completions = [
        [{"role": "assistant", "content": "Paris"}],
        [{"role": "assistant", "content": "Lyon"}, {"role": "tool", "content": "x"}],
        [{"role": "assistant", "content": [{"type": "text", "text": "Par"}, {"type": "text", "text": "is"}]}],
    ]
    rows = [{"prompt": p, "answer": "Paris"} for p in prompts]
    out = call_like_trl(rs.reward_funcs[0], rows, completions).values
    assert out == [1.0, 0.0, 1.0]


def test_completion_text_errors_are_per_sample(test_registry: object) -> None:
    assert completion_text([{"role": "user", "content": "hi"}, {"role": "assistant", "content": None}]) == ""
    with pytest.raises(ValueError, match="no assistant message"):
        completion_text([{"role": "user", "content": "hi"}])
    rs = load_rewards(["exact"])
    res = rs.score(["Paris", [{"role": "user", "content": "x"}]], columns={"answer": ["Paris", "Paris"]})
    assert res.values["exact"] == [1.0, None]
    assert res.scores["exact"][1].outcome is Outcome.ERROR
    assert "no assistant message" in res.scores["exact"][1].detail


def test_one_bad_sample_does_not_kill_the_step(test_registry: object, caplog: pytest.LogCaptureFixture) -> None:
    rs = load_rewards(["test.flaky"])
    with caplog.at_level(logging.WARNING, logger="grpo_rewards"):
        out = rs.reward_funcs[0](completions=["fine", "boom", "slow", "", "boom again"])
    assert out == [1.0, None, 0.0, 0.0, None]
    res = rs.score(["fine", "boom"])
    assert res.scores["test.flaky"][1].outcome is Outcome.ERROR
    assert "RuntimeError: kaboom" in res.scores["test.flaky"][1].detail
    assert len([r for r in caplog.records if "kaboom" in r.getMessage()]) == 1  # warned once, not per sample


def test_column_missing_from_the_whole_batch_raises_not_none(test_registry: object) -> None:
    # With None for every row, TRL would train to the end on no signal ("All reward functions
    # returned None"): a column absent from the whole batch is a dataset mistake.
    rs = load_rewards(["exact"])
    with pytest.raises(DatasetColumnError) as err:
        rs.reward_funcs[0](completions=["Paris"], solution=["Paris"], trainer_state=None)
    assert str(err.value) == (
        "reward 'exact' needs column 'answer', which the data does not have. The dataset has columns: solution. "
        "Rename the column, or point the reward's 'column' option at the one that holds it."
    )


def test_row_without_a_value_is_bad_reference_not_zero(test_registry: object) -> None:
    rs = load_rewards(["exact"])
    assert rs.reward_funcs[0](completions=["Paris", "Rome"], answer=["Paris", None]) == [1.0, None]
    res = rs.score(["Paris"], columns={"solution": ["Paris"]})
    assert res.scores["exact"][0].outcome is Outcome.BAD_REFERENCE
    assert "missing column 'answer'" in res.scores["exact"][0].detail


def test_outcome_policies_override_values(test_registry: object) -> None:
    rs = load_rewards(
        [{"name": "test.flaky", "outcomes": {"timeout": -1.0, "no_answer": "skip", "error": 0.0}}],
    )
    assert rs.reward_funcs[0](completions=["ok", "slow", "", "boom"]) == [1.0, -1.0, None, 0.0]


def test_gating_uses_the_gate_components_outcome_and_scores_once(test_registry: object) -> None:
    rs = load_rewards(
        [
            {"name": "test.flaky", "alias": "correct"},
            {"name": "test.length", "weight": 0.1, "gate": {"on": "correct", "otherwise": -2.0}},
        ]
    )
    completions = ["good one", "slow", "boom"]
    flaky_f, length_f = rs.reward_funcs
    assert length_f(completions=completions) == [0.8, -2.0, -2.0]
    assert flaky_f(completions=completions) == [1.0, 0.0, None]
    res = rs.score(completions)
    assert res.scores["test.length"][1].outcome is Outcome.SKIPPED
    assert "gate: correct was timeout" in res.scores["test.length"][1].detail
    # weighted total like TRL's nansum: 1.0 + 0.1*0.8; 0.0 + 0.1*-2; None + 0.1*-2
    assert res.totals == pytest.approx([1.08, -0.2, -0.2])
    assert Length.calls == 1  # the length verifier ran only for the open gate, and only once per batch


def test_dependencies_are_scored_first_and_passed_in_sample_scores(test_registry: object) -> None:
    rs = load_rewards(["test.reads", "test.flaky:0"])  # declared before its source: order resolved
    assert rs.reward_funcs[0](completions=["ok", "slow"]) == [1.0, -1.0]


def test_missing_dependency_is_a_config_error(test_registry: object) -> None:
    from grpo_rewards import ConfigError

    with pytest.raises(ConfigError, match="needs the scores of 'test.flaky'"):
        load_rewards(["test.reads"])


def test_group_aware_verifier_sees_groups_by_prompt(test_registry: object) -> None:
    rs = load_rewards(["test.groupmean"])
    out = rs.reward_funcs[0](prompts=["a", "a", "b", "b"], completions=["x", "xxx", "yy", "yy"])
    assert out == [-1.0, 1.0, 0.0, 0.0]


def test_all_none_total_is_none(test_registry: object) -> None:
    rs = load_rewards(["test.flaky"])
    assert rs.score(["boom"]).totals == [None]


def test_reward_functions_pickle_and_work_after_unpickling(test_registry: object) -> None:
    rs = load_rewards(["exact", {"name": "test.length", "gate": {"on": "exact"}}])
    funcs = pickle.loads(pickle.dumps(rs.reward_funcs))
    assert [f.__name__ for f in funcs] == ["exact", "test.length"]
    assert funcs[1](completions=["Paris", "Rome"], answer=["Paris", "Paris"]) == [0.5, 0.0]
    afuncs = pickle.loads(pickle.dumps(rs.async_reward_funcs))
    assert asyncio.run(afuncs[0](completions=["Paris"], answer=["Paris"])) == [1.0]


def test_async_form_is_detected_by_trl_and_runs_concurrently(test_registry: object) -> None:
    trl_utils = pytest.importorskip("trl.trainer.utils")
    rs = load_rewards(["exact", "test.length"])
    assert all(trl_utils.is_async_callable(f) for f in rs.async_reward_funcs)
    assert not any(trl_utils.is_async_callable(f) for f in rs.reward_funcs)
    assert [trl_utils.get_callable_name(f) for f in rs.async_reward_funcs] == ["exact", "test.length"]

    async def both() -> list[list[float | None]]:
        kw = {"completions": ["Paris", "no"], "answer": ["Paris", "Paris"]}
        return list(await asyncio.gather(*(f(**kw) for f in rs.async_reward_funcs)))

    assert asyncio.run(both()) == [[1.0, 0.0], [0.5, 0.2]]


def test_thread_safety_under_concurrent_calls(test_registry: object) -> None:
    rs = load_rewards(["exact"])
    results: list[list[float | None]] = []

    def work() -> None:
        results.append(rs.reward_funcs[0](completions=["Paris", "x"], answer=["Paris", "Paris"]))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [[1.0, 0.0]] * 8


def test_calculate_rewards_of_the_installed_trl(test_registry: object) -> None:
    """Run TRL's own GRPOTrainer._calculate_rewards (not a copy of it) on our reward functions."""
    torch = pytest.importorskip("torch")
    grpo = pytest.importorskip("trl.trainer.grpo_trainer")
    from types import SimpleNamespace

    from trl.trainer.utils import get_callable_name

    rs = load_rewards(["exact", "test.flaky:0.5"])
    metrics: dict[str, list[float]] = defaultdict(list)
    fake = SimpleNamespace(
        accelerator=SimpleNamespace(device=torch.device("cpu"), is_main_process=True),
        reward_funcs=rs.reward_funcs,
        reward_processing_classes=[None, None],
        reward_func_names=[get_callable_name(f) for f in rs.reward_funcs],
        state=FakeState(),
        environments=None,
        _log_completion_extra=lambda column, values: None,
        _log_metric=lambda name, value: metrics[name].append(value),
        args=SimpleNamespace(report_to=[]),
    )
    inputs = [
        {"prompt": "q", "completion": c, "answer": "Paris", "extra": i}
        for i, c in enumerate(["Paris", "boom", "Rome", "slow"])
    ]
    fn = getattr(grpo.GRPOTrainer._calculate_rewards, "__wrapped__", grpo.GRPOTrainer._calculate_rewards)
    out = fn(fake, inputs, [x["prompt"] for x in inputs], [x["completion"] for x in inputs], [[1]] * 4)
    assert out.shape == (4, 2)
    assert out[:, 0].tolist() == [1.0, 0.0, 0.0, 0.0]
    assert out[0, 1].item() == 1.0 and torch.isnan(out[1, 1]) and out[3, 1].item() == 0.0
    assert metrics["outcomes/test.flaky/error"] == [0.25]
