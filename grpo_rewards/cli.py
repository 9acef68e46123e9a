"""The ``grpo-rewards`` command line: ``list`` the registered verifiers, ``score`` a file."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from grpo_rewards import __version__
from grpo_rewards.errors import ConfigError, GrpoRewardsError, InputError
from grpo_rewards.exitcodes import ExitCode, exit_code_for
from grpo_rewards.plugins import get_registry

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="grpo-rewards",
        description="Verifiers and composable reward functions for GRPO training.",
    )
    p.add_argument("--version", action="version", version=f"grpo-rewards {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="log more (plugin loading, verifier warnings)")
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

    lp = sub.add_parser("list", help="list registered verifiers, sandboxes, dataset sources and plugins")
    lp.add_argument("--json", action="store_true", help="machine-readable output")

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
        help="a verifier to score with (repeatable), e.g. -r math -r format.think:0.2",
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
    bar = sp.add_mutually_exclusive_group()
    bar.add_argument("--progress", action="store_true", help="always show the progress bar (default: on a terminal)")
    bar.add_argument("--no-progress", action="store_true", help="never show the progress bar")
    return p


def _cmd_list(args: argparse.Namespace, out: TextIO) -> int:
    reg = get_registry()
    if args.json:
        data: dict[str, Any] = {
            kind: [
                {
                    "name": e.name,
                    "description": e.description,
                    "plugin": e.plugin.name,
                    "distribution": e.plugin.distribution,
                    "version": e.plugin.version,
                    "builtin": e.plugin.builtin,
                }
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
        json.dump(data, out, indent=2)
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


def _cmd_score(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    import contextlib

    from grpo_rewards.composition import parse_reward_spec
    from grpo_rewards.inputs import count_rows, read_rows
    from grpo_rewards.output_files import open_output
    from grpo_rewards.rewardset import RewardSet
    from grpo_rewards.scoring import ScoreSummary, format_summary, score_rows

    if args.config and args.reward:
        spec = parse_reward_spec(args.config)
        extra = parse_reward_spec(args.reward, source="--reward")
        names = [c.name for c in spec.components]
        dup = next((c.name for c in extra.components if c.name in names), None)
        if dup is not None:
            raise ConfigError(f"--reward {dup!r} is already a component of {spec.source}")
        spec = type(spec)(spec.components + extra.components, f"{spec.source} + --reward")
    elif args.config:
        spec = parse_reward_spec(args.config)
    elif args.reward:
        spec = parse_reward_spec(args.reward, source="--reward")
    else:
        err.write("grpo-rewards score: give at least one --reward NAME or a --config file\n")
        return ExitCode.USAGE
    if args.batch_size < 1:
        err.write("grpo-rewards score: --batch-size must be at least 1\n")
        return ExitCode.USAGE
    rs = RewardSet(spec)
    rows = read_rows(args.input, completion_column=args.completion_column)
    if not args.skip_invalid:
        rows = _fail_on_invalid(rows)
    total = count_rows(args.input)
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
                fh.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
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


def _fail_on_invalid(rows: Any) -> Any:
    for r in rows:
        if r.error is not None:
            raise InputError(f"{r.error}\n(use --skip-invalid to keep going and mark such rows in the output)")
        yield r


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
    try:
        _import_modules(args.imports)
        if args.command == "list":
            return _cmd_list(args, sys.stdout)
        if args.command == "score":
            return _cmd_score(args, sys.stdout, sys.stderr)
    except GrpoRewardsError as exc:
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
