"""Signs of reward hacking: the share of the reward that format-only components give, and the
correlation between reward and completion length, computed per batch and logged through TRL."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from grpo_rewards_trainer.reward_hacking import (
    FORMAT_SHARE,
    LENGTH_CORR,
    format_components,
    format_share,
    length_correlation,
    pearson,
    total_rewards,
)

NAN = math.nan


def test_format_components_are_those_whose_verifier_is_format_star() -> None:
    from grpo_rewards import load_rewards

    def format_looking(completions, **kwargs):  # a plain function is never counted, whatever its name
        return [0.0 for _ in completions]

    rs = load_rewards(["math", "format.think:0.2", {"name": "format.tags", "alias": "tags"}, format_looking])
    assert format_components(rs.components) == ["format.think", "tags"]


def test_format_share_is_the_weighted_format_mean_over_all_weighted_absolute_means() -> None:
    rows = [[1.0, 1.0, -0.5], [0.0, 1.0, -0.5], [NAN, 0.0, -0.5]]  # math, format, length
    weights = [1.0, 0.5, 1.0]
    # means: math 0.5 (NaN left out), format 2/3, length -0.5 -> 0.5*2/3 / (0.5 + 1/3 + 0.5)
    assert format_share(rows, weights, [False, True, False]) == pytest.approx((1 / 3) / (0.5 + 1 / 3 + 0.5))
    assert format_share(rows, weights, [False, False, False]) is None  # no format-only component
    assert format_share([[0.0, 0.0]], [1.0, 1.0], [False, True]) is None  # nothing earned at all
    # A format component that is a net penalty gives a negative share.
    assert format_share([[1.0, -1.0]], [1.0, 1.0], [False, True]) == pytest.approx(-0.5)


def test_length_correlation_is_pearson_between_total_reward_and_length() -> None:
    rows = [[1.0, 0.0], [0.5, NAN], [0.0, 0.0], [NAN, NAN]]
    weights = [2.0, 1.0]
    assert total_rewards(rows, weights)[:3] == [2.0, 1.0, 0.0] and math.isnan(total_rewards(rows, weights)[3])
    # The last row has no signal at all: left out, as TRL leaves it out of the logged reward.
    assert length_correlation(rows, weights, [30, 20, 10, 99]) == pytest.approx(1.0)
    assert length_correlation(rows, weights, [10, 20, 30, 99]) == pytest.approx(-1.0)
    assert length_correlation(rows, weights, [10, 10, 10, 10]) is None  # constant length
    assert pearson([1.0, 2.0, 3.0, 4.0], [1.0, 3.0, 2.0, 4.0]) == pytest.approx(0.8)
    assert pearson([1.0], [2.0]) is None


@pytest.mark.slow
def test_a_real_run_logs_the_signals_to_metrics_jsonl(tiny_model_path: Path, arithmetic_rows, tmp_path) -> None:
    pytest.importorskip("trl")
    from datasets import Dataset
    from grpo_rewards_trainer import GRPOConfig, GRPOTrainer
    from transformers import AutoTokenizer

    out = tmp_path / "out"
    args = GRPOConfig(
        output_dir=str(out),
        per_device_train_batch_size=8,
        num_generations=4,
        max_completion_length=24,
        max_steps=2,
        logging_steps=1,
        report_to="none",
    )
    trainer = GRPOTrainer(
        model=str(tiny_model_path),
        args=args,
        train_dataset=Dataset.from_list(arithmetic_rows),
        tokenizer=AutoTokenizer.from_pretrained(tiny_model_path),
        rewards=["math", "format.think:0.5", "length.overlong"],
    )
    trainer.train()
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    completions = [json.loads(line) for line in (out / "completions.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2]
    names, weights = ["math", "format.think", "length.overlong"], [1.0, 0.5, 1.0]
    for row in rows:
        # The same share, recomputed from the rewards each completion got (completions.jsonl).
        batch = [[NAN if c["rewards"][n] is None else c["rewards"][n] for n in names] for c in completions]
        batch = [b for b, c in zip(batch, completions, strict=True) if c["step"] == row["step"]]
        assert row[FORMAT_SHARE] == pytest.approx(format_share(batch, weights, [False, True, False]), abs=1e-6)
        if LENGTH_CORR in row:  # absent only for a batch of equal lengths or equal rewards
            assert -1.0 <= row[LENGTH_CORR] <= 1.0
    assert any(LENGTH_CORR in r for r in rows)
    assert json.loads((out / "run.json").read_text())["finished"] is True
