"""judge.reward_model on a tiny locally built Llama sequence classifier (random weights): plumbing exact."""

from __future__ import annotations

import math
import pickle
from pathlib import Path
from typing import Any

import pytest
import torch
from grpo_rewards_judge import RewardModel
from transformers import AutoModelForSequenceClassification, AutoTokenizer

import grpo_rewards
from grpo_rewards import Sample
from grpo_rewards.plugins import Registry
from grpo_rewards.testing import assert_reward_contract

PROMPTS = ["how many legs does a cat have ?", "please add two and two"]
COMPLETIONS = ["four", "the answer is four legs", "two", "4", "hello world", "no"]


def _rows(n: int = 6) -> list[dict[str, Any]]:
    return [{"prompt": PROMPTS[i // 3]} for i in range(n)]


def _reference_logits(model_dir: Path, texts: list[str]) -> list[float]:
    """One text at a time, no padding at all: what batching must reproduce."""
    tok = AutoTokenizer.from_pretrained(model_dir)
    net = AutoModelForSequenceClassification.from_pretrained(model_dir).eval()
    out = []
    with torch.inference_mode():
        for t in texts:
            enc = tok(t, return_tensors="pt", add_special_tokens=False)
            out.append(float(net(**enc).logits[0, 0]))
    return out


def test_logits_match_an_unbatched_forward_pass(registry: Registry, reward_model_dir: Path) -> None:
    texts = [p + c for p, c in zip([r["prompt"] for r in _rows()], COMPLETIONS, strict=True)]
    expected = _reference_logits(reward_model_dir, texts)
    assert len({round(x, 4) for x in expected}) > 3, "the tiny model should give distinct logits"
    for batch_size in (1, 4, 16):  # padding and batching must not change a single logit
        rs = grpo_rewards.load_rewards(
            [{"name": "judge.reward_model", "options": {"model": str(reward_model_dir), "batch_size": batch_size}}]
        )
        result = rs.score(COMPLETIONS, prompts=[r["prompt"] for r in _rows()])
        got = result.values["judge.reward_model"]
        assert got == pytest.approx(expected, abs=1e-4)
        assert {s.outcome.value for s in result.scores["judge.reward_model"]} == {"scored"}


def test_conversations_go_through_the_chat_template_like_trl(reward_model_dir: Path) -> None:
    tok = AutoTokenizer.from_pretrained(reward_model_dir)
    prompt = [{"role": "user", "content": PROMPTS[0]}]
    completion = [{"role": "assistant", "content": "four"}]
    text = tok.apply_chat_template(prompt + completion, tokenize=False)
    expected = _reference_logits(reward_model_dir, [text])
    rm = RewardModel(model=str(reward_model_dir))
    sample = Sample("four", prompt=prompt, raw_completion=completion)
    assert rm.text(sample, tok) == text
    assert rm.logits([sample]) == pytest.approx(expected, abs=1e-4)


def test_normalizations(reward_model_dir: Path) -> None:
    samples = [
        Sample(c, prompt=r["prompt"], group=i // 3) for i, (c, r) in enumerate(zip(COMPLETIONS, _rows(), strict=True))
    ]
    raw = RewardModel(model=str(reward_model_dir)).logits(samples)

    def values(**opts: Any) -> list[float]:
        scores = RewardModel(model=str(reward_model_dir), **opts).score_batch(samples)
        return [s.value for s in scores]  # type: ignore[union-attr]

    assert values(normalize="sigmoid") == pytest.approx([1 / (1 + math.exp(-x)) for x in raw])
    assert values(normalize="sigmoid", temperature=4.0) == pytest.approx([1 / (1 + math.exp(-x / 4)) for x in raw])
    assert values(normalize="tanh") == pytest.approx([math.tanh(x) for x in raw])
    z = values(normalize="group_zscore")
    for g in (z[:3], z[3:]):
        assert sum(g) == pytest.approx(0.0, abs=1e-6)
        assert sum(v * v for v in g) / 3 == pytest.approx(1.0)
    mm = values(normalize="group_minmax")
    assert sorted(mm[:3])[0] == 0.0 and sorted(mm[:3])[-1] == 1.0
    assert [a < b for a, b in zip(mm[:2], mm[1:3], strict=True)] == [
        a < b for a, b in zip(raw[:2], raw[1:3], strict=True)
    ]


def test_label_selection_by_index_and_name(tmp_path: Path) -> None:
    from tiny import build_reward_model

    two = build_reward_model(tmp_path / "two", num_labels=2)
    samples = [Sample("four", prompt=PROMPTS[0])]
    by_index = RewardModel(model=str(two), label=1).logits(samples)
    by_name = RewardModel(model=str(two), label="label_1").logits(samples)
    assert by_index == by_name
    with pytest.raises(ValueError, match="has no label 'nope'"):
        RewardModel(model=str(two), label="nope").logits(samples)


def test_contract_pickling_and_errors(registry: Registry, reward_model_dir: Path) -> None:
    spec = {"name": "judge.reward_model", "options": {"model": str(reward_model_dir), "normalize": "sigmoid"}}
    values = assert_reward_contract(spec, _rows(), COMPLETIONS)
    assert all(v is not None and 0 < v < 1 for v in values)
    rm = RewardModel(model=str(reward_model_dir))
    rm.logits([Sample("four", prompt="x")])
    assert "_loaded" not in pickle.loads(pickle.dumps(rm)).__getstate__()  # the model is not pickled
    with pytest.raises(grpo_rewards.ConfigError, match="needs 'model'"):
        grpo_rewards.load_rewards(["judge.reward_model"])
    with pytest.raises(grpo_rewards.ConfigError, match="normalize must be one of"):
        grpo_rewards.load_rewards([{"name": "judge.reward_model", "options": {"model": "x", "normalize": "zscore"}}])
    missing = grpo_rewards.load_rewards([{"name": "judge.reward_model", "options": {"model": "/no/such/model"}}])
    result = missing.score(["four"], prompts=["q"])
    score = result.scores["judge.reward_model"][0]
    assert (score.value, score.outcome.value) == (None, "error")
    assert "cannot load '/no/such/model'" in score.detail
