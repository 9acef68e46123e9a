"""grpo-rewards: verifiers and composable reward functions for GRPO training.

Public API::

    from grpo_rewards import load_rewards
    rs = load_rewards(["math", "format.think:0.2"])
    trainer = GRPOTrainer(..., reward_funcs=rs.reward_funcs, args=GRPOConfig(reward_weights=rs.reward_weights))

Plain functions go beside the built-ins (``load_rewards(["math", my_fn, "format.think:0.2"])``),
and ``@grpo_rewards.reward`` registers a function as a verifier.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("grpo-rewards")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

from grpo_rewards.answers import Answer, extract_answer, strip_think, tag_blocks
from grpo_rewards.composition import ComponentSpec, Gate, RewardSpec, parse_reward_spec
from grpo_rewards.contract import Outcome, Sample, Score, Verifier
from grpo_rewards.errors import (
    ConfigError,
    DatasetColumnError,
    GrpoRewardsError,
    InputError,
    MissingColumnError,
    PluginLoadError,
    UnknownVerifierError,
    VerifierConflictError,
)
from grpo_rewards.functions import reward
from grpo_rewards.hookspecs import hookimpl
from grpo_rewards.plugins import get_registry
from grpo_rewards.remote import RemoteRewardError, RemoteRewardSet
from grpo_rewards.rewardset import BatchResult, RewardSet, completion_text, load_rewards

__all__ = [
    "__version__",
    "Answer",
    "BatchResult",
    "ComponentSpec",
    "ConfigError",
    "DatasetColumnError",
    "Gate",
    "GrpoRewardsError",
    "InputError",
    "MissingColumnError",
    "Outcome",
    "PluginLoadError",
    "RemoteRewardError",
    "RemoteRewardSet",
    "RewardSet",
    "RewardSpec",
    "Sample",
    "Score",
    "UnknownVerifierError",
    "Verifier",
    "VerifierConflictError",
    "completion_text",
    "extract_answer",
    "get_registry",
    "hookimpl",
    "load_rewards",
    "parse_reward_spec",
    "reward",
    "strip_think",
    "tag_blocks",
]
