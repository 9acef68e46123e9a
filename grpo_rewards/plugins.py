"""Plugin loading and the registry of verifiers, sandboxes and dataset sources.

Loading is lazy and happens once per process (:func:`get_registry`). Built-in verifiers and
sandboxes are plugins too: the modules named in :data:`BUILTIN_PLUGINS` are registered with the
plugin manager, in that order, before the entry points.

Environment variables (read when the registry is first built):

``GRPO_REWARDS_LOAD_PLUGINS``
    unset: load every installed plugin; empty: load none; ``a,b``: load only these
    (entry-point names or distribution names). A name that matches no installed plugin is
    recorded as a :class:`PluginFailure` (stage ``"load"``).
``GRPO_REWARDS_DISABLE_PLUGINS``
    ``a,b``: do not load these (entry-point names or distribution names).

Both apply to installed (third-party) plugins; built-ins always load.
"""

from __future__ import annotations

import difflib
import importlib
import importlib.metadata as md
import inspect
import logging
import os
import re
import threading
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pluggy

from grpo_rewards import hookspecs
from grpo_rewards.contract import Verifier
from grpo_rewards.errors import (
    ConfigError,
    PluginLoadError,
    UnknownVerifierError,
    VerifierConflictError,
)
from grpo_rewards.hookspecs import Register

__all__ = [
    "BUILTIN_PLUGINS",
    "ENTRY_POINT_GROUP",
    "PluginInfo",
    "PluginFailure",
    "Entry",
    "Registry",
    "get_registry",
    "reset_registry",
    "plugin_manager",
    "registered_plugin",
]

log = logging.getLogger("grpo_rewards")

ENTRY_POINT_GROUP = "grpo_rewards"
BUILTIN_PLUGINS = (
    "grpo_rewards.verifiers.choice",
    "grpo_rewards.verifiers.code",
    "grpo_rewards.verifiers.exact",
    "grpo_rewards.verifiers.format",
    "grpo_rewards.verifiers.language",
    "grpo_rewards.verifiers.length",
    "grpo_rewards.verifiers.math",
    "grpo_rewards.verifiers.repetition",
    "grpo_rewards.verifiers.steps",
    "grpo_rewards.verifiers.tag_count",
    "grpo_rewards.sandbox.local",
    "grpo_rewards.redteam.exploits",
)
"""The built-in plugins: every module of :mod:`grpo_rewards.verifiers` and
:mod:`grpo_rewards.sandbox` that implements a hook (a test keeps this list complete)."""
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_\-]*(\.[a-z0-9_\-]+)*$")


@dataclass(frozen=True)
class PluginInfo:
    """Where a registration came from."""

    name: str
    distribution: str | None = None
    version: str | None = None
    builtin: bool = False

    def describe(self) -> str:
        if self.builtin:
            return "built-in"
        if self.distribution:
            return f"{self.name} ({self.distribution} {self.version or ''})".replace(" )", ")")
        return self.name


@dataclass(frozen=True)
class PluginFailure:
    """A plugin that failed to import or register, or that ``GRPO_REWARDS_LOAD_PLUGINS`` names
    but is not installed (stage ``"load"``). ``grpo-rewards list`` shows these."""

    plugin: PluginInfo
    stage: str
    error: str
    traceback: str = ""

    def describe(self) -> str:
        return f"plugin {self.plugin.describe()} failed at {self.stage}: {self.error}"


@dataclass(frozen=True)
class Entry:
    """One registered verifier, sandbox or dataset source."""

    kind: str
    name: str
    factory: Callable[..., Any]
    description: str
    plugin: PluginInfo


