"""Length verifiers: ``length.overlong``, ``length.cosine``, ``length.group``, ``length.target``.

Lengths are counted in tokens when the sample carries ``completion_ids`` (TRL passes them), else
with a tokenizer when the ``tokenizer`` option names one, else in characters; ``unit`` forces a
choice. Every score says in ``info`` which count it used (``length``, ``unit``, ``source``).
``part`` measures only the reasoning or only the answer, split with the ``reasoning`` option.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from grpo_rewards.contract import Outcome, Sample, Score, Verifier
from grpo_rewards.hookspecs import Register, hookimpl
from grpo_rewards.reasoning import DEFAULT as DEFAULT_REASONING
from grpo_rewards.reasoning import Delimiters, parse_reasoning, prefilled_for, split
from grpo_rewards.verifiers._text import UNITS, count_tokens, load_tokenizer, repeated_fraction, words

__all__ = ["OverlongPenalty", "CosineLength", "GroupLength", "TargetLength"]

PARTS = ("all", "reasoning", "answer")
"""What ``part`` of a completion is measured: all of it, its reasoning sections, or its answer
(the ``reasoning`` option says where reasoning ends: :mod:`grpo_rewards.reasoning`)."""

CORRECT_OUTCOMES = (Outcome.CORRECT,)
WRONG_OUTCOMES = (Outcome.WRONG, Outcome.PARTIAL, Outcome.NO_ANSWER, Outcome.UNPARSEABLE, Outcome.TIMEOUT)
"""How a correctness score is read: ``correct`` is correct; these are wrong (the model's answer
was checked and failed, or there was none, or it ran too long). ``error``, ``bad_reference``
and ``skipped`` carry no correctness signal, so length rewards that need one give ``None``."""


class _Measured(Verifier):
    """Counting lengths in a chosen unit (shared by the length verifiers)."""

    unit: str
    tokenizer: Any
    part: str = "all"
    reasoning: Delimiters = parse_reasoning(DEFAULT_REASONING)

    def _setup_part(self, part: str, reasoning: Any) -> None:
        if part not in PARTS:
            raise ValueError(f"part must be one of {', '.join(PARTS)}, got {part!r}")
        self.part = part
        self.reasoning = parse_reasoning(reasoning)

    def text_of(self, sample: Sample) -> tuple[str, Sequence[Any] | None]:
        """The text whose length counts (``part``) and its token ids when known: the whole
        completion with ``completion_ids``, or its reasoning or answer (:mod:`grpo_rewards.reasoning`),
        whose ids are not known (counted with ``tokenizer``, else in characters)."""
        if self.part == "all":
            return sample.completion, sample.completion_ids
        sp = split(sample.completion, self.reasoning, prefilled=prefilled_for(self.reasoning, sample.prompt))
        return (sp.answer if self.part == "answer" else "\n".join(sp.reasoning)), None

    def _setup_unit(self, unit: str, tokenizer: Any) -> None:
        if unit not in UNITS:
            raise ValueError(f"unit must be one of {', '.join(UNITS)}, got {unit!r}")
        if unit in ("chars", "words") and tokenizer:
            raise ValueError(f"'tokenizer' is only used with unit 'auto' or 'tokens', not {unit!r}")
        self.unit = unit
        self.tokenizer = tokenizer or None
        self._tok: Any = None if isinstance(self.tokenizer, str) else self.tokenizer

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        if isinstance(self.tokenizer, str):
            state["_tok"] = None  # re-loaded lazily after unpickling
        return state

    def _get_tokenizer(self) -> Any:
        if self._tok is None and isinstance(self.tokenizer, str):
            self._tok = load_tokenizer(self.tokenizer)
        return self._tok

    def measure(self, sample: Sample) -> tuple[int, str, str]:
        """``(length, unit, source)`` of the sample's completion; ``source`` is
        ``completion_ids``, ``tokenizer``, ``characters`` or ``words``."""
        text, ids = self.text_of(sample)
        if self.unit in ("auto", "tokens"):
            if ids is not None:
                return len(ids), "tokens", "completion_ids"
            if self.tokenizer is not None:
                return count_tokens(self._get_tokenizer(), text), "tokens", "tokenizer"
            if self.unit == "tokens":
                raise ValueError(
                    "unit='tokens' but the sample has no completion_ids"
                    + (f" for part={self.part!r}" if self.part != "all" else "")
                    + " and no 'tokenizer' option is set; set tokenizer = '<path or name>' or unit = 'chars'"
                )
        if self.unit == "words":
            return len(words(text)), "words", "words"
        return len(text), "chars", "characters"


class OverlongPenalty(_Measured):
    r"""DAPO's soft overlong punishment (Yu et al. 2025, arXiv 2503.14476, Eq. 13).

    With :math:`L_{max}` = ``max_length``, :math:`L_{cache}` = ``cache_length`` and :math:`|y|`
    the completion's length:

    .. math::

        R(y) = \begin{cases} 0 & |y| \le L_{max} - L_{cache} \\
        \frac{(L_{max} - L_{cache}) - |y|}{L_{cache}} & L_{max} - L_{cache} < |y| \le L_{max} \\
        -1 & L_{max} < |y| \end{cases}

    so a completion of exactly ``max_length`` gets -1.0 and nothing shorter than
    ``max_length - cache_length`` is penalised. Set ``max_length`` to TRL's
    ``max_completion_length`` (512 by default, hence the default here; inside
    ``grpo_rewards_trainer.GRPOTrainer`` an unset ``max_length`` is the trainer's
    ``max_completion_length``); ``cache_length`` defaults to a quarter of ``max_length``, at
    most 128. DAPO used 20480 and 4096.
    Same values as TRL's ``get_soft_overlong_punishment``. Counts tokens from ``completion_ids``,
    else with ``tokenizer``, else characters (see ``info["source"]``).
    """

    name = "length.overlong"
    description = "DAPO soft overlong punishment: 0 up to max-cache, linear to -1 at max (tokens)"
    outcomes = (Outcome.SCORED,)

    def __init__(
        self,
        *,
        max_length: int = 512,
        cache_length: int | None = None,
        unit: str = "auto",
        tokenizer: Any = None,
        part: str = "all",
        reasoning: Any = DEFAULT_REASONING,
    ) -> None:
        if max_length <= 0:
            raise ValueError(f"max_length must be positive, got {max_length}")
        if cache_length is None:  # a quarter of the budget, at most 128: 128 at TRL's default of 512
            cache_length = min(128, max_length // 4)
        if not 0 <= cache_length <= max_length:
            raise ValueError(f"cache_length must be between 0 and max_length ({max_length}), got {cache_length}")
        self.max_length = int(max_length)
        self.cache_length = int(cache_length)
        self._setup_unit(unit, tokenizer)
        self._setup_part(part, reasoning)

    @classmethod
    def mirrored_options(cls, options: Mapping[str, Any]) -> dict[str, str]:
        # TRL's max_completion_length counts tokens: it says nothing about a budget in chars or words.
        return {} if options.get("unit") in ("chars", "words") else {"max_length": "max_completion_length"}

    def penalty(self, length: int) -> float:
        """Eq. 13 of DAPO for a completion of ``length`` units."""
        soft_start = self.max_length - self.cache_length
        if length <= soft_start:
            return 0.0
        if length <= self.max_length:
            return (soft_start - length) / self.cache_length
        return -1.0

    def score(self, sample: Sample) -> Score:
        length, unit, source = self.measure(sample)
        value = self.penalty(length)
        detail = f"{length} {unit} ({source}); soft limit {self.max_length - self.cache_length}, max {self.max_length}"
        return Score.scored(value, detail, length=length, unit=unit, source=source)


def _correctness(sample: Sample, component: str, verifier: str) -> bool | None:
    """True/False from the dependency's outcome, ``None`` when it carries no signal."""
    try:
        dep = sample.scores[component]
    except KeyError:
        raise ValueError(
            f"{verifier} reads correctness from component {component!r}, but the sample has no score for it; "
            f"score it in a reward set that contains {component!r} (weight 0 if it should not count)"
        ) from None
    if dep.outcome in CORRECT_OUTCOMES:
        return True
    if dep.outcome in WRONG_OUTCOMES:
        return False
    return None


