"""Backend choice (Unsloth or transformers + PEFT) and model loading.

Unsloth patches TRL and transformers when it is imported, so it must be imported before them:
:func:`choose_backend` decides without importing TRL, and :func:`activate` imports Unsloth when
it was chosen, before anything else of the training stack is imported.
"""

from __future__ import annotations

import importlib.util
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grpo_rewards.errors import ConfigError

__all__ = ["BackendChoice", "choose_backend", "activate", "check_model_source", "load_model"]

log = logging.getLogger("grpo_rewards_trainer")

_HUB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*(/[A-Za-z0-9][A-Za-z0-9_.\-]*)?$")


@dataclass(frozen=True)
class BackendChoice:
    """Which backend trains, and why (the reason goes into the log line and ``run.json``)."""

    name: str
    reason: str

    def describe(self) -> str:
        return f"backend: {self.name} ({self.reason})"


def _cuda_available() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def choose_backend(requested: str) -> BackendChoice:
    """Resolve ``auto`` / ``unsloth`` / ``transformers`` without importing Unsloth or TRL."""
    has_unsloth = importlib.util.find_spec("unsloth") is not None
    if requested == "transformers":
        return BackendChoice("transformers", "backend = 'transformers' in the config")
    if requested == "unsloth":
        if not has_unsloth:
            raise ConfigError(
                "backend = 'unsloth' but the unsloth package is not installed in this environment "
                "(pip install unsloth, or use backend = 'auto' / 'transformers')"
            )
        gpu = "a CUDA GPU is present" if _cuda_available() else "no CUDA GPU: Unsloth trains on CPU, slowly"
        return BackendChoice("unsloth", f"backend = 'unsloth' in the config; {gpu}")
    if requested != "auto":
        raise ConfigError(f"backend must be 'auto', 'unsloth' or 'transformers', got {requested!r}")
    if not has_unsloth:
        return BackendChoice("transformers", "auto: unsloth is not installed")
    if not _cuda_available():
        return BackendChoice(
            "transformers", "auto: unsloth is installed but there is no CUDA GPU; set backend = 'unsloth' to force it"
        )
    return BackendChoice("unsloth", "auto: unsloth is installed and a CUDA GPU is present")


def activate(choice: BackendChoice) -> None:
    """Import Unsloth first when it is the backend (it patches TRL and transformers)."""
    if choice.name == "unsloth":
        import unsloth  # noqa: F401 - imported for its patches, before trl/transformers/peft


def check_model_source(name: str) -> str:
    """``"tiny"``, ``"local"`` or ``"hub"`` for a model name; a path that does not exist (or is
    not a model directory) raises :class:`ConfigError` now, before anything is loaded."""
    if name == "tiny":
        return "tiny"
    path = Path(name).expanduser()
    # A Hub id is "name" or "org/name"; anything with more path parts is meant as a directory.
    looks_local = name.startswith((".", "/", "~")) or name.count("/") > 1 or "\\" in name
    if path.exists():
        if not path.is_dir():
            raise ConfigError(f"model.name {name!r} is a file; give the model's directory or a Hub model id")
        if not (path / "config.json").is_file():
            raise ConfigError(f"model.name {name!r}: the directory has no config.json, so it is not a saved model")
        return "local"
    if looks_local or not _HUB_ID.match(name):
        raise ConfigError(f"model.name {name!r}: no such directory (and it is not a Hub model id like 'org/name')")
    return "hub"


def _dtype(name: str | None) -> Any:
    import torch

    if name in (None, "auto"):
        return "auto"
    try:
        return {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}[name]
    except KeyError:
        raise ConfigError(f"model.dtype must be auto, float32, bfloat16 or float16, got {name!r}") from None


def load_model(choice: BackendChoice, model_path: str, mcfg: Mapping[str, Any], seed: int) -> tuple[Any, Any, Any]:
    """Load ``(model, tokenizer, peft_config)``. With Unsloth the LoRA adapter is already applied
    (``peft_config`` is None); with transformers, TRL applies ``peft_config`` (None: full training)."""
    lora = mcfg["lora"]
    r = int(lora.get("r") or 0)
    if choice.name == "unsloth":
        from unsloth import FastLanguageModel

        kwargs: dict[str, Any] = {
            "model_name": model_path,
            "max_seq_length": int(mcfg["max_seq_length"]),
            "load_in_4bit": bool(mcfg["load_in_4bit"]),
            "fast_inference": bool(mcfg["fast_inference"]),
            "trust_remote_code": bool(mcfg["trust_remote_code"]),
        }
        dtype = _dtype(mcfg.get("dtype"))
        kwargs["dtype"] = None if dtype == "auto" else dtype
        if mcfg["fast_inference"]:
            kwargs["gpu_memory_utilization"] = float(mcfg["gpu_memory_utilization"])
            if r:
                kwargs["max_lora_rank"] = r
        if not r:
            kwargs["full_finetuning"] = True
        model, tokenizer = FastLanguageModel.from_pretrained(**kwargs)
        if r:
            model = FastLanguageModel.get_peft_model(
                model,
                r=r,
                lora_alpha=int(lora["alpha"]),
                lora_dropout=float(lora["dropout"]),
                target_modules=list(lora["target_modules"]),
                use_gradient_checkpointing=lora.get("use_gradient_checkpointing", "unsloth"),
                random_state=seed,
            )
        return model, tokenizer, None

    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs = {"dtype": _dtype(mcfg.get("dtype")), "trust_remote_code": bool(mcfg["trust_remote_code"])}
    if mcfg.get("attn_implementation"):
        kwargs["attn_implementation"] = mcfg["attn_implementation"]
    if mcfg["load_in_4bit"]:
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4")
    model = AutoModelForCausalLM.from_pretrained(model_path, **kwargs)
    tokenizer = AutoTokenizer.from_pretrained(model_path, trust_remote_code=bool(mcfg["trust_remote_code"]))
    peft_config = None
    if r:
        from peft import LoraConfig

        peft_config = LoraConfig(
            r=r,
            lora_alpha=int(lora["alpha"]),
            lora_dropout=float(lora["dropout"]),
            target_modules=list(lora["target_modules"]),
            task_type="CAUSAL_LM",
        )
    return model, tokenizer, peft_config
