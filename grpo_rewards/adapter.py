"""TRL reward functions: the callables ``GRPOTrainer`` calls.

TRL calls each reward function as
``f(prompts=..., completions=..., completion_ids=..., <every dataset column>=..., trainer_state=...,
log_extra=..., log_metric=...)`` and expects one float (or ``None``) per completion. These
callables accept exactly that, ignore what they do not use, are picklable, and carry a stable
``__name__`` (TRL logs ``rewards/<__name__>/mean``).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from grpo_rewards.contract import Outcome

if TYPE_CHECKING:
    from grpo_rewards.rewardset import RewardSet

__all__ = ["RewardFunction", "AsyncRewardFunction"]


class RewardFunction:
    """Synchronous TRL reward function for one component of a :class:`~grpo_rewards.RewardSet`."""

    def __init__(self, reward_set: RewardSet, component: str) -> None:
        self.reward_set = reward_set
        self.component = component
        self.__name__ = component
        self.__qualname__ = component

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.component!r}>"

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
        rs = self.reward_set
        scores, values = rs.score_component(
            self.component, completions, prompts=prompts, completion_ids=completion_ids, columns=kwargs
        )
        _report(rs, self.component, [s.outcome for s in scores], kwargs.get("log_metric"), kwargs.get("log_extra"))
        return values


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


def _report(
    rs: RewardSet,
    name: str,
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
    seen = rs._seen_outcomes.setdefault(name, set())
    seen.update(counts)
    n = max(1, len(outcomes))
    if log_metric is not None:
        for outcome in sorted(seen):
            log_metric(f"outcomes/{name}/{outcome.value}", counts.get(outcome, 0) / n)
    if log_extra is not None:
        log_extra(f"outcome/{name}", [o.value for o in outcomes])
