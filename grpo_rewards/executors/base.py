"""What an executor is: where a :class:`~grpo_rewards.RewardSet` scores its batches.

Runs in the trainer's (or the command line's) process. This module imports nothing heavy: the
core imports it, and the core never imports Ray (:mod:`grpo_rewards.executors.ray` does, and
only when a Ray executor is asked for).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from grpo_rewards.contract import Score
    from grpo_rewards.rewardset import RewardSet

__all__ = ["Executor", "Scorer", "ScoreRequest", "LocalExecutor"]


@dataclass
class ScoreRequest:
    """One batch to score, as the reward functions received it (what crosses to a remote scorer).

    :param completions: the completions, as TRL passed them (strings or message lists).
    :param prompts: one prompt per completion, or ``None``; equal prompts make a group.
    :param completion_ids: token ids per completion, or ``None``.
    :param columns: dataset columns, one list per column with one item per completion.
    :param context: what the trainer passed that is neither a column nor per completion and that
        can travel (``trainer_state``); callbacks such as ``log_metric`` stay in this process.
    """

    completions: Sequence[Any]
    prompts: Sequence[Any] | None = None
    completion_ids: Sequence[Sequence[int]] | None = None
    columns: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    context: Mapping[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.completions)

    def subset(self, indices: Sequence[int]) -> ScoreRequest:
        """The request for the samples at ``indices`` (in that order)."""
        return ScoreRequest(
            [self.completions[i] for i in indices],
            None if self.prompts is None else [self.prompts[i] for i in indices],
            None if self.completion_ids is None else [self.completion_ids[i] for i in indices],
            {k: [v[i] for i in indices] for k, v in self.columns.items()},
            self.context,
        )


@runtime_checkable
class Scorer(Protocol):
    """A running executor bound to one reward set: scores whole batches, every component at once."""

    def score(self, request: ScoreRequest) -> dict[str, list[Score]]:
        """Scores per component name, one per completion, in the request's order."""
        ...

    def close(self) -> None:
        """Release what :meth:`Executor.start` started (actors, pools)."""
        ...


@runtime_checkable
class Executor(Protocol):
    """Where a reward set scores: configuration only (picklable), started per reward set."""

    def start(self, reward_set: RewardSet) -> Scorer | None:
        """Start scoring for ``reward_set``; ``None`` means: in this process, by the set itself."""
        ...


class LocalExecutor:
    """Score in this process, with the reward set's own verifiers and pools (the default)."""

    def start(self, reward_set: RewardSet) -> None:
        return None

    def __repr__(self) -> str:
        return "LocalExecutor()"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LocalExecutor)

    def __hash__(self) -> int:
        return hash(LocalExecutor)
