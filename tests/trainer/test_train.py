"""grpo-train end to end: the embedded demo learns the task (held-out accuracy, no collapse, the
figures docs/training.md shows), and a short seeded run writes every output, runs twice in a row
and continues with ``--resume``."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

pytest.importorskip("trl")

from grpo_rewards_trainer import cli
from grpo_rewards_trainer.outputs import read_metrics, reward_trend

DOCS = Path(__file__).resolve().parents[2] / "docs" / "training.md"
TOLERANCE = 0.03  # docs figures vs a fresh run: same seed, other CPUs may round differently

# A short version of the embedded default: a briefly warm-started model and 6 steps.
SHORT = [
    "model.tiny_warm_start_steps=30",
    "grpo.max_steps=6",
    "grpo.per_device_train_batch_size=16",
    "grpo.num_generations=4",
    "grpo.max_completion_length=24",
    "grpo.save_steps=3",
    "grpo.disable_tqdm=true",
    "heldout.max_samples=40",
    "heldout.every=3",
]


def _sets(settings: list[str]) -> list[str]:
    return [arg for s in settings for arg in ("--set", s)]


def documented_figures() -> dict[str, float]:
    """The JSON block after ``<!-- demo figures -->`` in docs/training.md."""
    text = DOCS.read_text(encoding="utf-8")
    match = re.search(r"<!-- demo figures[^>]*-->\s*```json\n(.*?)```", text, flags=re.S)
    assert match, "docs/training.md has no <!-- demo figures --> JSON block"
    return json.loads(match.group(1))


@pytest.mark.slow
def test_the_embedded_demo_learns_the_task_and_the_docs_show_its_figures(tmp_path) -> None:
    out = tmp_path / "demo"
    assert cli.main(["-q", "-o", str(out)]) == 0  # README line 1's grpo-train, as written
    run = json.loads((out / "run.json").read_text())
    held = run["heldout"]
    assert held["n"] >= 200
    assert held["after"] >= held["before"] + 0.10, held  # task accuracy, not just the format
    assert held["top_answer_share"] <= 0.20, held  # no collapse onto one answer
    assert [s for s, _ in held["curve"]] == [0, 20, 40, 60]
    rows = read_metrics(out / "metrics.jsonl")
    format_share = sum(r["hacking/format_share"] for r in rows) / len(rows)
    assert format_share < 0.35, format_share  # the format reward stays a small share of the total

    figures = documented_figures()
    measured = {
        "heldout_n": held["n"],
        "heldout_before": held["before"],
        "heldout_after": held["after"],
        "top_answer_share": held["top_answer_share"],
        "reward_first_quarter": run["reward_trend"]["first_quarter_mean"],
        "reward_last_quarter": run["reward_trend"]["last_quarter_mean"],
        "format_share": format_share,
    }
    assert set(figures) == set(measured)
    for key, value in measured.items():
        assert value == pytest.approx(figures[key], abs=TOLERANCE), (key, value, figures[key])


@pytest.mark.slow
def test_short_seeded_run_writes_every_output_runs_twice_and_resumes(tmp_path) -> None:
    out = tmp_path / "run"
    assert cli.main(["-q", "-o", str(out), *_sets(SHORT)]) == 0
    # README line 1 twice in a row: the embedded default starts afresh in its own directory.
    assert cli.main(["-q", "-o", str(out), *_sets(SHORT)]) == 0

    rows = read_metrics(out / "metrics.jsonl")
    assert [r["step"] for r in rows] == list(range(1, 7))
    trend = reward_trend(rows)
    for row in rows:
        assert {"reward", "reward_std"} <= set(row)
        for name in ("math", "format.think", "length.overlong"):
            assert f"rewards/{name}/mean" in row
            # Outcome rates from the reward library (fractions of the batch) sum to one per component.
            rates = [v for k, v in row.items() if k.startswith(f"outcomes/{name}/")]
            assert rates and abs(sum(rates) - 1.0) < 1e-6, (name, row)

    run = json.loads((out / "run.json").read_text())
    assert run["finished"] is True
    assert run["backend"] == {"name": "transformers", "reason": run["backend"]["reason"]}
    assert run["config"]["grpo"]["max_steps"] == 6
    for package in ("grpo-rewards", "trl", "transformers", "torch"):
        assert run["versions"][package]
    assert "unsloth" in run["versions"]
    builtin = [p for p in run["plugins"] if p.get("builtin")]
    assert builtin and all({"name", "distribution", "version"} <= set(p) for p in run["plugins"])
    assert run["reward_trend"] == trend
    assert [c["name"] for c in run["rewards"]["components"]] == ["math", "format.think", "length.overlong"]
    # length.overlong took the trainer's completion budget
    assert run["rewards"]["components"][2]["options"]["max_length"] == 24
    held = run["heldout"]
    assert held["n"] == 40 and [s for s, _ in held["curve"]] == [0, 3, 6]
    assert 0.0 <= held["before"] <= 1.0 and 0.0 < held["top_answer_share"] <= 1.0

    assert (out / "rewards.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "model" / "config.json").is_file() and (out / "model" / "tokenizer.json").is_file()
    assert (out / "checkpoint-3").is_dir() and (out / "checkpoint-6").is_dir()

    # --resume continues from checkpoint-6 up to the new max_steps.
    assert cli.main(["-q", "-o", str(out), "--resume", *_sets([*SHORT, "grpo.max_steps=8"])]) == 0
    rows = read_metrics(out / "metrics.jsonl")
    assert [r["step"] for r in rows] == list(range(1, 9))
    run = json.loads((out / "run.json").read_text())
    assert run["resumed_from"].endswith("checkpoint-6")
    assert (out / "checkpoint-8").is_dir()