class CosineLength(_Measured):
    r"""Cosine-scaled length reward conditioned on correctness (Yeo et al. 2025, "Demystifying Long
    Chain-of-Thought Reasoning in LLMs", arXiv 2502.03373, Sec. 4.2, the ``CosFn`` reward).

    With :math:`t` = length clamped to ``max_length`` :math:`T`:

    .. math::

        r(t) = r_T + \tfrac12 (r_0 - r_T)\,(1 + \cos(\pi t / T))

    For correct answers :math:`r_0` = ``max_value_correct`` and :math:`r_T` = ``min_value_correct``
    (shorter correct answers earn more); for wrong ones :math:`r_0` = ``min_value_wrong`` and
    :math:`r_T` = ``max_value_wrong`` (short wrong answers are penalised most, so the model is not
    pushed to give up early). Defaults and parameter names are open-r1's
    ``get_cosine_scaled_reward`` (1.0/0.5, -1.0/-0.5, 1000 characters); the paper used tokens,
    which is what you get here whenever ``completion_ids`` are available. ``exceed_value`` (the
    paper's :math:`r_e`) replaces the value for completions of ``max_length`` or more.
    With ``exceed_value`` unset and lengths from ``completion_ids``, the values equal TRL 1.16's
    ``get_cosine_scaled_reward(max_len=max_length)`` (``trl/rewards/accuracy_rewards.py``; tested
    against it in ``tests/peers/test_trl_length_repetition.py``).

    Correctness is *not* recomputed: ``correctness`` names another component of the reward set
    (default ``"math"``), which the reward set scores first; its ``correct`` outcome counts as
    correct, ``wrong``/``partial``/``no_answer``/``unparseable``/``timeout`` as wrong, and
    ``error``/``bad_reference``/``skipped`` give no signal (``None``, outcome ``skipped``).
    """

    name = "length.cosine"
    description = "Cosine length reward conditioned on another component's correctness (Yeo et al. 2025)"
    outcomes = (Outcome.SCORED, Outcome.SKIPPED)
    depends_on_scores = True

    def __init__(
        self,
        *,
        correctness: str = "math",
        max_length: int = 1000,
        min_value_correct: float = 0.5,
        max_value_correct: float = 1.0,
        min_value_wrong: float = -1.0,
        max_value_wrong: float = -0.5,
        exceed_value: float | None = None,
        unit: str = "auto",
        tokenizer: Any = None,
        part: str = "all",
        reasoning: Any = DEFAULT_REASONING,
    ) -> None:
        if not correctness:
            raise ValueError("length.cosine needs 'correctness', the name of the component that says correct/wrong")
        if max_length <= 0:
            raise ValueError(f"max_length must be positive, got {max_length}")
        for k, v in (
            ("min_value_correct", min_value_correct),
            ("max_value_correct", max_value_correct),
            ("min_value_wrong", min_value_wrong),
            ("max_value_wrong", max_value_wrong),
            ("exceed_value", 0.0 if exceed_value is None else exceed_value),
        ):
            if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
                raise ValueError(f"{k} must be a finite number, got {v!r}")
        self.correctness = correctness
        self.max_length = int(max_length)
        self.min_value_correct = float(min_value_correct)
        self.max_value_correct = float(max_value_correct)
        self.min_value_wrong = float(min_value_wrong)
        self.max_value_wrong = float(max_value_wrong)
        self.exceed_value = None if exceed_value is None else float(exceed_value)
        self._setup_unit(unit, tokenizer)
        self._setup_part(part, reasoning)

    @classmethod
    def mirrored_options(cls, options: Mapping[str, Any]) -> dict[str, str]:
        # T, the length at which the cosine ends, is the generation budget, in tokens.
        return {} if options.get("unit") in ("chars", "words") else {"max_length": "max_completion_length"}

    def dependencies(self) -> list[str]:
        return [self.correctness]

    def cosine(self, length: int, correct: bool) -> float:
        """The reward for a completion of ``length`` units that is (not) ``correct``."""
        if self.exceed_value is not None and length >= self.max_length:
            return self.exceed_value
        t = min(length, self.max_length)
        if correct:
            r0, r_t = self.max_value_correct, self.min_value_correct
        else:
            r0, r_t = self.min_value_wrong, self.max_value_wrong
        return r_t + 0.5 * (r0 - r_t) * (1.0 + math.cos(math.pi * t / self.max_length))

    def score(self, sample: Sample) -> Score:
        correct = _correctness(sample, self.correctness, self.name)
        length, unit, source = self.measure(sample)
        info: dict[str, Any] = {"length": length, "unit": unit, "source": source}
        if correct is None:
            dep = sample.scores[self.correctness]
            return Score.skipped(f"no correctness signal: {self.correctness} was {dep.outcome.value}", **info)
        value = self.cosine(length, correct)
        verdict = "correct" if correct else "wrong"
        return Score.scored(value, f"{verdict}, {length} {unit} ({source}) of {self.max_length}", **info)


