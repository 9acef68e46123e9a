"""Recovering false negatives (TinyV, arXiv 2505.14625): a second opinion on ``wrong`` verdicts only.

A rule-based verifier loses correct answers it cannot parse or match (TinyV found over 38 % false
negatives in Big-Math-RL-Verified), and each one teaches the policy that a right answer is wrong.
A component's ``recover`` setting asks a second verifier (the judge plugin's ``judge.llm``, a
reward model, or another configuration of a rule-based verifier) about the samples the first one
scored ``wrong``, and only those::

    [[rewards]]
    name = "math"
    recover = { verifier = "judge.llm", options = { model = "Qwen/Qwen3-8B" }, budget = 32, per_minute = 600 }

What runs here: :class:`RecoveringVerifier`, the component's verifier as the reward set sees it,
in whichever process scores the batch (the trainer's, or an executor's worker). What it may
trust: the first verifier's verdicts; nothing the second opinion says beyond a checked verdict.

The rules, each tested in ``tests/recovery/``:

- Only samples whose first verdict is in ``outcomes`` (default ``wrong``) are asked about, in
  batch order, at most ``budget`` per batch and ``per_minute`` in any 60 seconds (across
  batches, in this process); the rest keep their verdict and are counted as *skipped*.
- A recovered sample gets exactly the ``correct`` verdict (:meth:`Score.correct`, the value every
  built-in verifier pays for a right answer, then the component's outcome policy for
  ``correct``), never the second opinion's raw score: recovery can never pay more than a
  correct answer.
- The second opinion recovers a sample when it says ``correct``, or gives a graded value
  (``scored``, ``partial``: a judge's 0-1 grade) of at least ``threshold``. When it fails
  (``error``, ``timeout``, ``unparseable``, ``no_answer``, ``bad_reference``, an exception) the
  first verdict stands and the failure is counted: a failure never turns into ``correct``.
- Every asked sample's :attr:`Score.info` says what happened (``recovery``: ``recovered``,
  ``confirmed``, ``failed`` or ``skipped``); :func:`recovery_counts` sums a batch, and the TRL reward
  function logs the sums as ``recovery/<component>/<count>`` next to ``outcomes/<component>/*``.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from grpo_rewards.contract import Outcome, Sample, Score, Verifier
from grpo_rewards.errors import ConfigError

__all__ = ["Recovery", "RecoveringVerifier", "parse_recovery", "recovery_counts", "RECOVERY_COUNTS"]

RECOVERY_COUNTS = ("calls", "recovered", "confirmed", "failed", "skipped")
"""What a batch's recovery reports: second-opinion calls made, samples recovered (the
disagreements), first verdicts confirmed, calls that failed (the first verdict stands), and
samples not asked because of the budget or the rate limit."""

_KEYS = ("verifier", "options", "threshold", "budget", "per_minute", "outcomes")
_RECOVERABLE = (Outcome.WRONG, Outcome.NO_ANSWER, Outcome.UNPARSEABLE)


@dataclass(frozen=True)
class Recovery:
    """A component's ``recover`` setting.

    :param verifier: the second opinion's registered name (``"judge.llm"``, ``"math"``).
    :param options: its options.
    :param threshold: a graded second opinion at least this recovers the sample.
    :param budget: the most second-opinion calls per batch (0: none).
    :param per_minute: the most calls in any 60 seconds, across batches (0: no limit).
    :param outcomes: the first verdicts asked about (``wrong``; ``no_answer`` and
        ``unparseable`` may be added).
    """

    verifier: str
    options: Mapping[str, Any] = field(default_factory=dict)
    threshold: float = 0.5
    budget: int = 64
    per_minute: int = 0
    outcomes: tuple[Outcome, ...] = (Outcome.WRONG,)


def parse_recovery(d: Any, where: str) -> Recovery:
    """A ``recover`` table (or a verifier name) of a component; errors name ``where`` and the key."""
    if isinstance(d, str):
        d = {"verifier": d}
    if not isinstance(d, Mapping):
        raise ConfigError(f"{where}: 'recover' must be a table like {{ verifier = \"judge.llm\" }}, got {d!r}")
    for key in d:
        if key not in _KEYS:
            import difflib

            near = difflib.get_close_matches(str(key), _KEYS, n=1)
            raise ConfigError(
                f"{where}.recover: unknown key {key!r}"
                + (f"; did you mean {near[0]!r}?" if near else f"; allowed: {', '.join(_KEYS)}")
            )
    verifier = d.get("verifier")
    if not isinstance(verifier, str) or not verifier:
        raise ConfigError(f"{where}.recover: 'verifier' (the second opinion's name, e.g. 'judge.llm') is required")
    options = d.get("options", {})
    if not isinstance(options, Mapping):
        raise ConfigError(f"{where}.recover.options must be a table, got {type(options).__name__}")

    def number(key: str, default: float, *, integer: bool = False) -> Any:
        v = d.get(key, default)
        ok = isinstance(v, int) if integer else isinstance(v, int | float)
        if isinstance(v, bool) or not ok or not math.isfinite(v) or v < 0:
            kind = "a whole number" if integer else "a number"
            raise ConfigError(f"{where}.recover.{key} must be {kind} of at least 0, got {v!r}")
        return v

    threshold = float(number("threshold", 0.5))
    outs = d.get("outcomes", ["wrong"])
    if isinstance(outs, str):
        outs = [outs]
    if not isinstance(outs, Sequence) or not outs:
        raise ConfigError(f"{where}.recover.outcomes must be a non-empty list of outcomes")
    allowed = [o.value for o in _RECOVERABLE]
    for o in outs:
        if o not in allowed:
            raise ConfigError(
                f"{where}.recover.outcomes: {o!r} cannot be recovered; a second opinion is asked about "
                f"{', '.join(allowed)} verdicts only"
            )
    return Recovery(
        verifier,
        dict(options),
        threshold,
        int(number("budget", 64, integer=True)),
        int(number("per_minute", 0, integer=True)),
        tuple(Outcome(o) for o in outs),
    )


class _RateLimit:
    """At most ``per_minute`` grants in any 60 s (a sliding window of grant times); thread-safe."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._times: deque[float] = deque()
        self._lock = threading.Lock()

    def take(self, n: int) -> int:
        """Grant up to ``n`` calls now; returns how many."""
        if self.per_minute <= 0:
            return n
        with self._lock:
            now = self.clock()
            while self._times and now - self._times[0] >= 60.0:
                self._times.popleft()
            granted = max(0, min(n, self.per_minute - len(self._times)))
            self._times.extend([now] * granted)
            return granted


