"""Bad input fails before any model is loaded, with a message naming the problem."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("trl")

from grpo_rewards_trainer import cli, grpo_trainer, tiny


@pytest.fixture(autouse=True)
def no_model_loading(monkeypatch):
    """Any attempt to build or load a model fails the test: the checks must come first."""

    def forbidden(*args, **kwargs):
        raise AssertionError("a model was loaded before the bad input was reported")

    monkeypatch.setattr(grpo_trainer, "load_model", forbidden)
    monkeypatch.setattr(tiny, "tiny_model_dir", forbidden)


def _fail(capsys, tmp_path, *args: str) -> str:
    code = cli.main(["-q", "-o", str(tmp_path / "out"), *args])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "grpo-train: error: " in err
    assert not (tmp_path / "out" / "run.json").exists()
    return err


def _jsonl(path, rows) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def test_missing_column_names_the_reward_and_the_column(tmp_path, capsys) -> None:
    data = _jsonl(tmp_path / "d.jsonl", [{"question": "1+1?", "solution": "2"}])
    err = _fail(capsys, tmp_path, "--set", f"dataset.name={json.dumps(data)}")
    assert "reward 'math' needs column 'answer'" in err
    assert "The dataset has columns: question, solution" in err
    assert "dataset.rename" in err


def test_missing_column_is_fixed_by_rename(tmp_path, capsys, monkeypatch) -> None:
    data = _jsonl(tmp_path / "d.jsonl", [{"question": "1+1?", "solution": "2"}])
    reached = []

    def stop(*args, **kwargs):
        reached.append(True)
        raise SystemExit(0)

    # With the column renamed, the checks pass and the run goes on to building the model.
    monkeypatch.setattr(tiny, "tiny_model_dir", stop)
    with pytest.raises(SystemExit):
        cli.main(
            ["-q", "-o", str(tmp_path / "out"), "--set", f"dataset.name={json.dumps(data)}"]
            + ["--set", "dataset.rename={solution = 'answer'}"]
        )
    assert reached


def test_empty_dataset(tmp_path, capsys) -> None:
    data = tmp_path / "empty.csv"
    data.write_text("question,answer\n")
    err = _fail(capsys, tmp_path, "--set", f"dataset.name={json.dumps(str(data))}")
    assert "is empty (0 rows)" in err


def test_dataset_file_that_does_not_exist(tmp_path, capsys) -> None:
    err = _fail(capsys, tmp_path, "--set", f"dataset.name={json.dumps(str(tmp_path / 'nope.jsonl'))}")
    assert "nope.jsonl" in err and "no such file" in err


def test_unknown_reward_name_suggests_the_near_miss(tmp_path, capsys) -> None:
    cfg = tmp_path / "r.toml"
    cfg.write_text('[[rewards]]\nname = "format.thinkk"\n')
    err = _fail(capsys, tmp_path, str(cfg))
    assert "unknown verifier 'format.thinkk'" in err
    assert "did you mean 'format.think'" in err


def test_unknown_reward_option(tmp_path, capsys) -> None:
    cfg = tmp_path / "r.toml"
    cfg.write_text('[[rewards]]\nname = "length.overlong"\noptions = { max_lenght = 10 }\n')
    err = _fail(capsys, tmp_path, str(cfg))
    assert "max_lenght" in err


def test_model_path_that_does_not_exist(tmp_path, capsys) -> None:
    err = _fail(capsys, tmp_path, "--set", f"model.name={json.dumps(str(tmp_path / 'no-such-model'))}")
    assert "no-such-model" in err and "no such directory" in err


def test_model_directory_without_config(tmp_path, capsys) -> None:
    (tmp_path / "empty-model").mkdir()
    err = _fail(capsys, tmp_path, "--set", f"model.name={json.dumps(str(tmp_path / 'empty-model'))}")
    assert "has no config.json" in err


def test_grpo_arguments_trl_rejects(tmp_path, capsys) -> None:
    # 30 completions per step cannot be split into groups of 8.
    err = _fail(capsys, tmp_path, "--set", "grpo.per_device_train_batch_size=30")
    assert "[grpo] num_generations=8 does not divide the generation batch of 30 completions" in err
    assert "valid values: 2, 3, 5, 6, 10, 15, 30" in err


def test_unknown_grpo_key(tmp_path, capsys) -> None:
    err = _fail(capsys, tmp_path, "--set", "grpo.learning_rat=1e-5")
    assert "unknown key 'grpo.learning_rat'" in err and "did you mean 'learning_rate'" in err


def test_prompt_template_with_an_unknown_column(tmp_path, capsys) -> None:
    err = _fail(capsys, tmp_path, "--set", "dataset.prompt_template='Q: {problem}'")
    assert "prompt_template uses column(s) 'problem'" in err


def test_unsloth_backend_requested_but_not_installed(tmp_path, capsys) -> None:
    import importlib.util

    if importlib.util.find_spec("unsloth") is not None:
        pytest.skip("unsloth is installed here")
    err = _fail(capsys, tmp_path, "--set", "backend='unsloth'")
    assert "unsloth package is not installed" in err


def test_fresh_run_refuses_a_directory_with_checkpoints(tmp_path, capsys) -> None:
    (tmp_path / "out" / "checkpoint-4").mkdir(parents=True)
    err = _fail(capsys, tmp_path, "--set", "output.overwrite=false")  # a config file's default
    assert "already has checkpoints (checkpoint-4)" in err and "--resume" in err


def test_resume_without_checkpoint(tmp_path, capsys) -> None:
    err = _fail(capsys, tmp_path, "--resume")
    assert "no checkpoint-* directory" in err


def test_empty_jsonl(tmp_path, capsys) -> None:
    data = tmp_path / "empty.jsonl"
    data.write_text("")
    err = _fail(capsys, tmp_path, "--set", f"dataset.name={json.dumps(str(data))}")
    assert "is empty (0 rows)" in err


def test_an_unknown_optimizer_name(tmp_path, capsys) -> None:
    err = _fail(capsys, tmp_path, "--set", "grpo.optim=adamw_9bit")
    assert "[grpo] GRPOConfig: adamw_9bit is not a valid OptimizerNames" in err and "'adamw_torch'" in err


def test_an_unknown_backend(tmp_path, capsys) -> None:
    err = _fail(capsys, tmp_path, "--set", "backend=unslot")
    assert "backend must be one of auto, unsloth, transformers, got 'unslot'" in err


def test_a_heldout_reward_that_is_not_a_component(tmp_path, capsys) -> None:
    err = _fail(capsys, tmp_path, "--set", "heldout.reward=exact")
    assert "heldout.reward 'exact' is not one of the rewards (math, format.think, length.overlong)" in err
