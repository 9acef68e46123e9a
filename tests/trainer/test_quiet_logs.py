"""What a run prints: one short line per logging step instead of TRL's metrics dict, no
FutureWarning from our own settings, third-party noise dropped or shown once on one line, and a
model card without ``[None]``."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

pytest.importorskip("trl")

from grpo_rewards_trainer.config import CHECKPOINTING_KEY, load_config
from grpo_rewards_trainer.console import log_line, quiet_third_party

TRL_LOGS = {
    "loss": 0.04689,
    "grad_norm": 1.345,
    "completions/mean_length": 19.22,
    "rewards/math/mean": 0.0,
    "rewards/math/std": 0.0,
    "rewards/format.think/mean": 0.65625,
    "rewards/length.overlong/mean": -0.1875,
    "reward": 0.5625,
    "reward_std": 0.4709,
    "outcomes/math/no_answer": 0.4688,
    "outcomes/math/timeout": 0.03125,
    "outcomes/math/wrong": 0.5,
    "hacking/format_share": 0.875,
    "hacking/length_corr": -0.4138,
    "entropy": 0.9359,
    "epoch": 0.004,
}


def test_a_logging_step_is_one_short_line() -> None:
    line = log_line(TRL_LOGS, 12, 60)
    assert line == (
        "step 12/60  reward 0.562  math 0.000  format.think 0.656  length.overlong -0.188"
        "  format share 0.88  len corr -0.41  math timeout 3%"
    )
    eval_logs = {f"eval_{k}": v for k, v in TRL_LOGS.items() if not k.startswith("outcomes/")}
    assert log_line(eval_logs, 20, 60).startswith("eval  step 20/60  reward 0.562  math 0.000")
    summary = {"train_runtime": 13.14, "train_samples_per_second": 146.1, "train_loss": 0.04064, "epoch": 0.24}
    assert log_line(summary, 60, 60) == "done: 60 steps in 13.1 s (mean loss 0.04064)"
    assert log_line({"learning_rate": 0.001, "epoch": 1.0}, 3, 0) == "step 3  learning_rate 0.001"


def test_the_default_config_names_checkpointing_as_the_installed_transformers_does() -> None:
    from transformers import TrainingArguments

    fields = TrainingArguments.__dataclass_fields__
    assert CHECKPOINTING_KEY == (
        "activation_checkpointing" if "activation_checkpointing" in fields else "gradient_checkpointing"
    )
    assert load_config()["grpo"][CHECKPOINTING_KEY] is False
    # A value the user gives under either name wins over the default under the other one.
    for name in ("gradient_checkpointing", "activation_checkpointing"):
        grpo = load_config(None, [f"grpo.{name}=true"])["grpo"]
        assert grpo[name] is True and (name == CHECKPOINTING_KEY or CHECKPOINTING_KEY not in grpo)


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def test_quiet_third_party_drops_noise_and_shows_other_warnings_once_on_one_line(capsys) -> None:
    transformers_log, records = logging.getLogger("transformers.trainer_utils"), _Records()
    transformers_log.addHandler(records)
    with quiet_third_party():
        for _ in range(3):
            warnings.warn(
                "'pin_memory' argument is set as true but no accelerator is found, then ...", UserWarning, stacklevel=1
            )
            warnings.warn(
                "`is_gradient_checkpointing` is deprecated and will be removed in v6.", FutureWarning, stacklevel=1
            )
            warnings.warn("something the user\n  can act on", UserWarning, stacklevel=1)
        transformers_log.warning("mtime may not be reliable on this filesystem, falling back to ...")
        transformers_log.warning("a transformers warning worth reading")
    transformers_log.removeHandler(records)
    assert records.messages == ["a transformers warning worth reading"]
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"grpo-train: UserWarning: something the user can act on (test_quiet_logs.py:{_line()})"
    ]
    with warnings.catch_warnings(record=True) as caught:  # everything is back as it was
        warnings.simplefilter("always")
        warnings.warn("'pin_memory' argument is set as true but no accelerator is found", UserWarning, stacklevel=1)
    assert len(caught) == 1


def _line() -> int:
    """The line of the third warnings.warn above."""
    text = Path(__file__).read_text().splitlines()
    return next(i for i, line in enumerate(text, 1) if 'warnings.warn("something the user' in line)


@pytest.mark.slow
def test_grpo_train_prints_a_bar_and_short_lines_and_no_warnings_or_metric_dicts(tmp_path: Path) -> None:
    out = tmp_path / "run"
    settings = [
        "model.tiny_warm_start_steps=30",
        "grpo.max_steps=4",
        "grpo.per_device_train_batch_size=8",
        "grpo.num_generations=4",
        "grpo.max_completion_length=24",
        "grpo.save_steps=1",  # checkpoints every step, rotated (save_total_limit 2): the model card, shard writing
        "rewards=[{name='math'}, {name='format.think', options={mode='soft'}},"
        " {name='length.overlong', options={max_length=24, cache_length=8}}]",
    ]
    cli = Path(sys.executable).parent / "grpo-train"
    proc = subprocess.run(
        [str(cli), "-o", str(out), *[a for s in settings for a in ("--set", s)]],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "PYTHONWARNINGS": "default"},  # as a user's shell: no warning hidden by pytest
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    printed = proc.stdout + proc.stderr
    lines = [part for line in printed.splitlines() for part in line.split("\r") if part.strip()]
    for noise in ("Warning", "{'loss'", "'rewards/", "Loading weights", "Writing model shards", "mtime may not"):
        assert not [line for line in lines if noise in line], noise
    steps = [line for line in lines if line.startswith("step ")]
    assert [line.split()[1] for line in steps] == ["1/4", "2/4", "3/4", "4/4"]
    assert all("reward " in line and "format.think " in line and len(line) < 200 for line in steps)
    assert any(line.startswith("training: 100%") for line in lines)  # the progress bar
    assert any(line.startswith("done: 4 steps in ") for line in lines)

    card = (out / "README.md").read_text()
    assert "None" not in card
    assert f"fine-tuned version of the local model `{out / 'tiny-model'}`" in card
    assert f'model="{out / "model"}"' in card
