"""The reward contract: what a verifier receives and what it returns.

A verifier scores one completion against the dataset row it came from and returns a
:class:`Score`: a float (or ``None`` for "no signal for this sample"), an :class:`Outcome`
from a small fixed taxonomy, and a short human-readable detail. Outcomes let users decide
per outcome what reward to give (see :mod:`grpo_rewards.composition`) instead of every
failure silently becoming ``0.0``.
"""

from __future__ import annotations

import enum
import inspect
import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = ["Outcome", "Score", "Sample", "Verifier"]


class Outcome(enum.StrEnum):
    """Why a completion got its score. The taxonomy is fixed so that policies can name it."""

    CORRECT = "correct"
    """The answer was checked and is right."""
    PARTIAL = "partial"
    """Partly right (e.g. some test cases passed, some format tags present)."""
    WRONG = "wrong"
    """The answer was checked and is wrong (includes hedged answers)."""
    NO_ANSWER = "no_answer"
    """No answer could be found in the completion (no tag, no box, no code block...)."""
    UNPARSEABLE = "unparseable"
    """An answer was found but could not be parsed or compared."""
    BAD_REFERENCE = "bad_reference"
    """The row's reference (gold answer, tests) is missing or unusable: not the model's fault."""
    TIMEOUT = "timeout"
    """Checking ran past its time or memory limit."""
    ERROR = "error"
    """The verifier itself failed (an exception); see the detail."""
    SCORED = "scored"
    """A graded value with no right/wrong notion (length penalties, repetition, ...)."""
    SKIPPED = "skipped"
    """Not evaluated for this sample because a gate was closed."""


@dataclass(frozen=True, slots=True)
class Score:
    """The result of scoring one completion.

    :param value: the reward, or ``None`` when this sample carries no signal for this verifier.
    :param outcome: why; one of :class:`Outcome`.
    :param detail: a short human-readable explanation ("expected 72, got 70").
    :param info: optional machine-readable extras (e.g. the extracted answer), JSON-serialisable.
    """

    value: float | None
    outcome: Outcome
    detail: str = ""
    info: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.value is not None:
            if isinstance(self.value, bool) or not isinstance(self.value, int | float):
                raise TypeError(f"Score.value must be a float or None, got {type(self.value).__name__}")
            if not math.isfinite(self.value):
                raise ValueError(f"Score.value must be finite, got {self.value!r}")
            object.__setattr__(self, "value", float(self.value))
        object.__setattr__(self, "outcome", Outcome(self.outcome))

    # Small constructors so verifiers read like prose.
    @classmethod
    def correct(cls, detail: str = "", value: float = 1.0, **info: Any) -> Score:
        return cls(value, Outcome.CORRECT, detail, info)

    @classmethod
    def wrong(cls, detail: str = "", value: float = 0.0, **info: Any) -> Score:
        return cls(value, Outcome.WRONG, detail, info)

    @classmethod
    def partial(cls, value: float, detail: str = "", **info: Any) -> Score:
        return cls(value, Outcome.PARTIAL, detail, info)

    @classmethod
    def no_answer(cls, detail: str = "no answer found", value: float = 0.0, **info: Any) -> Score:
        return cls(value, Outcome.NO_ANSWER, detail, info)

    @classmethod
    def unparseable(cls, detail: str = "", value: float = 0.0, **info: Any) -> Score:
        return cls(value, Outcome.UNPARSEABLE, detail, info)

    @classmethod
    def bad_reference(cls, detail: str = "", **info: Any) -> Score:
        return cls(None, Outcome.BAD_REFERENCE, detail, info)

    @classmethod
    def timeout(cls, detail: str = "timed out", value: float = 0.0, **info: Any) -> Score:
        return cls(value, Outcome.TIMEOUT, detail, info)

    @classmethod
    def error(cls, detail: str, **info: Any) -> Score:
        return cls(None, Outcome.ERROR, detail, info)

    @classmethod
    def scored(cls, value: float, detail: str = "", **info: Any) -> Score:
        return cls(value, Outcome.SCORED, detail, info)

    @classmethod
    def skipped(cls, detail: str = "", value: float | None = None, **info: Any) -> Score:
        return cls(value, Outcome.SKIPPED, detail, info)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"value": self.value, "outcome": self.outcome.value, "detail": self.detail}
        if self.info:
            out["info"] = dict(self.info)
        return out


