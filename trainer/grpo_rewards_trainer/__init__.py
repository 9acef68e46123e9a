"""grpo-rewards-trainer: a TRL ``GRPOTrainer`` driven by grpo-rewards, and ``grpo-train``.

From Python::

    from grpo_rewards_trainer import GRPOConfig, GRPOTrainer

    trainer = GRPOTrainer(
        model=model,                      # a model object, or a model id / directory
        args=GRPOConfig(output_dir="out", num_generations=4),
        train_dataset=dataset,            # with the columns the rewards read
        processing_class=tokenizer,       # or tokenizer= (the seed's name)
        rewards=["math", my_fn, "format.think:0.2"],
    )
    trainer.train()                       # run.json, metrics.jsonl, completions.jsonl, rewards.png, model/

From a config file: ``grpo-train recipe.toml`` (see :mod:`grpo_rewards_trainer.run`).

The import name is ``grpo_rewards_trainer`` (not ``trainer``: a PyPI project of that name installs
a top-level ``trainer`` module). Importing the package is cheap: ``GRPOTrainer`` and
``GRPOConfig`` import TRL on first use, and before that import Unsloth when the ``auto``
backend picks it (Unsloth installed and a CUDA GPU present; ``GRPO_REWARDS_BACKEND`` overrides
``auto``), because Unsloth must patch TRL and transformers before they are imported.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

__all__ = ["__version__", "GRPOConfig", "GRPOTrainer", "FallbackWarning", "SettingsMismatchWarning"]

try:
    from importlib.metadata import PackageNotFoundError, version

    __version__ = version("grpo-rewards")
except PackageNotFoundError:  # a source tree that is not installed
    __version__ = "0.0.0+unknown"

if TYPE_CHECKING:
    from grpo_rewards_trainer.grpo_config import FallbackWarning, GRPOConfig
    from grpo_rewards_trainer.grpo_trainer import GRPOTrainer
    from grpo_rewards_trainer.reward_args import SettingsMismatchWarning

_LAZY = {
    "GRPOConfig": "grpo_rewards_trainer.grpo_config",
    "FallbackWarning": "grpo_rewards_trainer.grpo_config",
    "GRPOTrainer": "grpo_rewards_trainer.grpo_trainer",
    "SettingsMismatchWarning": "grpo_rewards_trainer.reward_args",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'grpo_rewards_trainer' has no attribute {name!r}")
    import importlib
    import sys

    if "trl" not in sys.modules:
        from grpo_rewards_trainer.backend import activate, choose_backend

        activate(choose_backend(os.environ.get("GRPO_REWARDS_BACKEND", "auto")))
    return getattr(importlib.import_module(_LAZY[name]), name)
