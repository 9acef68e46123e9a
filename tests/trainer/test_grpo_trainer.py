"""grpo_rewards_trainer.GRPOTrainer trains for real: the seed's example, TRL 1.x's names, and a
composition with a plain function whose logged rewards match an offline re-score."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("trl")

pytestmark = pytest.mark.slow

HERE = Path(__file__).parent


def _two_steps(out: Path, **overrides: Any) -> Any:
    """A GRPOConfig for two logged steps of 8 completions (2 prompts x 4) on the tiny model."""
    from grpo_rewards_trainer import GRPOConfig

    settings: dict[str, Any] = {
        "output_dir": str(out),
        "per_device_train_batch_size": 8,
        "num_generations": 4,
        "max_completion_length": 24,
        "max_steps": 2,
        "logging_steps": 1,
        "report_to": "none",
    }
    return GRPOConfig(**{**settings, **overrides})


def _artifacts(out: Path, steps: int, logged: list[int] | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """run.json and metrics.jsonl of a finished run, after checking every artifact is there
    (``logged``: the steps with a metrics row, default every step)."""
    from grpo_rewards_trainer.outputs import read_metrics

    run = json.loads((out / "run.json").read_text())
    assert run["finished"] is True and run["command"] == "GRPOTrainer"
    rows = read_metrics(out / "metrics.jsonl")
    assert [r["step"] for r in rows] == (logged or list(range(1, steps + 1)))
    assert (out / "rewards.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "model" / "config.json").is_file()
    completions = [json.loads(line) for line in (out / "completions.jsonl").read_text().splitlines()]
    assert {c["step"] for c in completions} == set(range(1, steps + 1))
    return run, rows


def test_the_seed_example_runs_as_written(tiny_model_path: Path, arithmetic_rows, tmp_path, monkeypatch) -> None:
    from datasets import Dataset
    from grpo_rewards_trainer import FallbackWarning
    from transformers import AutoModelForCausalLM, AutoTokenizer

    monkeypatch.chdir(tmp_path)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_path)  # a tiny local model...
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_path)
    dataset = Dataset.from_list(arithmetic_rows)  # ...and dataset; from here on the seed, verbatim
    with pytest.warns(FallbackWarning, match=r"optim='adamw_8bit' needs bitsandbytes on a CUDA GPU"):
        # ---- ../shared/seed/GRPOTrainer.md, "Example Usage" (import line and max_steps changed) ----
        from grpo_rewards_trainer import GRPOConfig, GRPOTrainer

        # Define reward function (example for math)
        def reward_fn(responses, ground_truths):
            rewards = []
            for resp, gt in zip(responses, ground_truths):
                # Check if answer matches
                rewards.append(1.0 if gt in resp else 0.0)
            return rewards

        # Configure GRPO training
        args = GRPOConfig(
            output_dir="grpo_outputs",
            per_device_train_batch_size=1,
            gradient_accumulation_steps=8,
            learning_rate=1e-5,
            max_steps=2,
            num_generations=4,  # Generate 4 responses per prompt
            optim="adamw_8bit",
        )

        # Create trainer
        trainer = GRPOTrainer(
            model=model,
            args=args,
            train_dataset=dataset,
            tokenizer=tokenizer,
            reward_fn=reward_fn,
        )

        trainer.train()
        # ---- end of the seed's example ----
    assert args.bf16 is False and args.optim == "adamw_torch"
    run, rows = _artifacts(tmp_path / "grpo_outputs", steps=2, logged=[2])  # TRL logs every 10 steps, and at the end
    for row in rows:
        assert 0.0 <= row["rewards/reward_fn/mean"] <= 1.0
        assert row["outcomes/reward_fn/scored"] == 1.0
    assert run["rewards"]["components"][0]["name"] == "reward_fn"
    assert run["rewards"]["components"][0]["options"] == {"gold_column": "answer"}


@pytest.mark.parametrize("style", ["keywords", "positional"])
def test_trl_1x_names_run_too(style: str, tiny_model_path: Path, arithmetic_rows, tmp_path) -> None:
    from datasets import Dataset
    from grpo_rewards_trainer import GRPOTrainer
    from transformers import AutoTokenizer

    def reward_len(completions, **kwargs):  # TRL's documented example, in TRL's form
        return [-abs(20 - len(c[-1]["content"])) / 20.0 for c in completions]

    args = _two_steps(tmp_path / "out")
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_path)
    dataset = Dataset.from_list(arithmetic_rows)
    if style == "keywords":
        trainer = GRPOTrainer(
            model=str(tiny_model_path),  # a path: loaded by the chosen backend
            reward_funcs=[reward_len, "format.think:0.2"],
            args=args,
            train_dataset=dataset,
            processing_class=tokenizer,
        )
    else:  # TRL's positional order: model, reward_funcs, args, train_dataset, eval_dataset, processing_class
        trainer = GRPOTrainer(str(tiny_model_path), [reward_len, "format.think:0.2"], args, dataset, None, tokenizer)
    assert args.reward_weights == [1.0, 0.2]
    assert trainer.backend["name"] == "transformers"
    trainer.train()
    run, rows = _artifacts(tmp_path / "out", steps=2)
    assert run["backend"]["name"] == "transformers" and run["model"]["source"] == "local"
    for row in rows:
        assert math.isfinite(row["rewards/reward_len/mean"]) and math.isfinite(row["rewards/format.think/mean"])


def _rescore(spec: list[Any], completions: list[dict[str, Any]]) -> dict[int, dict[str, float]]:
    """Per step, each component's mean (over values that are not None) from an offline re-score."""
    from grpo_rewards import load_rewards

    rs = load_rewards(spec)
    means: dict[int, dict[str, float]] = {}
    for step in sorted({c["step"] for c in completions}):
        batch = [c for c in completions if c["step"] == step]
        res = rs.score(
            [c["completion"] for c in batch],
            prompts=[c["prompt"] for c in batch],
            columns={"answer": [c["answer"] for c in batch]},
        )
        means[step] = {}
        for name, values in res.values.items():
            kept = [v for v in values if v is not None]
            means[step][name] = sum(kept) / len(kept) if kept else math.nan
    return means


