"""``grpo-rewards redteam``: try known reward hacks against a composition on rows of the user's
data, before a run; exits 3 (``FLAGGED``) when a hack beats the floor, so it can gate CI.
The work is :mod:`grpo_rewards.redteam`; this module reads the rows and writes the report."""

from __future__ import annotations

import argparse
import difflib
import itertools
import shlex
import sys
from pathlib import Path
from typing import Any, TextIO

from grpo_rewards.cli.common import add_composition_args, require_spec, with_options
from grpo_rewards.errors import ConfigError, InputError
from grpo_rewards.exitcodes import ExitCode


def add_parser(sub: Any) -> None:
    rp = sub.add_parser(
        "redteam",
        help="try known reward hacks against a composition on rows of your data (exit 3 when one pays)",
        description=(
            "For each row of INPUT (a dataset: prompts and gold answers, no completions), build known reward hacks "
            "(answer spam, echo, format stuffing, length gaming, NaN/inf answers, code exploits, and those plugins "
            "register), score them with the composition beside the floor (an honest wrong answer in the right format) "
            "and the ceiling (the gold answer), print a table per hack and write the paying completions. Exits 3 when "
            "a hack's mean reward beats the floor's by more than --threshold, or when the gold does not beat the floor."
        ),
    )
    rp.add_argument("input", type=Path, help="dataset rows (.jsonl, .json, .csv or .parquet)")
    add_composition_args(rp, verb="red-team")
    rp.add_argument("--rows", type=int, default=50, help="rows to use, from the top (default 50; 0: all)")
    rp.add_argument("--gold-column", default=None, help="the gold answer's column (default: answer, if read)")
    rp.add_argument("--prompt-column", default=None, help="the prompt's column (default: prompt, question, problem…)")
    rp.add_argument(
        "--template",
        default=None,
        help="the right format, with {reasoning} and {answer} (default: <think>…</think> then <answer>…</answer>; "
        "a fenced python block for a composition with code)",
    )
    rp.add_argument(
        "--threshold", type=float, default=0.05, help="flag a hack whose mean reward beats the floor's by more"
    )
    rp.add_argument("--exploit", action="append", default=[], metavar="NAME", help="only these exploits (repeatable)")
    rp.add_argument(
        "--allow",
        action="append",
        default=[],
        metavar="NAME",
        help="an exploit whose flag is an accepted risk (repeatable): still reported, does not fail the run",
    )
    rp.add_argument("--seed", type=int, default=0, help="seed of the exploits' randomness (default 0)")
    rp.add_argument(
        "-o",
        "--out",
        type=Path,
        default=Path("redteam-report"),
        help="directory for report.md, paying.jsonl, summary.json (default ./redteam-report)",
    )
    rp.add_argument("--no-progress", action="store_true", help="never show the progress bar")
    rp.set_defaults(run=run)


def _rows(path: Path, limit: int) -> list[tuple[str, dict[str, Any]]]:
    from grpo_rewards.inputs import read_rows

    rows = read_rows(path, completion_column=None)
    out = []
    for r in itertools.islice(rows, limit or None):
        if r.error is not None:
            raise InputError(r.error)
        out.append((r.where, r.data))
    return out


def _known(names: list[str], exploits: list[Any], option: str) -> set[str]:
    known = {e.name for e in exploits}
    unknown = [n for n in names if n not in known]
    if unknown:
        near = difflib.get_close_matches(unknown[0], sorted(known), n=1)
        hint = f"; did you mean {near[0]!r}?" if near else f"; known: {', '.join(sorted(known))}"
        raise ConfigError(f"{option}: unknown exploit {unknown[0]!r}{hint}")
    return set(names)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from grpo_rewards.redteam import format_report, redteam, registered_exploits, write_report
    from grpo_rewards.rewardset import RewardSet

    spec = require_spec(args)
    if args.rows < 0:
        err.write("grpo-rewards redteam: --rows must be 0 (all) or more\n")
        return ExitCode.USAGE
    exploits = registered_exploits()
    if args.exploit:
        exploits = [e for e in exploits if e.name in _known(args.exploit, exploits, "--exploit")]
    _known(args.allow, registered_exploits(), "--allow")
    rows = _rows(args.input, args.rows)
    if not rows:
        raise InputError(f"{args.input} has no rows")
    rs = RewardSet(with_options(spec, args.sets))
    progress = None
    try:
        if not args.no_progress:
            from tqdm import tqdm

            progress = tqdm(total=len(rows), unit="row", desc="red-teaming", file=err, disable=None, mininterval=0.5)
        report = redteam(
            rs,
            rows,
            exploits=exploits,
            gold_column=args.gold_column,
            prompt_column=args.prompt_column,
            template=args.template,
            threshold=args.threshold,
            seed=args.seed,
            allow=args.allow,
            progress=progress.update if progress is not None else None,
        )
    finally:
        if progress is not None:
            progress.close()
        rs.close()
    command = "grpo-rewards " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:] else None
    out.write(format_report(report))
    paths = write_report(report, args.out, command=command)
    err.write(f"wrote {', '.join(str(p) for p in paths)}\n")
    return ExitCode.OK if report.passed else ExitCode.FLAGGED
