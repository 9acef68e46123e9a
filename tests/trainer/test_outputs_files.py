"""A run's files are (re)written through ``grpo_rewards.output_files.open_output``: ``run.json`` and
the metrics/completions rewrites replace a regular file atomically, keep a symbolic link a link,
and leave ``/dev/null``-like special files alone."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from grpo_rewards_trainer.outputs import MetricsWriter, write_json


def test_run_json_is_replaced_atomically_keeping_its_mode_and_a_link(tmp_path: Path) -> None:
    kept = tmp_path / "kept" / "run.json"
    kept.parent.mkdir()
    kept.write_text("{}\n")
    kept.chmod(0o640)
    out = tmp_path / "out"
    out.mkdir()
    (out / "run.json").symlink_to(kept)
    write_json(out / "run.json", {"finished": True})
    assert (out / "run.json").is_symlink()
    assert json.loads(kept.read_text()) == {"finished": True}
    assert stat.S_IMODE(kept.stat().st_mode) == 0o640
    assert sorted(p.name for p in [*out.iterdir(), *kept.parent.iterdir()]) == ["run.json", "run.json"]


def test_a_resumed_run_drops_later_rows_atomically_through_a_link(tmp_path: Path) -> None:
    kept = tmp_path / "metrics-kept.jsonl"
    kept.write_text("".join(json.dumps({"step": s, "reward": s / 10}) + "\n" for s in (1, 2, 3)))
    link = tmp_path / "metrics.jsonl"
    link.symlink_to(kept.name)
    writer = MetricsWriter(link)
    writer.truncate_after(2)
    assert link.is_symlink() and [json.loads(x)["step"] for x in kept.read_text().splitlines()] == [1, 2]
    writer.clear()
    assert link.is_symlink() and kept.read_text() == ""
    writer.write(1, {"reward": 0.5})
    assert json.loads(kept.read_text()) == {"step": 1, "reward": 0.5}


def test_a_fifo_in_place_of_metrics_is_neither_read_nor_replaced(tmp_path: Path) -> None:
    fifo = tmp_path / "metrics.jsonl"
    os.mkfifo(fifo)
    writer = MetricsWriter(fifo)
    writer.truncate_after(2)  # reading a FIFO with no writer would block: it is left alone
    writer.clear()
    assert stat.S_ISFIFO(fifo.lstat().st_mode) and os.listdir(tmp_path) == ["metrics.jsonl"]
