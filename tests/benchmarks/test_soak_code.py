"""benchmarks/soak_code.py: the mix it builds (CPU-only, fast) and a tiny real soak (slow: every
hostile kind once, about 20-30 s on 2 cores) whose JSON summary must show no violation and
nothing left behind."""

from __future__ import annotations

import ast
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "soak_code.py"

sys.path.insert(0, str(SCRIPT.parent))  # soak_code imports soak_mix from beside it
import soak_mix as mix  # noqa: E402

_spec = importlib.util.spec_from_file_location("soak_code", SCRIPT)
assert _spec and _spec.loader
soak = importlib.util.module_from_spec(_spec)
sys.modules["soak_code"] = soak  # dataclasses resolve their module through sys.modules
_spec.loader.exec_module(soak)


def test_defaults() -> None:
    a = soak.parse_args([])
    assert (a.samples, a.batch_size, a.timeout, a.total_timeout, a.api) == (20000, 64, 1.0, 3.0, "trl")
    assert soak.parse_args(["--quick"]).samples == 300
    assert soak.parse_args(["--quick", "--samples", "50"]).samples == 50


def test_shares_add_up_and_every_kind_has_one() -> None:
    assert set(mix.SHARES) == set(mix.KINDS)
    assert sum(mix.SHARES.values()) == pytest.approx(1.0)
    assert mix.SHARES["correct"] > 0.5
    for n in (40, 300, 20000):
        counts = mix.kind_counts(n)
        assert sum(counts.values()) == n
        assert all(c >= 1 for c in counts.values()), counts
    counts = mix.kind_counts(20000)
    assert counts["wrong"] == 4000 and counts["os_exit"] == 200 and counts["infinite_loop"] == 40


def test_items_are_what_they_claim() -> None:
    items = mix.build_items(300, seed=1)
    assert {it.kind for it in items} == set(mix.KINDS)
    for it in items:
        assert "```python\n" in it.completion and it.tests["kind"] in ("assert", "call", "stdio")
        ast.parse(it.program)  # every program parses: a hostile one must fail by what it does
        if it.kind == "correct":
            assert it.expected == 1.0
        elif it.kind == "wrong":
            assert 0.0 <= it.expected < 1.0
        else:
            assert it.expected == 0.0
    # The benign programs earn, on the host, exactly what the script expects of them.
    for task in mix.TASKS:
        for form in mix.FORMATS:
            assert mix.honest_fraction(task.correct, task, form) == 1.0, (task.fn, form)


@pytest.mark.slow
def test_a_tiny_soak_is_clean(tmp_path: Path) -> None:
    out = tmp_path / "soak.json"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--samples", "40", "--json", str(out), "--progress", "600"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert out.exists(), proc.stdout[-3000:] + proc.stderr[-3000:]
    summary = json.loads(out.read_text())
    for key in (
        "samples",
        "samples_per_s",
        "batch_worst_s",
        "sample_p50_ms",
        "sample_p99_ms",
        "rss_kib",
        "worker_replacements",
        "fds",
        "temp_dirs",
        "leftovers_after_close",
        "violations",
        "violation_counts",
        "kinds",
        "commit",
    ):
        assert key in summary, key
    assert summary["samples"] == 40
    assert summary["violations"] == 0, summary["violation_examples"]
    assert all(k["samples"] >= 1 for k in summary["kinds"].values())
    assert summary["kinds"]["correct"]["outcomes"] == {"correct": summary["kinds"]["correct"]["samples"]}
    assert summary["leftovers_after_close"]["ours"] == []
    assert summary["fds"]["after_close"] == summary["fds"]["start"], summary["fds_new_after_close"]
    assert summary["temp_dirs"]["ours_left"] == []
    assert isinstance(summary["worker_replacements"], int)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
