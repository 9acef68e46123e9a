"""Users' own Python functions as reward components, next to the built-in verifiers.

What runs here: the user's function, in the trainer's process (or wherever the reward set was
unpickled). What it may trust: nothing about the function's return value. A function may return
the wrong number of values, NaN, an infinity, a string, or raise; each of those becomes the
``error`` outcome (no signal, never a silent 0 or 1) with a message that says what came back,
and the traceback of an exception is logged once per component and exception type.

Three calling conventions are accepted, told apart by the function's signature
(:func:`calling_convention`):

``"trl"``
    TRL's form, ``f(completions, **kwargs)`` (TRL 1.16, ``GRPOTrainer._calculate_rewards`` in
    ``trl/trainer/grpo_trainer.py``): called with ``prompts=``, ``completions=``,
    ``completion_ids=``, every dataset column, and ``trainer_state=``/``log_metric=``/
    ``log_extra=`` when the trainer gave them; a function without ``**kwargs`` gets only the
    keywords it names, and the columns it names without a default are its required columns.
``"seed"``
    The form of the widely copied GRPOTrainer description, ``f(responses, ground_truths)``:
    two positional lists, the completions' texts and the gold answers. The gold column is the
    ``gold_column`` option, else the first of :data:`GOLD_COLUMNS` that the data has.
``"sample"``
    One completion at a time, for :func:`reward`-decorated functions:
    ``f(completion, **columns, **options)`` returning a float, a bool, ``None`` or a
    :class:`~grpo_rewards.Score` (which carries an outcome).

``None`` from any form means "no signal" for that completion.
"""

from __future__ import annotations

import importlib
import inspect
import math
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from grpo_rewards.adapter import BATCH_KWARGS, CONTEXT_KWARGS
from grpo_rewards.contract import Outcome, Sample, Score, Verifier
from grpo_rewards.errors import ConfigError, DatasetColumnError

__all__ = [
    "GOLD_COLUMNS",
    "FunctionVerifier",
    "RewardDefinition",
    "calling_convention",
    "function_name",
    "import_function",
    "reward",
]

GOLD_COLUMNS: tuple[str, ...] = ("answer", "ground_truth", "solution")
"""Where a seed-form function's ``ground_truths`` come from unless ``gold_column`` says otherwise."""


def function_name(fn: Any) -> str:
    """The name TRL would log a function under (``rewards/<name>/mean``)."""
    name = getattr(fn, "__name__", None)
    if name is None and hasattr(fn, "func"):  # functools.partial
        name = getattr(fn.func, "__name__", None)
    return str(name or type(fn).__name__)


def import_function(path: str, where: str = "") -> Callable[..., Any]:
    """Import ``"package.module:function"`` (``:attr.attr`` for nested attributes)."""
    prefix = f"{where}: " if where else ""
    module_name, sep, attr = path.partition(":")
    if not sep or not module_name or not attr:
        raise ConfigError(f"{prefix}{path!r} is not an import path; write it as 'package.module:function'")
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as exc:
        raise ConfigError(
            f"{prefix}reward {path!r}: module {module_name!r} could not be imported: {type(exc).__name__}: {exc}"
        ) from exc
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ConfigError(f"{prefix}reward {path!r}: module {module_name!r} has no attribute {attr!r}") from None
    if not callable(obj):
        raise ConfigError(f"{prefix}reward {path!r} is a {type(obj).__name__}, not a function")
    return obj


def _parameters(fn: Any) -> list[inspect.Parameter] | None:
    try:
        return list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):  # some builtins and C callables have no signature
        return None


def calling_convention(fn: Any) -> str:
    """``"trl"`` or ``"seed"`` for a plain reward function (see the module docstring).

    :raises ConfigError: when the signature fits neither form.
    """
    params = _parameters(fn)
    if params is None:
        return "trl"
    names = {p.name for p in params}
    if any(p.kind is p.VAR_KEYWORD for p in params) or "completions" in names:
        return "trl"
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(positional) == 2 or (len(positional) > 2 and all(p.default is not p.empty for p in positional[2:])):
        return "seed"
    raise ConfigError(
        f"reward function {function_name(fn)!r}{inspect.signature(fn)}: cannot tell how to call it. Write it in "
        "TRL's form, def f(completions, **kwargs) -> list[float | None] (dataset columns arrive as keywords), "
        "or as def f(responses, ground_truths) -> list[float]"
    )


