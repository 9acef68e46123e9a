"""Verifiers registered explicitly by the core tests (never whatever happens to be installed)."""

from __future__ import annotations

from typing import Any

import grpo_rewards
from grpo_rewards import Sample, Score, Verifier


class Length(Verifier):
    """Scores len(completion) / scale; counts its calls so tests can see caching."""

    name = "test.length"
    description = "length of the completion divided by scale"
    calls = 0

    def __init__(self, *, scale: float = 10.0) -> None:
        if scale <= 0:
            raise ValueError("scale must be positive")
        self.scale = scale

    def score(self, sample: Sample) -> Score:
        type(self).calls += 1
        return Score.scored(len(sample.completion) / self.scale)


class Flaky(Verifier):
    """Raises on completions containing 'boom', times out on 'slow', has no answer on ''."""

    name = "test.flaky"
    description = "raises on 'boom'"

    def score(self, sample: Sample) -> Score:
        if "boom" in sample.completion:
            raise RuntimeError("kaboom")
        if "slow" in sample.completion:
            return Score.timeout("took too long")
        if not sample.completion:
            return Score.no_answer()
        return Score.correct()


class GroupMean(Verifier):
    """Group-aware: each completion's length minus its group's mean length."""

    name = "test.groupmean"
    description = "length minus group mean"

    def score_batch(self, samples: Any) -> list[Score | BaseException]:
        by_group: dict[int, list[int]] = {}
        for s in samples:
            by_group.setdefault(s.group, []).append(len(s.completion))
        return [Score.scored(len(s.completion) - sum(by_group[s.group]) / len(by_group[s.group])) for s in samples]


class Reads(Verifier):
    """Reads another component's score (like length.cosine reads correctness)."""

    name = "test.reads"
    description = "1.0 if the source component said correct"

    def __init__(self, *, source: str = "test.flaky") -> None:
        self.source = source

    def dependencies(self) -> list[str]:
        return [self.source]

    def score(self, sample: Sample) -> Score:
        src = sample.scores[self.source]
        return Score.scored(1.0 if src.outcome == "correct" else -1.0)


class TestPlugin:
    @grpo_rewards.hookimpl
    def register_verifiers(self, register: Any) -> None:
        register(Length)
        register(Flaky)
        register(GroupMean)
        register(Reads)
