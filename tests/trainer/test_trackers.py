"""Trackers get what metrics.jsonl gets: a grpo-train run with report_to = "trackio" (local-first,
offline) logs each component's mean, the outcome rates and the hacking signals, read back here
from trackio's local storage."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("trl")
pytest.importorskip("trackio")

pytestmark = pytest.mark.slow

# trackio reads TRACKIO_DIR when it is imported (trackio/utils.py), and TRL imports it with
# itself: the run and the read-back each get a fresh process with the directory set.
READ_BACK = """
import json, sys
from trackio.sqlite_storage import SQLiteStorage
project = sys.argv[1]
runs = SQLiteStorage.get_runs(project)
print(json.dumps({run: SQLiteStorage.get_logs(project, run) for run in runs}))
"""


def test_trackio_gets_component_outcome_and_hacking_metrics_offline(tmp_path: Path) -> None:
    out, store = tmp_path / "run", tmp_path / "trackio"
    env = {**os.environ, "TRACKIO_DIR": str(store), "HF_HUB_OFFLINE": "1"}
    env.pop("TRACKIO_SPACE_ID", None)
    settings = [
        "model.tiny_warm_start_steps=30",
        "grpo.max_steps=2",
        "grpo.per_device_train_batch_size=8",
        "grpo.num_generations=4",
        "grpo.max_completion_length=24",
        "grpo.report_to='trackio'",
        "grpo.project='grpo-rewards-test'",
        "grpo.run_name='two-steps'",
        "rewards=[{name='math'}, {name='format.think', options={mode='soft'}},"
        " {name='length.overlong', options={max_length=24, cache_length=8}}]",
    ]
    cli = Path(sys.executable).parent / "grpo-train"
    proc = subprocess.run(
        [str(cli), "-q", "-o", str(out), *[a for s in settings for a in ("--set", s)]],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (store / "grpo-rewards-test.db").is_file()

    read = subprocess.run(
        [sys.executable, "-c", READ_BACK, "grpo-rewards-test"], capture_output=True, text=True, env=env, timeout=120
    )
    assert read.returncode == 0, read.stderr[-3000:]
    runs = json.loads(read.stdout.splitlines()[-1])
    assert list(runs) == ["two-steps"]
    logged = [row for row in runs["two-steps"] if "train/reward" in row]
    assert [row["train/global_step"] for row in logged] == [1, 2]

    # The same numbers as metrics.jsonl (transformers' TrackioCallback prefixes "train/").
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    for tracked, row in zip(logged, rows, strict=True):
        for key in (
            "reward",
            "rewards/math/mean",
            "rewards/format.think/mean",
            "rewards/length.overlong/mean",
            "hacking/format_share",
        ):
            assert tracked[f"train/{key}"] == pytest.approx(row[key]), key
        outcomes = [k for k in row if k.startswith("outcomes/")]
        assert {k.split("/")[1] for k in outcomes} == {"math", "format.think", "length.overlong"}
        for key in outcomes:
            assert tracked[f"train/{key}"] == pytest.approx(row[key]), key
        if "hacking/length_corr" in row:
            assert tracked["train/hacking/length_corr"] == pytest.approx(row["hacking/length_corr"])
