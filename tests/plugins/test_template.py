"""plugins/template generates a working plugin: it installs, its verifier is listed, its own tests pass."""

from __future__ import annotations

import json
from pathlib import Path

import cookiecutter.main as cookiecutter_main  # in grpo-rewards' dev extra
import pytest
from plugin_venvs import PLUGINS, make_venv

pytestmark = pytest.mark.slow  # generates, installs and runs a package in a fresh venv (about 10 s)


def test_template_generates_an_installable_plugin(tmp_path: Path) -> None:
    out = Path(
        cookiecutter_main.cookiecutter(
            str(PLUGINS / "template"),
            no_input=True,
            output_dir=str(tmp_path),
            extra_context={"plugin_name": "shout-check", "verifier_name": "shout.check", "author": "Test"},
        )
    )
    assert out.name == "grpo-rewards-shout-check"
    for rel in (
        "pyproject.toml",
        "README.md",
        "grpo_rewards_shout_check/__init__.py",
        "tests/test_grpo_rewards_shout_check.py",
    ):
        assert (out / rel).is_file(), rel
    assert "{{" not in "".join(p.read_text() for p in out.rglob("*") if p.is_file())

    env = make_venv(tmp_path / "venv")
    env.pip_install(out)
    reg = env.registry()
    entry = next(v for v in reg["verifiers"] if v["name"] == "shout.check")
    assert (entry["plugin"], entry["distribution"]) == ("shout_check", "grpo-rewards-shout-check")
    assert reg["failures"] == []
    listed = env.grpo_rewards("list")
    assert "shout.check" in listed.stdout and "grpo-rewards-shout-check 0.1.0" in listed.stdout

    # the generated package's own tests pass against the installed copy
    tests = env.run("-m", "pytest", "-q", "-p", "no:cacheprovider", str(out / "tests"), cwd=out)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "2 passed" in tests.stdout

    # and it scores through the CLI like any verifier
    rows = tmp_path / "rows.jsonl"
    rows.write_text(
        "".join(
            json.dumps({"prompt": "q", "answer": "Paris", "completion": c}) + "\n"
            for c in ("<answer>paris</answer>", "Lyon")
        )
    )
    scored = env.grpo_rewards("score", str(rows), "-r", "shout.check", "--no-progress")
    assert scored.returncode == 0, scored.stderr
    outcomes = [
        json.loads(line)["outcomes"]["shout.check"] for line in scored.stdout.splitlines() if line.startswith("{")
    ]
    assert outcomes == ["correct", "no_answer"]


def test_template_refuses_invalid_verifier_names(tmp_path: Path) -> None:
    from cookiecutter.exceptions import FailedHookException

    with pytest.raises(FailedHookException):
        cookiecutter_main.cookiecutter(
            str(PLUGINS / "template"),
            no_input=True,
            output_dir=str(tmp_path),
            extra_context={"verifier_name": "Bad Name"},
        )
    assert list(tmp_path.iterdir()) == []
