"""Datasets: local files, renaming, prompts (chat or plain, template), eval split, the bundled set."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("datasets")

from grpo_rewards_trainer.config import DEFAULT_CONFIG
from grpo_rewards_trainer.data import DataError, prepare_datasets
from grpo_rewards_trainer.tiny import SYSTEM_PROMPT

ROWS = [{"problem": f"What is {i} + 1?", "solution": str(i + 1)} for i in range(10)]


def _cfg(**kw):
    cfg = dict(DEFAULT_CONFIG["dataset"])
    cfg.update(kw)
    return cfg


@pytest.fixture(params=["jsonl", "csv", "parquet"])
def data_file(request, tmp_path):
    import pandas as pd

    path = tmp_path / f"d.{request.param}"
    if request.param == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    elif request.param == "csv":
        pd.DataFrame(ROWS).to_csv(path, index=False)
    else:
        pd.DataFrame(ROWS).to_parquet(path)
    return path


def test_local_files_with_rename_template_and_eval_split(data_file) -> None:
    cfg = _cfg(
        name=str(data_file),
        rename={"solution": "answer"},
        prompt_template="Question: {problem}",
        eval_size=3,
    )
    train, evaluation = prepare_datasets(cfg, {"math": ["answer"]}, seed=0)
    assert len(train) == 7 and len(evaluation) == 3
    row = train[0]
    assert row["prompt"][0] == {"role": "system", "content": SYSTEM_PROMPT}
    assert row["prompt"][1]["role"] == "user" and row["prompt"][1]["content"].startswith("Question: What is ")
    assert str(row["answer"]) == str(int(row["prompt"][1]["content"].split()[3]) + 1)


def test_plain_text_prompts_without_a_system_prompt(data_file) -> None:
    cfg = _cfg(name=str(data_file), prompt_column="problem", system_prompt=None, chat=False, shuffle=False)
    train, evaluation = prepare_datasets(cfg, {"exact": ["solution"]}, seed=0)
    assert evaluation is None
    assert train[0]["prompt"] == "What is 0 + 1?"


def test_existing_prompt_column_is_used_as_is(tmp_path) -> None:
    path = tmp_path / "p.jsonl"
    path.write_text(json.dumps({"prompt": [{"role": "user", "content": "hi"}], "answer": "1"}) + "\n")
    train, _ = prepare_datasets(_cfg(name=str(path)), {"math": ["answer"]}, seed=0)
    assert train[0]["prompt"] == [{"role": "user", "content": "hi"}]


def test_bundled_dataset_and_max_samples() -> None:
    train, _ = prepare_datasets(_cfg(max_samples=50), {"math": ["answer"]}, seed=0)
    assert len(train) == 50
    assert train[0]["prompt"][-1]["content"]


def test_errors_name_the_problem(tmp_path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    with pytest.raises(DataError, match=r"dataset.rename: column\(s\) 'answr' not in the dataset"):
        prepare_datasets(_cfg(name=str(path), rename={"answr": "answer"}), {}, seed=0)
    with pytest.raises(DataError, match=r"prompt_column 'question' is not one of its columns \(problem, solution\)"):
        prepare_datasets(_cfg(name=str(path)), {}, seed=0)
    with pytest.raises(DataError, match=r"eval_size 10 leaves no training rows"):
        prepare_datasets(_cfg(name=str(path), prompt_column="problem", eval_size=10), {}, seed=0)
    with pytest.raises(DataError, match="the only bundled dataset is 'bundled:arithmetic'"):
        prepare_datasets(_cfg(name="bundled:gsm8k"), {}, seed=0)