class GroupLength(_Measured):
    r"""Kimi k1.5's group-relative length reward (Kimi Team 2025, arXiv 2501.12599, Sec. 2.3.3).

    Within each group of completions of one prompt (``Sample.group``), with ``min_len`` and
    ``max_len`` the shortest and longest lengths in the group:

    .. math::

        \lambda = 0.5 - \frac{len(i) - min\_len}{max\_len - min\_len}, \quad
        reward(i) = \begin{cases} \lambda & \text{correct} \\ \min(0, \lambda) & \text{wrong} \end{cases}

    so the shortest correct answer gets +0.5 and the longest -0.5, and wrong answers are only
    ever penalised. When every completion of a group has the same length the reward is 0.0.

    ``correctness`` names the component whose outcome decides correct/wrong (read as in
    ``length.cosine``); ``correctness = ""`` treats every completion as correct (a pure
    group-relative brevity reward). Completions without a correctness signal still count for
    ``min_len``/``max_len`` but get ``None``. A group is what one reward call sees: with TRL,
    the ``num_generations`` completions of a prompt that land in the same batch.
    """

    name = "length.group"
    description = "Kimi k1.5 group-relative length reward: shortest correct +0.5, longest -0.5"
    outcomes = (Outcome.SCORED, Outcome.SKIPPED)
    depends_on_scores = True

    def __init__(
        self,
        *,
        correctness: str = "math",
        unit: str = "auto",
        tokenizer: Any = None,
        part: str = "all",
        reasoning: Any = DEFAULT_REASONING,
    ) -> None:
        self.correctness = correctness
        self._setup_unit(unit, tokenizer)
        self._setup_part(part, reasoning)

    def dependencies(self) -> list[str]:
        return [self.correctness] if self.correctness else []

    def score_batch(self, samples: Sequence[Sample]) -> list[Score | BaseException]:
        out: list[Score | BaseException] = [ValueError("not scored")] * len(samples)
        groups: dict[int, list[int]] = defaultdict(list)
        for i, s in enumerate(samples):
            groups[s.group].append(i)
        for members in groups.values():
            try:
                measured = [self.measure(samples[i]) for i in members]
                verdicts = [
                    _correctness(samples[i], self.correctness, self.name) if self.correctness else True for i in members
                ]
            except Exception as exc:  # noqa: BLE001 - reported per sample as Outcome.ERROR
                for i in members:
                    out[i] = exc
                continue
            lengths = [m[0] for m in measured]
            lo, hi = min(lengths), max(lengths)
            for i, (length, unit, source), correct in zip(members, measured, verdicts, strict=True):
                info: dict[str, Any] = {
                    "length": length,
                    "unit": unit,
                    "source": source,
                    "group_min": lo,
                    "group_max": hi,
                }
                if correct is None:
                    out[i] = Score.skipped(f"no correctness signal from {self.correctness}", **info)
                    continue
                lam = 0.0 if hi == lo else 0.5 - (length - lo) / (hi - lo)
                value = lam if correct else min(0.0, lam)
                verdict = "correct" if correct else "wrong"
                out[i] = Score.scored(value, f"{verdict}, {length} {unit} in group range [{lo}, {hi}]", **info)
        return out


