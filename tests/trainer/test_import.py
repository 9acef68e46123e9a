"""The trainer package installs under a name of its own: no clash with PyPI's ``trainer``."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_imports_from_another_directory_next_to_a_top_level_trainer_module(tmp_path) -> None:
    # A stand-in for the PyPI project "trainer", which installs a top-level ``trainer`` module.
    (tmp_path / "trainer.py").write_text("WHO = 'the other trainer'\n")
    code = textwrap.dedent(
        """
        import trainer, grpo_rewards_trainer, grpo_rewards_trainer.cli, grpo_rewards_trainer.config
        assert trainer.WHO == "the other trainer", trainer
        from grpo_rewards_trainer.arithmetic import bundled_dataset_path
        assert bundled_dataset_path().is_file()
        print(grpo_rewards_trainer.__file__)
        """
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = str(tmp_path)
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip()).resolve().is_relative_to(REPO / "trainer" / "grpo_rewards_trainer")


def test_importing_the_package_does_not_import_the_training_stack() -> None:
    code = "import sys, grpo_rewards_trainer.cli; print(sorted(m for m in ('torch', 'trl', 'transformers') if m in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def test_console_script_is_installed() -> None:
    script = Path(sys.executable).parent / "grpo-train"
    assert script.exists(), "run pip install -e . to install the grpo-train console script"
    proc = subprocess.run([str(script), "--help"], capture_output=True, text=True)
    assert proc.returncode == 0
    assert "--resume" in proc.stdout and "--set" in proc.stdout
