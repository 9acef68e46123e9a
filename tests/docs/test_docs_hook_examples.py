"""The examples in the hookspec docstrings (rendered on the hooks reference page) work: each is
loaded as a plugin and must register what it says, without a plugin failure."""

from __future__ import annotations

import inspect
import textwrap
import types
from typing import Any

import pytest

from grpo_rewards import hookspecs
from grpo_rewards.plugins import get_registry
from grpo_rewards.testing import registered_plugin


def make_puzzles(**options: Any) -> list[dict[str, Any]]:
    """Stands in for the user's own dataset factory the ``register_dataset_sources`` example names."""
    return [{"prompt": "2 + 2?", "answer": "4"}]


STUBS = {"make_puzzles": make_puzzles}


def _example(hook: str) -> str:
    doc = inspect.getdoc(getattr(hookspecs, hook)) or ""
    head, sep, rest = doc.partition("Example::\n")
    assert sep, f"hookspecs.{hook} has no 'Example::' block"
    lines = []
    for line in rest.split("\n"):
        if line.strip() and not line.startswith((" ", "\t")):
            break  # the literal block ends at the first unindented line
        lines.append(line)
    return textwrap.dedent("\n".join(lines))


@pytest.mark.parametrize("hook", hookspecs.HOOKS)
def test_hook_example_registers_as_documented(hook: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRPO_REWARDS_LOAD_PLUGINS", "")
    module = types.ModuleType(f"hook_example_{hook}")
    module.__dict__.update({"grpo_rewards": __import__("grpo_rewards"), **STUBS})
    exec(compile(_example(hook), f"hookspecs.{hook} example", "exec"), module.__dict__)
    assert callable(getattr(module, hook, None)), f"the {hook} example does not define {hook}()"
    name = f"example-{hook}"
    with registered_plugin(module, name=name) as registry:
        assert not registry.failures, [f.describe() for f in registry.failures]
        tables = {
            "register_verifiers": registry.verifiers,
            "register_sandboxes": registry.sandboxes,
            "register_dataset_sources": registry.dataset_sources,
            "register_exploits": registry.exploits,
        }
        assert hook in tables, f"no registry table known for {hook}; extend this test"
        ours = [e.name for e in tables[hook].values() if e.plugin.name == name]
        assert ours, f"the {hook} example registered nothing"
    assert not any(e.plugin.name == name for e in get_registry().verifiers.values())
