"""The kernel mechanism, through ctypes: namespaces, mounts, prctl, capabilities, rlimits, and
the table of system call numbers by name.

Runs in the bootstrap, the zygote and each run's set-up, before any candidate code. It holds
mechanism only: which calls a run may make is the policy in :mod:`.seccomp`, what the runs'
limits are comes from the host's job. Standard library only.
"""

from __future__ import annotations

import ctypes
import math
import os
import resource

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time: the candidate zygote stays small
    from typing import Any


CLONE_NEWNS = 0x00020000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_NEWCGROUP = 0x02000000
NS_FLAGS = CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP

MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MNT_DETACH = 2

PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_SET_SECCOMP = 1, 4, 22
PR_CAPBSET_DROP, PR_SET_SECUREBITS, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT = 24, 28, 38, 47

_libc: Any = None


def libc() -> Any:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(None, use_errno=True)
        _libc.syscall.restype = ctypes.c_long
    return _libc


def check(ret: int, what: str) -> int:
    if ret == -1:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return ret


def unshare(flags: int) -> None:
    check(libc().unshare(ctypes.c_int(flags)), f"unshare({flags:#x})")


def mount(src: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    c = libc()
    enc = lambda s: s.encode() if s is not None else None  # noqa: E731
    ret = c.mount(enc(src), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data))
    check(ret, f"mount {src} on {target} ({fstype})")


def umount2(target: str, flags: int) -> None:
    check(libc().umount2(target.encode(), ctypes.c_int(flags)), f"umount {target}")


def pivot_root(new: str, old: str) -> None:
    check(libc().syscall(NR["pivot_root"], new.encode(), old.encode()), "pivot_root")


def prctl(option: int, arg2: int = 0, arg3: int = 0) -> int:
    return check(
        libc().prctl(
            ctypes.c_int(option), ctypes.c_ulong(arg2), ctypes.c_ulong(arg3), ctypes.c_ulong(0), ctypes.c_ulong(0)
        ),
        f"prctl({option})",
    )


_CAP_LAST: list[int] = []
_CAP_HEADER = (ctypes.c_uint32 * 2)(0x20080522, 0)  # capset(2): version 3, this process
_CAP_DATA = (ctypes.c_uint32 * 6)()  # effective, permitted, inheritable: all empty
_CAPS_LOCKED: list[bool] = []


def lock_capabilities() -> None:
    """Make capabilities impossible to regain, keeping the ones held now: securebits (uid 0
    gains nothing on exec, locked), an empty bounding set and no ambient capabilities. The
    candidate zygote does this once; each run then only has to clear its own sets."""
    c = libc()
    c.prctl(PR_SET_SECUREBITS, 0b11101111, 0, 0, 0)  # fails when unprivileged: nothing to lock then
    if not _CAP_LAST:
        try:
            _CAP_LAST.append(int(open("/proc/sys/kernel/cap_last_cap").read()))
        except (OSError, ValueError):
            _CAP_LAST.append(63)
    for cap in range(_CAP_LAST[0] + 1):
        if c.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            break
    c.prctl(PR_CAP_AMBIENT, 4, 0, 0, 0)  # PR_CAP_AMBIENT_CLEAR_ALL; fails harmlessly on old kernels
    _CAPS_LOCKED.append(True)


def drop_capabilities() -> None:
    """Lose every capability for good (see :func:`lock_capabilities`), then clear the
    effective, permitted and inheritable sets and set ``no_new_privs``."""
    if not _CAPS_LOCKED:
        lock_capabilities()
    check(libc().syscall(NR["capset"], ctypes.byref(_CAP_HEADER), ctypes.byref(_CAP_DATA)), "capset")
    prctl(PR_SET_NO_NEW_PRIVS, 1)


# System call numbers on x86-64, under the names the kernel's uapi header <asm/unistd_64.h>
# gives them (__NR_<name>): every number this module passes to syscall() or to the seccomp
# filter comes from here, and tests/sandbox/test_seccomp.py checks each entry against that
# header (and against libseccomp's table where it is installed).
NR = {
    "socket": 41, "clone": 56, "ptrace": 101, "syslog": 103, "capset": 126, "uselib": 134,
    "personality": 135, "vhangup": 153, "pivot_root": 155, "_sysctl": 156, "chroot": 161,
    "acct": 163, "settimeofday": 164, "mount": 165, "umount2": 166, "swapon": 167, "swapoff": 168,
    "reboot": 169, "iopl": 172, "ioperm": 173, "init_module": 175, "delete_module": 176,
    "quotactl": 179, "lookup_dcookie": 212, "clock_settime": 227, "mbind": 237,
    "set_mempolicy": 238, "kexec_load": 246, "add_key": 248, "request_key": 249, "keyctl": 250,
    "migrate_pages": 256,
    "unshare": 272, "move_pages": 279, "perf_event_open": 298, "name_to_handle_at": 303,
    "open_by_handle_at": 304, "setns": 308, "process_vm_readv": 310, "process_vm_writev": 311,
    "kcmp": 312, "finit_module": 313, "kexec_file_load": 320, "bpf": 321, "userfaultfd": 323,
    "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427, "open_tree": 428,
    "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432, "fspick": 433,
    "clone3": 435, "pidfd_getfd": 438, "process_madvise": 440, "mount_setattr": 442,
    "set_mempolicy_home_node": 450,
}  # fmt: skip


def rlimit_plan(lim: dict[str, Any], nproc: int) -> tuple[tuple[int, tuple[int, int]], ...]:
    """The ``setrlimit`` calls for a run's limits, worked out against this process's hard
    limits (which a run inherits): each limit is ``(v, v)``, or ``(v, hard)`` where a hard limit
    below ``v`` cannot be raised. Computed once per distinct limits in the zygote, so a run
    only makes the calls."""
    cpu = max(1, math.ceil(lim["cpu_s"]))
    plan = [(resource.RLIMIT_CPU, (cpu, cpu + 1))]
    for which, v in (
        (resource.RLIMIT_AS, int(lim["memory_mb"]) << 20),
        (resource.RLIMIT_FSIZE, int(lim["file_mb"]) << 20),
        (resource.RLIMIT_NPROC, nproc),
        (resource.RLIMIT_NOFILE, 256),
        (resource.RLIMIT_CORE, 0),
    ):
        hard = resource.getrlimit(which)[1]
        if hard == resource.RLIM_INFINITY or v <= hard:
            plan.append((which, (v, v)))
        else:
            plan.append((which, (min(v, hard), hard)))
    return tuple(plan)


def set_name(name: bytes) -> None:
    """Name the process (``ps``, ``top`` and profilers show it)."""
    libc().prctl(15, ctypes.c_char_p(name), 0, 0, 0)  # PR_SET_NAME
