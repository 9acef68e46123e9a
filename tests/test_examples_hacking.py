"""examples/hacking/: the seed's substring reward against the demo's composition.

The quick tests check that the example's configs are the embedded demo with only the rewards
changed, and that the substring reward is the seed's own; the slow one runs the example's script
end to end on a two-step budget."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from grpo_rewards import load_rewards

ROOT = Path(__file__).resolve().parents[1]
HACKING = ROOT / "examples" / "hacking"

# The seed's example reward, as /work/shared/seed/GRPOTrainer.md writes it under "Example Usage".
SEED_SOURCE = """\
def reward_fn(responses, ground_truths):
    rewards = []
    for resp, gt in zip(responses, ground_truths):
        # Check if answer matches
        rewards.append(1.0 if gt in resp else 0.0)
    return rewards
"""


@pytest.fixture
def substring_reward(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The example's module, imported as the configs import it: with examples/hacking on the path."""
    monkeypatch.syspath_prepend(str(HACKING))
    import substring_reward

    return substring_reward


def test_the_function_is_the_seeds_and_its_docstring_quotes_it(substring_reward) -> None:  # type: ignore[no-untyped-def]
    assert inspect.getsource(substring_reward.reward_fn) == SEED_SOURCE
    assert textwrap.indent(SEED_SOURCE, "    ") in substring_reward.__doc__


def test_the_substring_reward_pays_a_list_of_every_number(substring_reward) -> None:  # type: ignore[no-untyped-def]
    spam = " ".join(str(n) for n in range(101))
    golds = [str(n) for n in range(101)]
    assert substring_reward.reward_fn([spam] * len(golds), golds) == [1.0] * len(golds)
    # and an honest wrong answer whose working mentions the gold
    assert substring_reward.reward_fn(["<think>4 - 0 = 5</think><answer>5</answer>"], ["4"]) == [1.0]
    assert substring_reward.reward_fn(["<answer>13</answer>"], ["12"]) == [0.0]


def test_configs_are_the_demo_with_only_the_rewards_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    from grpo_rewards_trainer.config import DEFAULT_CONFIG, load_config, reward_spec
    from grpo_rewards_trainer.run import _heldout_reward

    monkeypatch.syspath_prepend(str(HACKING))
    seed = load_config(str(HACKING / "seed_reward.toml"), [])
    demo = load_config(str(HACKING / "demo_reward.toml"), [])
    assert demo == DEFAULT_CONFIG
    assert {k: v for k, v in seed.items() if k != "rewards"} == {
        k: v for k, v in DEFAULT_CONFIG.items() if k != "rewards"
    }

    rs = load_rewards(reward_spec(seed))
    # the seed's function trains; math is there with weight 0 so that held-out accuracy is math's
    assert dict(zip(rs.names, rs.reward_weights, strict=True)) == {"reward_fn": 1.0, "math": 0.0}
    assert _heldout_reward(seed["heldout"]["reward"], rs) == "math"
    out = rs.score(["0 1 2 3 4 5 6 7 8 9 10", "<answer>7</answer>"], columns={"answer": ["7", "7"]})
    assert out.values["reward_fn"] == [1.0, 1.0]
    assert [s.outcome.value for s in out.scores["math"]] == ["wrong", "correct"]
    assert out.totals == [1.0, 1.0]  # weight 0: math's verdict is logged, not paid


@pytest.mark.slow
def test_the_script_trains_both_runs_and_plots_them(tmp_path: Path) -> None:
    tiny = [
        "model.tiny_warm_start_steps=30",
        "grpo.max_steps=2",
        "grpo.per_device_train_batch_size=16",
        "grpo.num_generations=4",
        "grpo.max_completion_length=24",
        "grpo.disable_tqdm=true",
        "heldout.max_samples=16",
        "heldout.every=1",
        "output.save_model=false",
    ]
    cmd = [sys.executable, str(HACKING / "run.py"), "--out", str(tmp_path), *[a for s in tiny for a in ("--set", s)]]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "hacking.png").stat().st_size > 10_000
    figures = json.loads((tmp_path / "figures.json").read_text())
    for name in ("seed", "demo"):
        run = figures[name]
        assert run["steps"] == [1, 2]
        assert [step for step, _ in run["heldout"]["curve"]] == [0, 1, 2]
        assert run["tail"]["n"] == 2 * 16
    assert "the seed's `gt in resp`" in (tmp_path / "figures.md").read_text()
