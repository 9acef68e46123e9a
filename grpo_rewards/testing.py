"""Helpers for testing verifiers and plugins (for plugin authors and for our own tests).

Three things every plugin test needs:

* :func:`registered_plugin` registers a plugin (a module, class or object with
  ``@grpo_rewards.hookimpl`` functions) for the duration of a ``with`` block and undoes it
  afterwards, so tests never depend on what happens to be installed.
* :func:`call_like_trl` calls a reward function exactly the way TRL's
  ``GRPOTrainer._calculate_rewards`` does: ``prompts=``, ``completions=``, ``completion_ids=``,
  every dataset column except ``prompt``/``completion``/``completion_ids`` as a list with one
  item per completion, ``trainer_state=``, ``log_extra=`` and ``log_metric=``; ``async``
  reward functions are awaited. It records what the function logged.
* :func:`assert_reward_contract` checks what TRL relies on: one value per completion, each a
  finite ``float`` or ``None``, a non-empty ``__name__``, and that the function pickles
  (TRL and ``accelerate`` may pickle reward functions) and scores the same after unpickling.

Example::

    from grpo_rewards.testing import assert_reward_contract, registered_plugin
    import grpo_rewards_myplugin

    def test_contract():
        with registered_plugin(grpo_rewards_myplugin, name="myplugin"):
            rows = [{"prompt": "Say hi", "answer": "hi"}] * 2
            values = assert_reward_contract("my.verifier", rows, ["<answer>hi</answer>", "bye"])
            assert values == [1.0, 0.0]
"""

from __future__ import annotations

import asyncio
import inspect
import math
import pickle
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from grpo_rewards import plugins as _plugins
from grpo_rewards.contract import Sample, Score, Verifier
from grpo_rewards.plugins import Registry
from grpo_rewards.rewardset import RewardSet, load_rewards

__all__ = [
    "TrlCall",
    "FakeTrainerState",
    "registered_plugin",
    "reward_function",
    "call_like_trl",
    "assert_reward_contract",
    "assert_verifier_contract",
]

# The columns GRPOTrainer._calculate_rewards does not forward as reward kwargs (TRL 0.24 - 1.x).
_TRL_EXCLUDED_COLUMNS = ("prompt", "completion", "completion_ids")


@contextmanager
def registered_plugin(plugin: object, name: str | None = None) -> Iterator[Registry]:
    """Register ``plugin`` for the duration of a ``with`` block and yield the fresh registry.

    A thin wrapper over :func:`grpo_rewards.plugins.registered_plugin`: the registry is rebuilt
    on entry (built-ins, installed plugins allowed by the environment variables, and this one)
    and again on exit, so nothing leaks into the next test.

    :param plugin: a module, class or instance with ``@grpo_rewards.hookimpl`` functions.
    :param name: the plugin's name in the registry (defaults to its ``__name__``).
    """
    with _plugins.registered_plugin(plugin, name=name) as registry:
        yield registry


@dataclass
class FakeTrainerState:
    """Stands in for ``transformers.TrainerState``: the fields reward functions commonly read."""

    global_step: int = 0
    max_steps: int = 100
    epoch: float = 0.0


@dataclass
class TrlCall:
    """What one :func:`call_like_trl` call returned and logged.

    :ivar values: the reward function's return value, unchanged.
    :ivar metrics: every ``log_metric(name, value)`` call, in order.
    :ivar extra: every ``log_extra(column, values)`` call, in order.
    """

    values: list[float | None]
    metrics: list[tuple[str, float]] = field(default_factory=list)
    extra: list[tuple[str, list[Any]]] = field(default_factory=list)

    def metric(self, name: str) -> float:
        """The last value logged for metric ``name`` (KeyError listing the logged names if none)."""
        for key, value in reversed(self.metrics):
            if key == name:
                return value
        raise KeyError(f"metric {name!r} was not logged; logged: {sorted({k for k, _ in self.metrics})}")


