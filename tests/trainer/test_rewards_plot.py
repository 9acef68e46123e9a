"""rewards.png: four panels (rewards, outcome rates, held-out accuracy, signs of reward hacking),
checked through the figure's axes, titles, line labels and data, not its pixels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("matplotlib")

from grpo_rewards_trainer.outputs import PANEL_TITLES, plot_rewards


def _rows(n: int = 6) -> list[dict[str, Any]]:
    rows = []
    for step in range(1, n + 1):
        row: dict[str, Any] = {
            "step": step,
            "reward": 0.5 + 0.05 * step,
            "reward_std": 0.2,
            "rewards/math/mean": 0.1 * step,
            "rewards/format.think/mean": 0.6,
            "outcomes/math/correct": 0.1 * step,
            "outcomes/math/wrong": 0.9 - 0.1 * step,
            "outcomes/format.think/correct": 1.0,
            "hacking/format_share": 0.8,
            "hacking/length_corr": -0.1 * step / n,
        }
        if step >= 3:  # the reward library logs an outcome's rate from the first batch that has it
            row["outcomes/math/timeout"] = 0.1 if step == 4 else 0.0
        rows.append(row)
    return rows


def _panels(fig: Any) -> dict[str, Any]:
    return {ax.get_title(): ax for ax in fig.axes}


def _lines(ax: Any) -> dict[str, Any]:
    return {line.get_label(): line for line in ax.get_lines() if not line.get_label().startswith("_")}


def _notes(ax: Any) -> list[str]:
    return [t.get_text() for t in ax.texts]


def test_four_panels_with_rewards_outcome_rates_heldout_accuracy_and_hacking_signals(tmp_path: Path) -> None:
    rows = _rows()
    fig = plot_rewards(rows, tmp_path / "rewards.png", title="GRPO rewards (test)", heldout=[(0, 0.2), (6, 0.4)])
    assert (tmp_path / "rewards.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    panels = _panels(fig)
    assert list(panels) == list(PANEL_TITLES)

    rewards = _lines(panels["Rewards"])
    assert set(rewards) == {"reward (total)", "math", "format.think"}
    assert list(rewards["reward (total)"].get_xdata()) == [1, 2, 3, 4, 5, 6]
    assert list(rewards["math"].get_ydata()) == pytest.approx([0.1 * s for s in range(1, 7)])
    assert len(panels["Rewards"].collections) == 1  # the ± reward_std band

    # Only the outcomes that mean no signal or trouble, and only those that occur.
    outcomes = _lines(panels["Outcome rates"])
    assert set(outcomes) == {"math: timeout"}
    ys = list(outcomes["math: timeout"].get_ydata())
    assert ys[3] == pytest.approx(0.1) and ys[2] == 0.0 and ys[0] == 0.0  # absent but other rates logged: 0

    heldout = _lines(panels["Held-out accuracy"])
    assert list(heldout["held-out accuracy"].get_xdata()) == [0.0, 6.0]
    assert list(heldout["held-out accuracy"].get_ydata()) == [0.2, 0.4]

    hacking = _lines(panels["Signs of reward hacking"])
    assert set(hacking) == {"format-only share of the reward", "reward-length correlation"}
    assert len(hacking["reward-length correlation"].get_ydata()) == len(rows)
    assert list(hacking["format-only share of the reward"].get_ydata()) == [0.8] * len(rows)


def test_without_heldout_evaluation_or_signals_the_panels_say_so(tmp_path: Path) -> None:
    rows = [
        {"step": s, "reward": 0.5, "reward_std": 0.1, "rewards/f/mean": 0.5, "outcomes/f/scored": 1.0}
        for s in range(1, 4)
    ]
    panels = _panels(plot_rewards(rows, tmp_path / "rewards.png"))
    assert _notes(panels["Held-out accuracy"]) == ["no held-out evaluation"]
    assert _lines(panels["Held-out accuracy"]) == {}
    assert _notes(panels["Outcome rates"]) == ["no no_answer, unparseable, bad_reference, timeout, error outcomes"]
    assert _notes(panels["Signs of reward hacking"]) == ["no hacking signals logged"]
    no_outcomes = [{k: v for k, v in r.items() if not k.startswith("outcomes/")} for r in rows]
    panels = _panels(plot_rewards(no_outcomes, tmp_path / "rewards.png", heldout=[]))
    assert _notes(panels["Outcome rates"]) == ["no outcome rates logged"]
    assert _notes(panels["Held-out accuracy"]) == ["no held-out evaluation"]
