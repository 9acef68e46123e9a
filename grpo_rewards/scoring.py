"""Offline scoring of rows: the same code path as training, for files of completions."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from grpo_rewards.inputs import InputRow
from grpo_rewards.rewardset import RewardSet

__all__ = ["ScoreSummary", "score_rows", "format_row", "format_summary"]


@dataclass
class ScoreSummary:
    """Per-component statistics of a scoring run."""

    names: list[str]
    weights: list[float]
    rows: int = 0
    invalid: int = 0
    sums: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    outcomes: dict[str, Counter[str]] = field(default_factory=dict)
    total_sum: float = 0.0
    total_count: int = 0
    without: Counter[str] = field(default_factory=Counter)
    """Per column that a component reads: the rows that lack it (or hold null), scored ``bad_reference``."""
    recovery: dict[str, Counter[str]] = field(default_factory=dict)
    """Per component with a ``recover`` setting: what its second opinion did (:mod:`grpo_rewards.recovery`)."""

    def add(self, name: str, value: float | None, outcome: str) -> None:
        self.outcomes.setdefault(name, Counter())[outcome] += 1
        if value is not None:
            self.sums[name] = self.sums.get(name, 0.0) + value
            self.counts[name] = self.counts.get(name, 0) + 1

    def mean(self, name: str) -> float | None:
        n = self.counts.get(name, 0)
        return self.sums[name] / n if n else None

    @property
    def total_mean(self) -> float | None:
        return self.total_sum / self.total_count if self.total_count else None

    def merge(self, other: ScoreSummary) -> None:
        """Add the counts of ``other`` (a summary of other rows, with the same components)."""
        self.rows += other.rows
        self.invalid += other.invalid
        for name, n in other.counts.items():
            self.counts[name] = self.counts.get(name, 0) + n
            self.sums[name] = self.sums.get(name, 0.0) + other.sums[name]
        for name, c in other.outcomes.items():
            self.outcomes.setdefault(name, Counter()).update(c)
        self.total_sum += other.total_sum
        self.total_count += other.total_count
        self.without.update(other.without)
        for name, c in other.recovery.items():
            self.recovery.setdefault(name, Counter()).update(c)


def format_row(row: dict[str, Any]) -> str:
    """An output row as one line of the output JSONL file."""
    return json.dumps(row, ensure_ascii=False, default=str) + "\n"


def _chunks(rows: Iterable[InputRow], size: int, prompt_column: str) -> Iterator[list[InputRow]]:
    """Chunks of about ``size`` rows that never split a run of rows sharing one prompt, so that
    group-aware verifiers see whole groups."""
    chunk: list[InputRow] = []
    for row in rows:
        if len(chunk) >= size and row.data.get(prompt_column) != chunk[-1].data.get(prompt_column):
            yield chunk
            chunk = []
        chunk.append(row)
    if chunk:
        yield chunk


def score_rows(
    reward_set: RewardSet,
    rows: Iterable[InputRow],
    *,
    completion_column: str = "completion",
    prompt_column: str = "prompt",
    completion_ids_column: str = "completion_ids",
    batch_size: int = 256,
    details: bool = True,
    summary: ScoreSummary | None = None,
) -> Iterator[dict[str, Any]]:
    """Score rows in batches and yield output rows.

    Output rows hold every input column, plus ``reward`` (the weighted sum of the components
    that gave a signal, ``None`` when none did, exactly like TRL's ``nansum``), ``rewards``
    ({component: value}), ``outcomes`` ({component: outcome}) and, with ``details``, ``details``.
    Rows whose ``error`` is set are passed through with ``invalid`` set and null rewards.
    When every row of a batch has a ``completion_ids`` column (a list of token ids), it is passed
    as TRL passes it, so token-based verifiers (``length.*``) count tokens as in training.
    """
    if summary is None:
        summary = ScoreSummary(reward_set.names, reward_set.reward_weights)
    needed = sorted({c for cols in reward_set.required_columns().values() for c in cols})
    for chunk in _chunks(rows, batch_size, prompt_column):
        valid = [r for r in chunk if r.error is None]
        result = None
        if valid:
            columns: dict[str, list[Any]] = {}
            ids = _completion_ids(valid, completion_ids_column)
            skip = {completion_column, prompt_column} | ({completion_ids_column} if ids is not None else set())
            keys = sorted({k for r in valid for k in r.data} - skip)
            for k in keys:
                columns[k] = [r.data.get(k) for r in valid]
            has_prompt = any(prompt_column in r.data for r in valid)
            result = reward_set.score(
                [r.data[completion_column] for r in valid],
                prompts=[r.data.get(prompt_column) for r in valid] if has_prompt else None,
                completion_ids=ids,
                columns=columns,
            )
        j = 0
        for r in chunk:
            summary.rows += 1
            if r.error is not None:
                summary.invalid += 1
                yield {**r.data, "invalid": r.error, "reward": None, "rewards": {}, "outcomes": {}}
                continue
            assert result is not None
            for c in needed:
                if r.data.get(c) is None:
                    summary.without[c] += 1
            out = dict(r.data)
            out["reward"] = result.totals[j]
            out["rewards"] = {n: result.values[n][j] for n in reward_set.names}
            out["outcomes"] = {n: result.scores[n][j].outcome.value for n in reward_set.names}
            if details:
                out["details"] = {n: result.scores[n][j].detail for n in reward_set.names}
            for n in reward_set.names:
                summary.add(n, result.values[n][j], result.scores[n][j].outcome.value)
                if (tag := result.scores[n][j].info.get("recovery")) is not None:
                    summary.recovery.setdefault(n, Counter())[str(tag)] += 1
            if result.totals[j] is not None:
                summary.total_sum += result.totals[j]  # type: ignore[operator]
                summary.total_count += 1
            j += 1
            yield out


def _completion_ids(rows: list[InputRow], column: str) -> list[list[int]] | None:
    ids = [r.data.get(column) for r in rows]
    if all(isinstance(x, list) and all(isinstance(t, int) for t in x) for x in ids):
        return ids  # type: ignore[return-value]
    return None


def _fmt(x: float | None) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.4f}"


def format_summary(summary: ScoreSummary) -> str:
    """A plain-text table: per component weight, mean, count with a value, outcome counts."""
    rows: list[Sequence[str]] = [("reward", "weight", "mean", "n", "outcomes")]
    for name, w in zip(summary.names, summary.weights, strict=True):
        oc = summary.outcomes.get(name, Counter())
        rows.append(
            (
                name,
                f"{w:g}",
                _fmt(summary.mean(name)),
                str(summary.counts.get(name, 0)),
                " ".join(f"{k}={v}" for k, v in sorted(oc.items(), key=lambda kv: -kv[1])),
            )
        )
    rows.append(("TOTAL (weighted)", "", _fmt(summary.total_mean), str(summary.total_count), ""))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = []
    for k, r in enumerate(rows):
        lines.append("  ".join(r[i].ljust(widths[i]) for i in range(4)) + "  " + r[4])
        if k == 0:
            lines.append("  ".join("-" * w for w in widths) + "  " + "-" * 8)
    text = "\n".join(line.rstrip() for line in lines)
    text += f"\n{summary.rows} rows scored"
    if summary.invalid:
        text += f", {summary.invalid} invalid (marked 'invalid' in the output)"
    for name, c in summary.recovery.items():
        asked = c["recovered"] + c["confirmed"] + c["failed"]
        text += (
            f"\n{name}: second opinion asked on {asked} {'row' if asked == 1 else 'rows'}: recovered {c['recovered']}, "
            f"confirmed {c['confirmed']}, failed {c['failed']}; {c['skipped']} not asked (budget or rate limit)"
        )
    for column, n in sorted(summary.without.items()):
        text += f"\n{n} {'row' if n == 1 else 'rows'} without {column!r} (bad_reference)"
    return text
