"""``grpo-rewards audit``: how often is a verifier wrong on my data? Sample a scored file's verdicts
by outcome, re-check them with a second opinion, report the disagreement rates with Wilson score
intervals and write the disagreeing rows out (the logic is :mod:`grpo_rewards.audit`)."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path
from typing import Any, TextIO

from grpo_rewards.cli.common import add_composition_args, spec_from_args, with_options
from grpo_rewards.exitcodes import ExitCode


def add_parser(sub: Any) -> None:
    sp = sub.add_parser(
        "audit",
        help="estimate how often a verifier is wrong: re-check a sample of a scored file's verdicts",
        description=(
            "Sample the verdicts of SCORED (a file written by 'grpo-rewards score -o') by outcome, re-check each "
            "with a second opinion (a verifier configuration given with -r/--set/-c, such as the judge plugin's "
            "judge.llm, or another grader's verdict in a column with --column), and report per outcome how often "
            "the second opinion disagrees (estimated false negatives among 'wrong', false positives among "
            "'correct'), with Wilson score intervals."
        ),
    )
    sp.add_argument("scored", type=Path, help="a scored file (what grpo-rewards score -o writes)")
    add_composition_args(sp, verb="re-check the verdicts with (the second opinion)")
    sp.add_argument(
        "--column",
        metavar="COLUMN",
        help="take the second opinion from this column of the file (true/false, 1/0, correct/wrong; null: "
        "no verdict), e.g. another grader's verdict; instead of -r/-c",
    )
    sp.add_argument("--component", help="the component of the scored file to audit (default: its only one)")
    sp.add_argument(
        "--opinion-component",
        metavar="NAME",
        help="with -r/-c: the component whose verdict is the second opinion (default: the only one)",
    )
    sp.add_argument(
        "--outcome",
        dest="outcomes",
        action="append",
        metavar="OUTCOME",
        help="an outcome to audit (repeatable; default: every verdict outcome in the file: correct, wrong, "
        "no_answer, unparseable, timeout)",
    )
    sp.add_argument("-n", "--per-outcome", type=int, default=50, help="rows sampled per outcome (default 50)")
    sp.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    sp.add_argument(
        "--threshold",
        type=float,
        default=0.5,
        help="a graded second opinion (a judge's 0-1 score, a reward model's sigmoid) at least this is "
        "'correct' (default 0.5)",
    )
    sp.add_argument("--confidence", type=float, default=0.95, help="level of the intervals (default 0.95)")
    sp.add_argument(
        "--fail-above",
        type=float,
        default=None,
        metavar="RATE",
        help="exit 3 (FLAGGED) when an outcome's disagreement rate is above RATE with the interval's confidence, "
        "i.e. the interval's lower bound exceeds it (e.g. 0.05), so that CI can gate on a verifier's error rate",
    )
    sp.add_argument("--report", type=Path, help="write the Markdown report here (default: standard output)")
    sp.add_argument("--disagreements", type=Path, help="write the disagreeing rows here (JSONL)")
    sp.add_argument("--no-verdicts", type=Path, help="write the rows the second opinion gave no verdict on (JSONL)")
    sp.add_argument("--completion-column", default="completion", help="column holding the completion")
    sp.add_argument("--prompt-column", default="prompt", help="column holding the prompt")
    sp.add_argument("--batch-size", type=int, default=64, help="rows the second opinion scores together")
    sp.set_defaults(run=run)


def _usage(err: TextIO, message: str) -> int:
    err.write(f"grpo-rewards audit: {message}\n")
    return ExitCode.USAGE


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    import contextlib
    import sys

    from grpo_rewards.audit import ColumnOpinion, CompositionOpinion, audit, format_report, write_rows
    from grpo_rewards.audit.opinions import SecondOpinion
    from grpo_rewards.contract import Outcome
    from grpo_rewards.output_files import open_output
    from grpo_rewards.rewardset import RewardSet

    spec = spec_from_args(args)
    if (spec is None) == (args.column is None):
        return _usage(err, "give the second opinion: -r NAME / -c FILE (a verifier configuration) or --column COLUMN")
    if args.per_outcome < 1:
        return _usage(err, "--per-outcome must be at least 1")
    if not 0 < args.confidence < 1:
        return _usage(err, "--confidence must be between 0 and 1, e.g. 0.95")
    outcomes = None
    if args.outcomes:
        valid = [o.value for o in Outcome]
        outcomes = []
        for name in args.outcomes:
            if name not in valid:
                return _usage(err, f"--outcome {name!r} is not an outcome; valid: {', '.join(valid)}")
            outcomes.append(Outcome(name))
    if args.fail_above is not None and not 0 <= args.fail_above < 1:
        return _usage(err, "--fail-above must be a rate between 0 and 1, e.g. 0.05")
    if not args.scored.is_file():
        return _usage(err, f"{args.scored}: no such file")
    opinion: SecondOpinion
    if spec is not None:
        rs = RewardSet(with_options(spec, args.sets))
        try:
            opinion = CompositionOpinion(
                rs,
                args.opinion_component,
                threshold=args.threshold,
                completion_column=args.completion_column,
                prompt_column=args.prompt_column,
                batch_size=args.batch_size,
            )
        except BaseException:
            rs.close()
            raise
    else:
        opinion = ColumnOpinion(args.column)
    try:
        result = audit(
            args.scored,
            opinion,
            outcomes=outcomes,
            per_outcome=args.per_outcome,
            seed=args.seed,
            component=args.component,
            completion_column=args.completion_column,
            confidence=args.confidence,
        )
    finally:
        opinion.close()
    argv = sys.argv[1:] if sys.argv and Path(sys.argv[0]).name.startswith("grpo-rewards") else None
    command = "grpo-rewards " + shlex.join(argv) if argv else None
    text = format_report(result, command=command)
    written = []
    for path, rows in ((args.disagreements, result.disagreements), (args.no_verdicts, result.no_verdicts)):
        if path is not None:
            with open_output(path) as fh:
                n = write_rows(rows, fh, component=result.component, opinion=result.opinion)
            written.append(f"wrote {n} rows to {path}")
    with open_output(args.report) if args.report else contextlib.nullcontext(out) as fh:
        fh.write(text)
    if args.report:
        written.append(f"wrote {args.report}")
    for line in written:
        (err if args.report is None else out).write(line + "\n")
    if args.fail_above is not None:
        above = [a for a in result.outcomes if a.judged and a.interval[0] > args.fail_above]
        for a in above:
            lo, hi = a.interval
            err.write(
                f"grpo-rewards audit: {a.outcome.value}: {a.kind} rate {100 * (a.rate or 0):.1f} % "
                f"[{100 * lo:.1f} %, {100 * hi:.1f} %] is above "
                f"--fail-above {args.fail_above:g} (the interval's lower bound exceeds it)\n"
            )
        if above:
            return ExitCode.FLAGGED
    return ExitCode.OK
