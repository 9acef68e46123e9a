"""TRL reward functions: the callables ``GRPOTrainer`` calls.

What runs here: TRL's calls, in the trainer's process. TRL 1.16 (``trl/trainer/grpo_trainer.py``,
``GRPOTrainer._calculate_rewards``) calls each reward function as
``f(prompts=..., completions=..., completion_ids=..., <every dataset column>=..., trainer_state=...,
log_extra=..., log_metric=...)`` and expects one float (or ``None``) per completion. These
callables accept exactly that, ignore what they do not use, are picklable, and carry a stable
``__name__`` (TRL logs ``rewards/<__name__>/mean``).

What it may trust: the batch shape TRL sends, not its columns. A column that a component needs
and that is absent from the whole batch is a dataset mistake, not a bad row: it raises
:class:`~grpo_rewards.errors.DatasetColumnError` instead of returning ``None`` for every
completion (with which TRL trains to the end on no signal).

This module knows the reward set only through :class:`ComponentScorer`; the outcome memory
that keeps logged outcome rates unbiased lives here, in each reward function.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from grpo_rewards.contract import Outcome, Score

__all__ = ["RewardFunction", "AsyncRewardFunction", "ComponentScorer", "BATCH_KWARGS", "CONTEXT_KWARGS"]

# Keywords of a TRL call that are not dataset columns (TRL 1.16, GRPOTrainer._calculate_rewards):
# the batch itself, and the context that plain reward functions may read (Sample.context).
BATCH_KWARGS = frozenset({"prompts", "completions", "completion_ids"})
CONTEXT_KWARGS = frozenset({"trainer_state", "log_metric", "log_extra", "environments"})


class ComponentScorer(Protocol):
    """What a reward function needs from its reward set (:class:`~grpo_rewards.RewardSet`)."""

    def score_component(
        self,
        name: str,
        completions: Sequence[Any],
        *,
        prompts: Sequence[Any] | None = None,
        completion_ids: Sequence[Sequence[int]] | None = None,
        columns: Mapping[str, Any] | None = None,
    ) -> tuple[list[Score], list[float | None]]: ...

    def check_columns(self, columns: Sequence[str], names: Sequence[str] | None = None) -> None: ...


class RewardFunction:
    """Synchronous TRL reward function for one component of a :class:`~grpo_rewards.RewardSet`."""

    def __init__(self, reward_set: ComponentScorer, component: str) -> None:
        self.reward_set = reward_set
        self.component = component
        self.__name__ = component
        self.__qualname__ = component
        self._seen: set[Outcome] = set()
        self._recovery_seen = False
        self._checked: frozenset[str] | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.component!r}>"

    def __getstate__(self) -> dict[str, Any]:
        return {"reward_set": self.reward_set, "component": self.component}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["reward_set"], state["component"])  # type: ignore[misc]

    def __call__(
        self,
        prompts: list[Any] | None = None,
        completions: list[Any] | None = None,
        completion_ids: list[list[int]] | None = None,
        **kwargs: Any,
    ) -> list[float | None]:
        return self._score(prompts, completions, completion_ids, kwargs)

    def _score(
        self,
        prompts: list[Any] | None,
        completions: list[Any] | None,
        completion_ids: list[list[int]] | None,
        kwargs: dict[str, Any],
    ) -> list[float | None]:
        if completions is None:
            raise TypeError(f"reward function {self.__name__!r} called without completions=")
        columns = frozenset(k for k in kwargs if k not in CONTEXT_KWARGS)
        if columns != self._checked:  # a batch's keys are the dataset's columns: check once per set of keys
            self.reward_set.check_columns(sorted(columns), [self.component])
            self._checked = columns
        scores, values = self.reward_set.score_component(
            self.component, completions, prompts=prompts, completion_ids=completion_ids, columns=kwargs
        )
        self._report([s.outcome for s in scores], kwargs.get("log_metric"), kwargs.get("log_extra"))
        self._report_recovery(scores, kwargs.get("log_metric"))
        return values

    def _report_recovery(self, scores: list[Score], log_metric: Callable[[str, float], None] | None) -> None:
        """A component with a ``recover`` second opinion (:mod:`grpo_rewards.recovery`): its counts in
        the batch as ``recovery/<name>/<count>`` (calls, recovered, confirmed, failed, skipped); once
        seen, every step (0 when no verdict was eligible), like the outcome rates."""
        if log_metric is None:
            return
        from grpo_rewards.recovery import RECOVERY_COUNTS, recovery_counts

        counts = recovery_counts(scores)
        if counts is None and not self._recovery_seen:
            return
        self._recovery_seen = True
        for key in RECOVERY_COUNTS:
            log_metric(f"recovery/{self.component}/{key}", float((counts or {}).get(key, 0)))

    def _report(
        self,
        outcomes: list[Outcome],
        log_metric: Callable[[str, float], None] | None,
        log_extra: Callable[[str, list[Any]], None] | None,
    ) -> None:
        """Send outcome rates to TRL's metrics (``outcomes/<name>/<outcome>``, a fraction of the batch).

        Once an outcome has been seen for a component it is reported every step (0.0 when absent),
        so TRL's averaging over a logging step stays unbiased.
        """
        if log_metric is None and log_extra is None:
            return
        counts = Counter(outcomes)
        self._seen.update(counts)
        n = max(1, len(outcomes))
        if log_metric is not None:
            for outcome in sorted(self._seen):
                log_metric(f"outcomes/{self.component}/{outcome.value}", counts.get(outcome, 0) / n)
        if log_extra is not None:
            log_extra(f"outcome/{self.component}", [o.value for o in outcomes])


class AsyncRewardFunction(RewardFunction):
    """The ``async`` form: TRL gathers async reward functions concurrently. Scoring runs in a
    worker thread, so verifiers must not rely on the main thread (ours do not)."""

    async def __call__(  # type: ignore[override]
        self,
        prompts: list[Any] | None = None,
        completions: list[Any] | None = None,
        completion_ids: list[list[int]] | None = None,
        **kwargs: Any,
    ) -> list[float | None]:
        return await asyncio.to_thread(self._score, prompts, completions, completion_ids, kwargs)
