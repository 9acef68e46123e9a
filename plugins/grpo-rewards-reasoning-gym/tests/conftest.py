"""Register this plugin explicitly in every test, so the tests pass whether or not it is installed."""

from __future__ import annotations

from collections.abc import Iterator

import grpo_rewards_reasoning_gym
import pytest

from grpo_rewards.plugins import Registry
from grpo_rewards.testing import registered_plugin


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[Registry]:
    # Only built-ins from the environment; this plugin comes in through registered_plugin.
    monkeypatch.setenv("GRPO_REWARDS_LOAD_PLUGINS", "")
    with registered_plugin(grpo_rewards_reasoning_gym, name="reasoning_gym") as reg:
        yield reg
