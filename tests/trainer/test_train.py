"""A short, seeded GRPO run end to end: the mean reward rises, every output is written, and
``--resume`` continues from the last checkpoint."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("trl")

from grpo_rewards_trainer import cli
from grpo_rewards_trainer.outputs import read_metrics, reward_trend

# The embedded default, shortened: a briefly warm-started tiny model, 16 steps of 4 prompts x 4
# completions, and an overlong penalty that starts early (at 8 of 24 tokens), so that the signal
# the policy can learn in 16 steps (ending its answers in time) is strong.
SHORT = [
    "model.tiny_warm_start_steps=30",
    "grpo.max_steps=16",
    "grpo.per_device_train_batch_size=16",
    "grpo.num_generations=4",
    "grpo.max_completion_length=24",
    "grpo.save_steps=8",
    "grpo.disable_tqdm=true",
    "rewards=[{name='math'}, {name='format.think', options={mode='soft'}},"
    " {name='length.overlong', options={max_length=24, cache_length=16}}]",
]


def _sets(settings: list[str]) -> list[str]:
    return [arg for s in settings for arg in ("--set", s)]


@pytest.mark.slow
def test_short_seeded_run_raises_the_mean_reward_and_writes_every_output(tmp_path) -> None:
    out = tmp_path / "run"
    assert cli.main(["-q", "-o", str(out), *_sets(SHORT)]) == 0

    rows = read_metrics(out / "metrics.jsonl")
    assert [r["step"] for r in rows] == list(range(1, 17))
    trend = reward_trend(rows)
    assert trend["last_quarter_mean"] > trend["first_quarter_mean"] + 0.15, trend

    for row in rows:
        assert {"reward", "reward_std"} <= set(row)
        for name in ("math", "format.think", "length.overlong"):
            assert f"rewards/{name}/mean" in row
        # Outcome rates from the reward library (fractions of the batch) sum to one per component.
        for name in ("math", "format.think", "length.overlong"):
            rates = [v for k, v in row.items() if k.startswith(f"outcomes/{name}/")]
            assert rates and abs(sum(rates) - 1.0) < 1e-6, (name, row)

    run = json.loads((out / "run.json").read_text())
    assert run["finished"] is True
    assert run["backend"] == {"name": "transformers", "reason": run["backend"]["reason"]}
    assert run["config"]["grpo"]["max_steps"] == 16
    for package in ("grpo-rewards", "trl", "transformers", "torch"):
        assert run["versions"][package]
    assert "unsloth" in run["versions"]
    builtin = [p for p in run["plugins"] if p.get("builtin")]
    assert builtin and all({"name", "distribution", "version"} <= set(p) for p in run["plugins"])
    assert run["reward_trend"] == trend
    assert [c["name"] for c in run["rewards"]["components"]] == ["math", "format.think", "length.overlong"]

    assert (out / "rewards.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "model" / "config.json").is_file() and (out / "model" / "tokenizer.json").is_file()
    assert (out / "checkpoint-8").is_dir() and (out / "checkpoint-16").is_dir()

    # --resume continues from checkpoint-16 up to the new max_steps.
    assert cli.main(["-q", "-o", str(out), "--resume", *_sets([*SHORT, "grpo.max_steps=18"])]) == 0
    rows = read_metrics(out / "metrics.jsonl")
    assert [r["step"] for r in rows] == list(range(1, 19))
    run = json.loads((out / "run.json").read_text())
    assert run["resumed_from"].endswith("checkpoint-16")
    assert (out / "checkpoint-18").is_dir()
