"""Fixtures shared across the test folders."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def train_tiny_grpo(tmp_path: Path) -> Callable[..., list[dict[str, Any]]]:
    """Train a real ``trl.GRPOTrainer`` on the tiny locally built model (nothing downloaded) and
    return the log entries that carry a reward, one per step."""
    pytest.importorskip("trl")
    tiny = pytest.importorskip("grpo_rewards_trainer.tiny")

    def run(
        reward_funcs: Sequence[Any],
        reward_weights: Sequence[float],
        rows: Sequence[dict[str, Any]],
        *,
        max_steps: int,
        max_completion_length: int,
    ) -> list[dict[str, Any]]:
        from datasets import Dataset
        from transformers import AutoModelForCausalLM, AutoTokenizer
        from trl import GRPOConfig, GRPOTrainer

        model_dir = tiny.build_tiny_model(tmp_path / "model", seed=0)
        args = GRPOConfig(
            output_dir=str(tmp_path / "out"),
            max_steps=max_steps,
            per_device_train_batch_size=4,
            num_generations=4,
            max_completion_length=max_completion_length,
            learning_rate=1e-3,
            logging_steps=1,
            report_to=[],
            use_cpu=True,
            seed=0,
            save_strategy="no",
            reward_weights=list(reward_weights),
            dataloader_num_workers=0,
        )
        trainer = GRPOTrainer(
            model=AutoModelForCausalLM.from_pretrained(model_dir),
            reward_funcs=list(reward_funcs),
            args=args,
            train_dataset=Dataset.from_list(list(rows)),
            processing_class=AutoTokenizer.from_pretrained(model_dir),
        )
        trainer.train()
        return [h for h in trainer.state.log_history if "reward" in h]

    return run
