"""The ``reasoning_gym`` dataset source: rows of one reasoning-gym task or a weighted mix of tasks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from grpo_rewards import ConfigError
from grpo_rewards_reasoning_gym._tasks import TASKS
from grpo_rewards_reasoning_gym.entries import dump_entry
from grpo_rewards_reasoning_gym.verifier import CONFIG_KEY

__all__ = ["reasoning_gym_rows", "DEFAULT_SYSTEM_PROMPT"]

DEFAULT_SYSTEM_PROMPT = "default"
"""Name of the reasoning-gym system prompt used unless another is given (``reasoning_gym.utils.SYSTEM_PROMPTS``:
``default``, ``DeepSeekZero``, ``simple``, ``direct``, ``chain_of_draft``); each asks for ``<answer>`` tags."""


def _mix(tasks: Any) -> list[tuple[str, float, dict[str, Any]]]:
    """Normalize ``tasks`` (a name, a list of names, ``{name: weight}`` or ``{name: {weight, config}}``)."""
    if isinstance(tasks, str):
        tasks = [tasks]
    items: list[tuple[str, float, dict[str, Any]]] = []
    if isinstance(tasks, Mapping):
        for name, spec in tasks.items():
            if isinstance(spec, int | float) and not isinstance(spec, bool):
                items.append((str(name), float(spec), {}))
            elif isinstance(spec, Mapping):
                unknown = set(spec) - {"weight", "config"}
                if unknown:
                    raise ConfigError(f"reasoning_gym source: task {name!r} has unknown keys {sorted(unknown)}")
                items.append((str(name), float(spec.get("weight", 1.0)), dict(spec.get("config", {}))))
            else:
                raise ConfigError(f"reasoning_gym source: task {name!r}: give a weight or {{weight, config}}")
    elif isinstance(tasks, Sequence):
        items = [(str(t), 1.0, {}) for t in tasks]
    else:
        raise ConfigError(f"reasoning_gym source: tasks must be a name, a list or a table, got {type(tasks).__name__}")
    if not items:
        raise ConfigError("reasoning_gym source: no tasks given")
    for name, weight, _ in items:
        if weight <= 0:
            raise ConfigError(f"reasoning_gym source: task {name!r} has weight {weight}; weights must be positive")
    return items


def reasoning_gym_rows(
    *,
    task: str | None = None,
    tasks: Any = None,
    size: int = 1000,
    seed: int = 42,
    config: Mapping[str, Any] | None = None,
    system_prompt: str | None = DEFAULT_SYSTEM_PROMPT,
    column: str = "rg_entry",
) -> list[dict[str, Any]]:
    """Generate training rows from reasoning-gym.

    Give either ``task`` (one task, with optional ``config``, the task's config options) or
    ``tasks``: a list of names (equal weights), ``{name: weight}``, or
    ``{name: {weight = w, config = {...}}}`` for a weighted mix (reasoning-gym's
    ``CompositeDataset`` draws each row's task with probability proportional to its weight).

    Each row has ``prompt`` (a conversation: the system prompt, then the question), ``column``
    (the entry as JSON, which the ``rg`` / ``rg.<task>`` verifiers read), ``rg_task`` and
    ``answer`` (the gold answer as a string, ``""`` for tasks with no single gold answer).
    Generation is deterministic in ``seed``.

    :param system_prompt: a name from ``reasoning_gym.utils.SYSTEM_PROMPTS``, a literal prompt,
        or ``None`` for the question alone.
    :raises ConfigError: for unknown tasks, bad weights or options, naming them.
    """
    import reasoning_gym
    from reasoning_gym.composite import DatasetSpec
    from reasoning_gym.factory import DATASETS
    from reasoning_gym.utils import SYSTEM_PROMPTS

    if (task is None) == (tasks is None):
        raise ConfigError("reasoning_gym source: give exactly one of 'task' or 'tasks'")
    if size <= 0:
        raise ConfigError(f"reasoning_gym source: size must be positive, got {size}")
    mix = [(task, 1.0, dict(config or {}))] if task is not None else _mix(tasks)
    if task is None and config:
        raise ConfigError("reasoning_gym source: 'config' goes with 'task'; give per-task configs in 'tasks'")
    for name, _, _ in mix:
        if name not in DATASETS or name == "composite":
            import difflib

            near = difflib.get_close_matches(str(name), TASKS, n=3)
            hint = f"; did you mean {', '.join(near)}?" if near else ""
            raise ConfigError(
                f"reasoning_gym source: unknown task {name!r}{hint} ({len(TASKS)} tasks: see rg.* in grpo-rewards list)"
            )

    try:
        if len(mix) == 1:
            name, _, cfg = mix[0]
            dataset = reasoning_gym.create_dataset(name, size=size, seed=seed, **cfg)
        else:
            specs = [DatasetSpec(name=n, weight=w, config=c) for n, w, c in mix]
            dataset = reasoning_gym.create_dataset("composite", size=size, seed=seed, datasets=specs)
    except (TypeError, ValueError, AssertionError) as exc:
        raise ConfigError(f"reasoning_gym source: invalid options for {[m[0] for m in mix]}: {exc}") from exc

    configs = {n: c for n, _, c in mix}
    prompt_text = SYSTEM_PROMPTS.get(system_prompt, system_prompt) if system_prompt else None
    rows = []
    for i in range(size):
        entry = dataset[i]
        name = entry["metadata"].get("source_dataset", mix[0][0])
        stored = dict(entry)
        if configs.get(name):
            stored[CONFIG_KEY] = configs[name]
        prompt: list[dict[str, str]] = []
        if prompt_text:
            prompt.append({"role": "system", "content": prompt_text})
        prompt.append({"role": "user", "content": entry["question"]})
        gold = entry.get("answer")
        rows.append(
            {
                "prompt": prompt,
                column: dump_entry(stored),
                "rg_task": name,
                "answer": gold if isinstance(gold, str) else "",
            }
        )
    return rows
