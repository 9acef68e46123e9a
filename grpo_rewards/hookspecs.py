"""Hook specifications: the reference for plugin authors.

A plugin is a module or object with functions decorated by ``@grpo_rewards.hookimpl`` whose
names match the hooks below. Third-party plugins are found through the ``grpo_rewards``
entry-point group (``[project.entry-points.grpo_rewards] myplugin = "grpo_rewards_myplugin"``);
the built-in verifiers register through the very same hooks.

Every hook has the ``register_*(register)`` shape: grpo-rewards hands the plugin a callback,
and owns validation, name collisions and attribution (which plugin, which distribution, which
version registered what).
"""

from __future__ import annotations

from collections.abc import Callable

import pluggy

hookspec = pluggy.HookspecMarker("grpo_rewards")
hookimpl = pluggy.HookimplMarker("grpo_rewards")


@hookspec
def register_verifiers(register: Callable[..., None]) -> None:
    """Register verifiers.

    Called once per process, the first time the registry is needed (``grpo-rewards list``,
    ``load_rewards``, ``grpo-train``).

    :param register: call ``register(factory, name=None, description=None)`` once per verifier.
        ``factory`` is a :class:`~grpo_rewards.Verifier` subclass (its ``name`` and
        ``description`` class attributes are used unless given) or any callable taking the
        verifier's options as keyword arguments and returning a ``Verifier``.
        Names are dotted lowercase (``"math"``, ``"format.think"``, ``"rg.leg_counting"``).
        Registering a name another plugin also registered makes that name an error naming both.
    :returns: nothing.

    Example::

        import grpo_rewards
        from grpo_rewards import Score, Verifier

        class Shout(Verifier):
            name = "shout"
            description = "1.0 when the completion is upper case"

            def score(self, sample):
                ok = sample.completion.isupper()
                return Score.correct() if ok else Score.wrong("not upper case")

        @grpo_rewards.hookimpl
        def register_verifiers(register):
            register(Shout)
    """


@hookspec
def register_sandboxes(register: Callable[..., None]) -> None:
    """Register code-execution sandboxes (backends for the ``code`` verifier).

    Called once per process, the first time a sandbox is looked up by name.

    :param register: call ``register(factory, name, description="")``. ``factory`` takes the
        sandbox's options as keyword arguments and returns an object with a
        ``run(request) -> result`` method (see :mod:`grpo_rewards.sandbox` once it lands).
        The built-in local sandbox is registered as ``"local"``; remote services (SandboxFusion,
        Piston, E2B, ...) are plugin material.
    :returns: nothing.

    Example::

        @grpo_rewards.hookimpl
        def register_sandboxes(register):
            register(MyRemoteSandbox, name="myservice", description="runs code on my service")
    """


@hookspec
def register_dataset_sources(register: Callable[..., None]) -> None:
    """Register dataset sources the trainer can train on (``[dataset] name = "source:<name>"``,
    with the source's options in ``[dataset] source_options``).

    Called once per process, the first time a dataset source is looked up by name.

    :param register: call ``register(factory, name, description="")``. ``factory`` takes the
        source's options as keyword arguments and returns a list of row dicts or a
        ``datasets.Dataset`` with a ``prompt`` column and the columns the rewards read.
    :returns: nothing.

    Example::

        @grpo_rewards.hookimpl
        def register_dataset_sources(register):
            register(make_puzzles, name="puzzles", description="procedurally generated puzzles")
    """


def _hook_names() -> list[str]:
    """Names of all hooks, in definition order (used by the docs tests)."""
    return [name for name, obj in globals().items() if name.startswith("register_") and callable(obj)]


HOOKS: list[str] = _hook_names()
