"""grpo_rewards.testing: the helpers plugin authors use must themselves catch contract breaches."""

from __future__ import annotations

import threading
from typing import Any

import pytest

import grpo_rewards
from grpo_rewards import Sample, Score, Verifier
from grpo_rewards.plugins import get_registry
from grpo_rewards.testing import (
    assert_reward_contract,
    assert_verifier_contract,
    call_like_trl,
    registered_plugin,
    reward_function,
)


class Shout(Verifier):
    name = "test.shout"
    description = "1.0 when the completion is upper case"

    def __init__(self, *, bonus: float = 0.0) -> None:
        self.bonus = bonus

    def score(self, sample: Sample) -> Score:
        if sample.completion.isupper():
            return Score.correct(value=1.0 + self.bonus)
        return Score.wrong("not upper case")


class SeesColumns(Verifier):
    """Records what TRL passed, to check call_like_trl passes what TRL passes."""

    name = "test.columns"
    description = "scores len(row)"
    seen: list[dict[str, Any]] = []

    def score(self, sample: Sample) -> Score:
        SeesColumns.seen.append({"row": dict(sample.row), "prompt": sample.prompt, "ids": sample.completion_ids})
        return Score.scored(float(len(sample.row)))


class ShoutPlugin:
    @grpo_rewards.hookimpl
    def register_verifiers(self, register: Any) -> None:
        register(Shout)
        register(SeesColumns)


ROWS = [{"prompt": "say it", "answer": "HI", "completion": "ignored", "extra": i} for i in range(3)]


def test_registered_plugin_is_undone_after_the_block() -> None:
    with registered_plugin(ShoutPlugin(), name="shout-plugin") as reg:
        assert "test.shout" in reg.verifiers
        assert reg.verifiers["test.shout"].plugin.name == "shout-plugin"
    assert "test.shout" not in get_registry().verifiers


def test_call_like_trl_passes_columns_like_grpo_trainer() -> None:
    SeesColumns.seen.clear()
    with registered_plugin(ShoutPlugin(), name="shout-plugin"):
        call = call_like_trl("test.columns", ROWS, ["A", "b", "C"], completion_ids=[[1], [2, 3], [4]])
    # 'prompt' and 'completion' are not forwarded as columns; 'answer' and 'extra' are.
    assert [s["row"] for s in SeesColumns.seen] == [{"answer": "HI", "extra": i} for i in range(3)]
    assert [s["prompt"] for s in SeesColumns.seen] == ["say it"] * 3
    assert [list(s["ids"]) for s in SeesColumns.seen] == [[1], [2, 3], [4]]
    assert call.values == [2.0, 2.0, 2.0]
    # the adapter reports outcome rates through log_metric and per-sample outcomes through log_extra
    assert call.metric("outcomes/test.columns/scored") == 1.0
    assert call.extra == [("outcome/test.columns", ["scored"] * 3)]


def test_assert_reward_contract_accepts_a_good_reward_and_returns_values() -> None:
    with registered_plugin(ShoutPlugin(), name="shout-plugin"):
        values = assert_reward_contract("test.shout", ROWS, ["YES", "no", "OK"])
        assert values == [1.0, 0.0, 1.0]
        rf = reward_function({"name": "test.shout", "options": {"bonus": 0.5}})
        assert assert_reward_contract(rf, ROWS, ["YES", "no", "OK"]) == [1.5, 0.0, 1.5]


def _wrong_length(prompts: Any = None, completions: Any = None, **kw: Any) -> list[float]:
    return [1.0]


def _ints(prompts: Any = None, completions: Any = None, **kw: Any) -> list[int]:
    return [1 for _ in completions]


def _nan(prompts: Any = None, completions: Any = None, **kw: Any) -> list[float]:
    return [float("nan") for _ in completions]


def test_assert_reward_contract_catches_wrong_length_types_and_nan() -> None:
    with pytest.raises(AssertionError, match="returned 1 rewards for 3 completions"):
        assert_reward_contract(_wrong_length, ROWS, ["a", "b", "c"])
    with pytest.raises(AssertionError, match=r"reward 0 is 1 \(int\)"):
        assert_reward_contract(_ints, ROWS, ["a", "b", "c"])
    with pytest.raises(AssertionError, match="finite float or None"):
        assert_reward_contract(_nan, ROWS, ["a", "b", "c"])


def test_assert_reward_contract_catches_unpicklable_and_nameless() -> None:
    lock = threading.Lock()

    def holds_a_lock(prompts: Any = None, completions: Any = None, **kw: Any) -> list[float]:
        assert lock is not None
        return [0.0 for _ in completions]

    with pytest.raises(AssertionError, match="not picklable"):
        assert_reward_contract(holds_a_lock, ROWS, ["a", "b", "c"])

    class Nameless:
        def __call__(self, prompts: Any = None, completions: Any = None, **kw: Any) -> list[float]:
            return [0.0 for _ in completions]

    with pytest.raises(AssertionError, match="no usable __name__"):
        assert_reward_contract(Nameless(), ROWS, ["a", "b", "c"])


def test_call_like_trl_awaits_async_reward_functions() -> None:
    with registered_plugin(ShoutPlugin(), name="shout-plugin"):
        rs = grpo_rewards.load_rewards(["test.shout"])
        call = call_like_trl(rs.async_reward_funcs[0], ROWS, ["A", "b", "C"])
    assert call.values == [1.0, 0.0, 1.0]


class BadName(Verifier):
    name = "Bad Name"
    description = "x"


class PositionalOption(Verifier):
    name = "test.positional"
    description = "takes a positional option"

    def __init__(self, column: str = "answer") -> None:
        self.column = column


class HoldsLock(Shout):
    name = "test.lock"

    def __init__(self) -> None:
        self.lock = threading.Lock()


def test_assert_verifier_contract() -> None:
    samples = [Sample("YES"), Sample("no")]
    scores = assert_verifier_contract(Shout, samples)
    assert [s.outcome.value for s in scores if isinstance(s, Score)] == ["correct", "wrong"]
    with pytest.raises(AssertionError, match="not a dotted lowercase name"):
        assert_verifier_contract(BadName, samples)
    with pytest.raises(AssertionError, match="must be keyword-only"):
        assert_verifier_contract(PositionalOption, samples)
    with pytest.raises(AssertionError, match="not picklable"):
        assert_verifier_contract(HoldsLock, samples)
