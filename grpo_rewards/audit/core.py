"""The audit itself: sample a scored file's verdicts by outcome, ask a second opinion on each, and
estimate how often the first verifier was wrong, with Wilson score intervals.

What runs here: arithmetic on the sample, in the caller's process; the reading is
:mod:`grpo_rewards.audit.scored` and the second opinion :mod:`grpo_rewards.audit.opinions`.
What it may trust: the sampled rows (checked while read) and the verdicts (each a
:class:`~grpo_rewards.audit.opinions.Verdict`).

The rates are *disagreement* rates with the second opinion, which is a grader too: among the
sampled ``wrong`` verdicts (and ``no_answer``, ``unparseable``, ``timeout``) the share the second
opinion calls correct (an estimated false-negative rate), among the sampled ``correct`` ones the
share it calls wrong (an estimated false-positive rate). The denominator is the rows the second
opinion gave a verdict on; rows without one are counted apart and never taken as agreement.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from statistics import NormalDist
from typing import Any

from grpo_rewards.audit.opinions import SecondOpinion, Verdict
from grpo_rewards.audit.scored import SampledFile, ScoredRow, sample_scored_file
from grpo_rewards.contract import Outcome

__all__ = ["wilson_interval", "OutcomeAudit", "Disagreement", "AuditResult", "audit"]


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """The Wilson score interval for a binomial proportion (Wilson 1927; Brown, Cai and DasGupta
    2001 recommend it over the normal ``p ± z·sqrt(p(1-p)/n)`` interval, which collapses to a point
    at 0 or n successes). ``(0.0, 1.0)`` when ``n`` is 0.

    :param successes: the count of events (disagreements), ``0 <= successes <= n``.
    :param n: the trials (rows with a second verdict).
    :param confidence: the two-sided confidence level, in (0, 1).
    """
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be in [0, n], got {successes} of {n}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if n == 0:
        return 0.0, 1.0
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # at 0 (or n) successes the bound is exactly 0 (or 1); rounding would leave 1e-17
    lo = 0.0 if successes == 0 else max(0.0, centre - half)
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return lo, hi


@dataclass
class OutcomeAudit:
    """What the second opinion said about the sampled rows of one outcome."""

    outcome: Outcome
    population: int
    """Rows of the file with this outcome."""
    sampled: int = 0
    agree: int = 0
    disagree: int = 0
    no_verdict: Counter[str] = field(default_factory=Counter)
    """Rows the second opinion gave no verdict on, by its outcome (``error``, ``no_answer``, ...)."""
    confidence: float = 0.95

    @property
    def kind(self) -> str:
        """``false positive`` for ``correct`` (paid, second opinion says wrong), else ``false negative``."""
        return "false positive" if self.outcome is Outcome.CORRECT else "false negative"

    @property
    def judged(self) -> int:
        """Sampled rows the second opinion gave a verdict on: the rate's denominator."""
        return self.agree + self.disagree

    @property
    def rate(self) -> float | None:
        """The disagreement rate among :attr:`judged` rows; ``None`` when there are none."""
        return self.disagree / self.judged if self.judged else None

    @property
    def interval(self) -> tuple[float, float]:
        return wilson_interval(self.disagree, self.judged, self.confidence)

    def to_dict(self) -> dict[str, Any]:
        lo, hi = self.interval
        return {
            "outcome": self.outcome.value,
            "kind": self.kind,
            "population": self.population,
            "sampled": self.sampled,
            "agree": self.agree,
            "disagree": self.disagree,
            "no_verdict": dict(self.no_verdict),
            "rate": self.rate,
            "interval": [lo, hi] if self.judged else None,
            "confidence": self.confidence,
        }


