"""Drop-in adapters for trainers other than TRL, one module per framework contract:

- :mod:`~grpo_rewards.integrations.openrlhf`: OpenRLHF 0.11's ``reward_func`` file and the
  ``POST /get_reward`` contract that ``grpo-rewards serve`` also answers.
- :mod:`~grpo_rewards.integrations.verl`: verl 0.9's ``compute_score`` (single, batched, async).
- :mod:`~grpo_rewards.integrations.nemo_gym`: NeMo Gym's resources-server ``POST /verify``,
  which ``grpo-rewards serve`` also answers.

Each module's opening comment names the framework's file and version that define its contract.
They read the composition from ``rewards=[...]``, ``config=PATH`` or ``$GRPO_REWARDS_CONFIG``
(:func:`reward_set_for`). Importing them imports neither the framework nor torch.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

from grpo_rewards.errors import ConfigError
from grpo_rewards.rewardset import RewardSet, load_rewards

__all__ = ["reward_set_for", "label_column_for", "CONFIG_ENV"]

CONFIG_ENV = "GRPO_REWARDS_CONFIG"

_sets: dict[str, RewardSet] = {}
_lock = threading.Lock()


def reward_set_for(rewards: Sequence[Any] | str | None = None, config: str | None = None) -> RewardSet:
    """The reward set a framework's call names, built once per process and kept.

    :param rewards: a spec list (``["math", "format.think:0.2"]``) or a comma-separated string.
    :param config: a TOML file with ``[[rewards]]`` tables.
    :returns: ``rewards`` if given, else ``config``, else ``$GRPO_REWARDS_CONFIG`` (a TOML path, or
        a comma-separated spec such as ``math,format.think:0.2``).
    :raises ConfigError: when none of the three is given.
    """
    if rewards is not None:
        spec: Any = [s.strip() for s in rewards.split(",")] if isinstance(rewards, str) else list(rewards)
    elif config is not None:
        spec = str(config)
    else:
        env = os.environ.get(CONFIG_ENV, "").strip()
        if not env:
            raise ConfigError(
                f"no composition given: pass rewards=[...] or config=PATH (verl: reward_kwargs), or set ${CONFIG_ENV} "
                "to a TOML file or a comma-separated list such as 'math,format.think:0.2'"
            )
        spec = env if env.endswith(".toml") else [s.strip() for s in env.split(",") if s.strip()]
    key = repr(spec)
    with _lock:
        if key not in _sets:
            _sets[key] = load_rewards(spec)
        return _sets[key]


def label_column_for(reward_set: RewardSet, label_column: str | None = None) -> str:
    """The column a framework's single label (OpenRLHF's ``labels``, verl's ``ground_truth``)
    fills: ``label_column`` if given, else the one column the composition reads, else ``answer``."""
    if label_column:
        return label_column
    needed = sorted({c for cols in reward_set.required_columns().values() for c in cols})
    return needed[0] if len(needed) == 1 else "answer"
