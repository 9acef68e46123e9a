"""grpo-rewards-trainer: ``grpo-train``, a TRL ``GRPOTrainer`` wrapper driven by grpo-rewards.

The import name is ``grpo_rewards_trainer`` (not ``trainer``: a PyPI project of that name installs
a top-level ``trainer`` module). The heavy imports (torch, transformers, trl) happen inside the
functions that need them, so importing this package is cheap.
"""

from __future__ import annotations

__all__ = ["__version__"]

try:
    from importlib.metadata import PackageNotFoundError, version

    __version__ = version("grpo-rewards")
except PackageNotFoundError:  # a source tree that is not installed
    __version__ = "0.0.0+unknown"
