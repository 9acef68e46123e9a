"""Plugins installed from plugins/ as a user installs them: listed, switchable by environment, isolated when broken."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from plugin_venvs import PLUGIN_DIRS, Venv

pytestmark = pytest.mark.slow  # builds a venv and installs the plugins (about 20 s, once)


def _names(reg: dict, prefix: str = "") -> set[str]:
    return {v["name"] for v in reg["verifiers"] if v["name"].startswith(prefix)}


def test_every_plugin_folder_is_a_package() -> None:
    names = {p.name for p in PLUGIN_DIRS}
    assert {"grpo-rewards-reasoning-gym", "grpo-rewards-judge"} <= names
    for p in PLUGIN_DIRS:
        assert (p / "README.md").is_file() and (p / "tests").is_dir(), p


def test_list_shows_the_installed_plugins_verifiers(plugin_venv: Venv) -> None:
    reg = plugin_venv.registry()
    by_name = {v["name"]: v for v in reg["verifiers"]}
    assert len(_names(reg, "rg.")) >= 100
    assert by_name["rg.leg_counting"]["distribution"] == "grpo-rewards-reasoning-gym"
    assert by_name["rg.leg_counting"]["plugin"] == "reasoning_gym"
    assert by_name["judge.llm"]["distribution"] == "grpo-rewards-judge"
    assert by_name["judge.reward_model"]["version"] == "0.1.0"
    assert by_name["exact"]["builtin"] is True
    assert {s["name"] for s in reg["dataset_sources"]} >= {"reasoning_gym"}
    # the installed copy is the one used, not a checkout on the path
    where = plugin_venv.run("-c", "import grpo_rewards_judge, sys; print(grpo_rewards_judge.__file__)")
    assert where.stdout.strip().startswith(str(plugin_venv.path)), where.stdout
    text = plugin_venv.grpo_rewards("list")
    assert text.returncode == 0
    assert "rg.leg_counting" in text.stdout and "[reasoning_gym (grpo-rewards-reasoning-gym 0.1.0)]" in text.stdout


def test_load_plugins_includes_only_the_named_ones(plugin_venv: Venv) -> None:
    only_judge = plugin_venv.registry({"GRPO_REWARDS_LOAD_PLUGINS": "judge"})
    assert _names(only_judge, "judge.") == {"judge.llm", "judge.reward_model"}
    assert not _names(only_judge, "rg")
    assert "exact" in _names(only_judge)  # built-ins always load
    by_dist = plugin_venv.registry({"GRPO_REWARDS_LOAD_PLUGINS": "grpo-rewards-reasoning-gym"})
    assert _names(by_dist, "rg.") and not _names(by_dist, "judge.")
    none = plugin_venv.registry({"GRPO_REWARDS_LOAD_PLUGINS": ""})
    assert not _names(none, "rg") and not _names(none, "judge.") and "exact" in _names(none)
    assert none["failures"] == []  # the broken plugin was not even imported


def test_disable_plugins_excludes_the_named_ones(plugin_venv: Venv) -> None:
    reg = plugin_venv.registry({"GRPO_REWARDS_DISABLE_PLUGINS": "reasoning_gym,broken"})
    assert not _names(reg, "rg")
    assert _names(reg, "judge.") == {"judge.llm", "judge.reward_model"}
    assert reg["failures"] == []
    reg = plugin_venv.registry({"GRPO_REWARDS_DISABLE_PLUGINS": "grpo-rewards-judge"})
    assert not _names(reg, "judge.") and _names(reg, "rg.")


def test_a_plugin_that_raises_at_import_is_named_and_the_rest_keep_working(plugin_venv: Venv, tmp_path: Path) -> None:
    reg = plugin_venv.registry()
    assert [(f["plugin"], f["distribution"], f["stage"]) for f in reg["failures"]] == [
        ("broken", "grpo-rewards-broken", "import")
    ]
    assert "RuntimeError: boom: this plugin is broken at import" in reg["failures"][0]["error"]
    assert _names(reg, "rg.") and _names(reg, "judge.") and "exact" in _names(reg)
    text = plugin_venv.grpo_rewards("list")
    assert "Plugins that failed to load:" in text.stdout
    assert "plugin broken (grpo-rewards-broken 0.1.0) failed at import: RuntimeError: boom" in text.stdout

    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({"prompt": "q", "completion": "<answer>4</answer>", "answer": "4"}) + "\n")
    # using the broken plugin's verifier is a clear error that names the plugin and why it failed
    bad = plugin_venv.grpo_rewards("score", str(rows), "-r", "broken.never")
    assert bad.returncode == 2  # a config error (ExitCode.USAGE), as in grpo-train
    assert "unknown verifier 'broken.never'" in bad.stderr
    assert "plugin broken (grpo-rewards-broken 0.1.0) failed at import: RuntimeError: boom" in bad.stderr
    # while the built-ins and the working plugins score as usual
    out = tmp_path / "out.jsonl"
    ok = plugin_venv.grpo_rewards("score", str(rows), "-r", "exact", "-o", str(out), "--no-progress")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(out.read_text())["rewards"] == {"exact": 1.0}


def test_installed_reasoning_gym_plugin_scores_through_the_cli(plugin_venv: Venv, tmp_path: Path) -> None:
    from grpo_rewards_reasoning_gym import reasoning_gym_rows

    rows = tmp_path / "rows.jsonl"
    with rows.open("w") as fh:
        for r in reasoning_gym_rows(task="gcd", size=2, seed=0):
            for c in (f"<answer>{r['answer']}</answer>", f"<answer>{r['answer']} or 1</answer>"):
                fh.write(json.dumps({**r, "completion": c}) + "\n")
    out = tmp_path / "out.jsonl"
    proc = plugin_venv.grpo_rewards("score", str(rows), "-r", "rg.gcd", "-o", str(out), "--no-progress")
    assert proc.returncode == 0, proc.stderr
    scored = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["outcomes"]["rg.gcd"] for r in scored] == ["correct", "wrong", "correct", "wrong"]