@dataclass(frozen=True)
class Disagreement:
    """A sampled row on which the second opinion disagreed (or gave no verdict)."""

    row: ScoredRow
    verdict: Verdict

    def to_dict(self, component: str, opinion: str) -> dict[str, Any]:
        """The row as read, plus an ``audit`` object with both verdicts, for a person to read."""
        return {
            **self.row.data,
            "audit": {
                "where": self.row.where,
                "component": component,
                "outcome": self.row.outcome.value,
                "value": self.row.value,
                "detail": self.row.detail,
                "second_opinion": opinion,
                "second_verdict": None
                if self.verdict.correct is None
                else ("correct" if self.verdict.correct else "wrong"),
                "second_outcome": self.verdict.outcome,
                "second_value": self.verdict.value,
                "second_detail": self.verdict.detail,
            },
        }


@dataclass
class AuditResult:
    """The result of :func:`audit`."""

    path: Path
    component: str
    opinion: str
    per_outcome: int
    seed: int
    confidence: float
    rows: int
    invalid: int
    population: Counter[Outcome]
    outcomes: list[OutcomeAudit]
    disagreements: list[Disagreement]
    no_verdicts: list[Disagreement]

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": str(self.path),
            "component": self.component,
            "second_opinion": self.opinion,
            "per_outcome": self.per_outcome,
            "seed": self.seed,
            "interval": "Wilson score",
            "confidence": self.confidence,
            "rows": self.rows,
            "invalid": self.invalid,
            "population": {o.value: n for o, n in self.population.items()},
            "outcomes": [a.to_dict() for a in self.outcomes],
        }


def audit(
    path: str | Path,
    opinion: SecondOpinion,
    *,
    outcomes: Sequence[Outcome] | None = None,
    per_outcome: int = 50,
    seed: int = 0,
    component: str | None = None,
    completion_column: str = "completion",
    confidence: float = 0.95,
) -> AuditResult:
    """Audit the verdicts of a scored file against a second opinion.

    :param path: a file written by ``grpo-rewards score``.
    :param opinion: the second opinion (:class:`~grpo_rewards.audit.CompositionOpinion`,
        :class:`~grpo_rewards.audit.ColumnOpinion`).
    :param outcomes: the outcomes to audit; ``None``: every verdict outcome in the file.
    :param per_outcome: the most rows sampled per outcome (stratified sampling).
    :param seed: the sampling seed.
    :param component: the component to audit; ``None``: the file's only one.
    :param completion_column: the column holding the completion.
    :param confidence: the level of the Wilson score intervals.
    :returns: per outcome, the counts, the disagreement rate and its interval, and the
        disagreeing rows.
    :raises InputError: for a file that is not a scored file, naming the row.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    sampled: SampledFile = sample_scored_file(
        path,
        outcomes=outcomes,
        per_outcome=per_outcome,
        seed=seed,
        component=component,
        completion_column=completion_column,
        required_columns=opinion.required_columns(),
    )
    audits: list[OutcomeAudit] = []
    disagreements: list[Disagreement] = []
    no_verdicts: list[Disagreement] = []
    for outcome, rows in sampled.samples.items():
        a = OutcomeAudit(outcome, sampled.population.get(outcome, 0), len(rows), confidence=confidence)
        verdicts = opinion.verdicts(rows) if rows else []
        if len(verdicts) != len(rows):
            raise RuntimeError(f"the second opinion gave {len(verdicts)} verdicts for {len(rows)} rows")
        for row, v in zip(rows, verdicts, strict=True):
            if v.correct is None:
                a.no_verdict[v.outcome] += 1
                no_verdicts.append(Disagreement(row, v))
            elif v.correct == (outcome is Outcome.CORRECT):
                a.agree += 1
            else:
                a.disagree += 1
                disagreements.append(Disagreement(row, v))
        audits.append(a)
    return AuditResult(
        Path(path),
        sampled.component,
        opinion.description,
        per_outcome,
        seed,
        confidence,
        sampled.rows,
        sampled.invalid,
        sampled.population,
        audits,
        disagreements,
        no_verdicts,
    )