@dataclass
class Registry:
    """What the loaded plugins registered. Obtain it with :func:`get_registry`."""

    verifiers: dict[str, Entry] = field(default_factory=dict)
    sandboxes: dict[str, Entry] = field(default_factory=dict)
    dataset_sources: dict[str, Entry] = field(default_factory=dict)
    exploits: dict[str, Entry] = field(default_factory=dict)
    conflicts: dict[tuple[str, str], list[Entry]] = field(default_factory=dict)
    failures: list[PluginFailure] = field(default_factory=list)
    plugins: list[PluginInfo] = field(default_factory=list)

    def _table(self, kind: str) -> dict[str, Entry]:
        return {
            "verifier": self.verifiers,
            "sandbox": self.sandboxes,
            "dataset source": self.dataset_sources,
            "exploit": self.exploits,
        }[kind]

    def get(self, kind: str, name: str) -> Entry:
        """Look up a registration, raising a clear error for unknown, conflicting or broken names."""
        if (kind, name) in self.conflicts:
            who = " and ".join(e.plugin.describe() for e in self.conflicts[(kind, name)])
            raise VerifierConflictError(
                f"{kind} {name!r} is registered by more than one plugin: {who}. "
                "Uninstall one of them or disable it with GRPO_REWARDS_DISABLE_PLUGINS."
            )
        table = self._table(kind)
        if name in table:
            return table[name]
        msg = f"unknown {kind} {name!r}"
        close = difflib.get_close_matches(name, list(table), n=3, cutoff=0.6)
        if close:
            msg += f"; did you mean {' or '.join(repr(c) for c in close)}?"
        msg += f" Known {kind}s: {', '.join(sorted(table)) or '(none)'}."
        if self.failures:
            msg += " Note: " + "; ".join(f.describe() for f in self.failures)
            msg += ". The reward may come from a plugin that failed to load."
        raise UnknownVerifierError(msg) if kind == "verifier" else ConfigError(msg)

    def get_verifier(self, name: str) -> Entry:
        return self.get("verifier", name)

    def create_verifier(self, name: str, options: Mapping[str, Any] | None = None, where: str = "") -> Verifier:
        """Instantiate verifier ``name`` with ``options``, reporting unknown options with near misses."""
        entry = self.get_verifier(name)
        opts = dict(options or {})
        factory = entry.factory
        prefix = f"{where}: " if where else ""
        if isinstance(factory, type) and issubclass(factory, Verifier):
            allowed = factory.option_defaults()
            takes_any = any(p.kind is p.VAR_KEYWORD for p in inspect.signature(factory.__init__).parameters.values())
            if not takes_any:
                for key in opts:
                    if key not in allowed:
                        hint = difflib.get_close_matches(key, list(allowed), n=1)
                        raise ConfigError(
                            f"{prefix}verifier {name!r} has no option {key!r}"
                            + (f"; did you mean {hint[0]!r}?" if hint else "")
                            + f" Its options: {', '.join(sorted(allowed)) or '(none)'}."
                        )
        try:
            verifier = factory(**opts)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{prefix}invalid options for verifier {name!r}: {exc}") from exc
        if not isinstance(verifier, Verifier):
            raise PluginLoadError(
                f"verifier {name!r} from {entry.plugin.describe()} returned {type(verifier).__name__}, not a Verifier"
            )
        return verifier


# --------------------------------------------------------------------------------------------
# Loading

_lock = threading.RLock()
_pm: pluggy.PluginManager | None = None
_registry: Registry | None = None
_extra_plugins: list[tuple[object, str]] = []


def _new_plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager("grpo_rewards")
    pm.add_hookspecs(hookspecs)
    return pm


def plugin_manager() -> pluggy.PluginManager:
    """The process-wide plugin manager, with built-ins and allowed entry points loaded."""
    get_registry()
    assert _pm is not None
    return _pm


def _env_list(var: str) -> list[str] | None:
    raw = os.environ.get(var)
    if raw is None:
        return None
    return [x.strip() for x in raw.split(",") if x.strip()]


