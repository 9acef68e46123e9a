"""Fixtures for the core tests: test verifiers registered explicitly, never whatever is installed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from core_test_plugin import Length, TestPlugin

from grpo_rewards.plugins import Registry, registered_plugin, reset_registry


@pytest.fixture
def no_installed_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Core tests never depend on whatever third-party plugins happen to be installed."""
    monkeypatch.setenv("GRPO_REWARDS_LOAD_PLUGINS", "")
    monkeypatch.delenv("GRPO_REWARDS_DISABLE_PLUGINS", raising=False)
    reset_registry()
    yield
    reset_registry()


@pytest.fixture
def test_registry(no_installed_plugins: None) -> Iterator[Registry]:
    Length.calls = 0
    with registered_plugin(TestPlugin(), name="test-plugin") as reg:
        yield reg
