"""docs/audit.md's figures are what the commands it shows print: score ../shared/data/math_cot_samples.jsonl
with ``math``, run each documented ``grpo-rewards audit`` command, and find every table row it prints
in the page. Skipped (with the reason) where the shared data is not on disk."""

from __future__ import annotations

import os
import re
import shlex
import shutil
from pathlib import Path

import pytest

from grpo_rewards.cli import main
from grpo_rewards.plugins import reset_registry

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "audit.md"
DATA = ROOT.parent / "shared" / "data" / "math_cot_samples.jsonl"


def _commands(text: str) -> list[list[str]]:
    return [
        shlex.split(m.group(1))[1:]
        for m in re.finditer(r"^\$ (grpo-rewards audit math_cot_scored\.jsonl .*)$", text, flags=re.M)
    ]


@pytest.mark.skipif(not DATA.is_file(), reason=f"{DATA} is not on disk (the project's shared data)")
def test_the_documented_audit_figures_are_reproduced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GRPO_REWARDS_LOAD_PLUGINS", "")
    reset_registry()
    monkeypatch.chdir(tmp_path)
    shutil.copy(DATA, tmp_path / "math_cot_samples.jsonl")
    text = PAGE.read_text(encoding="utf-8")
    assert main(["score", "math_cot_samples.jsonl", "-r", "math", "-o", "math_cot_scored.jsonl", "--no-progress"]) == 0
    assert "math              1       0.9113  800  correct=729 wrong=71" in capsys.readouterr().out
    commands = _commands(text)
    assert len(commands) == 4, commands
    for argv in [*commands, ["audit", "math_cot_scored.jsonl", "--column", "reference_score", "-n", "800"]]:
        capsys.readouterr()
        assert main(argv) == 0, argv
        rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| `")]
        assert len(rows) == 2, argv
        for row in rows:
            assert row in text, f"docs/audit.md lacks {row!r} (from {shlex.join(argv)})"
    assert os.path.getsize("rel_tol.disagreements.jsonl") > 0
    reset_registry()
