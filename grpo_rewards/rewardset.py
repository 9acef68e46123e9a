"""Reward sets: the composed components, scored together, exposed to TRL.

:func:`load_rewards` turns a specification into a :class:`RewardSet` whose ``reward_funcs`` and
``reward_weights`` go straight into ``GRPOTrainer(reward_funcs=...)`` and
``GRPOConfig(reward_weights=...)``. All reward functions of a set share one engine, so a
component gated on ``math`` does not verify the batch a second time: each TRL batch is scored
once per component and cached.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import logging
import threading
import weakref
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from grpo_rewards.adapter import BATCH_KWARGS, CONTEXT_KWARGS, AsyncRewardFunction, RewardFunction
from grpo_rewards.composition import ComponentSpec, RewardSpec, parse_reward_spec
from grpo_rewards.contract import Sample, Score, Verifier
from grpo_rewards.errors import ConfigError, DatasetColumnError, FatalRewardError, MissingColumnError
from grpo_rewards.executors.base import Executor, LocalExecutor, Scorer, ScoreRequest
from grpo_rewards.functions import FunctionVerifier, RewardDefinition
from grpo_rewards.plugins import get_registry
from grpo_rewards.sandbox import SandboxUnavailable

__all__ = ["RewardSet", "BatchResult", "load_rewards", "completion_text"]

log = logging.getLogger("grpo_rewards")

# Keyword arguments TRL passes that are not dataset columns (see grpo_rewards.adapter).
RESERVED_KWARGS = BATCH_KWARGS | CONTEXT_KWARGS
_CACHE_BATCHES = 8


def completion_text(completion: Any) -> str:
    """The text to score: a string as is; for a conversational completion (a list of message
    dicts), the content of the last assistant message (text parts joined)."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, Mapping):
        completion = [completion]
    if isinstance(completion, Sequence):
        for msg in reversed(completion):
            if isinstance(msg, Mapping) and msg.get("role", "assistant") == "assistant":
                content = msg.get("content", "")
                if content is None:
                    return ""
                if isinstance(content, str):
                    return content
                if isinstance(content, Sequence):  # [{"type": "text", "text": ...}, ...]
                    parts = [p.get("text", "") for p in content if isinstance(p, Mapping) and p.get("type") == "text"]
                    return "".join(str(p) for p in parts)
                raise TypeError(f"assistant message content has type {type(content).__name__}")
        raise ValueError("conversational completion has no assistant message")
    raise TypeError(f"a completion must be a string or a list of messages, got {type(completion).__name__}")


@dataclass
class BatchResult:
    """Scores of one batch: per component, one :class:`Score` per sample, and the final values."""

    components: list[ComponentSpec]
    scores: dict[str, list[Score]]
    values: dict[str, list[float | None]]
    totals: list[float | None] = field(default_factory=list)


class _Batch:
    __slots__ = ("samples", "invalid", "key", "request")

    def __init__(self, samples: list[Sample], invalid: dict[int, Score], key: str, request: ScoreRequest) -> None:
        self.samples = samples
        self.invalid = invalid
        self.key = key
        self.request = request  # the batch as received, for an executor that scores elsewhere


def _array_bytes(value: Any) -> Any:
    """A JSON-able stand-in for an array or a tensor: dtype, shape and a hash of its bytes.

    ``repr`` is not a key: it elides the middle of a large array, so two arrays that differ there
    would share a cache entry."""
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    if hasattr(value, "tobytes") and hasattr(value, "dtype") and hasattr(value, "shape"):
        data = value.tobytes() if getattr(value.dtype, "hasobject", False) is False else repr(value.tolist()).encode()
        return ["<array>", str(value.dtype), list(value.shape), hashlib.blake2b(data, digest_size=16).hexdigest()]
    return repr(value)


def _fingerprint(
    texts: Sequence[str],
    prompts: Sequence[Any] | None,
    rows: Sequence[Mapping[str, Any]],
    completion_ids: Sequence[Any] | None = None,
    completions: Sequence[Any] | None = None,
    trainer_state: Any = None,
) -> str:
    """The cache key of a batch: everything a verifier reads (:class:`Sample`), texts, prompts, rows,
    ``completion_ids``, the raw (conversational) completions and the training step (a plain
    function may schedule on ``trainer_state``), arrays and tensors by their bytes."""
    h = hashlib.blake2b(digest_size=16)
    raw = None if completions is None or all(isinstance(c, str) for c in completions) else completions
    ids = (
        None
        if completion_ids is None
        else [_array_bytes(x) if hasattr(x, "tobytes") or hasattr(x, "detach") else x for x in completion_ids]
    )
    step = None if trainer_state is None else getattr(trainer_state, "global_step", None)
    payload = [texts, prompts, rows, ids, raw, step]
    h.update(json.dumps(payload, default=_array_bytes, sort_keys=True).encode("utf-8", "surrogatepass"))
    return h.hexdigest()


