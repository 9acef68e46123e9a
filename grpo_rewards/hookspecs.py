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
from typing import Any, Protocol

import pluggy

__all__ = ["hookimpl", "hookspec", "Register", "HOOKS"]

hookspec = pluggy.HookspecMarker("grpo_rewards")
hookimpl = pluggy.HookimplMarker("grpo_rewards")


class Register(Protocol):
    """The callback every ``register_*`` hook receives.

    ``register(factory, name=None, description=None)`` records one verifier, sandbox or dataset
    source, attributed to the plugin whose hook made the call. ``name`` defaults to
    ``factory.name`` and ``description`` to ``factory.description`` (else the first line of
    ``factory``'s docstring). A name must be dotted lowercase (letters, digits, ``_``, ``-``);
    an invalid name or a non-callable factory raises, and the plugin is then listed as failed in
    that hook. Registering a name another plugin also registered makes that name an error that
    names both plugins.
    """

    def __call__(
        self, factory: Callable[..., Any], name: str | None = None, description: str | None = None
    ) -> None: ...


@hookspec
def register_verifiers(register: Register) -> None:
    """Register verifiers.

    Called once per process, the first time the registry is needed (``grpo-rewards list``,
    ``load_rewards``, ``grpo-train``).

    :param register: a :class:`Register`: call ``register(factory, name=None, description=None)``
        once per verifier. ``factory`` is a :class:`~grpo_rewards.Verifier` subclass (its
        ``name`` and ``description`` class attributes are used unless given) or any callable
        taking the verifier's options as keyword arguments and returning a ``Verifier`` (anything
        else raises :class:`~grpo_rewards.PluginLoadError` when the verifier is created).
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
def register_sandboxes(register: Register) -> None:
    """Register code-execution sandboxes (backends for the ``code`` verifier).

    Called once per process, with the other ``register_*`` hooks, the first time the registry
    is needed; a sandbox is created later, when a ``code`` verifier first runs a job.

    :param register: a :class:`Register`: call ``register(factory, name=None, description=None)``
        once per sandbox. ``factory`` is called as ``factory(**sandbox_options)`` (the ``code``
        verifier's ``sandbox_options``) and returns a :class:`grpo_rewards.sandbox.Sandbox`: an
        object with ``run(job: Job, judge: Judge | None = None) -> RunResult``
        (:class:`~grpo_rewards.sandbox.Job`, :class:`~grpo_rewards.sandbox.RunResult`; ``judge``
        is called with each :class:`~grpo_rewards.sandbox.CaseResult` and says whether it
        passed, for early stop). ``run`` is called from several threads at once. One sandbox
        serves every ``code`` verifier of the process with the same sandbox name and options.
        The ``code`` verifier also reads, when present: ``close()`` (called when the last
        reward set using it closes), ``closed`` (a sandbox closed elsewhere is made anew),
        ``n_workers`` (how many jobs it runs at once; 4 without it) and ``checks_test_syntax``
        (``True`` when the sandbox itself reports assert test code that does not compile, in
        ``RunResult.bad_tests``). ``run`` raising
        :class:`~grpo_rewards.sandbox.SandboxUnavailable` fails the whole batch; any other
        exception is that sample's ``error``. The built-in local sandbox is registered as
        ``"local"``; remote services (SandboxFusion, Piston, E2B, ...) are plugin material.
    :returns: nothing.

    Example::

        from grpo_rewards.sandbox import CaseResult, RunResult

        class EchoSandbox:  # stands in for a client of a remote service: echoes each stdin
            def __init__(self, *, url="http://localhost:2000"):
                self.url = url

            def run(self, job, judge=None):
                return RunResult(cases=[CaseResult(index=i, stdout=s) for i, s in enumerate(job.inputs)])

        @grpo_rewards.hookimpl
        def register_sandboxes(register):
            register(EchoSandbox, name="echo", description="hands stdin back (a stand-in)")
    """


@hookspec
def register_dataset_sources(register: Register) -> None:
    """Register dataset sources the trainer can train on (``[dataset] name = "source:<name>"``,
    with the source's options in ``[dataset] source_options``).

    Called once per process, with the other ``register_*`` hooks, the first time the registry
    is needed; the source itself is called when ``grpo-train`` loads its dataset.

    :param register: a :class:`Register`: call ``register(factory, name=None, description=None)``
        once per source. ``factory`` is called as ``factory(**source_options)`` and returns an
        iterable of row dicts or a ``datasets.Dataset``, with the columns the prompt and the
        rewards read. A ``TypeError`` or ``ValueError`` it raises is reported as rejected
        ``dataset.source_options``.
    :returns: nothing.

    Example::

        @grpo_rewards.hookimpl
        def register_dataset_sources(register):
            register(make_puzzles, name="puzzles", description="procedurally generated puzzles")
    """


@hookspec
def register_exploits(register: Register) -> None:
    """Register reward hacks that ``grpo-rewards redteam`` tries against a composition.

    Called once per process, with the other ``register_*`` hooks, the first time the registry
    is needed; an exploit is called later, once per data row, when ``grpo-rewards redteam`` (or
    :func:`grpo_rewards.redteam.redteam`) builds its attack completions.

    :param register: a :class:`Register`: call ``register(factory, name=None, description=None)``
        once per exploit. ``factory`` is called as ``factory(case)`` with a
        :class:`grpo_rewards.redteam.ExploitCase` (the row, its prompt text, the gold answer, an
        honest wrong answer, the composition's components and length limit, a seeded ``rng``,
        and ``case.format(answer)``, the answer in the format the floor uses) and returns the
        attack completion (a string), or ``None`` where it does not apply to that row. It may
        carry ``category`` (default: the name's first dotted part) and ``targets`` (verifier
        names, or prefixes ending in ``"."``, that it attacks; empty: any composition), as the
        :func:`grpo_rewards.redteam.exploit` decorator sets them. A plugin that ships a verifier
        should register the hacks known against it, so that users can check their compositions
        before a run.
    :returns: nothing.

    Example::

        @grpo_rewards.hookimpl
        def register_exploits(register):
            def shout(case):  # the gold answer's neighbours, in capitals: pays a verifier that ignores case and hedges
                return case.format("MAYBE " + case.wrong.upper())

            register(shout, name="myplugin.shout", description="a hedge in capitals")
    """


def _hook_names() -> list[str]:
    """Names of all hooks, in definition order (used by the docs tests)."""
    return [name for name, obj in globals().items() if name.startswith("register_") and callable(obj)]


HOOKS: list[str] = _hook_names()
