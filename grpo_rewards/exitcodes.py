"""Exit statuses of the command lines, ``grpo-rewards`` and ``grpo-train``: one table for both, so
that a script or a job scheduler can tell a mistake to fix from a run that failed.

==== =============== =====================================================================
code name            meaning
==== =============== =====================================================================
0    ``OK``          done
1    ``FAILED``      the work failed with an error the program explains: a malformed or
                     missing input file, a sandbox that cannot run, a plugin that misbehaves
2    ``USAGE``       the command line or the config is wrong; fix it and run again: an
                     argparse usage error, an unknown reward or option, a bad config file
                     or key, a dataset that does not fit the config (any
                     :class:`~grpo_rewards.ConfigError`)
3    ``FLAGGED``     the check ran and found what it guards against: ``grpo-rewards
                     redteam`` found a reward hack that beats the floor (or a composition
                     that pays the gold answer no more than a wrong one); ``grpo-rewards
                     audit --fail-above`` found a disagreement rate above the limit
130  ``INTERRUPTED`` interrupted (Ctrl-C, ``SIGINT``: 128 + 2, as shells report it)
==== =============== =====================================================================
"""

from __future__ import annotations

import enum

from grpo_rewards.errors import ConfigError

__all__ = ["ExitCode", "exit_code_for"]


class ExitCode(enum.IntEnum):
    """Exit statuses shared by ``grpo-rewards`` and ``grpo-train`` (see the module's table)."""

    OK = 0
    FAILED = 1
    USAGE = 2  # also what argparse exits with on a bad command line
    FLAGGED = 3
    INTERRUPTED = 130


def exit_code_for(exc: BaseException) -> ExitCode:
    """The exit status for a command line that stopped with ``exc``."""
    if isinstance(exc, KeyboardInterrupt):
        return ExitCode.INTERRUPTED
    if isinstance(exc, ConfigError):
        return ExitCode.USAGE
    return ExitCode.FAILED
