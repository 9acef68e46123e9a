"""Second opinions: what re-checks a sampled verdict in ``grpo-rewards audit``, and what recovers a
``wrong`` verdict in a component's ``recover`` setting (:mod:`grpo_rewards.recovery`).

What runs here: a second verifier configuration (any composition: ``math`` with other options,
``exact``, the judge plugin's ``judge.llm`` or ``judge.reward_model``), scored in this process
through a :class:`~grpo_rewards.RewardSet`, or a column of the file (another grader's verdict).
What it may trust: nothing the second opinion says beyond its :class:`~grpo_rewards.Score`.
Only a checked verdict counts: ``correct`` and ``wrong``, or a graded value (``scored``,
``partial``, what a judge or reward model gives) against a threshold. Everything else
(``error``, ``timeout``, ``no_answer``, ``unparseable``, ``bad_reference``, ``skipped``, a null
column) is *no verdict*, reported apart and never counted as agreement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from grpo_rewards.audit.scored import ScoredRow
from grpo_rewards.contract import Outcome, Score
from grpo_rewards.errors import ConfigError, InputError

__all__ = ["Verdict", "SecondOpinion", "CompositionOpinion", "ColumnOpinion", "verdict_of_score"]


@dataclass(frozen=True)
class Verdict:
    """A second opinion on one completion: ``correct`` True/False, or ``None`` for no verdict
    (``outcome`` and ``detail`` then say why)."""

    correct: bool | None
    outcome: str
    value: float | None = None
    detail: str = ""


def verdict_of_score(score: Score, threshold: float) -> Verdict:
    """The verdict a :class:`~grpo_rewards.Score` gives: ``correct``/``wrong`` as they are, a graded
    value (``scored``, ``partial``) correct when at least ``threshold``, anything else no verdict."""
    o = score.outcome
    if o is Outcome.CORRECT:
        return Verdict(True, o.value, score.value, score.detail)
    if o is Outcome.WRONG:
        return Verdict(False, o.value, score.value, score.detail)
    if o in (Outcome.SCORED, Outcome.PARTIAL) and score.value is not None:
        return Verdict(score.value >= threshold, o.value, score.value, score.detail)
    return Verdict(None, o.value, score.value, score.detail)


class SecondOpinion(Protocol):
    """Anything that gives one :class:`Verdict` per sampled row."""

    description: str

    def required_columns(self) -> list[str]: ...

    def verdicts(self, rows: Sequence[ScoredRow]) -> list[Verdict]: ...

    def close(self) -> None: ...


class CompositionOpinion:
    """A second verifier configuration: component ``component`` of ``reward_set`` re-scores each row.

    :param reward_set: a :class:`~grpo_rewards.RewardSet` (``load_rewards(["math"])``,
        ``load_rewards({"rewards": [{"name": "judge.llm", "options": {...}}]})``).
    :param component: the component whose verdict counts; ``None``: the set's only component.
    :param threshold: a graded value at least this is ``correct`` (a judge's 0-1 score, a reward
        model's sigmoid).
    :param completion_column: the rows' completion column.
    :param prompt_column: the rows' prompt column (passed as TRL passes ``prompts``).
    :param batch_size: rows scored together.
    """

    def __init__(
        self,
        reward_set: Any,
        component: str | None = None,
        *,
        threshold: float = 0.5,
        completion_column: str = "completion",
        prompt_column: str = "prompt",
        batch_size: int = 64,
    ) -> None:
        names = list(reward_set.names)
        if component is None:
            if len(names) != 1:
                raise ConfigError(
                    f"the second opinion has {len(names)} components ({', '.join(names)}); "
                    "name the one whose verdict counts (--opinion-component)"
                )
            component = names[0]
        if component not in names:
            raise ConfigError(f"no component {component!r} in the second opinion (it has: {', '.join(names)})")
        self.reward_set = reward_set
        self.component = component
        self.threshold = threshold
        self.completion_column = completion_column
        self.prompt_column = prompt_column
        self.batch_size = max(1, batch_size)
        comp = reward_set.component(component)
        opts = ", ".join(f"{k}={v!r}" for k, v in comp.options.items())
        self.description = f"{comp.verifier}" + (f" ({opts})" if opts else "") + f", component {component!r}"

    def required_columns(self) -> list[str]:
        cols = self.reward_set.required_columns()
        return sorted({c for name in cols for c in cols[name]})

    def verdicts(self, rows: Sequence[ScoredRow]) -> list[Verdict]:
        out: list[Verdict] = []
        for start in range(0, len(rows), self.batch_size):
            chunk = rows[start : start + self.batch_size]
            keys = sorted({k for r in chunk for k in r.data} - {self.completion_column, self.prompt_column})
            has_prompt = any(self.prompt_column in r.data for r in chunk)
            result = self.reward_set.score(
                [r.data[self.completion_column] for r in chunk],
                prompts=[r.data.get(self.prompt_column) for r in chunk] if has_prompt else None,
                columns={k: [r.data.get(k) for r in chunk] for k in keys},
            )
            out.extend(verdict_of_score(s, self.threshold) for s in result.scores[self.component])
        return out

    def close(self) -> None:
        self.reward_set.close()


_TRUE = {"true", "correct", "1", "yes"}
_FALSE = {"false", "wrong", "0", "no"}


class ColumnOpinion:
    """Another grader's verdict, already in a column of the file (``reference_score``): ``true``/
    ``false``, ``1``/``0``, or the strings ``correct``/``wrong``; null is no verdict. Any other
    value is an :class:`~grpo_rewards.errors.InputError` naming the row."""

    def __init__(self, column: str) -> None:
        self.column = column
        self.description = f"column {column!r} of the file"

    def required_columns(self) -> list[str]:
        return [self.column]

    def verdicts(self, rows: Sequence[ScoredRow]) -> list[Verdict]:
        return [self._verdict(r) for r in rows]

    def _verdict(self, row: ScoredRow) -> Verdict:
        if self.column not in row.data:
            raise InputError(f"{row.where}: missing column {self.column!r} (the second opinion)")
        v = row.data[self.column]
        if v is None:
            return Verdict(None, "null", None, f"column {self.column!r} is null")
        if isinstance(v, bool) or (isinstance(v, int | float) and v in (0, 1)):
            return Verdict(bool(v), "column", float(v), "")
        if isinstance(v, str) and v.strip().lower() in _TRUE | _FALSE:
            return Verdict(v.strip().lower() in _TRUE, "column", None, "")
        raise InputError(
            f"{row.where}: column {self.column!r} holds {v!r}; a verdict column holds true/false, 1/0, "
            "'correct'/'wrong' or null"
        )

    def close(self) -> None:
        return None
