"""Scoring on a Ray cluster: a pool of actors, each holding the whole composition, warm.

Runs in the trainer's (or the command line's) process, the *driver*; the actors run
:class:`_ScoringActor` in Ray worker processes on any node of the cluster. Only this module and
:mod:`grpo_rewards.executors.ray_data` import Ray, and only the ``grpo-rewards[ray]`` extra
installs it.

What crosses: the reward set's state (its spec, which pickles; functions by reference or by
value, as cloudpickle sends them) once per actor; then per shard a
:class:`~grpo_rewards.executors.base.ScoreRequest` out and the :class:`~grpo_rewards.Score` lists
back. What the driver trusts: that a result that comes back is the actor's whole answer for its
shard. What it does not: that an actor lives. A shard whose actor dies is sent to another
actor; its samples are counted only from the one answer that comes back, so none is lost and
none is counted twice; when the retries run out they score ``error``, naming the cause.

Ray does the placement (``SPREAD`` by default, or any scheduling strategy such as a placement
group's), the restarts of dead actors (``max_restarts``) and, for files, the streaming
(:mod:`grpo_rewards.executors.ray_data`). This module only cuts batches into shards of whole
prompt groups, bounds how many are in flight and puts the answers back in order.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import ray
from ray.exceptions import RayActorError

from grpo_rewards.contract import Score
from grpo_rewards.executors.base import ScoreRequest
from grpo_rewards.executors.sharding import shard_by_group

if TYPE_CHECKING:
    from grpo_rewards.rewardset import RewardSet

__all__ = ["RayExecutor", "RayScorer"]

log = logging.getLogger("grpo_rewards.ray")

_init_lock = threading.Lock()
_started_by_us = 0
"""Scorers alive that share a Ray runtime this module started (it shuts down with the last)."""


@dataclass(frozen=True)
class RayExecutor:
    """Score on a Ray cluster. Pass it (or ``"ray"`` for the defaults) as
    ``load_rewards(spec, executor=...)``.

    :param address: the cluster to connect to when Ray is not initialised yet (``"auto"``,
        ``"ray://host:10001"``, ``"127.0.0.1:6379"``); ``None``: ``RAY_ADDRESS`` or, failing
        that, a local cluster started on this machine. When the process has already called
        ``ray.init()``, that connection is used and this is ignored.
    :param actors: how many scoring actors; ``None``: the cluster's CPUs / ``cpus_per_actor``.
    :param cpus_per_actor: CPUs Ray reserves for each actor (its verifiers' own worker pools run
        inside that reservation).
    :param max_in_flight: shards submitted and not yet answered, at most (backpressure: the
        rest wait on the driver); ``None``: twice the number of actors.
    :param max_retries: how many times a shard whose actor died is sent again, to another actor;
        after that its samples score ``error``.
    :param placement: a Ray scheduling strategy for the actors: ``"SPREAD"`` (across nodes,
        the default), ``"DEFAULT"``, or a strategy object such as
        ``PlacementGroupSchedulingStrategy``.
    :param max_restarts: how many times Ray restarts an actor that died (it builds the
        composition again); its shard in flight goes to another actor meanwhile.
    :param shards_per_actor: a batch is cut into about ``actors * shards_per_actor`` shards of
        whole prompt groups (smaller shards balance better and lose less to a death).
    :param shard_timeout_s: seconds a shard may go unanswered after it is sent (queueing behind
        the actor's previous shard included) before it counts as lost, like a shard whose actor
        died; ``None`` (the default): no limit, the verifiers' own time limits bound each sample.
    :param init_kwargs: extra keyword arguments for ``ray.init`` when this executor starts Ray.
    """

    address: str | None = None
    actors: int | None = None
    cpus_per_actor: float = 1.0
    max_in_flight: int | None = None
    max_retries: int = 2
    placement: Any = "SPREAD"
    max_restarts: int = 1
    shards_per_actor: int = 2
    shard_timeout_s: float | None = None
    init_kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.actors is not None and self.actors < 1:
            raise ValueError(f"RayExecutor: actors must be at least 1, got {self.actors}")
        if self.cpus_per_actor <= 0:
            raise ValueError(f"RayExecutor: cpus_per_actor must be positive, got {self.cpus_per_actor}")
        if self.max_in_flight is not None and self.max_in_flight < 1:
            raise ValueError(f"RayExecutor: max_in_flight must be at least 1, got {self.max_in_flight}")
        if self.max_retries < 0 or self.max_restarts < 0:
            raise ValueError("RayExecutor: max_retries and max_restarts must be >= 0")
        if self.shard_timeout_s is not None and not self.shard_timeout_s > 0:
            raise ValueError(f"RayExecutor: shard_timeout_s must be positive, got {self.shard_timeout_s}")
        if self.shards_per_actor < 1:
            raise ValueError(f"RayExecutor: shards_per_actor must be at least 1, got {self.shards_per_actor}")

    def start(self, reward_set: RewardSet) -> RayScorer:
        """Connect to (or start) Ray and start the actors for ``reward_set``."""
        return RayScorer(self, reward_set)

    def connect(self) -> bool:
        """Initialise Ray unless it is; ``True`` when this call started (or connected) it."""
        global _started_by_us
        with _init_lock:
            if ray.is_initialized():
                return False
            kwargs = {"include_dashboard": False, "log_to_driver": True, **self.init_kwargs}
            ray.init(address=self.address, **kwargs)
            _started_by_us += 1
            return True

    def disconnect(self) -> None:
        """Undo a :meth:`connect` that returned ``True``: Ray shuts down with the last user."""
        global _started_by_us
        with _init_lock:
            _started_by_us -= 1
            if _started_by_us == 0 and ray.is_initialized():
                ray.shutdown()

    def actor_count(self) -> int:
        if self.actors is not None:
            return self.actors
        cpus = float(ray.cluster_resources().get("CPU", 1.0))
        return max(1, int(cpus // self.cpus_per_actor))

    def actor_options(self) -> dict[str, Any]:
        """The options each scoring actor is created with."""
        return {
            "num_cpus": self.cpus_per_actor,
            "scheduling_strategy": self.placement,
            "max_restarts": self.max_restarts,
            "max_task_retries": 0,  # the driver re-sends a lost shard itself, to another actor
        }


class _ScoringActor:
    """One actor: the reward set, built once from its pickled state, scoring shard after shard."""

    def __init__(self, state: dict[str, Any]) -> None:
        from grpo_rewards.rewardset import RewardSet

        self.rs = RewardSet.__new__(RewardSet)
        self.rs.__setstate__({**state, "executor": None})
        self.rs._instantiate()  # the verifiers now; their pools start with the first shard and stay
        self.node_id = ray.get_runtime_context().get_node_id()

    def where(self) -> dict[str, Any]:
        return {"node_id": self.node_id, "pid": os.getpid()}

    def score(self, request: ScoreRequest) -> tuple[dict[str, list[Score]], str]:
        result = self.rs.score(
            request.completions,
            prompts=request.prompts,
            completion_ids=request.completion_ids,
            columns={**request.columns, **request.context},
        )
        return result.scores, self.node_id

    def close(self) -> None:
        self.rs.close()


def _group_ids(prompts: Any, n: int) -> list[int]:
    from grpo_rewards.rewardset import _group_ids as ids

    return ids(prompts, n)


def _cause(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else 'no message'}"


class RayScorer:
    """A :class:`RayExecutor` started for one reward set: its actors and the shard loop.

    :ivar placements: shards scored per Ray node id (where the work ran).
    :ivar retried: shards sent again after their actor died.
    """

    def __init__(self, executor: RayExecutor, reward_set: RewardSet) -> None:
        self.executor = executor
        self.names = list(reward_set.names)
        self._owns_ray = executor.connect()
        state = reward_set.__getstate__()
        n = executor.actor_count()
        cls = ray.remote(_ScoringActor).options(**executor.actor_options())
        self.actors: list[Any] = [cls.remote(state) for _ in range(n)]
        self.max_in_flight = executor.max_in_flight or 2 * n
        self.placements: Counter[str] = Counter()
        self.retried = 0
        self._suspect: set[int] = set()
        self._lock = threading.Lock()
        self._closed = False

    def wait_ready(self, timeout: float | None = None) -> list[dict[str, Any]]:
        """Block until every actor has built its reward set; where each one runs."""
        return list(ray.get([a.where.remote() for a in self.actors], timeout=timeout))

    def score(self, request: ScoreRequest) -> dict[str, list[Score]]:
        n = len(request)
        out: dict[str, list[Score | None]] = {name: [None] * n for name in self.names}
        if n == 0:
            return {name: [] for name in self.names}
        shards = shard_by_group(_group_ids(request.prompts, n), len(self.actors) * self.executor.shards_per_actor)
        pending = deque(range(len(shards)))
        attempts = [0] * len(shards)
        failed_on: list[set[int]] = [set() for _ in shards]
        load = [0] * len(self.actors)
        in_flight: dict[Any, tuple[int, int, float]] = {}  # ObjectRef -> (shard, actor, deadline)
        timeout = self.executor.shard_timeout_s

        def lost(s: int, a: int, cause: str) -> None:
            """Shard ``s`` got no answer from actor ``a``: send it again, or score it error."""
            with self._lock:
                self._suspect.add(a)
            failed_on[s].add(a)
            if attempts[s] <= self.executor.max_retries:
                self.retried += 1
                log.warning(
                    "ray: actor %d lost %d samples (%s); sending them to another actor", a, len(shards[s]), cause
                )
                pending.append(s)
                return
            msg = (
                f"ray executor: not scored after {attempts[s]} attempts (max_retries={self.executor.max_retries}): "
                f"the actor scoring these {len(shards[s])} samples {cause}"
            )
            log.warning("%s", msg)
            for name in self.names:
                for i in shards[s]:
                    out[name][i] = Score.error(msg)

        while pending or in_flight:
            while pending and len(in_flight) < self.max_in_flight:
                s = pending.popleft()
                a = self._pick(load, failed_on[s])
                attempts[s] += 1
                ref = self.actors[a].score.remote(request.subset(shards[s]))
                in_flight[ref] = (s, a, time.monotonic() + timeout if timeout is not None else float("inf"))
                load[a] += 1
            wait = None if timeout is None else max(0.0, min(d for _, _, d in in_flight.values()) - time.monotonic())
            ready, _ = ray.wait(list(in_flight), num_returns=1, timeout=wait)
            for ref in ready:
                s, a, _ = in_flight.pop(ref)
                load[a] -= 1
                try:
                    scores, node = ray.get(ref)
                except RayActorError as exc:
                    lost(s, a, f"died: {_cause(exc)}")
                    continue
                with self._lock:
                    self._suspect.discard(a)
                    self.placements[node] += 1
                for name in self.names:
                    for i, sc in zip(shards[s], scores[name], strict=True):
                        out[name][i] = sc
            now = time.monotonic()
            for ref, (s, a, deadline) in list(in_flight.items()):
                if deadline <= now:  # abandoned: an answer that comes later is never read
                    del in_flight[ref]
                    load[a] -= 1
                    lost(s, a, f"gave no answer within shard_timeout_s={timeout:g} s")
        return {
            name: [s if s is not None else Score.error("ray executor: no score") for s in v] for name, v in out.items()
        }

    def _pick(self, load: list[int], avoid: set[int]) -> int:
        """The least-loaded actor, preferring those that did not fail this shard, then those
        not suspected of being dead."""
        with self._lock:
            suspect = set(self._suspect)
        return min(range(len(self.actors)), key=lambda a: (a in avoid, a in suspect, load[a], a))

    def close(self) -> None:
        """Stop the actors (and Ray itself, when this executor started it and no scorer is left)."""
        if self._closed:
            return
        self._closed = True
        if not ray.is_initialized():
            return
        # Let each actor close its verifiers (their worker pools and sandboxes) before it goes.
        try:
            ray.wait([a.close.remote() for a in self.actors], num_returns=len(self.actors), timeout=10)
        except Exception:  # dead actors cannot close anything
            log.debug("ray: closing the actors failed", exc_info=True)
        for a in self.actors:
            try:
                ray.kill(a, no_restart=True)
            except Exception:  # an actor already gone
                log.debug("ray: killing an actor failed", exc_info=True)
        self.actors = []
        if self._owns_ray:
            self.executor.disconnect()

    def __repr__(self) -> str:
        return f"<RayScorer {len(self.actors)} actors, {dict(self.placements)} shards per node>"
