"""Both command lines, ``grpo-rewards`` and ``grpo-train``, exit with the codes of one table
(:mod:`grpo_rewards.exitcodes`): 2 for a mistake to fix, 1 for work that failed, 130 for Ctrl-C."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from grpo_rewards import ConfigError, InputError, PluginLoadError, UnknownVerifierError
from grpo_rewards import cli as rewards_cli
from grpo_rewards.exitcodes import ExitCode, exit_code_for
from grpo_rewards.sandbox import SandboxUnavailable

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "quickstart.jsonl"


def test_the_table() -> None:
    assert [(c.name, int(c)) for c in ExitCode] == [
        ("OK", 0),
        ("FAILED", 1),
        ("USAGE", 2),
        ("FLAGGED", 3),
        ("INTERRUPTED", 130),
    ]
    assert exit_code_for(ConfigError("bad key")) == ExitCode.USAGE
    assert exit_code_for(UnknownVerifierError("unknown verifier 'exakt'")) == ExitCode.USAGE
    assert exit_code_for(InputError("in.jsonl:3: invalid JSON")) == ExitCode.FAILED
    assert exit_code_for(SandboxUnavailable("gcc is not installed")) == ExitCode.FAILED
    assert exit_code_for(PluginLoadError("returned str, not a Verifier")) == ExitCode.FAILED
    assert exit_code_for(KeyboardInterrupt()) == ExitCode.INTERRUPTED


# -- grpo-rewards ----------------------------------------------------------------------------


def test_grpo_rewards_unknown_reward_is_a_usage_error(
    no_installed_plugins: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = rewards_cli.main(["score", str(EXAMPLE), "-r", "exakt", "-o", str(tmp_path / "o.jsonl")])
    assert code == ExitCode.USAGE == 2
    assert "grpo-rewards score: error: unknown verifier 'exakt'" in capsys.readouterr().err


def test_grpo_rewards_bad_command_line_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as ei:
        rewards_cli.main(["score"])  # INPUT missing: argparse
    assert ei.value.code == ExitCode.USAGE


def test_grpo_rewards_interrupted_exits_130_and_leaves_no_partial_output(
    no_installed_plugins: None, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import grpo_rewards.scoring

    real = grpo_rewards.scoring.score_rows

    def interrupted_after_one_row(*args: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
        yield next(iter(real(*args, **kwargs)))
        raise KeyboardInterrupt

    monkeypatch.setattr(grpo_rewards.scoring, "score_rows", interrupted_after_one_row)
    out = tmp_path / "o.jsonl"
    code = rewards_cli.main(["score", str(EXAMPLE), "-r", "exact", "-o", str(out), "--no-progress"])
    assert code == ExitCode.INTERRUPTED == 130
    assert "grpo-rewards score: interrupted" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # neither o.jsonl nor o.jsonl.partial


# -- grpo-train ------------------------------------------------------------------------------


@pytest.fixture
def train_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    cli = pytest.importorskip("grpo_rewards_trainer.cli")
    monkeypatch.setenv("GRPO_REWARDS_LOAD_PLUGINS", "")
    monkeypatch.chdir(tmp_path)
    return cli


@pytest.fixture
def train_run(train_cli: Any) -> Any:
    """The trainer's run module; the tests replace its ``train``, so no model is ever built."""
    return pytest.importorskip("grpo_rewards_trainer.run")


def test_grpo_train_config_error_is_a_usage_error(train_cli: Any, capsys: pytest.CaptureFixture[str]) -> None:
    # Fails in load_config, before anything is trained (tests/trainer/test_bad_input.py has the
    # unknown-reward and bad-dataset cases, all ExitCode.USAGE too).
    assert train_cli.main(["-q", "--print-config", "--set", "nosuch.key=1"]) == ExitCode.USAGE
    assert "grpo-train: error: --set: unknown key 'nosuch'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as ei:
        train_cli.main(["--no-such-option"])
    assert ei.value.code == ExitCode.USAGE


@pytest.mark.parametrize(
    ("raised", "expected", "message"),
    [
        (KeyboardInterrupt(), ExitCode.INTERRUPTED, "grpo-train: interrupted"),
        (SandboxUnavailable("gcc is not installed"), ExitCode.FAILED, "grpo-train: error: gcc is not installed"),
    ],
)
def test_grpo_train_interrupted_or_failed(
    train_run: Any,
    train_cli: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    raised: BaseException,
    expected: ExitCode,
    message: str,
) -> None:
    def train(*args: Any, **kwargs: Any) -> Any:
        raise raised

    monkeypatch.setattr(train_run, "train", train)
    assert train_cli.main(["-q", "-o", str(tmp_path / "out")]) == expected
    assert message in capsys.readouterr().err
