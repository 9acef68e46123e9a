"""The tiny locally built model and tokenizer, and the bundled arithmetic dataset."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("transformers")

from grpo_rewards_trainer.arithmetic import ARITHMETIC_SIZE, bundled_dataset_path, generate_problems
from grpo_rewards_trainer.tiny import TAG_TOKENS, build_tiny_model, build_tiny_tokenizer


def test_bundled_dataset_is_the_generator_output() -> None:
    rows = [json.loads(line) for line in bundled_dataset_path().read_text(encoding="utf-8").splitlines()]
    assert rows == generate_problems(ARITHMETIC_SIZE)
    for row in rows:
        assert str(eval(row["expression"])) == row["answer"]  # our own generated arithmetic


def test_tokenizer_round_trips_and_keeps_tags_as_single_non_special_tokens() -> None:
    tok = build_tiny_tokenizer()
    text = "<think>\nBen has 12 cards; 12 + 30 = 42 ✓\n</think>\n<answer>\n42\n</answer>"
    ids = tok(text, add_special_tokens=False)["input_ids"]
    assert tok.decode(ids, skip_special_tokens=True) == text
    for tag in TAG_TOKENS:
        assert len(tok(tag, add_special_tokens=False)["input_ids"]) == 1
    assert tok.pad_token == "<|endoftext|>" and tok.eos_token == "<|im_end|>"
    assert tok.pad_token_id != tok.eos_token_id
    prompt = tok.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False, add_generation_prompt=True)
    assert prompt == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"


def test_build_tiny_model_loads_with_from_pretrained_and_generates(tmp_path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = build_tiny_model(tmp_path / "tiny", seed=3)
    model = AutoModelForCausalLM.from_pretrained(path)
    tok = AutoTokenizer.from_pretrained(path)
    assert model.config.model_type == "qwen2"
    assert model.config.vocab_size == len(tok)
    assert tok.chat_template
    enc = tok(["What is 1 + 2?"], return_tensors="pt")
    torch.manual_seed(0)
    out = model.generate(**enc, max_new_tokens=5, do_sample=True)
    assert out.shape[1] <= enc["input_ids"].shape[1] + 5
    # Same seed, same weights.
    again = AutoModelForCausalLM.from_pretrained(build_tiny_model(tmp_path / "again", seed=3))
    for a, b in zip(model.parameters(), again.parameters(), strict=True):
        assert torch.equal(a, b)