def _tagged(score: Score, what: str, detail: str | None = None) -> Score:
    return replace(score, detail=score.detail if detail is None else detail, info={**score.info, "recovery": what})


class RecoveringVerifier(Verifier):
    """A component's verifier with a second opinion on its ``wrong`` verdicts (see the module).

    :param first: the component's own verifier.
    :param second: the second opinion (a verifier instance).
    :param recovery: the setting (budget, rate limit, threshold, outcomes).
    :param clock: the rate limit's clock (``time.monotonic``).
    """

    def __init__(
        self,
        first: Verifier,
        second: Verifier,
        recovery: Recovery,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        declared = type(first).outcomes
        if declared and not {Outcome.CORRECT, Outcome.WRONG} <= set(declared):
            raise ConfigError(
                f"'recover' needs a verifier whose verdicts are correct or wrong; {type(first).name or first!r} "
                f"gives {', '.join(o.value for o in declared)}"
            )
        self.first = first
        self.second = second
        self.recovery = recovery
        self._limit = _RateLimit(recovery.per_minute, clock)

    # The component is the first verifier, as the reward set and the trainer see it.
    def required_columns(self) -> list[str]:
        return self.first.required_columns()

    def check_columns(self, columns: Any) -> None:
        self.first.check_columns(columns)

    def dependencies(self) -> list[str]:
        return self.first.dependencies()

    def close(self) -> None:
        try:
            self.first.close()
        finally:
            self.second.close()

    def score_batch(self, samples: Sequence[Sample]) -> list[Score | BaseException]:
        results = list(self.first.score_batch(samples))
        eligible = [i for i, r in enumerate(results) if isinstance(r, Score) and r.outcome in self.recovery.outcomes]
        if not eligible:
            return results
        by_budget = eligible[: self.recovery.budget]
        asked = by_budget[: self._limit.take(len(by_budget))]
        for i in eligible[len(asked) :]:
            first = results[i]
            assert isinstance(first, Score)
            why = "the batch's budget" if i not in by_budget else "the rate limit"
            results[i] = _tagged(first, "skipped", f"{first.detail} (no second opinion: {why})".strip())
        if not asked:
            return results
        try:
            opinions: Sequence[Score | BaseException] = self.second.score_batch([samples[i] for i in asked])
            if len(opinions) != len(asked):
                raise RuntimeError(f"the second opinion gave {len(opinions)} scores for {len(asked)} samples")
        except Exception as exc:  # noqa: BLE001 - a failing second opinion leaves the first verdicts
            opinions = [exc] * len(asked)
        from grpo_rewards.audit.opinions import verdict_of_score

        name = self.recovery.verifier
        for i, opinion in zip(asked, opinions, strict=True):
            first = results[i]
            assert isinstance(first, Score)
            if isinstance(opinion, BaseException) or not isinstance(opinion, Score):
                why = f"{type(opinion).__name__}: {opinion}" if isinstance(opinion, BaseException) else "not a Score"
                results[i] = _tagged(first, "failed", f"{first.detail} (second opinion {name} failed: {why})")
                continue
            verdict = verdict_of_score(opinion, self.recovery.threshold)
            if verdict.correct is None:
                results[i] = _tagged(
                    first, "failed", f"{first.detail} (second opinion {name}: {opinion.outcome.value} {opinion.detail})"
                )
            elif verdict.correct:
                results[i] = Score.correct(
                    f"recovered by {name} ({opinion.outcome.value}"
                    + (f" {opinion.value:g}" if opinion.value is not None else "")
                    + f"); first verdict {first.outcome.value}: {first.detail}",
                    **{**first.info, "recovery": "recovered", "first_outcome": first.outcome.value},
                )
            else:
                results[i] = _tagged(first, "confirmed")
        return results


def recovery_counts(scores: Sequence[Score]) -> dict[str, int] | None:
    """The recovery counts of a batch of a component's scores (:data:`RECOVERY_COUNTS`), ``None``
    when no score in it went through recovery."""
    tags = [s.info.get("recovery") for s in scores]
    if not any(tags):
        return None
    counts = {k: sum(1 for t in tags if t == k) for k in RECOVERY_COUNTS[1:]}
    return {"calls": counts["recovered"] + counts["confirmed"] + counts["failed"], **counts}
