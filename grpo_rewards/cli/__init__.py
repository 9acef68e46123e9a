"""The ``grpo-rewards`` command line. Each subcommand lives in its own module of this package
(``listing``, ``score``, ``serve``, ...) with an ``add_parser(sub)`` and a ``run(args, out, err)``;
this module assembles them and turns the library's errors into exit statuses."""

from __future__ import annotations

import argparse
import logging
import sys
import traceback
from collections.abc import Sequence

from grpo_rewards import __version__
from grpo_rewards.cli import audit, listing, redteam, score, serve
from grpo_rewards.cli.common import import_modules
from grpo_rewards.errors import GrpoRewardsError
from grpo_rewards.exitcodes import ExitCode, exit_code_for

__all__ = ["main"]

# The subcommands, in the order --help lists them.
COMMANDS = (listing, score, serve, redteam, audit)


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
    for command in COMMANDS:
        command.add_parser(sub)
    return p


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
        import_modules(args.imports)
        return int(args.run(args, sys.stdout, sys.stderr))
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
