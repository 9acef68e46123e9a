"""A real ``trl.GRPOTrainer`` run on a tiny locally built model, rewarded by ``load_rewards`` output."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

pytest.importorskip("trl")
tiny = pytest.importorskip("grpo_rewards_trainer.tiny")


@pytest.mark.slow
@pytest.mark.parametrize("form", ["sync", "async"])
def test_grpo_trainer_trains_and_logs_each_component(tmp_path: Path, test_registry: object, form: str) -> None:
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    from grpo_rewards import load_rewards

    model_dir = tiny.build_tiny_model(tmp_path / "model", seed=0)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)

    rows = [{"prompt": f"What is {a} + {b}? ", "answer": str(a + b)} for a in range(4) for b in range(4)]
    rs = load_rewards(
        [
            "exact",
            {"name": "test.length", "alias": "length", "weight": 0.1, "options": {"scale": 100.0}},
            {"name": "test.flaky", "weight": 0.0},
        ]
    )
    funcs = rs.reward_funcs if form == "sync" else rs.async_reward_funcs
    args = GRPOConfig(
        output_dir=str(tmp_path / "out"),
        max_steps=3,
        per_device_train_batch_size=4,
        num_generations=4,
        max_completion_length=12,
        learning_rate=1e-3,
        logging_steps=1,
        report_to=[],
        use_cpu=True,
        seed=0,
        save_strategy="no",
        reward_weights=rs.reward_weights,
        dataloader_num_workers=0,
    )
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=funcs,
        args=args,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
    )
    trainer.train()
    logs = [h for h in trainer.state.log_history if "reward" in h]
    assert len(logs) == 3
    for h in logs:
        for name in ("exact", "length", "test.flaky"):
            assert f"rewards/{name}/mean" in h, sorted(h)
            assert math.isfinite(h[f"rewards/{name}/mean"])
        # outcome rates reported through TRL's log_metric
        assert h["outcomes/test.flaky/correct"] + h.get("outcomes/test.flaky/no_answer", 0.0) == pytest.approx(1.0)
        assert 0.0 <= h["rewards/length/mean"] <= 12 * 20 / 100.0
