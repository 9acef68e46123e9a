"""The held-out split and held-out accuracy: questions training never saw, judged greedily."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("trl")

from grpo_rewards_trainer.arithmetic import load_bundled_rows, split_of
from grpo_rewards_trainer.config import DEFAULT_CONFIG
from grpo_rewards_trainer.data import DataError, heldout_split, prepare_datasets, prepare_heldout
from grpo_rewards_trainer.heldout import evaluate_heldout

from grpo_rewards import load_rewards


def _cfg(**kw: object) -> dict[str, object]:
    return {**DEFAULT_CONFIG["dataset"], **kw}


HELDOUT = dict(DEFAULT_CONFIG["heldout"])


def test_the_bundled_split_is_disjoint_and_stable() -> None:
    train, held = load_bundled_rows("train"), load_bundled_rows("heldout")
    assert len(train) + len(held) == len(load_bundled_rows()) == 1000
    assert len(held) >= 300
    assert not {r["question"] for r in train} & {r["question"] for r in held}
    assert all(split_of(r["question"]) == r["split"] for r in train + held)


def test_training_prompts_and_heldout_prompts_never_share_a_question() -> None:
    train_ds, _ = prepare_datasets(_cfg(), {"math": ["answer"]}, seed=0)
    held = prepare_heldout(_cfg(), HELDOUT)
    assert held is not None
    assert len(train_ds) == len(load_bundled_rows("train")) and len(held) == 300
    assert set(train_ds["split"]) == {"train"} and set(held["split"]) == {"heldout"}
    assert not set(train_ds["question"]) & set(held["question"])
    # held-out prompts are built exactly as training prompts are: system prompt, then the question
    assert held[0]["prompt"][0] == train_ds[0]["prompt"][0]
    assert held[0]["prompt"][1] == {"role": "user", "content": held[0]["question"]}


def test_which_split_is_held_out(tmp_path: Path) -> None:
    assert heldout_split(_cfg(), {"split": "auto"}) == "heldout"
    assert heldout_split(_cfg(name="openai/gsm8k"), {"split": "auto"}) is None
    assert heldout_split(_cfg(name="openai/gsm8k"), {"split": "test"}) == "test"
    assert heldout_split(_cfg(), {"split": ""}) is None
    with pytest.raises(DataError, match="heldout.split 'train' is the training split"):
        prepare_heldout(_cfg(), {**HELDOUT, "split": "train"})
    with pytest.raises(DataError, match=r"the dataset's 'split' column has only heldout, train"):
        prepare_heldout(_cfg(), {**HELDOUT, "split": "validation"})
    # A local file without a split column cannot give a held-out split: an error, not the same rows.
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps({"question": "1+1?", "answer": "2"}) + "\n")
    with pytest.raises(DataError, match=r"dataset.split 'heldout': .* has no 'split' column"):
        prepare_heldout(_cfg(name=str(data)), {**HELDOUT, "split": "heldout"})
    assert prepare_heldout(_cfg(name=str(data)), HELDOUT) is None  # "auto": no evaluation


def test_evaluate_heldout_counts_correct_greedy_answers_and_the_top_answer(tmp_path: Path) -> None:
    from grpo_rewards_trainer.tiny import build_tiny_model
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = build_tiny_model(tmp_path / "tiny", seed=0)
    model, tok = AutoModelForCausalLM.from_pretrained(path), AutoTokenizer.from_pretrained(path)
    held = prepare_heldout(_cfg(), {**HELDOUT, "max_samples": 12})
    rows = held.to_list()
    rs = load_rewards(["math"])
    result = evaluate_heldout(model, tok, rows, rs, "math", max_new_tokens=8, batch_size=5)
    # The same completions, generated one at a time, give the same verdicts (left padding is right).
    correct, answers = 0, []
    for r in rows:
        text = tok.apply_chat_template(r["prompt"], tokenize=False, add_generation_prompt=True)
        enc = tok(text, return_tensors="pt", add_special_tokens=False)
        out = model.generate(**enc, max_new_tokens=8, do_sample=False, pad_token_id=tok.pad_token_id)
        completion = tok.decode(out[0, enc["input_ids"].shape[1] :], skip_special_tokens=True)
        score = rs.score([completion], columns={"answer": [r["answer"]]}).scores["math"][0]
        correct += score.outcome.value == "correct"
        answers.append(str(score.info.get("answer", "")))
    assert result.n == 12
    assert result.accuracy == correct / 12
    assert result.top_answer_share == max(answers.count(a) for a in answers) / 12
    assert model.training is False and tok.padding_side == "left"  # as they were (from_pretrained)


def test_which_reward_judges_the_heldout_answers() -> None:
    from grpo_rewards_trainer.run import _heldout_reward

    from grpo_rewards import ConfigError

    assert _heldout_reward("auto", load_rewards(["format.think", "math"])) == "math"
    assert _heldout_reward("auto", load_rewards(["format.think", "exact"])) == "exact"  # the first that says correct
    assert _heldout_reward("auto", load_rewards(["format.think", "length.overlong"])) is None  # no evaluation
    assert _heldout_reward("exact", load_rewards(["math", "exact"])) == "exact"
    with pytest.raises(ConfigError, match=r"heldout.reward 'choice' is not one of the rewards \(math\)"):
        _heldout_reward("choice", load_rewards(["math"]))