def _check_value(value: Any, i: int) -> Score:
    """One returned value as a score: a finite number or bool is ``scored``, None is no signal."""
    if value is None:
        return Score(None, Outcome.SCORED, "no signal (the function returned None)")
    if isinstance(value, Score):
        return value
    if isinstance(value, bool):
        return Score(float(value), Outcome.SCORED)
    try:
        number = float(value)
    except (TypeError, ValueError):
        return Score.error(
            f"the function returned {type(value).__name__} {value!r:.60} for completion {i}, not a number"
        )
    if not math.isfinite(number):
        return Score.error(f"the function returned {number!r} for completion {i}; rewards must be finite numbers")
    return Score(number, Outcome.SCORED)


class FunctionVerifier(Verifier):
    """A plain Python reward function (TRL's form or the seed's) as a component of a reward set.

    :param function: the function.
    :param gold_column: seed form only: the column whose values are ``ground_truths``
        (default: the first of ``answer``, ``ground_truth``, ``solution`` that the data has).
    :param options: extra keyword arguments passed to a TRL-form function on every call.
    """

    name = "function"
    description = "a plain Python reward function"

    def __init__(self, function: Callable[..., Any], *, gold_column: str | None = None, **options: Any) -> None:
        if not callable(function):
            raise ConfigError(f"a reward function must be callable, got {type(function).__name__}")
        self.function = function
        self.convention = calling_convention(function)
        self.gold_column = gold_column
        self.options = dict(options)
        params = _parameters(function) or []
        self._takes_any = self.convention == "seed" or not params or any(p.kind is p.VAR_KEYWORD for p in params)
        self._accepts = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        if self.convention == "seed" and options:
            raise ConfigError(f"reward function {self.label}: options {sorted(options)} need a TRL-form function")
        if self.convention == "trl" and not self._takes_any:
            unknown = sorted(set(options) - self._accepts)
            if unknown:
                raise ConfigError(f"reward function {self.label} takes no keyword {unknown[0]!r}")
        reserved = {*BATCH_KWARGS, *CONTEXT_KWARGS, *self.options}
        self._columns = [
            p.name
            for p in params
            if self.convention == "trl"
            and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
            and p.default is p.empty
            and p.name not in reserved
        ]

    @property
    def label(self) -> str:
        return f"{getattr(self.function, '__module__', '?')}.{function_name(self.function)}"

    def required_columns(self) -> list[str]:
        if self.convention == "seed":
            return [self.gold_column] if self.gold_column else []
        return list(self._columns)

    def check_columns(self, columns: Collection[str]) -> None:
        if self.convention == "seed" and not self.gold_column:
            if not any(c in columns for c in GOLD_COLUMNS):
                raise DatasetColumnError(
                    "takes (responses, ground_truths), and the data has none of the gold columns "
                    + ", ".join(map(repr, GOLD_COLUMNS)),
                    columns,
                    hint="name the column with gold_column=... (GRPOTrainer) or options = {gold_column = ...}",
                )
            return
        super().check_columns(columns)

    def resolve_gold_column(self, columns: Collection[str]) -> str | None:
        """The column a seed-form function's ``ground_truths`` come from, given the data's columns."""
        if self.gold_column:
            return self.gold_column
        return next((c for c in GOLD_COLUMNS if c in columns), None)

    def score_batch(self, samples: Sequence[Sample]) -> list[Score | BaseException]:
        if not samples:
            return []
        raw = self._call(samples)
        if isinstance(raw, str | bytes | Mapping) or not hasattr(raw, "__len__"):
            raise TypeError(
                f"reward function {self.label} returned {type(raw).__name__}, not a list with one value per completion"
            )
        values = list(raw)
        if len(values) != len(samples):
            raise ValueError(
                f"reward function {self.label} returned {len(values)} values for {len(samples)} completions"
            )
        return [_check_value(v, s.index) for v, s in zip(values, samples, strict=True)]

    def _call(self, samples: Sequence[Sample]) -> Any:
        if self.convention == "seed":
            keys = set().union(*(s.row for s in samples))
            gold = self.resolve_gold_column(keys)
            if gold is None:
                self.check_columns(keys)  # raises, naming the candidates
            golds = [s.column(str(gold)) for s in samples]
            return self.function([s.completion for s in samples], golds)
        kwargs: dict[str, Any] = {
            "prompts": [s.prompt for s in samples],
            "completions": [s.raw_completion if s.raw_completion is not None else s.completion for s in samples],
            "completion_ids": [s.completion_ids for s in samples],
        }
        for col in set().union(*(s.row for s in samples)):
            if col not in kwargs:
                kwargs[col] = [s.row.get(col) for s in samples]
        kwargs.update(samples[0].context)
        kwargs.update(self.options)
        if not self._takes_any:
            kwargs = {k: v for k, v in kwargs.items() if k in self._accepts}
        return self.function(**kwargs)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_function_verifier, (self.function, self.gold_column, self.options))


