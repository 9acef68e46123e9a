"""``grpo-rewards list``: the registered verifiers, sandboxes and dataset sources, the plugins that
failed; ``list NAME``: one verifier's options, columns, outcomes and origin."""

from __future__ import annotations

import argparse
import inspect
import json
from collections.abc import Mapping
from typing import Any, TextIO

from grpo_rewards.errors import ConfigError
from grpo_rewards.exitcodes import ExitCode
from grpo_rewards.plugins import Entry, get_registry


def add_parser(sub: Any) -> None:
    lp = sub.add_parser(
        "list",
        aliases=["show"],
        help="list registered verifiers, sandboxes, dataset sources and plugins; list NAME: one verifier in full",
        description=(
            "Without NAME: every registered verifier, sandbox and dataset source, and the plugins that failed. "
            "With NAME: that verifier's options (types and defaults), the columns it reads, the outcomes it "
            "returns and where it came from."
        ),
    )
    lp.add_argument("name", nargs="?", help="a verifier to show in full (its options, columns, outcomes, origin)")
    lp.add_argument("--json", action="store_true", help="machine-readable output (every verifier in full)")
    lp.set_defaults(run=run)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    reg = get_registry()
    if args.name:
        info = _verifier_info(reg.get_verifier(args.name))  # an unknown name: near misses, exit 2
        if args.json:
            json.dump(info, out, indent=2, default=repr)
            out.write("\n")
        else:
            out.write(_format_verifier_info(info))
        return ExitCode.OK
    if args.json:
        data: dict[str, Any] = {
            kind: [
                _verifier_info(e) if kind == "verifiers" else _entry_info(e)
                for e in sorted(table.values(), key=lambda e: e.name)
            ]
            for kind, table in (
                ("verifiers", reg.verifiers),
                ("sandboxes", reg.sandboxes),
                ("dataset_sources", reg.dataset_sources),
                ("exploits", reg.exploits),
            )
        }
        data["conflicts"] = [
            {"kind": k, "name": n, "plugins": [e.plugin.describe() for e in es]} for (k, n), es in reg.conflicts.items()
        ]
        data["failures"] = [
            {"plugin": f.plugin.name, "distribution": f.plugin.distribution, "stage": f.stage, "error": f.error}
            for f in reg.failures
        ]
        json.dump(data, out, indent=2, default=repr)
        out.write("\n")
        return ExitCode.OK
    for title, table in (
        ("Verifiers", reg.verifiers),
        ("Sandboxes", reg.sandboxes),
        ("Dataset sources", reg.dataset_sources),
        ("Exploits (grpo-rewards redteam)", reg.exploits),
    ):
        if not table and title != "Verifiers":
            continue
        out.write(f"{title}:\n")
        entries = sorted(table.values(), key=lambda e: e.name)
        w = max((len(e.name) for e in entries), default=4)
        for e in entries:
            out.write(f"  {e.name.ljust(w)}  {e.description}  [{e.plugin.describe()}]\n")
        out.write("\n")
    if reg.conflicts:
        out.write("Conflicts (using these names is an error):\n")
        for (kind, name), es in reg.conflicts.items():
            out.write(f"  {kind} {name!r}: registered by {' and '.join(e.plugin.describe() for e in es)}\n")
        out.write("\n")
    if reg.failures:
        out.write("Plugins that failed to load:\n")
        for f in reg.failures:
            out.write(f"  {f.describe()}\n")
        out.write("\n")
    return ExitCode.OK


def _entry_info(e: Entry) -> dict[str, Any]:
    return {
        "name": e.name,
        "description": e.description,
        "plugin": e.plugin.name,
        "distribution": e.plugin.distribution,
        "version": e.plugin.version,
        "builtin": e.plugin.builtin,
    }


def _annotation(a: Any) -> str:
    if a is inspect.Parameter.empty:
        return ""
    return a if isinstance(a, str) else inspect.formatannotation(a)


