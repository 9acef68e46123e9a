"""The self-check: known-good programs every new worker must pass before it takes a job.

Runs in the host process, once per new worker (its first start and every replacement), on
the worker's own pipes, before the worker joins the pool. It trusts the programs and answers
here (ours) and nothing the worker returns: a worker that raises, stalls or answers wrong is
stopped, and its start fails with :class:`~grpo_rewards.sandbox.SandboxUnavailable`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from grpo_rewards.sandbox import Job
from grpo_rewards.sandbox._inside.wire import FrameError
from grpo_rewards.sandbox._worker import JobStalled, WorkerFault

if TYPE_CHECKING:
    from grpo_rewards.sandbox._worker import _Worker

SELF_CHECK = (
    (Job("python", "assert", "def inc(x):\n    return x + 1\n", test_code="assert inc(1) == 2\n"), None),
    (Job("python", "stdio", "print(int(input()) + 1)\n", inputs=["41\n"]), "42\n"),
)
"""Known-good programs every new worker must pass before it takes a job (the assert path,
through RPC, and the program path): a sandbox that is broken in a way its start-up cannot
see (every run failing in its set-up, say) would otherwise score every sample ``wrong``."""


def self_check_failure(w: _Worker, checks: Sequence[tuple[Job, str | None]] = SELF_CHECK) -> str | None:
    """Why the worker fails the self-check (``checks``: each job, and the stdout it must print or
    None for a job whose tests must pass), or None when it passes."""
    for job, want in checks:
        try:
            res = w.run(job, None)
        except (WorkerFault, JobStalled, FrameError, OSError, TimeoutError, ValueError, KeyError) as exc:
            return f"{type(exc).__name__}: {exc}"
        case = res.cases[0] if len(res.cases) == 1 else None
        ok = case is not None and not res.error and (case.passed if want is None else case.stdout == want)
        if not ok:
            got = res.error or (case.error if case is not None else f"{len(res.cases)} case results")
            return f"a known-good {job.kind} program failed ({got or 'wrong output'})"
    return None
