"""``judge.reward_model``: a ``transformers`` sequence-classification reward model."""

from __future__ import annotations

import math
import threading
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from grpo_rewards import Sample, Score, Verifier

__all__ = ["RewardModel", "NORMALIZATIONS"]

NORMALIZATIONS = ("none", "sigmoid", "tanh", "group_zscore", "group_minmax")


class RewardModel(Verifier):
    """Score ``prompt + completion`` with a sequence-classification reward model (one logit).

    Inputs are built as TRL's ``GRPOTrainer`` builds them for a model reward function: for a
    conversational prompt, the tokenizer's chat template applied to ``prompt + [completion]``;
    otherwise the prompt string followed by the completion; no special tokens added; right
    padding. The reward is ``logits[:, label]``, then:

    * ``normalize="none"``: the raw logit (divided by ``temperature``);
    * ``"sigmoid"``: ``1 / (1 + exp(-logit / temperature))``, the Bradley-Terry probability
      of beating a zero-reward reference (Bradley & Terry 1952; Ouyang et al. 2022, arXiv:2203.02155);
    * ``"tanh"``: ``tanh(logit / temperature)`` in ``(-1, 1)``;
    * ``"group_zscore"`` / ``"group_minmax"``: standardized / rescaled to ``[0, 1]`` within each
      GRPO group (the completions of one prompt); a group of one, or of equal logits, gives 0.0.

    The model loads on first use (``device="auto"``: CUDA when available, else CPU) and is not
    pickled. Batches of ``batch_size`` texts, truncated to ``max_length`` tokens.

    :param model: a local directory or a Hugging Face Hub model name.
    :param label: the logit to read: an index, or a label name from the model config's ``id2label``.
    """

    name = "judge.reward_model"
    description = "transformers sequence-classification reward model on prompt+completion; batched; normalizable"

    def __init__(
        self,
        *,
        model: str = "",
        label: int | str = 0,
        normalize: str = "none",
        temperature: float = 1.0,
        batch_size: int = 16,
        max_length: int = 2048,
        device: str = "auto",
        dtype: str = "auto",
        trust_remote_code: bool = False,
    ) -> None:
        if not model:
            raise ValueError("judge.reward_model needs 'model', a local path or a Hub model name")
        if normalize not in NORMALIZATIONS:
            raise ValueError(f"normalize must be one of {', '.join(NORMALIZATIONS)}, got {normalize!r}")
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self.model = model
        self.label = label
        self.normalize = normalize
        self.temperature = float(temperature)
        self.batch_size = batch_size
        self.max_length = max_length
        self.device = device
        self.dtype = dtype
        self.trust_remote_code = trust_remote_code
        self._init_runtime()

    def _init_runtime(self) -> None:
        self._loaded: tuple[Any, Any, int] | None = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("_loaded", "_lock")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._init_runtime()

    def close(self) -> None:
        self._loaded = None

    def _load(self) -> tuple[Any, Any, int]:
        with self._lock:
            if self._loaded is None:
                import torch
                from transformers import AutoModelForSequenceClassification, AutoTokenizer

                device = self.device
                if device == "auto":
                    device = "cuda" if torch.cuda.is_available() else "cpu"
                try:
                    tok = AutoTokenizer.from_pretrained(self.model, trust_remote_code=self.trust_remote_code)
                    net = AutoModelForSequenceClassification.from_pretrained(
                        self.model, dtype=self.dtype, trust_remote_code=self.trust_remote_code
                    )
                except (OSError, ValueError) as exc:
                    raise RuntimeError(f"judge.reward_model: cannot load {self.model!r}: {exc}") from exc
                net.to(device).eval()
                if tok.pad_token is None:
                    tok.pad_token = tok.eos_token
                if net.config.pad_token_id is None:
                    net.config.pad_token_id = tok.pad_token_id
                self._loaded = (tok, net, self._label_index(net.config))
            return self._loaded

    def _label_index(self, config: Any) -> int:
        n = int(getattr(config, "num_labels", 1))
        if isinstance(self.label, str):
            by_name = {str(v): int(k) for k, v in (getattr(config, "id2label", None) or {}).items()}
            if self.label not in by_name:
                raise ValueError(
                    f"judge.reward_model: {self.model!r} has no label {self.label!r}; it has {sorted(by_name)}"
                )
            return by_name[self.label]
        if not 0 <= self.label < n:
            raise ValueError(f"judge.reward_model: label {self.label} out of range; {self.model!r} has {n} labels")
        return int(self.label)

    def text(self, sample: Sample, tokenizer: Any) -> str:
        """The text the reward model reads for ``sample`` (TRL's construction, see the class doc)."""
        prompt = sample.prompt
        if isinstance(prompt, Sequence) and not isinstance(prompt, str) and all(isinstance(m, Mapping) for m in prompt):
            completion = sample.raw_completion
            if not (isinstance(completion, list) and all(isinstance(m, Mapping) for m in completion)):
                completion = [{"role": "assistant", "content": sample.completion}]
            return str(tokenizer.apply_chat_template(list(prompt) + list(completion), tokenize=False))
        return (prompt or "") + sample.completion

    def logits(self, samples: Sequence[Sample]) -> list[float]:
        """Raw reward logits, in order, computed in batches of ``batch_size``."""
        import torch

        tok, net, label = self._load()
        texts = [self.text(s, tok) for s in samples]
        out: list[float] = []
        device = next(net.parameters()).device
        for start in range(0, len(texts), self.batch_size):
            chunk = texts[start : start + self.batch_size]
            enc = tok(
                chunk,
                return_tensors="pt",
                padding=True,
                padding_side="right",
                truncation=True,
                max_length=self.max_length,
                add_special_tokens=False,
            ).to(device)
            with torch.inference_mode():
                logits = net(**enc).logits[:, label]
            out.extend(float(x) for x in logits.float().cpu())
        return out

    def score_batch(self, samples: Sequence[Sample]) -> list[Score | BaseException]:
        raw = self.logits(samples)
        values = self._normalized(raw, [s.group for s in samples])
        return [
            Score.scored(v, f"reward model logit {x:.4g}", logit=x) if math.isfinite(v) else Score.error(f"logit {x}")
            for v, x in zip(values, raw, strict=True)
        ]

    def _normalized(self, raw: list[float], groups: list[int]) -> list[float]:
        t = self.temperature
        if self.normalize == "none":
            return [x / t for x in raw]
        if self.normalize == "sigmoid":
            return [1.0 / (1.0 + math.exp(-x / t)) if x / t > -700 else 0.0 for x in raw]
        if self.normalize == "tanh":
            return [math.tanh(x / t) for x in raw]
        members: dict[int, list[int]] = defaultdict(list)
        for i, g in enumerate(groups):
            members[g].append(i)
        out = [0.0] * len(raw)
        for idxs in members.values():
            xs = [raw[i] for i in idxs]
            lo, hi = min(xs), max(xs)
            if len(xs) < 2 or hi == lo:
                continue
            if self.normalize == "group_minmax":
                for i in idxs:
                    out[i] = (raw[i] - lo) / (hi - lo)
            else:
                mean = sum(xs) / len(xs)
                std = math.sqrt(sum((x - mean) ** 2 for x in xs) / len(xs))
                for i in idxs:
                    out[i] = (raw[i] - mean) / std
        return out
