"""How a red-team run is shown and kept: the table per hack (Markdown, printed and written),
the paying completions (JSONL, for a person to read) and a JSON summary.

What runs here: formatting of a finished :class:`~grpo_rewards.redteam.run.RedteamReport`; the
completions written out are the exploits' own text, written as data (JSON), never run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from grpo_rewards.redteam.run import RedteamReport

__all__ = ["format_report", "summary", "write_report"]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def format_report(report: RedteamReport, *, command: str | None = None) -> str:
    """The report as Markdown: the composition, floor and ceiling, then one table row per hack."""
    comps = ", ".join(
        f"`{c.name}`" + (f" ({c.verifier})" if c.verifier and c.verifier != c.name else "") + f" × {c.weight:g}"
        for c in report.components
    )
    lines = []
    if command:
        lines += ["```bash", command, "```", ""]
    lines += [
        f"- composition: {comps} (from {report.source})",
        f"- rows: {report.rows}; a hack is flagged when its mean reward beats the floor's by more than "
        f"{report.threshold:g}",
        f"- floor (an honest wrong answer in the right format): mean reward {report.floor_mean:.3f}",
    ]
    if report.ceiling_mean is None:
        lines.append("- ceiling: no gold answer, so none")
    else:
        ok = "" if report.separates else " — **the gold answer does not beat a wrong one: nothing here to protect**"
        lines.append(f"- ceiling (the gold answer in that format): mean reward {report.ceiling_mean:.3f}{ok}")
    flagged = report.flagged
    verdict = "PASS" if report.passed else "FAIL"
    lines.append(
        f"- verdict: **{verdict}**: {len(flagged)} of {len(report.results)} hacks beat the floor"
        + (f" ({', '.join(r.exploit.name for r in flagged)})" if flagged else "")
        + (f"; allowed: {', '.join(r.exploit.name for r in report.allowed)}" if report.allowed else "")
    )
    lines += [
        "",
        "| hack | what it does | rows | mean reward | over the floor | rows paid | paid by | |",
        "|---|---|---:|---:|---:|---:|---|---|",
    ]
    for r in report.results:
        paid = ", ".join(f"`{k}` +{v:.3f}" for k, v in sorted(r.paid_by.items(), key=lambda kv: -kv[1])) or "—"
        mark = ("FLAG (allowed)" if r.allowed else "**FLAG**") if r.flagged else "ok"
        lines.append(
            f"| `{r.exploit.name}` | {_cell(r.exploit.description)} | {r.rows} | {r.mean:.3f} | {r.margin:+.3f} | "
            f"{r.paying_rows} | {paid} | {mark} |"
        )
    errors = [
        f"- `{comp}` on `{r.exploit.name}` ({r.outcomes[comp]['error']} rows): {_cell(detail)[:200]}"
        for r in report.results
        for comp, detail in r.errors.items()
    ]
    if errors:
        lines += ["", "Components that ended `error` on a hack (no reward, but worth a look):", "", *errors]
    if report.skipped:
        lines += ["", "Not tried: " + "; ".join(f"`{k}` ({v})" for k, v in sorted(report.skipped.items()))]
    if report.failures:
        lines += ["", "Exploits that failed (left out of the table):", ""]
        lines += [f"- `{k}`: {_cell(v)}" for k, v in sorted(report.failures.items())]
    return "\n".join(lines) + "\n"


def summary(report: RedteamReport) -> dict[str, Any]:
    """A JSON-ready summary (what CI can read)."""
    return {
        "passed": report.passed,
        "rows": report.rows,
        "threshold": report.threshold,
        "floor_mean": report.floor_mean,
        "ceiling_mean": report.ceiling_mean,
        "flagged": [r.exploit.name for r in report.flagged],
        "allowed": [r.exploit.name for r in report.allowed],
        "hacks": [
            {
                "name": r.exploit.name,
                "category": r.exploit.category,
                "origin": r.exploit.origin,
                "rows": r.rows,
                "mean": r.mean,
                "margin": r.margin,
                "paying_rows": r.paying_rows,
                "paid_by": r.paid_by,
                "outcomes": {k: dict(v) for k, v in r.outcomes.items()},
                "flagged": r.flagged,
            }
            for r in report.results
        ],
        "skipped": report.skipped,
        "failures": report.failures,
    }


def write_report(report: RedteamReport, out_dir: Path, *, command: str | None = None) -> list[Path]:
    """Write ``report.md``, ``paying.jsonl`` (the completions that beat the floor) and
    ``summary.json`` into ``out_dir``; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    md = out_dir / "report.md"
    md.write_text("# grpo-rewards redteam\n\n" + format_report(report, command=command), encoding="utf-8")
    paying = out_dir / "paying.jsonl"
    with paying.open("w", encoding="utf-8") as fh:
        for p in report.paying:
            fh.write(json.dumps(p, ensure_ascii=False) + "\n")
    js = out_dir / "summary.json"
    js.write_text(json.dumps(summary(report), indent=2) + "\n", encoding="utf-8")
    return [md, paying, js]
