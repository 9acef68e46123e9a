"""``grpo-rewards score``: score a file of completions offline, here or on a Ray cluster, with the
same code path as training."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from grpo_rewards.cli.common import add_composition_args, checked_rows, fail_on_invalid, require_spec, with_options
from grpo_rewards.errors import ConfigError, InputError
from grpo_rewards.exitcodes import ExitCode

if TYPE_CHECKING:
    from grpo_rewards.inputs import InputRow


def add_parser(sub: Any) -> None:
    sp = sub.add_parser(
        "score",
        help="score a file of completions offline (the same code path as training)",
        description=(
            "Score completions in INPUT (.jsonl, .json, .csv or .parquet). Rows need a 'completion' "
            "(a string or a list of messages), optionally a 'prompt', and the columns the verifiers read."
        ),
    )
    sp.add_argument("input", type=Path, help="input file")
    add_composition_args(sp)
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
    sp.set_defaults(run=run)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    import contextlib

    from grpo_rewards.inputs import count_rows, read_rows
    from grpo_rewards.output_files import open_output
    from grpo_rewards.rewardset import RewardSet
    from grpo_rewards.scoring import ScoreSummary, format_row, format_summary, score_rows

    spec = require_spec(args)
    if args.batch_size < 1:
        err.write("grpo-rewards score: --batch-size must be at least 1\n")
        return ExitCode.USAGE
    if args.ray_actors is not None and (args.ray is None or args.ray_actors < 1):
        err.write("grpo-rewards score: --ray-actors needs --ray and a number of at least 1\n")
        return ExitCode.USAGE
    on_ray = _ray_scoring(args) if args.ray is not None else None
    rs = RewardSet(with_options(spec, args.sets))
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
            rows = fail_on_invalid(rows)
        rows = checked_rows(rs, rows, args.input, args.batch_size, args.allow_empty, err)
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
