"""Rewards that misbehave on purpose, served by the test servers (imported by path)."""

from __future__ import annotations

import os
import time
from typing import Any


def crashes(completions: list[Any], **kwargs: Any) -> list[float]:
    """Raises for every batch, with a host detail in the message that must not reach a client."""
    raise RuntimeError(f"verifier crashed in {os.getcwd()} on {os.uname().nodename}")


def naps(completions: list[Any], **kwargs: Any) -> list[float]:
    """Sleeps for the longest ``nap`` of the batch (seconds), then scores 0.0: holds a work slot."""
    naps = [x for x in kwargs.get("nap") or [] if isinstance(x, int | float)]
    if naps:
        time.sleep(max(naps))
    return [0.0] * len(completions)


def exits(completions: list[Any], **kwargs: Any) -> list[float]:
    """Calls sys.exit in the scoring thread: not an Exception, so the reward set does not catch it."""
    raise SystemExit(3)
