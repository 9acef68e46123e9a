"""Fixtures for the trainer tests: a tiny local model that ends its answers, and arithmetic data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def tiny_model_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny Qwen2-style model, warm-started for 40 steps so that its completions end (with
    random weights every completion runs to max_completion_length, which is slow on a CPU)."""
    tiny = pytest.importorskip("grpo_rewards_trainer.tiny")
    return Path(tiny.build_tiny_model(tmp_path_factory.mktemp("tiny") / "model", seed=0, warm_start_steps=40))


@pytest.fixture(scope="session")
def arithmetic_rows() -> list[dict[str, Any]]:
    """64 bundled arithmetic problems as chat prompts, with their ``answer`` column."""
    from grpo_rewards_trainer.arithmetic import load_bundled_rows
    from grpo_rewards_trainer.tiny import SYSTEM_PROMPT

    return [
        {
            "prompt": [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": r["question"]}],
            "answer": r["answer"],
        }
        for r in load_bundled_rows()[:64]
    ]