def _function_verifier(function: Any, gold_column: str | None, options: Mapping[str, Any]) -> FunctionVerifier:
    return FunctionVerifier(function, gold_column=gold_column, **options)


# --------------------------------------------------------------------------------------------
# @grpo_rewards.reward

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class RewardDefinition:
    """A function registered as a verifier by :func:`reward`. Calling it calls the function.

    Pickles by reference (module and name), so unpickling it in a fresh process imports its
    module, which registers the verifier again.
    """

    function: Callable[..., Any]
    name: str
    columns: tuple[str, ...] = ()
    description: str = ""
    module: str = ""
    qualname: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.function(*args, **kwargs)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_load_definition, (self.module, self.qualname))

    def make_verifier(self, **options: Any) -> Verifier:
        """The registry's factory: a verifier that calls the function once per completion."""
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            raise ConfigError(
                f"reward {self.name!r} has no option {unknown[0]!r}; its options: "
                f"{', '.join(sorted(self.options)) or '(none)'} (keyword-only arguments of {self.qualname})"
            )
        return DecoratedVerifier(self, {**self.options, **options})


def _load_definition(module: str, qualname: str) -> RewardDefinition:
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    if not isinstance(obj, RewardDefinition):
        raise TypeError(f"{module}.{qualname} is no longer a @grpo_rewards.reward function")
    return obj


class DecoratedVerifier(Verifier):
    """The verifier behind a :func:`reward`-decorated function."""

    def __init__(self, definition: RewardDefinition, options: Mapping[str, Any]) -> None:
        self.definition = definition
        self.options = dict(options)
        params = _parameters(definition.function) or []
        self._wants_sample = bool(params) and params[0].name == "sample"

    def required_columns(self) -> list[str]:
        return list(self.definition.columns)

    def score(self, sample: Sample) -> Score:
        if self._wants_sample:
            value = self.definition.function(sample, **self.options)
        else:
            cols = {c: sample.column(c) for c in self.definition.columns}
            value = self.definition.function(sample.completion, **cols, **self.options)
        if isinstance(value, bool):
            return Score.correct() if value else Score.wrong()
        return _check_value(value, sample.index)

    def __reduce__(self) -> tuple[Any, ...]:
        return (DecoratedVerifier, (self.definition, self.options))


def reward(
    name: str | None = None,
    *,
    columns: Sequence[str] = (),
    description: str | None = None,
) -> Callable[[F], RewardDefinition]:
    """Register a function as a verifier, for ``grpo-rewards list``, ``score`` and reward specs.

    The function scores one completion: ``f(completion, **columns, **options)`` (or
    ``f(sample, **options)`` when its first parameter is named ``sample``) and returns a
    :class:`~grpo_rewards.Score` (with an outcome), a bool (``correct``/``wrong``), a float
    (``scored``) or ``None`` (no signal). Its keyword-only arguments with defaults are the
    verifier's options. A missing column is ``bad_reference``; an exception is ``error``.

    Example::

        import grpo_rewards

        @grpo_rewards.reward(name="mine.starts_with_answer", columns=["answer"])
        def starts_with_answer(completion: str, answer: str) -> bool:
            return completion.strip().startswith(str(answer))

        rs = grpo_rewards.load_rewards(["mine.starts_with_answer", "format.think:0.2"])

    The command line sees it once its module is imported:
    ``grpo-rewards --import my_pkg.rewards list``.

    :param name: the registered name (dotted lowercase); default: the function's name.
    :param columns: dataset columns the function reads (checked before training).
    :param description: the line ``grpo-rewards list`` shows (default: the docstring's first line).
    """

    def decorate(fn: F) -> RewardDefinition:
        from grpo_rewards.plugins import register_definition

        params = _parameters(fn) or []
        options = {p.name: p.default for p in params if p.kind is p.KEYWORD_ONLY and p.default is not p.empty}
        definition = RewardDefinition(
            function=fn,
            name=name or fn.__name__,
            columns=tuple(columns),
            description=description if description is not None else (fn.__doc__ or "").strip().split("\n")[0],
            module=fn.__module__,
            qualname=fn.__qualname__,
            options=options,
        )
        register_definition(definition)
        return definition

    return decorate
