"""Two GRPO steps through the Unsloth backend on CPU.

Unsloth pulls its own torch build, so it lives in a separate environment: point
``GRPO_REWARDS_UNSLOTH_PYTHON`` at that environment's python (see docs/training.md for the
commands that create it). Without it, or when that python cannot import unsloth, the test is
skipped with the reason.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ENV_VAR = "GRPO_REWARDS_UNSLOTH_PYTHON"


def _unsloth_python() -> str:
    python = os.environ.get(ENV_VAR)
    if not python:
        pytest.skip(f"{ENV_VAR} is not set (a python with unsloth installed; see docs/training.md)")
    if not Path(python).exists():
        pytest.skip(f"{ENV_VAR}={python} does not exist")
    probe = subprocess.run(
        [python, "-c", "import importlib.util as u; print(u.find_spec('unsloth') is not None)"],
        capture_output=True,
        text=True,
    )
    if probe.stdout.strip() != "True":
        pytest.skip(f"{python} cannot import unsloth")
    return python


@pytest.mark.slow
@pytest.mark.unsloth
def test_two_grpo_steps_through_the_unsloth_backend_on_cpu(tmp_path) -> None:
    python = _unsloth_python()
    out = tmp_path / "unsloth-run"
    env = dict(os.environ)
    # The checkout under test first, whatever grpo-rewards that environment has installed.
    env["PYTHONPATH"] = os.pathsep.join([str(REPO), str(REPO / "trainer"), env.get("PYTHONPATH", "")])
    env.setdefault("UNSLOTH_DISABLE_STATISTICS", "1")
    cmd = [python, "-m", "grpo_rewards_trainer.cli", "-o", str(out)]
    for setting in (
        "backend='unsloth'",
        "model.tiny_warm_start_steps=0",
        "model.lora.r=8",
        "model.lora.use_gradient_checkpointing=false",
        "model.dtype='float32'",
        "rewards=[{name='exact'}, {name='format.think', options={mode='soft'}}]",
        "dataset.max_samples=32",
        "grpo.max_steps=2",
        "grpo.per_device_train_batch_size=8",
        "grpo.num_generations=4",
        "grpo.max_completion_length=12",
        "grpo.save_strategy='no'",
        "grpo.disable_tqdm=true",
        "heldout.max_samples=16",  # held-out accuracy through Unsloth's model too, judged by exact
    ):
        cmd += ["--set", setting]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert "grpo-train: backend: unsloth (backend = 'unsloth' in the config" in proc.stderr
    # Unsloth was imported before transformers/TRL/PEFT, so its patches apply.
    assert "Unsloth should be imported before" not in proc.stderr + proc.stdout

    run = json.loads((out / "run.json").read_text())
    assert run["finished"] is True
    assert run["backend"]["name"] == "unsloth"
    assert run["versions"]["unsloth"]
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2]
    for row in rows:
        assert {"reward", "reward_std", "rewards/exact/mean", "rewards/format.think/mean"} <= set(row)
    assert (out / "model" / "adapter_config.json").is_file()  # a LoRA adapter, saved
    held = run["heldout"]
    assert held["n"] == 16 and held["component"] == "exact" and [s for s, _ in held["curve"]] == [0, 2]
