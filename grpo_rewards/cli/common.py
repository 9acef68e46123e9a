"""What the subcommands share: the composition from ``-r``/``-c``/``--set``, and the checks that
the rows of an input file have the columns it reads (before anything is scored)."""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import itertools
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from grpo_rewards.cli.listing import options_of
from grpo_rewards.composition import parse_set_value
from grpo_rewards.errors import ConfigError, DatasetColumnError, InputError
from grpo_rewards.plugins import get_registry

if TYPE_CHECKING:
    from grpo_rewards.composition import RewardSpec
    from grpo_rewards.inputs import InputRow
    from grpo_rewards.rewardset import RewardSet


def add_composition_args(p: argparse.ArgumentParser, *, verb: str = "score with") -> None:
    """``-r NAME[:WEIGHT]`` (repeatable), ``--set COMPONENT.OPTION=VALUE`` and ``-c FILE``."""
    p.add_argument(
        "-r",
        "--reward",
        action="append",
        default=[],
        metavar="NAME[:WEIGHT]",
        help=f"a verifier to {verb} (repeatable), e.g. -r math -r format.think:0.2; give it options with --set",
    )
    p.add_argument(
        "--set",
        dest="sets",
        action="append",
        default=[],
        metavar="COMPONENT.OPTION=VALUE",
        help="an option of a component (repeatable), the value a TOML literal, e.g. -r code:0.5 --set code.timeout=2 "
        "--set math.column=solution; 'grpo-rewards list NAME' shows a verifier's options",
    )
    p.add_argument("-c", "--config", type=Path, help="a rewards TOML file ([[rewards]] tables)")


def require_spec(args: argparse.Namespace) -> RewardSpec:
    """:func:`spec_from_args`, for a command that needs a composition: without ``-r``/``-c`` a
    :class:`~grpo_rewards.errors.ConfigError` (exit 2) saying to give one."""
    spec = spec_from_args(args)
    if spec is None:
        raise ConfigError("give at least one --reward NAME or a --config file")
    return spec


def spec_from_args(args: argparse.Namespace) -> RewardSpec | None:
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


def fail_on_invalid(rows: Any) -> Any:
    for r in rows:
        if r.error is not None:
            raise InputError(f"{r.error}\n(use --skip-invalid to keep going and mark such rows in the output)")
        yield r


def option_names(spec: RewardSpec, name: str) -> list[str] | None:
    """The options component ``name`` accepts; ``None`` when its factory takes any (or is a plain
    function, which checks them itself)."""
    comp = next(c for c in spec.components if c.name == name)
    entry = get_registry().verifiers.get(comp.verifier) if comp.function is None else None
    if entry is None:
        return None
    options, any_option = options_of(entry.factory)
    return None if any_option else [o["name"] for o in options]


def with_options(spec: RewardSpec, items: Sequence[str]) -> RewardSpec:
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
        allowed = option_names(spec, name)
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


def check_columns(rs: RewardSet, columns: set[str], path: Path) -> None:
    for name in rs.names:
        try:
            rs.check_columns(sorted(columns), [name])
        except DatasetColumnError as exc:
            hint = exc.hint
            if "column" in (option_names(rs.spec, name) or []):
                hint = f"{hint}: --set {name}.column=COLUMN" if hint else f"--set {name}.column=COLUMN"
            raise DatasetColumnError(f"{path}: {exc.problem}", exc.columns, hint) from None


def row_columns(rows: Sequence[InputRow]) -> set[str]:
    return {k for r in rows if r.error is None for k in r.data}


def checked_rows(
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
    columns = row_columns(head)
    try:
        check_columns(rs, columns, path)
    except DatasetColumnError:
        if len(head) <= batch_size:  # that was the whole file
            if not any(r.error is None for r in head):
                return iter(head)  # every row malformed (--skip-invalid): none to score, none to check
            raise
        found = scan_columns(path)
        if found is None:
            head.extend(rows)
            rest = iter(())
            found = row_columns(head)
        check_columns(rs, columns | found, path)
    return itertools.chain(head, rest)


def import_modules(names: Sequence[str]) -> None:
    """``--import``: modules whose ``@grpo_rewards.reward`` functions register on import."""
    import importlib

    for name in names:
        try:
            importlib.import_module(name)
        except Exception as exc:
            raise ConfigError(f"--import {name}: {type(exc).__name__}: {exc}") from exc