class TargetLength(_Measured):
    r"""Reward for a length inside a target band ``[min_length, max_length]``.

    1.0 inside the band; outside it the reward falls linearly to 0 over ``falloff`` units
    (``falloff = 0``: 0 outside), i.e. :math:`\max(0, 1 - d / falloff)` with :math:`d` the distance
    to the band. This is the length penalty of L1's LCPO (Aggarwal & Welleck 2025, arXiv
    2503.04697: :math:`-\alpha |n_{gold} - n_y|`, here with :math:`\alpha = 1/falloff`, a band
    instead of a point and clipped at 0).

    With ``column``, each row sets its own target, L1-style: a number :math:`n` gives the band
    :math:`[n(1 - slack), n(1 + slack)]`, a pair gives the band directly.

    Padding cannot reach the band: with ``discount_repeats`` (default) the distance *below* the
    band is measured on the effective length, ``length * (1 - repeated fraction)`` where the
    repeated fraction is ``1 - distinct/total`` of the completion's ``ngram_size``-grams (of token
    ids when they are known, else of words; the measure of ``repetition``). The distance above
    the band uses the raw length, so repeats cannot hide an overlong completion either.
    """

    name = "length.target"
    description = "1.0 inside a target length band, linear falloff outside; padding with repeats does not count"
    outcomes = (Outcome.SCORED, Outcome.BAD_REFERENCE)

    def __init__(
        self,
        *,
        min_length: int = 0,
        max_length: int = 512,
        falloff: int = 128,
        column: str = "",
        slack: float = 0.1,
        discount_repeats: bool = True,
        ngram_size: int = 4,
        unit: str = "auto",
        tokenizer: Any = None,
        part: str = "all",
        reasoning: Any = DEFAULT_REASONING,
    ) -> None:
        if not 0 <= min_length <= max_length:
            raise ValueError(f"need 0 <= min_length <= max_length, got {min_length} and {max_length}")
        if falloff < 0:
            raise ValueError(f"falloff must be >= 0, got {falloff}")
        if not 0 <= slack < 1:
            raise ValueError(f"slack must be in [0, 1), got {slack}")
        if ngram_size < 1:
            raise ValueError(f"ngram_size must be >= 1, got {ngram_size}")
        self.min_length = int(min_length)
        self.max_length = int(max_length)
        self.falloff = int(falloff)
        self.column = column
        self.slack = float(slack)
        self.discount_repeats = bool(discount_repeats)
        self.ngram_size = int(ngram_size)
        self._setup_unit(unit, tokenizer)
        self._setup_part(part, reasoning)

    def required_columns(self) -> list[str]:
        return [self.column] if self.column else []

    def band(self, sample: Sample) -> tuple[float, float]:
        """The target band for this sample (from ``column`` when set)."""
        if not self.column:
            return float(self.min_length), float(self.max_length)
        raw = sample.column(self.column)
        if isinstance(raw, int | float) and not isinstance(raw, bool) and raw >= 0:
            return raw * (1 - self.slack), raw * (1 + self.slack)
        if (
            isinstance(raw, list | tuple)
            and len(raw) == 2
            and all(isinstance(x, int | float) and not isinstance(x, bool) for x in raw)
            and 0 <= raw[0] <= raw[1]
        ):
            return float(raw[0]), float(raw[1])
        raise ValueError(f"column {self.column!r} must hold a length or a [min, max] pair, got {raw!r}")

    def _ramp(self, distance: float) -> float:
        if distance <= 0:
            return 1.0
        if self.falloff == 0:
            return 0.0
        return max(0.0, 1.0 - distance / self.falloff)

    def score(self, sample: Sample) -> Score:
        try:
            lo, hi = self.band(sample)
        except ValueError as exc:
            return Score.bad_reference(str(exc))
        length, unit, source = self.measure(sample)
        rep = 0.0
        if self.discount_repeats:
            text, ids = self.text_of(sample)
            items: Sequence[Any] = ids if ids is not None and source == "completion_ids" else words(text)
            rep = repeated_fraction(items, self.ngram_size)
        effective = length * (1.0 - rep)
        value = min(self._ramp(lo - effective), self._ramp(length - hi))
        detail = f"{length} {unit} ({source}), effective {effective:.0f}, band [{lo:g}, {hi:g}]"
        return Score.scored(
            value,
            detail,
            length=length,
            effective_length=round(effective, 2),
            repeated_fraction=round(rep, 4),
            unit=unit,
            source=source,
        )


@hookimpl
def register_verifiers(register: Register) -> None:
    register(OverlongPenalty)
    register(CosineLength)
    register(GroupLength)
    register(TargetLength)