def _load(registry: Registry, pm: pluggy.PluginManager) -> None:
    from grpo_rewards import __version__

    infos: dict[str, PluginInfo] = {}

    for modname in BUILTIN_PLUGINS:
        info = PluginInfo(modname, "grpo-rewards", __version__, builtin=True)
        try:
            module = importlib.import_module(modname)
        except Exception as exc:  # noqa: BLE001 - a broken built-in must not take the others down
            registry.failures.append(
                PluginFailure(info, "import", f"{type(exc).__name__}: {exc}", traceback.format_exc())
            )
            log.error("grpo-rewards: built-in plugin %s failed to import: %s", modname, exc)
            continue
        if pm.is_registered(module) or pm.get_plugin(modname) is not None:
            continue
        pm.register(module, name=modname)
        infos[modname] = info

    load_only = _env_list("GRPO_REWARDS_LOAD_PLUGINS")
    disabled = set(_env_list("GRPO_REWARDS_DISABLE_PLUGINS") or [])
    installed: dict[str, str | None] = {}  # entry-point name -> distribution name
    for ep in _entry_points():
        dist = getattr(ep, "dist", None)
        dist_name = dist.metadata["Name"] if dist is not None else None
        version = dist.version if dist is not None else None
        installed[ep.name] = dist_name
        names = {ep.name, dist_name} - {None}
        if load_only is not None and not names & set(load_only):
            continue
        if names & disabled:
            continue
        info = PluginInfo(ep.name, dist_name, version)
        if pm.get_plugin(ep.name) is not None:
            continue
        try:
            plugin = ep.load()
        except Exception as exc:  # noqa: BLE001 - reported by name; other plugins keep working
            registry.failures.append(
                PluginFailure(info, "import", f"{type(exc).__name__}: {exc}", traceback.format_exc())
            )
            log.error("grpo-rewards: plugin %s failed to import: %s: %s", info.describe(), type(exc).__name__, exc)
            continue
        try:
            pm.register(plugin, name=ep.name)
        except Exception as exc:  # noqa: BLE001 - e.g. a hookimpl with an unknown hook name
            registry.failures.append(
                PluginFailure(info, "register", f"{type(exc).__name__}: {exc}", traceback.format_exc())
            )
            log.error("grpo-rewards: plugin %s could not be registered: %s", info.describe(), exc)
            continue
        infos[ep.name] = info

    # A name that matches nothing is most likely a typo: without this, the plugin the user asked
    # for would silently be missing and its rewards merely "unknown".
    known = set(installed) | {d for d in installed.values() if d}
    for name in dict.fromkeys(load_only or []):
        if name not in known:
            have = ", ".join(f"{ep} ({d})" if d else ep for ep, d in sorted(installed.items())) or "(none)"
            error = (
                f"GRPO_REWARDS_LOAD_PLUGINS names {name!r}, but no installed plugin has that entry-point "
                f"or distribution name. Installed plugins: {have}"
            )
            registry.failures.append(PluginFailure(PluginInfo(name), "load", error))
            log.error("grpo-rewards: %s", error)

    for plugin, name in _extra_plugins:
        if pm.get_plugin(name) is None:
            pm.register(plugin, name=name)
        infos[name] = PluginInfo(name)

    registry.plugins = list(infos.values())
    for hook_name, kind in (
        ("register_verifiers", "verifier"),
        ("register_sandboxes", "sandbox"),
        ("register_dataset_sources", "dataset source"),
        ("register_exploits", "exploit"),
    ):
        _call_register_hook(registry, pm, hook_name, kind, infos)


def _entry_points() -> list[md.EntryPoint]:
    return list(md.entry_points(group=ENTRY_POINT_GROUP))


def _call_register_hook(
    registry: Registry, pm: pluggy.PluginManager, hook_name: str, kind: str, infos: dict[str, PluginInfo]
) -> None:
    hook = getattr(pm.hook, hook_name)
    failed = {f.plugin.name for f in registry.failures}
    for impl in reversed(hook.get_hookimpls()):  # registration order
        info = infos.get(impl.plugin_name, PluginInfo(impl.plugin_name))
        if info.name in failed:
            continue

        try:
            impl.function(register=_register_callback(registry, kind, info))
        except Exception as exc:  # noqa: BLE001 - attributed and reported, others keep working
            registry.failures.append(
                PluginFailure(info, hook_name, f"{type(exc).__name__}: {exc}", traceback.format_exc())
            )
            log.error("grpo-rewards: plugin %s failed in %s: %s", info.describe(), hook_name, exc)


