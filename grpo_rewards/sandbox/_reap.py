"""Ending a worker's process tree on the host: which processes are a pid's children, and a
SIGKILL that cannot hit a reused pid.

Runs in the host process, from :meth:`grpo_rewards.sandbox._worker._Worker.stop`. It reads
``/proc`` and trusts only what the kernel writes there; a pid may be reaped and reused between
two reads, so a signal goes through a pidfd after checking the parent (or, without pidfds,
after checking the parent just before ``kill``).
"""

from __future__ import annotations

import os
import signal


def children(pid: int) -> list[int]:
    """The child processes of ``pid``, from ``/proc``."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(c) for c in f.read().split()]
    except OSError:
        pass  # a kernel without CONFIG_PROC_CHILDREN: scan
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit() and _parent(int(name)) == pid:
            found.append(int(name))
    return found


def _parent(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def kill_child(parent: int, pid: int) -> None:
    """SIGKILL ``pid`` if it is still ``parent``'s child: through a pidfd, so that a pid
    reaped and reused in between is never signalled."""
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        if _parent(pid) == parent:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        return
    try:
        if _parent(pid) == parent:
            signal.pidfd_send_signal(fd, signal.SIGKILL)
    except OSError:
        pass
    finally:
        os.close(fd)
