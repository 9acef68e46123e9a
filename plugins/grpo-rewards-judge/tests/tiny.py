"""Tiny models built locally (random weights, a word-level tokenizer from the ``tokenizers`` library).

Nothing is downloaded: the models exist so that the plumbing (batching, padding, chat templates,
HTTP, parsing) can be tested exactly; their verdicts are random.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

# Words the judge rubric and the test completions use, plus digits and "Score" so that a random
# model sometimes emits a parseable verdict.
WORDS = (
    "0 1 2 3 4 5 6 7 8 9 10 Score : / [ ] the a an is of to and or not answer response task correct wrong "
    "helpful complete useless perfect judge grading grade verdict scale from on last line exactly as number "
    "think briefly then give your you are whether user assistant system what how many legs does cat have "
    "four two three yes no hello world please add"
).split()

CHAT_TEMPLATE = (
    "{% for m in messages %}<s> {{ m['role'] }} : {{ m['content'] }} </s> {% endfor %}"
    "{% if add_generation_prompt %}<s> assistant : {% endif %}"
)


def build_tokenizer(out: Path) -> Any:
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab: dict[str, int] = {"<pad>": 0, "<s>": 1, "</s>": 2, "<unk>": 3}
    for w in WORDS:
        vocab.setdefault(w, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.normalizer = normalizers.Sequence([normalizers.NFKC()])
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Punctuation()])
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=False)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>", unk_token="<unk>"
    )
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(out)
    return fast


def _config(vocab_size: int, **extra: Any) -> Any:
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=512,
        bos_token_id=1,
        eos_token_id=2,
        pad_token_id=0,
        **extra,
    )


def build_causal_lm(out: Path) -> Path:
    """A 1-layer Llama chat model in ``out`` (for ``transformers serve``) that only ever says "3" or "7".

    Its output layer is zero except two opposite rows for the tokens "3" and "7", so whatever the
    (random) hidden state, one of the two has a positive logit and greedy decoding picks it: a
    one-token reply is always a bare digit (a parseable verdict) and a longer one a run of digits
    ("3 7 7"), which is not. Which digit comes out still depends on the random weights.
    """
    import torch
    from transformers import LlamaForCausalLM

    tok = build_tokenizer(out)
    torch.manual_seed(0)
    model = LlamaForCausalLM(_config(len(tok), tie_word_embeddings=False))
    with torch.no_grad():
        w = torch.randn(model.config.hidden_size)
        model.lm_head.weight.zero_()
        model.lm_head.weight[tok.convert_tokens_to_ids("3")] = w
        model.lm_head.weight[tok.convert_tokens_to_ids("7")] = -w
    model.save_pretrained(out)
    model.generation_config.save_pretrained(out)
    return out


def build_reward_model(out: Path, num_labels: int = 1) -> Path:
    """A 1-layer Llama sequence classifier in ``out`` (a reward model when ``num_labels == 1``)."""
    import torch
    from transformers import LlamaForSequenceClassification

    tok = build_tokenizer(out)
    torch.manual_seed(1)
    labels = {"id2label": {i: f"label_{i}" for i in range(num_labels)}} if num_labels > 1 else {}
    model = LlamaForSequenceClassification(_config(len(tok), num_labels=num_labels, **labels))
    with torch.no_grad():  # spread the logits so normalization tests see distinct values
        model.score.weight.mul_(50.0)
    model.save_pretrained(out)
    return out