def reward_function(spec: Any) -> Callable[..., Any]:
    """The TRL reward function for ``spec``.

    :param spec: a verifier name or reward string (``"rg.leg_counting"``, ``"exact:0.5"``), a
        component dict (``{"name": "judge.llm", "options": {...}}``), a :class:`RewardSet`
        (its first component), or a callable, returned as is.
    """
    if isinstance(spec, RewardSet):
        return spec.reward_funcs[0]
    if callable(spec):
        return spec
    if isinstance(spec, Mapping) and "rewards" not in spec:
        spec = [spec]
    rs = load_rewards(spec)
    if len(rs.reward_funcs) != 1:
        raise ValueError(f"reward_function() wants one component, {spec!r} has {len(rs.reward_funcs)}")
    return rs.reward_funcs[0]


def call_like_trl(
    func: Any,
    rows: Sequence[Mapping[str, Any]],
    completions: Sequence[Any],
    *,
    completion_ids: Sequence[Sequence[int]] | None = None,
    trainer_state: Any = None,
) -> TrlCall:
    """Call a reward function the way ``GRPOTrainer._calculate_rewards`` does.

    Mirrors TRL (``trl/trainer/grpo_trainer.py``, ``_calculate_rewards``): ``prompts`` come from
    each row's ``prompt``; every other column of the first row, except ``completion`` and
    ``completion_ids``, is passed as a keyword argument holding one value per completion; then
    ``trainer_state``, ``log_extra`` and ``log_metric``. ``async`` reward functions are awaited.

    :param func: anything :func:`reward_function` accepts.
    :param rows: one dataset row per completion (GRPO repeats a prompt's row
        ``num_generations`` times), each with a ``prompt``.
    :param completions: one completion per row (strings, or message lists for conversational data).
    :param completion_ids: token ids per completion; by default one fake id per character.
    :param trainer_state: passed as ``trainer_state`` (default: a :class:`FakeTrainerState`).
    :returns: a :class:`TrlCall` with the values and what was logged.
    """
    f = reward_function(func)
    if len(rows) != len(completions):
        raise ValueError(f"{len(rows)} rows but {len(completions)} completions; give one row per completion")
    if not rows:
        raise ValueError("call_like_trl needs at least one row")
    prompts = [row.get("prompt") for row in rows]
    if completion_ids is None:
        completion_ids = [list(range(len(str(c)))) for c in completions]
    keys = [key for key in rows[0] if key not in _TRL_EXCLUDED_COLUMNS]
    reward_kwargs: dict[str, Any] = {key: [row[key] for row in rows] for key in keys}
    call = TrlCall(values=[])
    reward_kwargs["trainer_state"] = trainer_state if trainer_state is not None else FakeTrainerState()
    reward_kwargs["log_extra"] = lambda column, values: call.extra.append((column, list(values)))
    reward_kwargs["log_metric"] = lambda name, value: call.metrics.append((name, float(value)))
    kwargs = dict(
        prompts=list(prompts), completions=list(completions), completion_ids=[list(c) for c in completion_ids]
    )
    if inspect.iscoroutinefunction(f) or inspect.iscoroutinefunction(getattr(f, "__call__", None)):  # noqa: B004
        out = asyncio.run(f(**kwargs, **reward_kwargs))
    else:
        out = f(**kwargs, **reward_kwargs)
    call.values = out
    return call


def _check_values(name: str, values: Any, n: int) -> None:
    assert isinstance(values, list), f"reward function {name!r} returned {type(values).__name__}, not a list"
    assert len(values) == n, f"reward function {name!r} returned {len(values)} rewards for {n} completions"
    for i, v in enumerate(values):
        assert v is None or (isinstance(v, float) and math.isfinite(v)), (
            f"reward function {name!r}: reward {i} is {v!r} ({type(v).__name__}); expected a finite float or None"
        )


