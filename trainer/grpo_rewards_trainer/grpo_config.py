"""``GRPOConfig``: TRL's config, with defaults that work on the machine at hand.

What runs here: the user's settings, checked on the machine that will train, before any model
loads. Settings that cannot work here are replaced by a documented fallback with one warning
line each (a :class:`FallbackWarning`), and a batch that GRPO cannot split into groups is an
error that lists the values that would work:

========================================  ===============================================
setting                                   on a machine that cannot honour it
========================================  ===============================================
``bf16=True`` (TRL's default)             no bf16-capable accelerator: ``bf16=False``
``fp16=True``                             no CUDA GPU: ``fp16=False``
``optim="adamw_8bit"`` and other          no CUDA GPU or no bitsandbytes:
bitsandbytes optimizers                   ``optim="adamw_torch"``
``num_generations`` that does not         :class:`~grpo_rewards.ConfigError` listing the
divide the generation batch               valid values
========================================  ===============================================

TRL's own default ``bf16`` (``None``, meaning "on") is turned off quietly on a CPU; only a
``bf16=True`` that the user wrote is worth a warning. The checks follow TRL 1.16
(``trl/trainer/grpo_config.py``, ``GRPOConfig.__post_init__``) and transformers'
``TrainingArguments.__post_init__``, which raise on the first two.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import warnings
from pathlib import Path
from typing import Any

import trl

from grpo_rewards.errors import ConfigError

__all__ = ["GRPOConfig", "FallbackWarning", "adapt_to_machine", "valid_num_generations"]

# transformers' OptimizerNames that need bitsandbytes (and with it a CUDA GPU).
# The optimizers transformers builds from bitsandbytes.optim (transformers 5.25,
# trainer_optimizer.py, _BITSANDBYTES_OPTIMIZERS); adamw_torch_8bit is torchao's, not one of them.
_BNB_OPTIM = re.compile(
    r"^(paged_.*|adamw_8bit|adamw_bnb_8bit|ademamix|ademamix_8bit|lion_8bit|lion_32bit|rmsprop_bnb.*)$"
)


def _needs_bitsandbytes(optim: str) -> bool:
    try:
        from transformers.trainer_optimizer import _BITSANDBYTES_OPTIMIZERS
    except ImportError:  # another transformers version: the names above
        return bool(_BNB_OPTIM.match(optim))
    return optim in {str(getattr(o, "value", o)) for o in _BITSANDBYTES_OPTIMIZERS}


class FallbackWarning(UserWarning):
    """A setting that cannot work on this machine was replaced by its documented fallback."""


def _cuda() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def _bf16_supported() -> bool:
    from transformers.utils import is_torch_bf16_gpu_available

    return bool(is_torch_bf16_gpu_available())


def _warn(message: str) -> None:
    """Warn at the user's line: the first frame outside this package, TRL, transformers and
    dataclass-generated ``__init__`` code."""
    ours = (str(Path(__file__).parent), str(Path(trl.__file__).parent))
    level, frame = 2, sys._getframe(1)  # stacklevel 2 is the caller of _warn
    while frame is not None:
        name = frame.f_code.co_filename
        if not (name.startswith(ours) or f"{os.sep}transformers{os.sep}" in name or name == "<string>"):
            break
        level, next_frame = level + 1, frame.f_back
        if next_frame is None:
            break
        frame = next_frame
    warnings.warn(message, FallbackWarning, stacklevel=level)


def adapt_to_machine(args: Any, *, explicit_bf16: bool | None = None) -> None:
    """Replace settings of ``args`` that cannot work on this machine (see the module docstring).

    :param explicit_bf16: whether the user set ``bf16`` (default: ``args.bf16 is True``).
    """
    explicit = explicit_bf16 if explicit_bf16 is not None else getattr(args, "bf16", None) is True
    cpu_bf16 = explicit and getattr(args, "use_cpu", False)  # asked for by name: bf16 autocast on the CPU
    if getattr(args, "bf16", None) is not False and not cpu_bf16 and not _bf16_supported():
        if explicit:
            _warn(
                "bf16=True needs a GPU with bfloat16 support, and there is none here; training in float32 (bf16=False)"
            )
        args.bf16 = False
    if getattr(args, "fp16", False) and not _cuda():
        _warn("fp16=True needs a CUDA GPU, and there is none here; training in float32 (fp16=False)")
        args.fp16 = False
    optim = str(getattr(getattr(args, "optim", None), "value", getattr(args, "optim", "")))
    if optim and _needs_bitsandbytes(optim):
        missing = []
        if not _cuda():
            missing.append("no CUDA GPU")
        if importlib.util.find_spec("bitsandbytes") is None:
            missing.append("bitsandbytes is not installed")
        if missing:
            _warn(
                f"optim={optim!r} needs bitsandbytes on a CUDA GPU ({' and '.join(missing)}); "
                "using optim='adamw_torch' instead"
            )
            args.optim = "adamw_torch"


def valid_num_generations(generation_batch_size: int) -> list[int]:
    """The ``num_generations`` values that split a generation batch into whole groups (at least 2)."""
    return [d for d in range(2, generation_batch_size + 1) if generation_batch_size % d == 0]


def num_generations_error(args: Any, num_generations: int) -> ConfigError:
    batch = int(args.generation_batch_size)
    valid = valid_num_generations(batch)
    how = (
        f"per_device_train_batch_size {args.per_device_train_batch_size} x {args.world_size} process(es) "
        f"x steps_per_generation {args.steps_per_generation}"
    )
    values = f"valid values: {', '.join(map(str, valid))}" if valid else "no value works: make the batch larger"
    return ConfigError(
        f"num_generations={num_generations} does not divide the generation batch of {batch} completions ({how}); "
        f"{values}, or change the batch so that num_generations divides it"
    )


def check_num_generations(args: Any) -> None:
    """Raise the :class:`ConfigError` of :func:`num_generations_error` when the batch does not split."""
    n = int(args.num_generations)
    if n < 2 or int(args.generation_batch_size) % n:
        raise num_generations_error(args, n)


class GRPOConfig(trl.GRPOConfig):
    """``trl.GRPOConfig`` with defaults that work on the machine at hand.

    Every field and default is TRL's, except where this machine cannot honour one (see
    :mod:`grpo_rewards_trainer.grpo_config`): ``bf16`` and ``fp16`` without a GPU that has them,
    bitsandbytes optimizers without CUDA or bitsandbytes, each replaced with one
    :class:`FallbackWarning`; a ``num_generations`` that does not divide the generation batch
    is a :class:`~grpo_rewards.ConfigError` listing the valid values.
    """

    def __post_init__(self) -> None:
        adapt_to_machine(self, explicit_bf16=self.bf16 is True)
        try:
            super().__post_init__()
        except ValueError as exc:
            if "divisible by num_generations" in str(exc):
                raise num_generations_error(self, int(self.num_generations or 0)) from None
            raise ConfigError(f"GRPOConfig: {exc}") from exc