def options_of(factory: Any) -> tuple[list[dict[str, Any]], bool]:
    """A verifier factory's options as ``[{name, type, default}]`` (from its keyword-only
    ``__init__`` arguments, the way the registry checks them), and whether it takes any other."""
    from grpo_rewards.functions import RewardDefinition

    definition = getattr(factory, "__self__", None)
    if isinstance(definition, RewardDefinition):  # @grpo_rewards.reward: its keyword-only arguments
        try:
            params = inspect.signature(definition.function).parameters
        except (TypeError, ValueError):
            params = {}  # type: ignore[assignment]
        return [
            {"name": k, "type": _annotation(params[k].annotation) if k in params else "", "default": v}
            for k, v in definition.options.items()
        ], False
    is_class = isinstance(factory, type)
    try:
        sig = inspect.signature(factory.__init__ if is_class else factory)
    except (TypeError, ValueError):
        return [], True
    # A class takes its options keyword-only (as the registry checks them); a factory function by name.
    kinds = {inspect.Parameter.KEYWORD_ONLY} | (set() if is_class else {inspect.Parameter.POSITIONAL_OR_KEYWORD})
    options = [
        {
            "name": p.name,
            "type": _annotation(p.annotation),
            "default": None if p.default is inspect.Parameter.empty else p.default,
        }
        for p in sig.parameters.values()
        if p.kind in kinds and p.name != "self"
    ]
    return options, any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values())


def _verifier_info(e: Entry) -> dict[str, Any]:
    """What ``grpo-rewards list NAME`` shows: the options with types and defaults, the columns read
    with the default options, the outcomes declared (:attr:`Verifier.outcomes`), and the origin."""
    from grpo_rewards.functions import RewardDefinition

    options, any_option = options_of(e.factory)
    verifier = None
    columns: list[str] | None = None
    columns_error = None
    try:
        verifier = get_registry().create_verifier(e.name)
        columns = list(verifier.required_columns())
    except Exception as exc:  # noqa: BLE001 - needs options, or a plugin that misbehaves: said, not raised
        cause = exc.__cause__ if isinstance(exc, ConfigError) and exc.__cause__ is not None else exc
        columns_error = str(cause) or type(cause).__name__
    finally:
        if verifier is not None:
            try:
                verifier.close()
            except Exception:  # noqa: BLE001 - closing a default instance must not fail the listing
                pass
    definition = getattr(e.factory, "__self__", None)
    if isinstance(definition, RewardDefinition):
        defined_in = f"{definition.module}.{definition.qualname}"
    else:
        defined_in = f"{getattr(e.factory, '__module__', '?')}.{getattr(e.factory, '__qualname__', repr(e.factory))}"
    declared = getattr(type(verifier) if verifier is not None else e.factory, "outcomes", ())
    return {
        **_entry_info(e),
        "origin": e.plugin.describe(),
        "defined_in": defined_in,
        "options": options,
        "any_option": any_option,
        "columns": columns,
        "columns_error": columns_error,
        "outcomes": [str(getattr(o, "value", o)) for o in declared],
    }


def _literal(value: Any) -> str:
    """A default as it is written in TOML (and in ``--set``); ``None`` as ``(unset)``."""
    if value is None:
        return "(unset)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k} = {_literal(v)}" for k, v in value.items()) + "}"
    return repr(value)


def _format_verifier_info(info: Mapping[str, Any]) -> str:
    name = info["name"]
    lines = [f"{name}: {info['description']}", f"  from: {info['origin']}", f"  defined in: {info['defined_in']}"]
    if info["columns"] is None:
        lines.append(f"  columns: unknown with the default options ({info['columns_error']})")
    else:
        lines.append(f"  columns: {', '.join(info['columns']) or '(none)'} (with the default options)")
    declared = ", ".join(info["outcomes"]) or "not declared"
    lines.append(f"  outcomes: {declared} (any component may also end error, or skipped behind a gate)")
    options = info["options"]
    if options:
        lines.append(f"  options (-r {name} --set {name}.OPTION=VALUE, or options = {{...}} in a [[rewards]] table):")
        w = max(len(o["name"]) for o in options)
        t = max(len(o["type"]) for o in options)
        for o in options:
            lines.append(f"    {o['name'].ljust(w)}  {(o['type'] or '-').ljust(t)}  {_literal(o['default'])}".rstrip())
    else:
        lines.append("  options: (none)")
    if info["any_option"]:
        lines.append("    (and any other keyword option)")
    return "\n".join(lines) + "\n"