def assert_reward_contract(
    func: Any,
    rows: Sequence[Mapping[str, Any]],
    completions: Sequence[Any],
    *,
    completion_ids: Sequence[Sequence[int]] | None = None,
) -> list[float | None]:
    """Assert that a reward function honours what TRL relies on, and return its values.

    Checks: a non-empty string ``__name__`` (TRL logs ``rewards/<__name__>/mean``); a list with
    one reward per completion; each reward a finite ``float`` or ``None``; the function
    survives ``pickle`` with the same ``__name__`` and gives the same rewards afterwards; and, for
    a :class:`RewardSet` component, the ``async`` twin gives the same rewards too.

    :param func: anything :func:`reward_function` accepts.
    :returns: the rewards of the first call.
    """
    f = reward_function(func)
    name = getattr(f, "__name__", None)
    assert isinstance(name, str) and name, f"reward function {f!r} has no usable __name__ (got {name!r})"
    n = len(completions)
    values = call_like_trl(f, rows, completions, completion_ids=completion_ids).values
    _check_values(name, values, n)
    try:
        blob = pickle.dumps(f)
    except Exception as exc:
        raise AssertionError(f"reward function {name!r} is not picklable: {type(exc).__name__}: {exc}") from exc
    g = pickle.loads(blob)
    assert getattr(g, "__name__", None) == name, f"__name__ changed after pickling: {name!r} -> {g.__name__!r}"
    again = call_like_trl(g, rows, completions, completion_ids=completion_ids).values
    _check_values(name, again, n)
    assert _same(values, again), f"reward function {name!r} scored {values} before pickling and {again} after"
    rs = getattr(f, "reward_set", None)
    if isinstance(rs, RewardSet):
        idx = rs.names.index(getattr(f, "component", name))
        async_values = call_like_trl(rs.async_reward_funcs[idx], rows, completions, completion_ids=completion_ids)
        _check_values(name, async_values.values, n)
        assert _same(values, async_values.values), f"async twin of {name!r} scored {async_values.values}, not {values}"
    return values


def _same(a: Sequence[float | None], b: Sequence[float | None]) -> bool:
    return all(
        (x is None and y is None) or (x is not None and y is not None and math.isclose(x, y))
        for x, y in zip(a, b, strict=True)
    )


def assert_verifier_contract(
    verifier: type[Verifier] | Verifier, samples: Sequence[Sample]
) -> list[Score | BaseException]:
    """Assert that a :class:`~grpo_rewards.Verifier` class or instance follows the contract.

    Checks: a valid dotted lowercase ``name`` and a one-line ``description``; every option is
    keyword-only with a default; the instance pickles; ``score_batch`` returns one
    :class:`~grpo_rewards.Score` (or exception) per sample, and the unpickled copy returns the
    same scores.

    :returns: the scores (exceptions left as they are) of the first run.
    """
    cls = verifier if isinstance(verifier, type) else type(verifier)
    assert _plugins._NAME_RE.match(cls.name or ""), f"{cls.__name__}.name {cls.name!r} is not a dotted lowercase name"
    assert cls.description and "\n" not in cls.description, f"{cls.__name__}.description must be one non-empty line"
    for p in list(inspect.signature(cls.__init__).parameters.values())[1:]:
        if p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            continue
        assert p.kind is p.KEYWORD_ONLY, f"{cls.__name__} option {p.name!r} must be keyword-only"
        assert p.default is not p.empty, f"{cls.__name__} option {p.name!r} has no default"
    inst = verifier() if isinstance(verifier, type) else verifier
    results = list(inst.score_batch(list(samples)))
    assert len(results) == len(samples), f"{cls.__name__}.score_batch gave {len(results)} results for {len(samples)}"
    for i, r in enumerate(results):
        assert isinstance(r, Score | BaseException), f"{cls.__name__}: result {i} is {type(r).__name__}, not a Score"
    try:
        copy = pickle.loads(pickle.dumps(inst))
    except Exception as exc:
        raise AssertionError(f"{cls.__name__} instance is not picklable: {type(exc).__name__}: {exc}") from exc
    again = list(copy.score_batch(list(samples)))
    for i, (a, b) in enumerate(zip(results, again, strict=True)):
        if isinstance(a, Score):
            assert isinstance(b, Score) and (a.value, a.outcome) == (b.value, b.outcome), (
                f"{cls.__name__}: sample {i} scored {a} before pickling and {b} after"
            )
    return results
