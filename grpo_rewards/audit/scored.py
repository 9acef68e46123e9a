"""Reading a scored file (what ``grpo-rewards score`` writes) and sampling its verdicts by outcome.

What runs here: the reading pass of ``grpo-rewards audit`` (and of :func:`grpo_rewards.audit.audit`),
in the caller's process. What it may trust: nothing about the file. A row that is not a scored
row (no ``outcomes`` object), that lacks the audited component, whose outcome is not one of
:class:`~grpo_rewards.Outcome`, or that lacks a column the second opinion reads is an
:class:`~grpo_rewards.errors.InputError` naming ``file:line`` and what is wrong; nothing is
skipped silently. Rows that ``grpo-rewards score --skip-invalid`` marked ``invalid`` carry no
verdict: they are counted, never sampled.

Sampling is stratified by outcome: per outcome, a uniform sample of at most ``per_outcome`` rows
(reservoir sampling, Algorithm R, with one seeded generator per outcome), so a file is read once
and never held whole, and the same file, seed and size always give the same sample.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grpo_rewards.contract import Outcome
from grpo_rewards.errors import InputError

__all__ = ["ScoredRow", "SampledFile", "VERDICT_OUTCOMES", "SCORE_FIELDS", "sample_scored_file", "component_of"]

VERDICT_OUTCOMES: tuple[Outcome, ...] = (
    Outcome.CORRECT,
    Outcome.WRONG,
    Outcome.NO_ANSWER,
    Outcome.UNPARSEABLE,
    Outcome.TIMEOUT,
)
"""Outcomes that are a verdict on the completion, so a second opinion can agree or disagree:
``correct`` pays, the others deny the reward. ``partial`` and ``scored`` are graded values with no
right/wrong notion; ``error``, ``bad_reference`` and ``skipped`` say nothing about the completion."""

SCORE_FIELDS = ("reward", "rewards", "outcomes", "details", "invalid")
"""The fields ``grpo-rewards score`` adds to each input row; the rest is the row as it was."""


@dataclass(frozen=True)
class ScoredRow:
    """One sampled row: where it is, its input columns (without the score fields), and the audited
    component's outcome, value and detail."""

    where: str
    data: dict[str, Any]
    outcome: Outcome
    value: float | None
    detail: str


@dataclass
class SampledFile:
    """The result of the reading pass."""

    path: Path
    component: str
    rows: int = 0
    invalid: int = 0
    """Rows marked ``invalid`` by ``grpo-rewards score --skip-invalid``: no verdict, not sampled."""
    population: Counter[Outcome] = field(default_factory=Counter)
    """Per outcome of the audited component, the rows of the file that have it."""
    samples: dict[Outcome, list[ScoredRow]] = field(default_factory=dict)
    """Per audited outcome, the sampled rows, in file order."""


def _outcome_of(value: Any, where: str, component: str) -> Outcome:
    try:
        return Outcome(value)
    except ValueError:
        valid = ", ".join(o.value for o in Outcome)
        raise InputError(
            f"{where}: component {component!r} has outcome {value!r}, which is not an outcome (valid: {valid})"
        ) from None


def component_of(data: dict[str, Any], where: str, component: str | None) -> str:
    """The audited component of a scored row: ``component`` when given, else the row's only one."""
    outcomes = data.get("outcomes")
    if not isinstance(outcomes, dict):
        have = ", ".join(sorted(data)) or "(none)"
        raise InputError(
            f"{where}: not a scored row: no 'outcomes' object (the row has: {have}); "
            "audit reads what 'grpo-rewards score ... -o FILE' writes"
        )
    if component is not None:
        return component
    if len(outcomes) != 1:
        raise InputError(
            f"{where}: the file was scored with {len(outcomes)} components ({', '.join(outcomes) or 'none'}); "
            "name the one to audit with --component"
        )
    return str(next(iter(outcomes)))


