"""The hook specifications say what the code does: the ``register`` callback's type and
signature, what a sandbox must provide, and when :class:`PluginLoadError` is raised."""

from __future__ import annotations

import inspect
import typing
from typing import Any

import pytest
from core_test_plugin import Length

import grpo_rewards
from grpo_rewards import PluginLoadError, UnknownVerifierError, load_rewards
from grpo_rewards.hookspecs import HOOKS, Register
from grpo_rewards.plugins import _register_callback, get_registry, registered_plugin
from grpo_rewards.sandbox import Job, RunResult, Sandbox


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_receives_a_register(hook: str) -> None:
    fn = getattr(grpo_rewards.hookspecs, hook)
    assert typing.get_type_hints(fn)["register"] is Register


def test_the_callback_plugins_receive_has_the_protocols_signature(no_installed_plugins: None) -> None:
    expected = inspect.signature(Register.__call__).replace(
        parameters=list(inspect.signature(Register.__call__).parameters.values())[1:]  # without self
    )
    seen: list[Any] = []

    class Spy:
        @grpo_rewards.hookimpl
        def register_verifiers(self, register: Register) -> None:
            seen.append(register)

        @grpo_rewards.hookimpl
        def register_sandboxes(self, register: Register) -> None:
            seen.append(register)

        @grpo_rewards.hookimpl
        def register_dataset_sources(self, register: Register) -> None:
            seen.append(register)

        @grpo_rewards.hookimpl
        def register_exploits(self, register: Register) -> None:
            seen.append(register)

    with registered_plugin(Spy(), name="spy"):
        assert len(seen) == len(HOOKS)
        for register in seen:
            assert str(inspect.signature(register)) == str(expected)
    assert typing.get_type_hints(_register_callback)["return"] is Register


def test_sandbox_hook_documents_the_real_sandbox_protocol() -> None:
    doc = inspect.getdoc(grpo_rewards.hookspecs.register_sandboxes) or ""
    params = list(inspect.signature(Sandbox.run).parameters)
    assert params == ["self", "job", "judge"]
    assert "run(job: Job, judge: Judge | None = None) -> RunResult" in doc
    assert typing.get_type_hints(Sandbox.run)["job"] is Job
    assert typing.get_type_hints(Sandbox.run)["return"] is RunResult
    assert "run(request)" not in doc and "once it lands" not in doc
    for hook in HOOKS:
        hook_doc = inspect.getdoc(getattr(grpo_rewards.hookspecs, hook)) or ""
        assert "register(factory, name=None, description=None)" in hook_doc, hook
        assert 'description="")' not in hook_doc, hook


def test_plugin_load_error_is_raised_for_a_factory_that_returns_no_verifier(no_installed_plugins: None) -> None:
    class NotAVerifier:
        @grpo_rewards.hookimpl
        def register_verifiers(self, register: Register) -> None:
            register(lambda: "not a verifier", name="test.bogus", description="returns a string")
            register(Length)

    with registered_plugin(NotAVerifier(), name="bogus-plugin"):
        with pytest.raises(PluginLoadError, match="'test.bogus' from bogus-plugin returned str, not a Verifier"):
            get_registry().create_verifier("test.bogus")
        assert load_rewards(["test.length"]).names == ["test.length"]  # its other verifiers still work


def test_a_plugin_that_fails_to_register_is_recorded_not_raised(no_installed_plugins: None) -> None:
    class Broken:
        @grpo_rewards.hookimpl
        def register_verifiers(self, register: Register) -> None:
            raise ImportError("needs a library that is not installed")

    with registered_plugin(Broken(), name="broken-plugin") as reg:
        (failure,) = reg.failures
        assert failure.plugin.name == "broken-plugin" and failure.stage == "register_verifiers"
        with pytest.raises(UnknownVerifierError, match="broken-plugin failed at register_verifiers"):
            load_rewards(["broken.thing"])
    doc = PluginLoadError.__doc__ or ""
    assert "not a" in doc and "PluginFailure" in doc