@dataclass(frozen=True, slots=True)
class Sample:
    """One completion to score, with everything a verifier may read.

    :param completion: the completion's text (for conversational completions, the content of the
        last assistant message).
    :param row: the dataset columns for this completion (``answer``, ``tests``, ...).
    :param prompt: the prompt as TRL passed it (a string or a list of messages), if known.
    :param completion_ids: the completion's token ids, if known (TRL passes them).
    :param index: position of the sample in its batch.
    :param group: index of its prompt group (GRPO's ``num_generations`` completions of one prompt
        share a group).
    :param scores: scores already computed for this sample by components this one depends on
        (gating, ``length.cosine``'s correctness source), by component name.
    :param raw_completion: the completion exactly as TRL passed it (string or message list).
    :param context: what the trainer passed that is neither a column nor per-completion
        (``trainer_state``, ``log_metric``, ``log_extra``), for plain reward functions that read it.
    """

    completion: str
    row: Mapping[str, Any] = field(default_factory=dict)
    prompt: Any = None
    completion_ids: Sequence[int] | None = None
    index: int = 0
    group: int = 0
    scores: Mapping[str, Score] = field(default_factory=dict)
    raw_completion: Any = None
    context: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    def column(self, name: str) -> Any:
        """Return the row's column ``name``; raise :class:`~grpo_rewards.errors.MissingColumnError`
        naming the column and the columns that exist."""
        from grpo_rewards.errors import MissingColumnError

        try:
            return self.row[name]
        except KeyError:
            raise MissingColumnError(name, sorted(self.row)) from None


class Verifier:
    """Base class for verifiers.

    Subclasses set :attr:`name` and :attr:`description`, take their options as keyword-only
    ``__init__`` arguments (with defaults; unknown options are reported with the valid ones),
    and implement :meth:`score`. Batch- or group-aware verifiers override
    :meth:`score_batch` instead (GRPO scores ``num_generations`` completions per prompt at once;
    ``Sample.group`` says which belong together).

    Verifiers must be picklable: keep processes, pools and caches out of ``__init__`` or
    re-create them lazily (see :meth:`close`).
    """

    name: ClassVar[str] = ""
    """Registry name, e.g. ``"math"`` or ``"format.think"``."""
    description: ClassVar[str] = ""
    """One line shown by ``grpo-rewards list``."""
    depends_on_scores: ClassVar[bool] = False
    """True when the verifier reads ``Sample.scores`` of another component (set via options)."""
    outcomes: ClassVar[tuple[Outcome, ...]] = ()
    """The outcomes this verifier returns, shown by ``grpo-rewards list NAME``; empty: not declared.
    Any component can also end ``error`` (the verifier raised), ``skipped`` (a closed gate) or
    ``bad_reference`` (a row lacks a column it reads): list those only when the verifier's own code
    returns them."""

    def required_columns(self) -> list[str]:
        """Dataset columns this verifier reads, so that trainers can check a dataset up front."""
        return []

    def check_columns(self, columns: Collection[str]) -> None:
        """Raise :class:`~grpo_rewards.errors.DatasetColumnError` when a column this verifier needs
        is absent from ``columns`` (the dataset's, or a whole batch's). Rows that lack a column
        here and there are not this check's business: they score ``bad_reference``."""
        from grpo_rewards.errors import DatasetColumnError

        missing = [c for c in self.required_columns() if c not in columns]
        if missing:
            raise DatasetColumnError(
                f"needs column {missing[0]!r}, which the data does not have",
                columns,
                hint="rename the column, or point the reward's 'column' option at the one that holds it",
            )

    @classmethod
    def mirrored_options(cls, options: Mapping[str, Any]) -> dict[str, str]:
        """Options (given ``options``) that mirror a trainer setting, as ``{option: GRPOConfig field}``.

        Inside ``grpo_rewards_trainer.GRPOTrainer`` an option left unset takes the trainer's value,
        and a value that differs from it is a warning at start-up. ``length.overlong`` maps
        ``max_length`` to ``max_completion_length``.
        """
        return {}

    def dependencies(self) -> list[str]:
        """Names of components whose scores this verifier reads from ``Sample.scores``."""
        return []

    def score(self, sample: Sample) -> Score:
        """Score one sample. Exceptions are caught by the caller and become ``Outcome.ERROR``."""
        raise NotImplementedError(f"{type(self).__name__} implements neither score() nor score_batch()")

    def score_batch(self, samples: Sequence[Sample]) -> list[Score | BaseException]:
        """Score a batch. The default calls :meth:`score` per sample, turning an exception into that
        sample's result so one bad sample cannot take the batch down."""
        out: list[Score | BaseException] = []
        for s in samples:
            try:
                out.append(self.score(s))
            except Exception as exc:  # noqa: BLE001 - reported as Outcome.ERROR by the caller
                out.append(exc)
        return out

    def close(self) -> None:
        """Release processes or other resources. Called at interpreter exit and by ``RewardSet.close``."""

    @classmethod
    def option_defaults(cls) -> dict[str, Any]:
        """The options this verifier accepts, with their defaults (from ``__init__``'s signature)."""
        sig = inspect.signature(cls.__init__)
        return {
            p.name: (None if p.default is inspect.Parameter.empty else p.default)
            for p in sig.parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY
        }
