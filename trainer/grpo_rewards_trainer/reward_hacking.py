"""Signs of reward hacking in one batch: how much of the reward comes from format alone, and
whether longer completions are simply paid more.

What runs here: pure functions of one batch's rewards (every process's completions, gathered)
and completion lengths. :class:`~grpo_rewards_trainer.GRPOTrainer` logs their results each step as
``hacking/format_share`` and ``hacking/length_corr`` through TRL's metrics, so they reach
``metrics.jsonl``, ``rewards.png`` and every ``report_to`` tracker like TRL's own metrics.

- **format share**: of the batch's weighted reward, the part that format-only components give
  (those whose verifier is ``format.*``: ``format.think``, ``format.tags``, ``format.json``,
  ``format.regex``). With ``m_i`` the batch mean of component ``i`` and ``w_i`` its weight:
  ``sum over format components of w_i * m_i / sum over all components of |w_i * m_i|``. It lies in
  [-1, 1]: near 1, the policy earns its reward by its shape, not its answers; negative, the format
  components are a net penalty. Not logged when the composition has no format-only component.
- **length correlation**: Pearson's r between each completion's total reward (the weighted sum
  TRL trains on) and its length in tokens. Strongly positive: the reward pays for length (padding,
  restating); strongly negative: it pays for stopping early. Not logged for a batch where either
  is constant.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "FORMAT_SHARE",
    "LENGTH_CORR",
    "format_components",
    "format_share",
    "length_correlation",
    "pearson",
    "total_rewards",
]

FORMAT_SHARE = "hacking/format_share"
LENGTH_CORR = "hacking/length_corr"


def format_components(components: Iterable[Any]) -> list[str]:
    """Names of the components of a reward set (``RewardSet.components``) that check format only:
    a registered verifier named ``format`` or ``format.*`` (plain functions never count)."""
    return [
        c.name
        for c in components
        if getattr(c, "function", None) is None and str(c.verifier).split(".", 1)[0] == "format"
    ]


def _nanmean(values: Iterable[float]) -> float:
    kept = [v for v in values if v is not None and math.isfinite(v)]
    return sum(kept) / len(kept) if kept else math.nan


def format_share(rows: Sequence[Sequence[float]], weights: Sequence[float], is_format: Sequence[bool]) -> float | None:
    """The format share of one batch (see the module docstring).

    :param rows: one row per completion, one value per component (NaN: no signal).
    :param weights: each component's weight.
    :param is_format: whether each component is format-only.
    :returns: ``None`` when no component is format-only or no component has a signal.
    """
    if not any(is_format):
        return None
    contributions = []
    for i, (w, fmt) in enumerate(zip(weights, is_format, strict=True)):
        mean = _nanmean(r[i] for r in rows)
        if math.isfinite(mean):
            contributions.append((w * mean, fmt))
    total = sum(abs(c) for c, _ in contributions)
    if total == 0.0:
        return None
    return sum(c for c, fmt in contributions if fmt) / total


def total_rewards(rows: Sequence[Sequence[float]], weights: Sequence[float]) -> list[float]:
    """Each completion's weighted sum over the components that gave a signal, NaN where none did
    (TRL 1.16's ``reward``, ``_generate_and_score_completions``)."""
    out = []
    for row in rows:
        kept = [w * v for w, v in zip(weights, row, strict=True) if v is not None and math.isfinite(v)]
        out.append(sum(kept) if kept else math.nan)
    return out


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson's r over the pairs where both are finite; ``None`` for fewer than 2 pairs or a
    constant side."""
    pairs = [(x, y) for x, y in zip(xs, ys, strict=True) if math.isfinite(x) and math.isfinite(y)]
    if len(pairs) < 2 or len({x for x, _ in pairs}) < 2 or len({y for _, y in pairs}) < 2:
        return None
    mx = sum(x for x, _ in pairs) / len(pairs)
    my = sum(y for _, y in pairs) / len(pairs)
    sxy = sum((x - mx) * (y - my) for x, y in pairs)
    sxx = sum((x - mx) ** 2 for x, _ in pairs)
    syy = sum((y - my) ** 2 for _, y in pairs)
    if sxx <= 0.0 or syy <= 0.0:
        return None
    return max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy)))


def length_correlation(
    rows: Sequence[Sequence[float]], weights: Sequence[float], lengths: Sequence[float]
) -> float | None:
    """Pearson's r between each completion's total reward and its length (see the module docstring)."""
    return pearson(total_rewards(rows, weights), [float(n) for n in lengths])