def test_plain_function_beside_built_ins_logs_what_an_offline_rescore_gives(
    tiny_model_path: Path, arithmetic_rows, tmp_path, monkeypatch
) -> None:
    from datasets import Dataset
    from grpo_rewards_trainer import GRPOTrainer
    from transformers import AutoTokenizer

    monkeypatch.syspath_prepend(str(HERE))
    from plain_rewards import my_plain_fn

    out = tmp_path / "out"
    trainer = GRPOTrainer(
        model=str(tiny_model_path),
        args=_two_steps(out),
        train_dataset=Dataset.from_list(arithmetic_rows),
        tokenizer=AutoTokenizer.from_pretrained(tiny_model_path),
        rewards=["math", my_plain_fn, "format.think:0.2"],
    )
    trainer.train()
    _, rows = _artifacts(out, steps=2)
    completions = [json.loads(line) for line in (out / "completions.jsonl").read_text().splitlines()]
    assert len(completions) == 2 * 8
    offline = _rescore(["math", my_plain_fn, "format.think:0.2"], completions)
    for row in rows:
        for name in ("math", "my_plain_fn", "format.think"):
            logged = row[f"rewards/{name}/mean"]
            assert logged == pytest.approx(offline[row["step"]][name], abs=1e-5, nan_ok=True), (name, row["step"])
        # the recorded per-completion rewards are the very values TRL got
        batch = [c for c in completions if c["step"] == row["step"]]
        mine = [c["rewards"]["my_plain_fn"] for c in batch]
        assert sum(mine) / len(mine) == pytest.approx(row["rewards/my_plain_fn/mean"], abs=1e-5)

    # The command line, with the function named by import path in a rewards TOML, gives the same.
    (tmp_path / "rewards.toml").write_text(
        '[[rewards]]\nname = "math"\n\n[[rewards]]\nname = "plain_rewards:my_plain_fn"\n\n'
        '[[rewards]]\nname = "format.think"\nweight = 0.2\n'
    )
    train_rows = tmp_path / "train_rows.jsonl"
    train_rows.write_text("".join(json.dumps(c) + "\n" for c in completions))
    cli = Path(sys.executable).parent / "grpo-rewards"
    env = {**os.environ, "PYTHONPATH": str(HERE), "GRPO_REWARDS_LOAD_PLUGINS": ""}
    proc = subprocess.run(
        [str(cli), "score", str(train_rows), "--config", str(tmp_path / "rewards.toml"), "--no-progress"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    scored = [json.loads(line) for line in proc.stdout.splitlines()]
    for row in rows:
        for name in ("math", "my_plain_fn", "format.think"):
            values = [s["rewards"][name] for s in scored if s["step"] == row["step"] and s["rewards"][name] is not None]
            mean = sum(values) / len(values) if values else math.nan
            assert mean == pytest.approx(row[f"rewards/{name}/mean"], abs=1e-5, nan_ok=True), (name, row["step"])


def test_plain_trl_trainer_stops_at_the_first_step_on_a_missing_gold_column(tiny_model_path: Path, tmp_path) -> None:
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOTrainer as TrlGRPOTrainer

    from grpo_rewards import load_rewards
    from grpo_rewards.errors import DatasetColumnError

    rs = load_rewards(["math"])
    rows = [{"prompt": f"What is {a} + 1?", "ground_truths": str(a + 1)} for a in range(8)]
    trainer = TrlGRPOTrainer(
        model=AutoModelForCausalLM.from_pretrained(tiny_model_path),
        reward_funcs=rs.reward_funcs,
        args=_two_steps(
            tmp_path / "out", per_device_train_batch_size=4, max_completion_length=8, reward_weights=rs.reward_weights
        ),
        train_dataset=Dataset.from_list(rows),
        processing_class=AutoTokenizer.from_pretrained(tiny_model_path),
    )
    with pytest.raises(DatasetColumnError) as err:
        trainer.train()
    assert str(err.value).startswith(
        "reward 'math' needs column 'answer', which the data does not have. The dataset has columns: ground_truths."
    )
    assert trainer.state.global_step == 0  # not one optimizer step on no signal
