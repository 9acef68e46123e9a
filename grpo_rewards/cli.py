"""The ``grpo-rewards`` command line: ``list`` the registered verifiers (``list NAME``: one in
full), ``score`` a file, ``serve`` a reward set over HTTP."""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import inspect
import itertools
import json
import logging
import sys
import traceback
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from grpo_rewards import __version__
from grpo_rewards.composition import parse_set_value
from grpo_rewards.errors import ConfigError, DatasetColumnError, GrpoRewardsError, InputError
from grpo_rewards.exitcodes import ExitCode, exit_code_for
from grpo_rewards.plugins import Entry, get_registry

if TYPE_CHECKING:
    from grpo_rewards.composition import RewardSpec
    from grpo_rewards.inputs import InputRow
    from grpo_rewards.rewardset import RewardSet

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="grpo-rewards",
        description="Verifiers and composable reward functions for GRPO training.",
    )
    p.add_argument("--version", action="version", version=f"grpo-rewards {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="log more (plugin loading, verifier warnings)")
    p.add_argument("--debug", action="store_true", help="on an error, show its traceback too; log at debug level")
    p.add_argument(
        "--import",
        dest="imports",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE first (repeatable), so that its @grpo_rewards.reward functions are registered, "
        "e.g. --import my_pkg.rewards",
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

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

    sp = sub.add_parser(
        "score",
        help="score a file of completions offline (the same code path as training)",
        description=(
            "Score completions in INPUT (.jsonl, .json, .csv or .parquet). Rows need a 'completion' "
            "(a string or a list of messages), optionally a 'prompt', and the columns the verifiers read."
        ),
    )
    sp.add_argument("input", type=Path, help="input file")
    sp.add_argument(
        "-r",
        "--reward",
        action="append",
        default=[],
        metavar="NAME[:WEIGHT]",
        help="a verifier to score with (repeatable), e.g. -r math -r format.think:0.2; give it options with --set",
    )
    sp.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="COMPONENT.OPTION=VALUE",
        help="an option of a component (repeatable), the value a TOML literal, e.g. -r code:0.5 --set code.timeout=2 "
        "--set math.column=solution; 'grpo-rewards list NAME' shows a verifier's options",
    )
    sp.add_argument("-c", "--config", type=Path, help="a rewards TOML file ([[rewards]] tables)")
    sp.add_argument("-o", "--output", type=Path, help="output JSONL (default: standard output)")
    sp.add_argument(
        "--skip-invalid",
        action="store_true",
        help="keep going past malformed rows; they appear in the output with an 'invalid' field",
    )
    sp.add_argument("--batch-size", type=int, default=256, help="rows scored together (default 256)")
    sp.add_argument("--completion-column", default="completion", help="column holding the completion")
    sp.add_argument("--prompt-column", default="prompt", help="column holding the prompt (groups completions)")
    sp.add_argument(
        "--completion-ids-column",
        default="completion_ids",
        help="column holding the completion's token ids, passed as TRL passes them (used when present)",
    )
    sp.add_argument("--no-details", action="store_true", help="leave the per-component 'details' out")
    sp.add_argument(
        "--ray",
        nargs="?",
        const="",
        default=None,
        metavar="ADDRESS",
        help="score on a Ray cluster, streaming the file (.jsonl or .parquet) through Ray Data: ADDRESS is the "
        "cluster's (e.g. 127.0.0.1:6379 or auto); without it, RAY_ADDRESS or a local cluster. Needs the ray extra "
        "(pip install 'grpo-rewards[ray]'); the output is the same as without --ray",
    )
    sp.add_argument(
        "--ray-actors",
        type=int,
        default=None,
        metavar="N",
        help="with --ray: scoring actors (default: the cluster's CPUs)",
    )
    sp.add_argument(
        "--allow-empty",
        action="store_true",
        help="an input without rows is a warning and an empty output, not an error",
    )
    bar = sp.add_mutually_exclusive_group()
    bar.add_argument("--progress", action="store_true", help="always show the progress bar (default: on a terminal)")
    bar.add_argument("--no-progress", action="store_true", help="never show the progress bar")

    vp = sub.add_parser(
        "serve",
        help="serve a reward set over HTTP (POST /v1/score; needs the serve extra)",
        description=(
            "Serve the composition over HTTP: POST /v1/score takes {'rows': [...]}, each row as 'score' reads it, and "
            "answers the rows as 'score' writes them; GET /v1/rewards, /health, /metrics. A bearer token "
            "(--token-file or GRPO_REWARDS_TOKEN) is required to bind anything but loopback."
        ),
    )
    vp.add_argument(
        "-r", "--reward", action="append", default=[], metavar="NAME[:WEIGHT]", help="a verifier (repeatable)"
    )
    vp.add_argument(
        "--set", dest="sets", action="append", default=[], metavar="COMPONENT.OPTION=VALUE", help="as for score"
    )
    vp.add_argument("-c", "--config", type=Path, help="a rewards TOML file ([[rewards]] tables)")
    vp.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    vp.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    vp.add_argument(
        "--token-file",
        type=Path,
        help="file whose first line is the bearer token clients must send (default: $GRPO_REWARDS_TOKEN)",
    )
    vp.add_argument("--max-body-bytes", type=int, default=16 * 1024 * 1024, help="largest request body (413 past it)")
    vp.add_argument("--max-samples", type=int, default=4096, help="most rows in one request (413 past it)")
    vp.add_argument(
        "--max-concurrent", type=int, default=4, help="requests scored at once; more get 429 with Retry-After"
    )
    vp.add_argument("--deadline", type=float, default=300.0, help="seconds a request may take (504 past it)")
    vp.add_argument(
        "--executor",
        choices=["local", "ray"],
        default="local",
        help="score here (default) or on the Ray cluster that ray.init() finds (the ray extra)",
    )
    vp.add_argument(
        "--label-column",
        default=None,
        help="the column OpenRLHF's labels fill on POST /get_reward (default: the one column the rewards read, "
        "else answer)",
    )
    return p


def _cmd_list(args: argparse.Namespace, out: TextIO) -> int:
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


def _options_of(factory: Any) -> tuple[list[dict[str, Any]], bool]:
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

    options, any_option = _options_of(e.factory)
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


def _spec_from_args(args: argparse.Namespace) -> RewardSpec | None:
    """The composition that ``--config`` and ``--reward`` give (both: the file's components, then
    the others); ``None`` when neither is given."""
    from grpo_rewards.composition import parse_reward_spec

    if args.config and args.reward:
        spec = parse_reward_spec(args.config)
        extra = parse_reward_spec(args.reward, source="--reward")
        names = [c.name for c in spec.components]
        dup = next((c.name for c in extra.components if c.name in names), None)
        if dup is not None:
            raise ConfigError(f"--reward {dup!r} is already a component of {spec.source}")
        return type(spec)(spec.components + extra.components, f"{spec.source} + --reward")
    if args.config:
        return parse_reward_spec(args.config)
    if args.reward:
        return parse_reward_spec(args.reward, source="--reward")
    return None


def _cmd_serve(args: argparse.Namespace, err: TextIO) -> int:
    from grpo_rewards.executors import resolve_executor
    from grpo_rewards.rewardset import RewardSet

    try:
        from grpo_rewards.server import ServerLimits, check_bind, load_token, serve
    except ImportError as exc:
        raise ConfigError(
            f"grpo-rewards serve needs the serve extra: pip install 'grpo-rewards[serve]' ({exc})"
        ) from exc
    spec = _spec_from_args(args)
    if spec is None:
        err.write("grpo-rewards serve: give at least one --reward NAME or a --config file\n")
        return ExitCode.USAGE
    token = load_token(args.token_file)
    check_bind(args.host, token)  # before anything starts: refuse an open server at once
    limits = ServerLimits(
        max_body_bytes=args.max_body_bytes,
        max_samples=args.max_samples,
        max_concurrent=args.max_concurrent,
        deadline_s=args.deadline,
    )
    rs = RewardSet(_with_options(spec, args.sets), resolve_executor(args.executor))
    try:
        if args.executor == "ray":
            rs.start_executor()
        serve(
            rs, host=args.host, port=args.port, token=token, limits=limits, log_level="debug" if args.debug else "info"
        )
    finally:
        rs.close()
    return ExitCode.OK


def _cmd_score(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    import contextlib

    from grpo_rewards.inputs import count_rows, read_rows
    from grpo_rewards.output_files import open_output
    from grpo_rewards.rewardset import RewardSet
    from grpo_rewards.scoring import ScoreSummary, format_row, format_summary, score_rows

    spec = _spec_from_args(args)
    if spec is None:
        err.write("grpo-rewards score: give at least one --reward NAME or a --config file\n")
        return ExitCode.USAGE
    if args.batch_size < 1:
        err.write("grpo-rewards score: --batch-size must be at least 1\n")
        return ExitCode.USAGE
    if args.ray_actors is not None and (args.ray is None or args.ray_actors < 1):
        err.write("grpo-rewards score: --ray-actors needs --ray and a number of at least 1\n")
        return ExitCode.USAGE
    on_ray = _ray_scoring(args) if args.ray is not None else None
    rs = RewardSet(_with_options(spec, args.sets))
    chunks = None
    try:
        if on_ray is not None:
            # The rows are read here once, checked and cut into chunks; Ray's actors read each
            # chunk again from the file (grpo_rewards.executors.ray_data).
            positions: dict[int, tuple[int, int]] = {}
            rows = _positioned(args.input, args.completion_column, positions)
        else:
            rows = read_rows(args.input, completion_column=args.completion_column)
        if not args.skip_invalid:
            rows = _fail_on_invalid(rows)
        rows = _checked_rows(rs, rows, args.input, args.batch_size, args.allow_empty, err)
        if on_ray is not None:
            chunks = on_ray.plan_chunks(rows, positions, args.batch_size, args.prompt_column)
    except BaseException:
        rs.close()
        raise
    total = count_rows(args.input) if chunks is None else sum(c.rows for c in chunks)
    summary = ScoreSummary(rs.names, rs.reward_weights)
    # -o: rows go to a temporary file that replaces the target only once every row is written, so a
    # failed run leaves the old output; /dev/null, a FIFO or a terminal is written straight through.
    output = open_output(args.output) if args.output else contextlib.nullcontext(out)
    progress = None
    try:
        if not args.no_progress:
            from tqdm import tqdm

            progress = tqdm(
                total=total,
                unit="row",
                desc="scoring",
                file=err,
                disable=False if args.progress else None,  # None: only on a terminal
                mininterval=0.5,
            )
        with output as fh:
            if on_ray is not None and chunks is not None:
                for text, n, part in on_ray.score_chunks(
                    rs,
                    args.input,
                    chunks,
                    executor=on_ray.RayExecutor(address=args.ray or None, actors=args.ray_actors),
                    completion_column=args.completion_column,
                    prompt_column=args.prompt_column,
                    completion_ids_column=args.completion_ids_column,
                    details=not args.no_details,
                ):
                    fh.write(text)
                    summary.merge(part)
                    if progress is not None:
                        progress.update(n)
            else:
                for row in score_rows(
                    rs,
                    rows,
                    completion_column=args.completion_column,
                    prompt_column=args.prompt_column,
                    completion_ids_column=args.completion_ids_column,
                    batch_size=args.batch_size,
                    details=not args.no_details,
                    summary=summary,
                ):
                    fh.write(format_row(row))
                    if progress is not None:
                        progress.update(1)
    finally:
        if progress is not None:
            progress.close()
        rs.close()
    report = err if fh is out else out
    report.write(format_summary(summary) + "\n")
    if args.output:
        report.write(f"wrote {args.output}\n")
    return ExitCode.OK


def _ray_scoring(args: argparse.Namespace) -> Any:
    """``--ray``: the module that scores files on Ray, once the input is known to suit it."""
    from grpo_rewards.inputs import SEEKABLE_SUFFIXES

    if args.input.suffix.lower() not in SEEKABLE_SUFFIXES:
        raise InputError(
            f"{args.input}: --ray streams {' and '.join(SEEKABLE_SUFFIXES)} files; convert this one, or score it "
            "without --ray"
        )
    try:
        from grpo_rewards.executors import ray_data
    except ImportError as exc:
        if exc.name is not None and exc.name.split(".")[0] == "ray":
            raise ConfigError("--ray needs Ray: pip install 'grpo-rewards[ray]' (or pip install 'ray[data]')") from exc
        raise
    return ray_data


def _positioned(path: Path, completion_column: str, positions: dict[int, tuple[int, int]]) -> Iterator[InputRow]:
    """The rows of ``path``, noting each one's position in the file in ``positions`` (by ``id``)."""
    from grpo_rewards.inputs import read_positioned_rows

    for pos, row in read_positioned_rows(path, completion_column=completion_column):
        positions[id(row)] = pos
        yield row


def _fail_on_invalid(rows: Any) -> Any:
    for r in rows:
        if r.error is not None:
            raise InputError(f"{r.error}\n(use --skip-invalid to keep going and mark such rows in the output)")
        yield r


def _option_names(spec: RewardSpec, name: str) -> list[str] | None:
    """The options component ``name`` accepts; ``None`` when its factory takes any (or is a plain
    function, which checks them itself)."""
    comp = next(c for c in spec.components if c.name == name)
    entry = get_registry().verifiers.get(comp.verifier) if comp.function is None else None
    if entry is None:
        return None
    options, any_option = _options_of(entry.factory)
    return None if any_option else [o["name"] for o in options]


def _with_options(spec: RewardSpec, items: Sequence[str]) -> RewardSpec:
    """``--set COMPONENT.OPTION=VALUE``: the options, merged over each component's own. Component
    names may hold dots (``format.think.mode=soft``); options never do, so the last dot splits."""
    names = [c.name for c in spec.components]
    given: dict[str, dict[str, Any]] = {}
    for item in items:
        key, eq, raw = item.partition("=")
        name, dot, option = key.strip().rpartition(".")
        if not (eq and dot and name and option):
            raise ConfigError(f"--set {item}: expected COMPONENT.OPTION=VALUE, e.g. -r code --set code.timeout=2")
        if name not in names:
            near = difflib.get_close_matches(name, names, n=1)
            msg = f"--set {item}: no component {name!r} in the reward set"
            msg += f"; did you mean {near[0]!r}?" if near else "."
            msg += f" Its components: {', '.join(names)}."
            if name in get_registry().verifiers:
                msg += f" To score with {name!r} too, add it with -r {name}."
            raise ConfigError(msg)
        allowed = _option_names(spec, name)
        if allowed is not None and option not in allowed:
            near = difflib.get_close_matches(option, allowed, n=1)
            verifier = next(c.verifier for c in spec.components if c.name == name)
            raise ConfigError(
                f"--set {item}: verifier {verifier!r} has no option {option!r}"
                + (f"; did you mean {near[0]!r}?" if near else ".")
                + f" Its options: {', '.join(sorted(allowed)) or '(none)'} (grpo-rewards list {verifier})."
            )
        given.setdefault(name, {})[option] = parse_set_value(raw.strip())
    if not given:
        return spec
    components = tuple(
        dataclasses.replace(
            c,
            options={**c.options, **given[c.name]},
            where=f"{c.where} with --set " + ", ".join(f"{c.name}.{k}" for k in given[c.name]),
        )
        if c.name in given
        else c
        for c in spec.components
    )
    return dataclasses.replace(spec, components=components)


def _check_columns(rs: RewardSet, columns: set[str], path: Path) -> None:
    for name in rs.names:
        try:
            rs.check_columns(sorted(columns), [name])
        except DatasetColumnError as exc:
            hint = exc.hint
            if "column" in (_option_names(rs.spec, name) or []):
                hint = f"{hint}: --set {name}.column=COLUMN" if hint else f"--set {name}.column=COLUMN"
            raise DatasetColumnError(f"{path}: {exc.problem}", exc.columns, hint) from None


def _row_columns(rows: Sequence[InputRow]) -> set[str]:
    return {k for r in rows if r.error is None for k in r.data}


def _checked_rows(
    rs: RewardSet, rows: Iterator[InputRow], path: Path, batch_size: int, allow_empty: bool, err: TextIO
) -> Iterator[InputRow]:
    """The rows, once the input is known to have some and every column a component needs is in one.

    Checked before anything is scored or written, on the first batch, read ahead. Only when that
    batch lacks a column is the rest of the file looked at: a JSONL file streamed once more for
    its keys alone, a CSV file's header, a Parquet file's schema, and a ``.json`` file (held in
    memory whole anyway) read on from its rows. So a large file is never held twice, and a file in
    which no row has the column fails before any output. Rows that lack a column some other row
    has score ``bad_reference``, and the summary counts them.
    """
    from grpo_rewards.inputs import scan_columns

    head = list(itertools.islice(rows, batch_size + 1))
    if not head:
        if not allow_empty:
            raise InputError(f"{path} has no rows to score; give --allow-empty if an empty input is expected")
        err.write(f"grpo-rewards score: warning: {path} has no rows to score; the output is empty\n")
        return iter(())
    rest: Iterator[InputRow] = rows
    columns = _row_columns(head)
    try:
        _check_columns(rs, columns, path)
    except DatasetColumnError:
        if len(head) <= batch_size:  # that was the whole file
            if not any(r.error is None for r in head):
                return iter(head)  # every row malformed (--skip-invalid): none to score, none to check
            raise
        found = scan_columns(path)
        if found is None:
            head.extend(rows)
            rest = iter(())
            found = _row_columns(head)
        _check_columns(rs, columns | found, path)
    return itertools.chain(head, rest)


def _import_modules(names: Sequence[str]) -> None:
    """``--import``: modules whose ``@grpo_rewards.reward`` functions register on import."""
    import importlib

    for name in names:
        try:
            importlib.import_module(name)
        except Exception as exc:
            raise ConfigError(f"--import {name}: {type(exc).__name__}: {exc}") from exc


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``grpo-rewards`` console script; returns an exit status from
    :class:`grpo_rewards.exitcodes.ExitCode`."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if args.debug:  # this library's loggers only: third-party debug output would bury them
        logging.getLogger("grpo_rewards").setLevel(logging.DEBUG)
    try:
        _import_modules(args.imports)
        if args.command in ("list", "show"):
            return _cmd_list(args, sys.stdout)
        if args.command == "score":
            return _cmd_score(args, sys.stdout, sys.stderr)
        if args.command == "serve":
            return _cmd_serve(args, sys.stderr)
    except GrpoRewardsError as exc:
        if args.debug:
            traceback.print_exception(exc, file=sys.stderr)
        sys.stderr.write(f"grpo-rewards {args.command}: error: {exc}\n")
        return exit_code_for(exc)
    except KeyboardInterrupt as exc:
        sys.stderr.write(f"grpo-rewards {args.command}: interrupted\n")
        return exit_code_for(exc)
    except BrokenPipeError:
        return ExitCode.FAILED
    return ExitCode.USAGE


if __name__ == "__main__":
    sys.exit(main())
