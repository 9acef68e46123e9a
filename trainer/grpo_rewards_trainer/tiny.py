"""A tiny Qwen2-style model and its tokenizer, built locally: nothing is downloaded.

This is what ``grpo-train`` trains when run without a config, and what tests use to run a real
``trl.GRPOTrainer`` in seconds on a CPU::

    from grpo_rewards_trainer.tiny import build_tiny_model
    path = build_tiny_model(tmp_path / "tiny")           # random weights, ~0.1 s
    model = AutoModelForCausalLM.from_pretrained(path)
    tokenizer = AutoTokenizer.from_pretrained(path)      # has a ChatML chat template, pad and eos

The tokenizer is a byte-level BPE (so any text round-trips, nothing is ever unknown) trained with
the ``tokenizers`` library on the bundled arithmetic data, with the ChatML special tokens Qwen2.5
uses (``<|endoftext|>`` for padding, ``<|im_end|>`` as end of turn) and with ``<think>``,
``</think>``, ``<answer>``, ``</answer>`` as single *non-special* tokens, so that TRL's
``skip_special_tokens`` decoding keeps them in completions.

``warm_start_steps > 0`` additionally fits the model for that many steps on *demonstrations*
to the bundled problems of the ``train`` split: well formatted (``<think>`` with the expression,
then ``<answer>``), but written by a sloppy annotator, whose answer is one too many in
:data:`SLOPPY_SHARE` of them. The warm-started model follows the format and has a low but real
accuracy with greedy decoding, and it samples the right answer often enough for GRPO's
correctness reward to pull it there: the demo shows task accuracy rising on held-out questions,
not a policy that learns the format and collapses onto one answer.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "SYSTEM_PROMPT",
    "CHAT_TEMPLATE",
    "TAG_TOKENS",
    "build_tiny_tokenizer",
    "build_tiny_model",
    "tiny_model_dir",
    "demonstration",
    "tiny_model_config",
]

SYSTEM_PROMPT = (
    "Solve the problem. First think inside <think> </think>, then give only the final number inside <answer> </answer>."
)
"""The system prompt of the embedded default: it asks for the format ``format.think`` rewards."""

# ChatML, as Qwen2.5 uses it (without tool calling).
CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
TAG_TOKENS = ("<think>", "</think>", "<answer>", "</answer>")
_VOCAB_SIZE = 1024


SLOPPY_SHARE = 0.6
"""Share of warm-start demonstrations whose answer is one too many."""


def demonstration(row: dict[str, Any], rng: random.Random) -> str:
    """One well-formatted response to an arithmetic ``row``, off by one in :data:`SLOPPY_SHARE`
    of the draws (see the module docstring)."""
    answer = row["answer"] if rng.random() >= SLOPPY_SHARE else str(int(row["answer"]) + 1)
    return f"<think>\n{row['expression']} = {answer}\n</think>\n<answer>\n{answer}\n</answer>"


def _corpus(rows: Sequence[dict[str, Any]]) -> Iterable[str]:
    rng = random.Random(0)
    for row in rows:
        # The system prompt once per row, as in the chat-formatted prompts, so BPE merges it into few tokens.
        yield SYSTEM_PROMPT
        yield "system\nuser\nassistant\n"
        yield row["question"]
        yield demonstration(row, rng)


def build_tiny_tokenizer(output_dir: str | Path | None = None) -> Any:
    """Train the tiny byte-level BPE tokenizer and wrap it as a ``PreTrainedTokenizerFast``.

    :param output_dir: when given, the tokenizer is also saved there (``save_pretrained``).
    :returns: the tokenizer, with ``chat_template``, ``pad_token`` (``<|endoftext|>``) and
        ``eos_token`` (``<|im_end|>``) set.
    """
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from grpo_rewards_trainer.arithmetic import load_bundled_rows

    tok = Tokenizer(models.BPE())
    # Digits one by one (numbers compose from 10 tokens), then GPT-2 style byte-level splitting.
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=_VOCAB_SIZE,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_corpus(load_bundled_rows()), trainer=trainer)
    tok.add_tokens([AddedToken(t, normalized=False, special=False) for t in TAG_TOKENS])
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=["<|im_start|>"],
        model_max_length=512,
        padding_side="left",
    )
    fast.chat_template = CHAT_TEMPLATE
    if output_dir is not None:
        fast.save_pretrained(str(output_dir))
    return fast


def tiny_model_config(
    vocab_size: int, *, pad_token_id: int, eos_token_id: int, overrides: Mapping[str, Any] | None = None
) -> Any:
    """The ``Qwen2Config`` of the tiny model: 2 layers, hidden size 128, MLP 256, 4 heads (2 KV heads),
    about 0.35 M parameters.

    :param overrides: ``Qwen2Config`` fields that replace these (e.g. the layer sizes of
        Qwen2.5-0.5B, as ``benchmarks/gpu_backends.py`` uses for a model of a few hundred million
        parameters). A ``vocab_size`` there may pad the embeddings beyond the tokenizer's
        vocabulary, as Qwen2.5 pads its 151,665 tokens to 151,936 (the tokenizer's ``decode``
        skips ids it does not know); the special-token ids stay the tokenizer's.
    """
    from transformers import Qwen2Config

    fields: dict[str, Any] = {
        "vocab_size": vocab_size,
        "hidden_size": 128,
        "intermediate_size": 256,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 512,
        "tie_word_embeddings": True,
    }
    fields.update(overrides or {})
    if fields["vocab_size"] < vocab_size:
        raise ValueError(f"vocab_size {fields['vocab_size']} is smaller than the tokenizer's {vocab_size} tokens")
    return Qwen2Config(pad_token_id=pad_token_id, bos_token_id=None, eos_token_id=eos_token_id, **fields)


def build_tiny_model(
    output_dir: str | Path,
    *,
    seed: int = 0,
    warm_start_steps: int = 0,
    config_overrides: Mapping[str, Any] | None = None,
) -> Path:
    """Build the tiny model and tokenizer and save both to ``output_dir``.

    :param output_dir: created if missing; afterwards ``AutoModelForCausalLM.from_pretrained`` and
        ``AutoTokenizer.from_pretrained`` load from it.
    :param seed: seeds the random weights and the warm start, so a build is reproducible.
    :param warm_start_steps: steps of supervised fitting on the sloppy demonstrations of the
        ``train`` split (0: random weights). About 0.08 s per step on one CPU core.
    :param config_overrides: passed to :func:`tiny_model_config` (a larger model, same tokenizer).
    :returns: ``output_dir`` as a :class:`~pathlib.Path`.
    """
    import torch
    from transformers import GenerationConfig, Qwen2ForCausalLM

    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tiny_tokenizer()
    torch.manual_seed(seed)
    config = tiny_model_config(
        len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        overrides=config_overrides,
    )
    model = Qwen2ForCausalLM(config)
    if warm_start_steps > 0:
        threads = torch.get_num_threads()
        # Matrices this small run much faster on one thread (no OpenMP hand-offs).
        torch.set_num_threads(1)
        try:
            _warm_start(model, tokenizer, steps=warm_start_steps, seed=seed)
        finally:
            torch.set_num_threads(threads)
    model.generation_config = GenerationConfig(
        pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id, do_sample=True
    )
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    (out / "tiny_build.json").write_text(
        json.dumps({"builder": "grpo_rewards_trainer.tiny", "seed": seed, "warm_start_steps": warm_start_steps}) + "\n"
    )
    return out


def _warm_start(model: Any, tokenizer: Any, *, steps: int, seed: int, batch_size: int = 32, lr: float = 1e-3) -> None:
    """Plain next-token fitting of the responses (prompt tokens masked out of the loss), on the
    ``train`` split only: the ``heldout`` questions stay unseen."""
    import torch

    from grpo_rewards_trainer.arithmetic import load_bundled_rows

    rng = random.Random(seed)
    rows = load_bundled_rows("train")
    prompts: list[tuple[dict[str, Any], list[int]]] = []
    for row in rows:
        prompt = tokenizer.apply_chat_template(
            [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": row["question"]}],
            tokenize=False,
            add_generation_prompt=True,
        )
        prompts.append((row, tokenizer(prompt, add_special_tokens=False)["input_ids"]))

    def example(row: dict[str, Any], p_ids: list[int]) -> tuple[list[int], int]:
        # A fresh demonstration at every draw: the model learns how often the annotator slips,
        # not which questions it slipped on.
        r_ids = tokenizer(demonstration(row, rng), add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
        return p_ids + r_ids, len(p_ids)

    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    model.train()
    pad = tokenizer.pad_token_id
    for _ in range(steps):
        batch = [example(row, p_ids) for row, p_ids in rng.sample(prompts, batch_size)]
        width = max(len(ids) for ids, _ in batch)
        input_ids = torch.full((batch_size, width), pad, dtype=torch.long)
        labels = torch.full((batch_size, width), -100, dtype=torch.long)
        attention = torch.zeros((batch_size, width), dtype=torch.long)
        for i, (ids, n_prompt) in enumerate(batch):
            input_ids[i, : len(ids)] = torch.tensor(ids)
            labels[i, n_prompt : len(ids)] = torch.tensor(ids[n_prompt:])
            attention[i, : len(ids)] = 1
        loss = model(input_ids=input_ids, attention_mask=attention, labels=labels).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()


def tiny_model_dir(out: str | Path, *, seed: int = 0, warm_start_steps: int = 0) -> Path:
    """Build (or reuse, e.g. on a resumed run) the tiny model in ``<out>/tiny-model``."""
    import logging

    log = logging.getLogger("grpo_rewards_trainer")
    path = Path(out) / "tiny-model"
    want = {"builder": "grpo_rewards_trainer.tiny", "seed": seed, "warm_start_steps": warm_start_steps}
    marker = path / "tiny_build.json"
    if marker.is_file() and json.loads(marker.read_text()) == want:
        log.info("reusing the tiny model in %s", path)
    else:
        log.info("building the tiny model in %s (seed %d, %d warm-start steps)", path, seed, warm_start_steps)
        build_tiny_model(path, seed=seed, warm_start_steps=warm_start_steps)
    return path
