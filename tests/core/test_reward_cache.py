"""The reward cache: a batch is scored again whenever anything a verifier reads has changed.

TRL calls every reward function of a composition with the same batch, so the RewardSet scores a
batch once and serves the other components from a cache keyed on the batch. The key covers the
texts, the prompts, the dataset columns and ``completion_ids``, with arrays and tensors hashed by
their bytes (their ``repr`` elides the middle of a large array).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from grpo_rewards import load_rewards

REPEATED = [7] * 2000  # one token over and over: -1.0 on tokens
DISTINCT = list(range(2000))  # no repeated trigram: 0.0


def token_repetition() -> Any:
    return load_rewards([{"name": "repetition", "options": {"unit": "tokens"}}]).reward_funcs[0]


def test_same_text_with_other_completion_ids_is_scored_again() -> None:
    func = token_repetition()
    assert func(prompts=["q"], completions=["same text"], completion_ids=[REPEATED])[0] < -0.99
    assert func(prompts=["q"], completions=["same text"], completion_ids=[DISTINCT]) == [0.0]


def sevens(completions: list[Any], completion_ids: list[Any], **kwargs: Any) -> list[float]:
    return [float(np.count_nonzero(np.asarray(x) == 7)) for x in completion_ids]


@pytest.mark.parametrize("kind", ["numpy", "torch", "list"])
def test_large_ids_that_differ_in_the_middle_are_told_apart(kind: str) -> None:
    first: Any = np.array([1, 2, 3] + [7] * 2000 + [4, 5, 6])
    second: Any = np.array([1, 2, 3] + [8] * 2000 + [4, 5, 6])
    assert repr(first) == repr(second)  # the first and last three items around "..."
    if kind == "torch":
        torch = pytest.importorskip("torch")
        first, second = torch.tensor(first), torch.tensor(second)
        assert repr(first) == repr(second)
    elif kind == "list":
        first, second = first.tolist(), second.tolist()
    func = load_rewards([sevens]).reward_funcs[0]
    assert func(prompts=["q"], completions=["same text"], completion_ids=[first]) == [2000.0]
    assert func(prompts=["q"], completions=["same text"], completion_ids=[second]) == [0.0]


def test_large_array_columns_that_differ_in_the_middle_are_told_apart() -> None:
    def sevens_column(completions: list[Any], ids: list[Any], **kwargs: Any) -> list[float]:
        return [float(np.count_nonzero(np.asarray(x) == 7)) for x in ids]

    func = load_rewards([sevens_column]).reward_funcs[0]
    first = np.array([1, 2, 3] + [7] * 2000 + [4, 5, 6])
    second = np.array([1, 2, 3] + [8] * 2000 + [4, 5, 6])
    assert func(prompts=["q"], completions=["a"], ids=[first]) == [2000.0]
    assert func(prompts=["q"], completions=["a"], ids=[second]) == [0.0]


def test_an_unchanged_batch_is_served_from_the_cache() -> None:
    calls = []

    def counted(completions: list[Any], **kwargs: Any) -> list[float]:
        calls.append(1)
        return [1.0] * len(completions)

    func = load_rewards([counted]).reward_funcs[0]
    for _ in range(2):
        func(prompts=["q"], completions=["a"], completion_ids=[np.array(DISTINCT)])
    assert len(calls) == 1


def test_the_same_batch_at_another_step_is_scored_again() -> None:
    from grpo_rewards.testing import FakeTrainerState

    def step(completions: list[Any], trainer_state: Any, **kwargs: Any) -> list[float]:
        return [float(trainer_state.global_step)] * len(completions)

    func = load_rewards([step]).reward_funcs[0]
    assert func(prompts=["q"], completions=["a"], trainer_state=FakeTrainerState(global_step=1)) == [1.0]
    assert func(prompts=["q"], completions=["a"], trainer_state=FakeTrainerState(global_step=2)) == [2.0]
