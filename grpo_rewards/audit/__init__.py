"""Auditing a verifier on your own data: how often are its verdicts wrong?

``grpo-rewards audit SCORED`` (and :func:`audit`) sample a scored file's verdicts by outcome,
re-check each with a second opinion (another verifier configuration, the judge plugin, or another
grader's verdict in a column) and report, per outcome, the disagreement rate with a Wilson score
interval, plus the disagreeing rows for a person to read. See ``docs/audit.md``.

What runs here: the reading of a file, the second opinion and the arithmetic, in the caller's
process (:mod:`.scored`, :mod:`.opinions`, :mod:`.core`, :mod:`.report`). Nothing here trusts the
file: every malformed row is an error naming it.
"""

from grpo_rewards.audit.core import AuditResult, Disagreement, OutcomeAudit, audit, wilson_interval
from grpo_rewards.audit.opinions import ColumnOpinion, CompositionOpinion, SecondOpinion, Verdict, verdict_of_score
from grpo_rewards.audit.report import format_report, write_rows
from grpo_rewards.audit.scored import VERDICT_OUTCOMES, SampledFile, ScoredRow, sample_scored_file

__all__ = [
    "audit",
    "wilson_interval",
    "AuditResult",
    "OutcomeAudit",
    "Disagreement",
    "SecondOpinion",
    "CompositionOpinion",
    "ColumnOpinion",
    "Verdict",
    "verdict_of_score",
    "format_report",
    "write_rows",
    "sample_scored_file",
    "SampledFile",
    "ScoredRow",
    "VERDICT_OUTCOMES",
]
