"""Exceptions raised by grpo-rewards. Each message says what went wrong, where, and what to do."""

from __future__ import annotations

from collections.abc import Collection, Sequence

__all__ = [
    "GrpoRewardsError",
    "ConfigError",
    "UnknownVerifierError",
    "VerifierConflictError",
    "PluginLoadError",
    "MissingColumnError",
    "InputError",
    "DatasetColumnError",
    "FatalRewardError",
]


class GrpoRewardsError(Exception):
    """Base class of every error this library raises on purpose."""


class FatalRewardError(GrpoRewardsError):
    """Never scored: a :class:`~grpo_rewards.RewardSet` raises it to its caller instead of
    scoring the batch ``error`` (e.g. a strict sandbox that failed, where a run must stop
    rather than train on a reward with no signal)."""


class ConfigError(GrpoRewardsError, ValueError):
    """A reward specification or config file is invalid. The message names the key and file."""


class UnknownVerifierError(ConfigError, KeyError):
    """A reward name is not registered (the message suggests near misses and names broken plugins)."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class VerifierConflictError(ConfigError):
    """Two plugins registered the same verifier name."""


class PluginLoadError(GrpoRewardsError):
    """A plugin's verifier factory returned something that is not a :class:`~grpo_rewards.Verifier`;
    raised when that verifier is created, naming the verifier and the plugin.

    A plugin that fails to import or to register is not raised: it is recorded as a
    :class:`grpo_rewards.plugins.PluginFailure` (``grpo-rewards list`` shows it, and
    :class:`UnknownVerifierError` messages name it) while every other plugin keeps working.
    """


class MissingColumnError(GrpoRewardsError, KeyError):
    """A verifier needs a dataset column the row does not have."""

    def __init__(self, column: str, available: Sequence[str]) -> None:
        self.column = column
        self.available = list(available)
        super().__init__(column)

    def __str__(self) -> str:
        cols = ", ".join(self.available) if self.available else "(none)"
        return f"missing column {self.column!r}; the row has: {cols}"


class InputError(GrpoRewardsError, ValueError):
    """An input file or row is malformed. The message names ``file:line``."""


class DatasetColumnError(ConfigError):
    """A reward needs a column that the whole dataset (or the whole batch) lacks.

    Raised before training starts (``grpo_rewards_trainer.GRPOTrainer``) and, with plain
    ``trl.GRPOTrainer``, on the first call of the reward function: a run whose gold answers are
    in another column would otherwise train on no signal at all.
    """

    def __init__(self, problem: str, columns: Collection[str], hint: str = "") -> None:
        self.problem = problem
        self.columns = sorted(columns)
        self.hint = hint
        super().__init__(problem)

    def __str__(self) -> str:
        have = ", ".join(self.columns) if self.columns else "(none)"
        hint = f". {self.hint[0].upper()}{self.hint[1:]}" if self.hint else ""
        return f"{self.problem}. The dataset has columns: {have}{hint}."