def _register_callback(registry: Registry, kind: str, info: PluginInfo) -> Register:
    """The ``register`` a hook implementation of ``info``'s plugin receives for ``kind``."""

    def register(factory: Callable[..., Any], name: str | None = None, description: str | None = None) -> None:
        _register(registry, kind, factory, name, description, info)

    return register


def _register(
    registry: Registry,
    kind: str,
    factory: Callable[..., Any],
    name: str | None,
    description: str | None,
    info: PluginInfo,
) -> None:
    if name is None:
        name = getattr(factory, "name", None)
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ConfigError(
            f"plugin {info.describe()} registered a {kind} with an invalid name {name!r}: "
            "use lowercase letters, digits, '_', '-' and dots"
        )
    if not callable(factory):
        raise ConfigError(f"plugin {info.describe()} registered {kind} {name!r} with a non-callable factory")
    if description is None:
        description = getattr(factory, "description", "") or (factory.__doc__ or "").strip().split("\n")[0]
    entry = Entry(kind, name, factory, description or "", info)
    table = registry._table(kind)
    key = (kind, name)
    if key in registry.conflicts:
        registry.conflicts[key].append(entry)
    elif name in table:
        registry.conflicts[key] = [table.pop(name), entry]
        log.error(
            "grpo-rewards: %s %r registered by both %s and %s; using it is an error",
            kind,
            name,
            registry.conflicts[key][0].plugin.describe(),
            info.describe(),
        )
    else:
        table[name] = entry


def get_registry() -> Registry:
    """Return the process-wide registry, loading plugins on first use."""
    global _pm, _registry
    if _registry is not None:
        return _registry
    with _lock:
        if _registry is None:
            pm = _new_plugin_manager()
            reg = Registry()
            _load(reg, pm)
            _pm, _registry = pm, reg
    return _registry


def reset_registry() -> None:
    """Forget the loaded plugins; the next :func:`get_registry` loads them again (reads env vars anew)."""
    global _pm, _registry
    with _lock:
        _pm, _registry = None, None


@contextmanager
def registered_plugin(plugin: object, name: str | None = None) -> Iterator[Registry]:
    """Register ``plugin`` (a module, class or object with hookimpls) for the duration of a block.

    Intended for tests::

        with registered_plugin(MyPlugin(), name="my-plugin") as registry:
            assert "shout" in registry.verifiers
    """
    name = name or str(getattr(plugin, "__name__", type(plugin).__name__))
    with _lock:
        _extra_plugins.append((plugin, name))
        reset_registry()
    try:
        yield get_registry()
    finally:
        with _lock:
            _extra_plugins[:] = [(p, n) for p, n in _extra_plugins if n != name]
            reset_registry()


class _DefinitionPlugin:
    """The plugin behind one ``@grpo_rewards.reward`` function (see :mod:`grpo_rewards.functions`)."""

    def __init__(self, definition: Any) -> None:
        self.definition = definition

    @hookspecs.hookimpl
    def register_verifiers(self, register: Register) -> None:
        d = self.definition
        register(d.make_verifier, name=d.name, description=d.description)


def register_definition(definition: Any) -> None:
    """Register a ``@grpo_rewards.reward`` function as a verifier for the rest of the process.

    Decorating the same function again (a re-imported module, a re-run notebook cell) replaces
    the earlier registration instead of making the name a conflict.
    """
    name = f"@reward {definition.module}.{definition.qualname}"
    with _lock:
        _extra_plugins[:] = [(p, n) for p, n in _extra_plugins if n != name]
        _extra_plugins.append((_DefinitionPlugin(definition), name))
        reset_registry()


def unregister_definition(definition: Any) -> None:
    """Undo :func:`register_definition` (for tests that define rewards in a temporary module)."""
    name = f"@reward {definition.module}.{definition.qualname}"
    with _lock:
        _extra_plugins[:] = [(p, n) for p, n in _extra_plugins if n != name]
        reset_registry()