def sample_scored_file(
    path: str | Path,
    *,
    outcomes: Sequence[Outcome] | None = None,
    per_outcome: int = 50,
    seed: int = 0,
    component: str | None = None,
    completion_column: str = "completion",
    required_columns: Iterable[str] = (),
) -> SampledFile:
    """Read a scored file once and sample up to ``per_outcome`` rows of each outcome.

    :param path: a file written by ``grpo-rewards score`` (JSONL; JSON, CSV and Parquet are read too).
    :param outcomes: the outcomes to sample (verdict outcomes only, :data:`VERDICT_OUTCOMES`);
        ``None``: every verdict outcome the file has.
    :param per_outcome: the most rows sampled per outcome.
    :param seed: the seed of the sampling; outcome ``o`` draws from ``random.Random(f"{seed}:{o}")``.
    :param component: the component to audit; ``None``: the file's only one.
    :param completion_column: the column holding the completion.
    :param required_columns: columns every row must have (those the second opinion reads).
    :raises InputError: naming ``file:line`` for a malformed or unscored row, an unknown
        outcome, a missing component or column.
    """
    from grpo_rewards.inputs import read_rows

    if per_outcome < 1:
        raise InputError(f"the sample size per outcome must be at least 1, got {per_outcome}")
    wanted = None if outcomes is None else set(outcomes)
    for o in wanted or ():
        if o not in VERDICT_OUTCOMES:
            raise InputError(
                f"outcome {o.value!r} is not a verdict on the completion, so there is nothing to audit; "
                f"audit one of: {', '.join(v.value for v in VERDICT_OUTCOMES)}"
            )
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    required = list(required_columns)
    result = SampledFile(path, component or "")
    name: str | None = component
    seen: Counter[Outcome] = Counter()
    rngs: dict[Outcome, random.Random] = {}
    reservoirs: dict[Outcome, list[tuple[int, ScoredRow]]] = {}
    for index, row in enumerate(read_rows(path, completion_column=completion_column)):
        data = row.data
        result.rows += 1
        if isinstance(data, dict) and data.get("invalid"):  # marked by 'score --skip-invalid': no verdict
            result.invalid += 1
            continue
        if row.error is not None:
            raise InputError(f"{row.error} (audit reads what 'grpo-rewards score ... -o FILE' writes)")
        name = component_of(data, row.where, name)  # a scored row: raises naming the row when not
        result.component = name
        outcomes_field = data["outcomes"]
        if name not in outcomes_field:
            raise InputError(
                f"{row.where}: no component {name!r} in this row's outcomes (it has: "
                f"{', '.join(outcomes_field) or 'none'})"
            )
        outcome = _outcome_of(outcomes_field[name], row.where, name)
        result.population[outcome] += 1
        for column in required:
            if column not in data:
                raise InputError(
                    f"{row.where}: missing column {column!r}, which the second opinion reads "
                    f"(the row has: {', '.join(sorted(k for k in data if k not in SCORE_FIELDS))})"
                )
        if outcome not in VERDICT_OUTCOMES or (wanted is not None and outcome not in wanted):
            continue
        rewards: dict[str, Any] = data["rewards"] if isinstance(data.get("rewards"), dict) else {}
        details: dict[str, Any] = data["details"] if isinstance(data.get("details"), dict) else {}
        value = rewards.get(name)
        sampled = ScoredRow(
            row.where,
            {k: v for k, v in data.items() if k not in SCORE_FIELDS},
            outcome,
            float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None,
            str(details.get(name, "")),
        )
        seen[outcome] += 1
        rng = rngs.setdefault(outcome, random.Random(f"{seed}:{outcome.value}"))
        reservoir = reservoirs.setdefault(outcome, [])
        if len(reservoir) < per_outcome:
            reservoir.append((index, sampled))
        else:
            j = rng.randrange(seen[outcome])
            if j < per_outcome:
                reservoir[j] = (index, sampled)
    if name is None or result.rows == result.invalid:
        raise InputError(f"{path} has no scored rows to audit ({result.rows} rows, {result.invalid} marked invalid)")
    audited = [o for o in VERDICT_OUTCOMES if (o in wanted if wanted is not None else o in result.population)]
    result.samples = {o: [r for _, r in sorted(reservoirs.get(o, []), key=lambda t: t[0])] for o in audited}
    return result