def _is_column(value: Any, n: int) -> bool:
    """A per-completion column: a list-like (list, tuple, datasets Column, numpy array) of length n."""
    if isinstance(value, str | bytes | Mapping):
        return False
    try:
        return hasattr(value, "__getitem__") and len(value) == n
    except TypeError:
        return False


def _group_ids(prompts: Sequence[Any] | None, n: int) -> list[int]:
    if prompts is None:
        return [0] * n
    ids: dict[str, int] = {}
    out = []
    for p in prompts:
        k = json.dumps(p, default=repr, sort_keys=True)
        out.append(ids.setdefault(k, len(ids)))
    return out


class RewardSet:
    """A composed set of reward components. Create it with :func:`load_rewards`.

    :ivar reward_funcs: one picklable callable per component, for ``GRPOTrainer(reward_funcs=)``.
    :ivar async_reward_funcs: the same as ``async`` callables (TRL runs those concurrently).
    :ivar reward_weights: one weight per component, for ``GRPOConfig(reward_weights=)``.
    :ivar executor: where batches are scored (:mod:`grpo_rewards.executors`); by default here.
    """

    def __init__(self, spec: RewardSpec, executor: Executor | None = None) -> None:
        self.spec = spec
        self.executor: Executor = executor if executor is not None else LocalExecutor()
        self._verifiers: dict[str, Verifier] | None = None
        self._init_runtime()
        self._instantiate()  # validate names and options now, not mid-training
        self._order = self._topological_order()
        self._attach()

    def _attach(self) -> None:
        """Create the TRL callables and register for closing at exit."""
        self.reward_funcs = [RewardFunction(self, c.name) for c in self.spec.components]
        self.async_reward_funcs = [AsyncRewardFunction(self, c.name) for c in self.spec.components]
        _live_sets.add(self)

    # -- construction -------------------------------------------------------------------------

    def _init_runtime(self) -> None:
        self._cache: OrderedDict[tuple[str, str], list[Score]] = OrderedDict()
        self._lock = threading.RLock()
        self._key_locks: dict[tuple[str, str], threading.Lock] = {}
        self._warned: set[tuple[str, str]] = set()
        self._scorer: Scorer | None = None
        self._scorer_started = False

    def _instantiate(self) -> dict[str, Verifier]:
        if self._verifiers is None:
            reg = get_registry()
            verifiers: dict[str, Verifier] = {}
            for c in self.spec.components:
                if c.function is not None:
                    try:
                        verifiers[c.name] = FunctionVerifier(c.function, **c.options)
                    except TypeError as exc:
                        raise ConfigError(f"{c.where}: reward function {c.name!r}: {exc}") from exc
                    except ConfigError as exc:
                        raise ConfigError(f"{c.where}: {exc}") from None
                else:
                    verifiers[c.name] = reg.create_verifier(c.verifier, c.options, where=c.where)
                if c.recover is not None:
                    verifiers[c.name] = _recovering(verifiers[c.name], c, reg)
            self._verifiers = verifiers
        return self._verifiers

    def _deps(self, comp: ComponentSpec) -> list[str]:
        deps = list(self._instantiate()[comp.name].dependencies())
        if comp.gate is not None:
            deps.append(comp.gate.on)
        return deps

    def _topological_order(self) -> list[str]:
        names = {c.name: c for c in self.spec.components}
        for c in self.spec.components:
            for d in self._deps(c):
                if d not in names:
                    raise ConfigError(
                        f"{c.where}: component {c.name!r} needs the scores of {d!r}, which is not in this reward set; "
                        f"add it (with weight 0 if it should not count) or change the option"
                    )
        order: list[str] = []
        state: dict[str, int] = {}

        def visit(n: str, path: list[str]) -> None:
            if state.get(n) == 2:
                return
            if state.get(n) == 1:
                raise ConfigError(f"{self.spec.source}: dependency cycle: {' -> '.join([*path, n])}")
            state[n] = 1
            for d in self._deps(names[n]):
                visit(d, [*path, n])
            state[n] = 2
            order.append(n)

        for c in self.spec.components:
            visit(c.name, [])
        return order

    def __getstate__(self) -> dict[str, Any]:
        # Verifiers may hold pools or processes: re-create them after unpickling. Rewards defined
        # with @grpo_rewards.reward travel by reference: unpickling them imports their module,
        # which registers them again in a fresh process (TRL's async GRPO spawns one).
        reg = get_registry()
        origins = [
            f
            for c in self.spec.components
            if c.function is None
            and c.verifier in reg.verifiers
            and isinstance(f := getattr(reg.verifiers[c.verifier].factory, "__self__", None), RewardDefinition)
        ]
        # The executor travels as its configuration; a copy starts its own (Ray actors, ...).
        return {"spec": self.spec, "_order": self._order, "origins": origins, "executor": self.executor}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.spec = state["spec"]
        self._order = state["_order"]
        self.executor = state.get("executor") or LocalExecutor()
        self._verifiers = None
        self._init_runtime()
        self._attach()

    # -- public API -----------------------------------------------------------------------------

    @property
    def components(self) -> list[ComponentSpec]:
        return list(self.spec.components)

    @property
    def names(self) -> list[str]:
        return self.spec.names

    @property
    def reward_weights(self) -> list[float]:
        return [c.weight for c in self.spec.components]

    def component(self, name: str) -> ComponentSpec:
        for c in self.spec.components:
            if c.name == name:
                return c
        raise KeyError(name)

    def verifier(self, name: str) -> Verifier:
        """The verifier instance behind component ``name``."""
        return self._instantiate()[name]

    def required_columns(self) -> dict[str, list[str]]:
        """Dataset columns each component reads, so trainers can check a dataset up front."""
        return {c.name: list(self._instantiate()[c.name].required_columns()) for c in self.spec.components}

    def check_columns(self, columns: Sequence[str], names: Sequence[str] | None = None) -> None:
        """Raise :class:`~grpo_rewards.errors.DatasetColumnError` for the first component (of
        ``names``, default all) that needs a column absent from ``columns``; the message names
        the component, the column and the columns that exist."""
        for name in names if names is not None else self.names:
            try:
                self._instantiate()[name].check_columns(columns)
            except DatasetColumnError as exc:
                raise DatasetColumnError(f"reward {name!r} {exc.problem}", exc.columns, exc.hint) from None

    def score(
        self,
        completions: Sequence[Any],
        *,
        prompts: Sequence[Any] | None = None,
        completion_ids: Sequence[Sequence[int]] | None = None,
        columns: Mapping[str, Sequence[Any]] | None = None,
    ) -> BatchResult:
        """Score a batch through every component (the path both TRL and the CLI take), here or
        on the set's executor.

        ``columns`` maps column names to lists with one item per completion.
        """
        batch = self._make_batch(completions, prompts, completion_ids, columns or {})
        scorer = self._remote()
        if scorer is not None:
            scores = self._remote_scores(scorer, batch)
        else:
            scores = {name: self._component_scores(batch, name) for name in self._order}
        values = {c.name: [self._final_value(c, s) for s in scores[c.name]] for c in self.spec.components}
        totals: list[float | None] = []
        for i in range(len(batch.samples)):
            parts = [c.weight * v for c in self.spec.components if (v := values[c.name][i]) is not None]
            totals.append(sum(parts) if parts else None)
        return BatchResult(list(self.spec.components), {n: scores[n] for n in self.names}, values, totals)

    def score_component(
        self,
        name: str,
        completions: Sequence[Any],
        *,
        prompts: Sequence[Any] | None = None,
        completion_ids: Sequence[Sequence[int]] | None = None,
        columns: Mapping[str, Any] | None = None,
    ) -> tuple[list[Score], list[float | None]]:
        """Scores and final values of one component for a batch (what one TRL reward function
        returns); the components it depends on are scored too, and cached for the other functions."""
        batch = self._make_batch(completions, prompts, completion_ids, columns or {})
        scores = self._component_scores(batch, name)
        comp = self.component(name)
        return scores, [self._final_value(comp, s) for s in scores]

    def start_executor(self) -> Scorer | None:
        """Start the executor now rather than on the first batch (Ray: connect and start the
        actors); ``None`` when batches are scored in this process."""
        return self._remote()

    def close(self) -> None:
        """Release verifier resources (worker pools, sandboxes) and the executor's (Ray actors)."""
        with self._lock:
            scorer, self._scorer, self._scorer_started = self._scorer, None, False
        if scorer is not None:
            try:
                scorer.close()
            except Exception:
                log.debug("error closing the executor of %r", self, exc_info=True)
        if self._verifiers:
            for v in self._verifiers.values():
                try:
                    v.close()
                except Exception:
                    log.debug("error closing verifier %r", v, exc_info=True)

    def __repr__(self) -> str:
        parts = ", ".join(f"{c.name}:{c.weight:g}" for c in self.spec.components)
        return f"RewardSet([{parts}])"

    # -- engine ---------------------------------------------------------------------------------

    def _make_batch(
        self,
        completions: Sequence[Any],
        prompts: Sequence[Any] | None,
        completion_ids: Sequence[Sequence[int]] | None,
        columns: Mapping[str, Sequence[Any]],
    ) -> _Batch:
        if completions is None:
            raise TypeError("reward function called without completions=")
        n = len(completions)
        cols = {k: list(v) for k, v in columns.items() if k not in RESERVED_KWARGS and _is_column(v, n)}
        context = {k: v for k, v in columns.items() if k in CONTEXT_KWARGS}
        rows = [{k: v[i] for k, v in cols.items()} for i in range(n)]
        texts: list[str] = []
        invalid: dict[int, Score] = {}
        for i, c in enumerate(completions):
            try:
                texts.append(completion_text(c))
            except (TypeError, ValueError) as exc:
                texts.append("")
                invalid[i] = Score.error(f"completion {i}: {exc}")
        groups = _group_ids(prompts, n)
        samples = [
            Sample(
                completion=texts[i],
                row=rows[i],
                prompt=prompts[i] if prompts is not None and i < len(prompts) else None,
                completion_ids=completion_ids[i] if completion_ids is not None and i < len(completion_ids) else None,
                index=i,
                group=groups[i],
                raw_completion=completions[i],
                context=context,
            )
            for i in range(n)
        ]
        request = ScoreRequest(
            completions,
            prompts,
            completion_ids,
            cols,
            {k: v for k, v in context.items() if k not in ("log_metric", "log_extra")},  # callbacks stay here
        )
        return _Batch(
            samples,
            invalid,
            _fingerprint(texts, prompts, rows, completion_ids, completions, context.get("trainer_state")),
            request,
        )

    def _remote(self) -> Scorer | None:
        """The executor, started on first use (``None``: score in this process)."""
        with self._lock:
            if not self._scorer_started:
                self._scorer = self.executor.start(self)
                self._scorer_started = True
            return self._scorer

    def _component_scores(self, batch: _Batch, name: str) -> list[Score]:
        key = (batch.key, name)
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        scorer = self._remote()
        if scorer is not None:
            return self._remote_scores(scorer, batch)[name]
        with self._lock:
            klock = self._key_locks.setdefault(key, threading.Lock())
        with klock:
            with self._lock:
                if key in self._cache:
                    return self._cache[key]
            comp = self.component(name)
            deps = {d: self._component_scores(batch, d) for d in self._deps(comp)}
            result = self._run_component(batch, comp, deps)
            with self._lock:
                self._cache[key] = result
                self._key_locks.pop(key, None)
                while len(self._cache) > _CACHE_BATCHES * max(1, len(self.spec.components)):
                    self._cache.popitem(last=False)
        return result

    def _remote_scores(self, scorer: Scorer, batch: _Batch) -> dict[str, list[Score]]:
        """Every component's scores of ``batch`` from the executor: one remote round per batch,
        however many reward functions ask for it (concurrently, from TRL's async path, too)."""
        key = (batch.key, "")
        with self._lock:
            klock = self._key_locks.setdefault(key, threading.Lock())
        with klock:
            with self._lock:
                if all((batch.key, n) in self._cache for n in self.names):
                    return {n: self._cache[(batch.key, n)] for n in self.names}
            scores = scorer.score(batch.request)
            with self._lock:
                for n in self.names:
                    self._cache[(batch.key, n)] = scores[n]
                self._key_locks.pop(key, None)
                while len(self._cache) > _CACHE_BATCHES * max(1, len(self.spec.components)):
                    self._cache.popitem(last=False)
        return scores

    def _run_component(self, batch: _Batch, comp: ComponentSpec, deps: dict[str, list[Score]]) -> list[Score]:
        n = len(batch.samples)
        out: list[Score | None] = [None] * n
        for i, sc in batch.invalid.items():
            out[i] = sc
        active: list[int] = []
        for i in range(n):
            if out[i] is not None:
                continue
            if comp.gate is not None:
                g = deps[comp.gate.on][i]
                if g.outcome not in comp.gate.outcomes:
                    out[i] = Score.skipped(f"gate: {comp.gate.on} was {g.outcome.value}", value=comp.gate.otherwise)
                    continue
            active.append(i)
        if active:
            samples = [
                replace(batch.samples[i], scores={d: s[i] for d, s in deps.items()}) if deps else batch.samples[i]
                for i in active
            ]
            verifier = self._instantiate()[comp.name]
            try:
                results: Sequence[Score | BaseException] = verifier.score_batch(samples)
                if len(results) != len(samples):
                    raise RuntimeError(f"score_batch returned {len(results)} results for {len(samples)} samples")
            except FatalRewardError:
                raise  # e.g. a strict sandbox that failed: the caller stops, nothing is scored
            except Exception as exc:  # noqa: BLE001 - one failure must not kill the training step
                self._warn(comp, exc)
                results = [exc] * len(samples)
            for i, r in zip(active, results, strict=True):
                out[i] = self._as_score(comp, r)
        return [s if s is not None else Score.error("internal: no score") for s in out]

    def _as_score(self, comp: ComponentSpec, r: Any) -> Score:
        if isinstance(r, Score):
            return r
        if isinstance(r, BaseException):
            self._warn(comp, r)
            if isinstance(r, MissingColumnError):
                return Score.bad_reference(f"{comp.name}: {r}")
            return Score.error(f"{type(r).__name__}: {r}")
        return Score.error(f"verifier returned {type(r).__name__}, not a Score")

    def _warn(self, comp: ComponentSpec, exc: BaseException) -> None:
        key = (comp.name, type(exc).__name__)
        if key not in self._warned:
            self._warned.add(key)
            # A row without a column is the data's doing, and the message says all: the traceback
            # only at debug level (grpo-rewards --debug). A verifier that raised gets it always.
            # A sandbox that cannot run names its cause in the message (and logged the worker's
            # own traceback once): this process's traceback adds nothing but noise.
            quiet = isinstance(exc, (MissingColumnError, SandboxUnavailable)) and not log.isEnabledFor(logging.DEBUG)
            log.warning(
                "reward %r: %s: %s (scored as %s; further %s from this reward are not logged again)",
                comp.name,
                type(exc).__name__,
                exc,
                "bad_reference" if isinstance(exc, MissingColumnError) else "error",
                type(exc).__name__,
                exc_info=None if quiet else (type(exc), exc, exc.__traceback__),
            )

    @staticmethod
    def _final_value(comp: ComponentSpec, score: Score) -> float | None:
        return comp.policy_value(score.outcome, score.value)


