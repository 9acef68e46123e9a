"""The audit's report: a Markdown text a person reads (and ``docs/audit.md`` quotes), and the JSONL
of disagreeing rows.

What runs here: formatting, in the caller's process. What it may trust: an
:class:`~grpo_rewards.audit.AuditResult` built by :func:`~grpo_rewards.audit.audit`; the rows'
text is the file's, written as JSON (never interpreted)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TextIO

from grpo_rewards.audit.core import AuditResult, Disagreement, OutcomeAudit

__all__ = ["format_report", "write_rows"]


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def _rate(a: OutcomeAudit) -> str:
    if a.rate is None:
        return "-"
    lo, hi = a.interval
    return f"{_pct(a.rate)} [{_pct(lo)}, {_pct(hi)}]"


def _estimate(a: OutcomeAudit) -> str:
    if a.rate is None:
        return "-"
    lo, hi = a.interval
    return f"{a.rate * a.population:.0f} [{lo * a.population:.0f}, {hi * a.population:.0f}]"


def format_report(result: AuditResult, *, command: str | None = None) -> str:
    """The report as Markdown: what was audited against what, one table row per outcome, the rows
    without a second verdict, and how to read the figures."""
    conf = f"{100 * result.confidence:g} %"
    lines = [
        f"# Audit of `{result.component}` in `{result.path}`",
        "",
        f"- second opinion: {result.opinion}",
        f"- sample: up to {result.per_outcome} rows per outcome, seed {result.seed} (stratified, uniform within an "
        "outcome)",
        f"- intervals: Wilson score, {conf}",
        f"- rows in the file: {result.rows}"
        + (f" ({result.invalid} marked invalid by 'score --skip-invalid', not audited)" if result.invalid else ""),
    ]
    if command:
        lines += ["", "```console", f"$ {command}", "```"]
    lines += [
        "",
        f"| outcome | rows | sampled | second agrees | second disagrees | no second verdict | disagreement "
        f"({conf} CI) | estimated rows affected |",
        "|---|---:|---:|---:|---:|---:|---|---|",
    ]
    for a in result.outcomes:
        nv = sum(a.no_verdict.values())
        lines.append(
            f"| `{a.outcome.value}` ({a.kind}s) | {a.population} | {a.sampled} | {a.agree} | {a.disagree} | {nv} | "
            f"{_rate(a)} | {_estimate(a)} |"
        )
    audited = {a.outcome for a in result.outcomes}
    others = {o: n for o, n in result.population.items() if o not in audited}
    if others:
        lines += [
            "",
            "Not audited (no right/wrong verdict, or not asked for): "
            + ", ".join(f"`{o.value}` {n}" for o, n in sorted(others.items(), key=lambda kv: -kv[1]))
            + ".",
        ]
    missing = [a.outcome.value for a in result.outcomes if a.population == 0]
    if missing:
        lines += ["", f"No rows with outcome {', '.join(f'`{m}`' for m in missing)} in the file."]
    nv_lines = [
        f"- `{a.outcome.value}`: "
        + ", ".join(f"{k} {n}" for k, n in sorted(a.no_verdict.items(), key=lambda kv: -kv[1]))
        for a in result.outcomes
        if a.no_verdict
    ]
    if nv_lines:
        lines += ["", "Sampled rows the second opinion gave no verdict on (left out of the rates), by its outcome:", ""]
        lines += nv_lines
    lines += [
        "",
        "How to read it: among the sampled `correct` verdicts, the disagreement rate is the share the second "
        "opinion calls wrong (an estimated false-positive rate); among `wrong` (and `no_answer`, `unparseable`, "
        "`timeout`) it is the share the second opinion calls correct (an estimated false-negative rate). The "
        "second opinion is a grader too: a disagreement is a row for a person to read, not a proven error. "
        "Rates are over the sampled rows with a second verdict; the estimated rows affected scale the rate and "
        "its interval to the outcome's rows in the file (without a finite-population correction, so the "
        "interval is conservative when most rows were sampled).",
    ]
    return "\n".join(lines) + "\n"


def write_rows(items: Iterable[Disagreement], fh: TextIO, *, component: str, opinion: str) -> int:
    """Write rows as JSONL (the row as read plus an ``audit`` object); returns how many."""
    n = 0
    for d in items:
        fh.write(json.dumps(d.to_dict(component, opinion), ensure_ascii=False, default=str) + "\n")
        n += 1
    return n
