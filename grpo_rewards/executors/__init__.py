"""Executors: where a reward set scores its batches.

- :class:`LocalExecutor` (the default): in the calling process, with the set's own verifiers.
- :class:`RayExecutor` (``pip install 'grpo-rewards[ray]'``): on a Ray cluster, a pool of warm
  actors, batches cut into shards of whole prompt groups, lost shards sent again
  (:mod:`grpo_rewards.executors.ray`); files streamed through Ray Data
  (:mod:`grpo_rewards.executors.ray_data`, ``grpo-rewards score --ray``).

Importing this package does not import Ray; asking for ``RayExecutor`` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from grpo_rewards.errors import ConfigError
from grpo_rewards.executors.base import Executor, LocalExecutor, Scorer, ScoreRequest

if TYPE_CHECKING:
    from grpo_rewards.executors.ray import RayExecutor

__all__ = ["Executor", "LocalExecutor", "RayExecutor", "Scorer", "ScoreRequest", "resolve_executor"]


def __getattr__(name: str) -> Any:
    if name == "RayExecutor":
        return _ray_module().RayExecutor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _ray_module() -> Any:
    try:
        from grpo_rewards.executors import ray as module
    except ImportError as exc:
        if exc.name is not None and exc.name.split(".")[0] == "ray":
            raise ConfigError(
                "executor 'ray' needs Ray: pip install 'grpo-rewards[ray]' (or pip install 'ray[data]')"
            ) from exc
        raise
    return module


def resolve_executor(executor: str | Executor | None) -> Executor:
    """The executor that ``load_rewards(..., executor=)`` names.

    :param executor: ``None`` or ``"local"``, ``"ray"``, or an object with a ``start(reward_set)``
        method (:class:`Executor`).
    :raises ConfigError: for another name or object, or ``"ray"`` without Ray installed.
    """
    if executor is None or executor == "local":
        return LocalExecutor()
    if executor == "ray":
        return _ray_module().RayExecutor()
    if isinstance(executor, Executor) and not isinstance(executor, str):
        return executor
    raise ConfigError(
        f"executor {executor!r}: expected 'local', 'ray' or an executor object such as "
        "grpo_rewards.executors.RayExecutor(...)"
    )