def _recovering(first: Verifier, comp: ComponentSpec, reg: Any) -> Verifier:
    """Component ``comp``'s verifier with its ``recover`` second opinion (:mod:`grpo_rewards.recovery`)."""
    from grpo_rewards.recovery import RecoveringVerifier

    assert comp.recover is not None
    second = reg.create_verifier(comp.recover.verifier, comp.recover.options, where=f"{comp.where}.recover")
    try:
        return RecoveringVerifier(first, second, comp.recover)
    except ConfigError as exc:
        second.close()
        raise ConfigError(f"{comp.where}: {exc}") from None


_live_sets: weakref.WeakSet[RewardSet] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    for rs in list(_live_sets):
        rs.close()


def load_rewards(spec: Any, executor: str | Executor | None = None) -> RewardSet:
    """Build a :class:`RewardSet` from a specification.

    :param spec: a list like ``["math", "format.think:0.2"]``, a path to a TOML file with
        ``[[rewards]]`` tables, or a dict ``{"rewards": [...]}`` (see :mod:`grpo_rewards.composition`).
    :param executor: where batches are scored: ``"local"`` or ``None`` (in this process),
        ``"ray"`` (on the Ray cluster ``ray.init()`` connects to, or a local one it starts; needs
        the ``ray`` extra), or an executor object such as
        :class:`grpo_rewards.executors.RayExecutor`. Started on the first batch.
    :returns: a reward set; pass ``rs.reward_funcs`` to ``GRPOTrainer`` and ``rs.reward_weights``
        to ``GRPOConfig``.
    :raises ConfigError: on an unknown reward, option, outcome or gate, naming where it is, or
        an unknown executor.
    """
    from grpo_rewards.executors import resolve_executor

    return RewardSet(parse_reward_spec(spec), resolve_executor(executor))
