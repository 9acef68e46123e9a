"""``grpo-train [CONFIG] [--set key=value ...] [--resume]``: train with GRPO and grpo-rewards.

Without CONFIG the embedded default trains a tiny locally built model on the bundled arithmetic
data (a few minutes on a CPU) and shows the mean reward rising in ``metrics.jsonl`` and
``rewards.png``.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

from grpo_rewards.errors import GrpoRewardsError
from grpo_rewards.exitcodes import ExitCode, exit_code_for

__all__ = ["main", "build_parser"]

log = logging.getLogger("grpo_rewards_trainer")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="grpo-train",
        description="GRPO training (TRL GRPOTrainer, Unsloth when available) rewarded by grpo-rewards verifiers.",
        epilog="Example: grpo-train recipe.toml --set grpo.max_steps=200 --set model.lora.r=32",
    )
    p.add_argument("config", nargs="?", help="TOML or YAML config (default: the embedded tiny CPU demo)")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set grpo.learning_rate=1e-5 (repeatable; values are TOML literals)",
    )
    p.add_argument("--resume", action="store_true", help="continue from the last checkpoint in output.dir")
    p.add_argument("-o", "--output-dir", help="shorthand for --set output.dir=PATH")
    p.add_argument("--print-config", action="store_true", help="print the resolved config as JSON and exit")
    p.add_argument(
        "-q", "--quiet", action="store_true", help="only warnings and errors from grpo-train (no per-step lines)"
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``grpo-train`` console script; returns an exit status from
    :class:`grpo_rewards.exitcodes.ExitCode` (the same table as ``grpo-rewards``)."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO,
        format="grpo-train: %(message)s",
        stream=sys.stderr,
    )
    from grpo_rewards_trainer.config import dumps, load_config

    if args.quiet:
        import datasets

        datasets.disable_progress_bars()

    overrides = list(args.overrides)
    if args.output_dir:
        overrides.append(f"output.dir={json.dumps(args.output_dir)}")
    try:
        config = load_config(args.config, overrides)
        if args.print_config:
            print(dumps(config))
            return ExitCode.OK
        from grpo_rewards_trainer.backend import activate, choose_backend

        # Unsloth, when it is the backend, before quiet_third_party imports transformers.
        activate(choose_backend(config["backend"]))
        from grpo_rewards_trainer.console import PROGRESS_LOGGER, quiet_third_party
        from grpo_rewards_trainer.run import train

        progress = logging.getLogger(PROGRESS_LOGGER)
        level = progress.level
        if args.quiet:
            progress.setLevel(logging.WARNING)
        try:
            with quiet_third_party():
                result = train(config, resume=args.resume)
        finally:
            progress.setLevel(level)
    except GrpoRewardsError as exc:
        print(f"grpo-train: error: {exc}", file=sys.stderr)
        return exit_code_for(exc)
    except KeyboardInterrupt as exc:
        print(
            "grpo-train: interrupted (--resume continues from the last checkpoint in output.dir, if one was saved)",
            file=sys.stderr,
        )
        return exit_code_for(exc)
    trend = result.trend
    if "first_quarter_mean" in trend:
        log.info(
            "mean reward: first quarter of steps %.3f -> last quarter %.3f (%d steps)",
            trend["first_quarter_mean"],
            trend["last_quarter_mean"],
            trend["steps"],
        )
    held = result.heldout
    if held.get("n"):
        log.info(
            "held-out accuracy (%d questions training never saw, greedy, %r correct): %.1f%% before GRPO -> "
            "%.1f%% after; the most common answer (%r) takes %.1f%% of them",
            held["n"],
            held["component"],
            100 * held["before"],
            100 * held["after"],
            held["top_answer"],
            100 * held["top_answer_share"],
        )
    log.info("outputs in %s: run.json, metrics.jsonl, rewards.png, model/", result.output_dir)
    return ExitCode.OK


if __name__ == "__main__":
    sys.exit(main())
