"""Fixtures for tests/plugins (the helpers live in plugin_venvs.py)."""

from __future__ import annotations

import pytest
from plugin_venvs import BROKEN_PLUGIN, PLUGIN_DIRS, Venv, make_venv


@pytest.fixture(scope="session")
def plugin_venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """A venv with every package under plugins/ installed from its folder, plus a plugin that fails at import."""
    root = tmp_path_factory.mktemp("plugin-venv")
    env = make_venv(root / "venv")
    broken = root / "grpo-rewards-broken"
    for rel, text in BROKEN_PLUGIN.items():
        (broken / rel).parent.mkdir(parents=True, exist_ok=True)
        (broken / rel).write_text(text)
    env.pip_install(*PLUGIN_DIRS, broken)
    return env
