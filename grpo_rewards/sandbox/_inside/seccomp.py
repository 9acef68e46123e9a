"""The seccomp deny policy: which system calls no run may make, by name, and the BPF program
that enforces it (reviewable alone, like nsjail's and bubblewrap's seccomp files).

Installed once in the candidate zygote (every run inherits it) and in the tester. The numbers
come from :data:`.kernel.NR`, which tests/sandbox/test_seccomp.py checks against the kernel's
``<asm/unistd_64.h>`` (and libseccomp's table where it is installed). On another architecture
the filter refuses to install: the ``seccomp`` layer is then reported unavailable (the host
warns once, and strict mode refuses to run).
"""

from __future__ import annotations

import ctypes
import os
import struct

from .kernel import (
    CLONE_NEWPID,
    MS_NODEV,
    MS_NOSUID,
    MS_REMOUNT,
    NR,
    NS_FLAGS,
    PR_SET_NO_NEW_PRIVS,
    PR_SET_SECCOMP,
    check,
    libc,
    prctl,
)

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time: the candidate zygote stays small
    from typing import Any


# seccomp: a deny list on top of the namespaces (defence in depth). A run needs none of these:
# they change the host (clock, swap, modules, reboot), reach outside the run's namespaces
# (mounts, other processes' memory, descriptors or pages, file handles), or are large kernel
# surfaces a test program has no use for (io_uring, BPF, perf, keyrings, userfaultfd, NUMA
# memory policy, and the obsolete _sysctl, uselib and lookup_dcookie).
DENY = frozenset({
    "ptrace", "syslog", "personality", "vhangup", "pivot_root", "chroot", "acct", "settimeofday",
    "mount", "umount2", "swapon", "swapoff", "reboot", "iopl", "ioperm", "init_module",
    "delete_module", "quotactl", "clock_settime", "kexec_load", "add_key", "request_key", "keyctl",
    "unshare", "perf_event_open", "name_to_handle_at", "open_by_handle_at", "setns",
    "process_vm_readv", "process_vm_writev", "finit_module", "kexec_file_load", "bpf",
    "userfaultfd", "open_tree", "move_mount", "fsopen", "fsconfig", "fsmount", "fspick",
    "mount_setattr",
    # io_uring: a second way into most of the kernel, with a long record of exploits.
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    # Reaching into another process: copying its descriptors, comparing its kernel objects,
    # advising on its memory.
    "pidfd_getfd", "kcmp", "process_madvise",
    # NUMA memory policy and page migration (as Docker's default profile: without CAP_SYS_NICE).
    "mbind", "move_pages", "set_mempolicy", "migrate_pages", "set_mempolicy_home_node",
    # Obsolete calls (most kernels no longer have them; refused whatever the kernel).
    "lookup_dcookie", "uselib", "_sysctl",
})  # fmt: skip
_SYS_CLONE, _SYS_CLONE3, _SYS_SOCKET = NR["clone"], NR["clone3"], NR["socket"]
_AUDIT_ARCH_X86_64 = 0xC000003E


# The zygote itself runs under the filter (its runs inherit it, so no run pays for attaching
# one), and it needs three of the denied calls in exactly one form each: unshare() and setns()
# of a PID namespace (one per run) and a remount of the scratch tmpfs (when a job's disk limit
# changes). Those forms stay allowed; a run cannot use them anyway, for they need
# CAP_SYS_ADMIN, which a run has nowhere: its capabilities are gone and it cannot make a user
# namespace to get new ones (every other unshare(), and clone() with namespace flags, is
# refused).
_SYS_UNSHARE, _SYS_SETNS, _SYS_MOUNT = NR["unshare"], NR["setns"], NR["mount"]
_SCRATCH_REMOUNT = MS_REMOUNT | MS_NOSUID | MS_NODEV


def seccomp_program() -> list[tuple[int, int, int, int]]:
    """The BPF filter: kill other architectures, EPERM for the deny list (with the zygote's three
    exceptions above) and for clone() with namespace flags, ENOSYS for clone3 (so libc falls
    back to clone), EACCES for sockets other than AF_UNIX, allow the rest."""
    ld, jeq, jge, jset, ret = 0x20, 0x15, 0x35, 0x45, 0x06
    allow, kill = 0x7FFF0000, 0x80000000
    eperm, enosys, eacces = 0x00050000 | 1, 0x00050000 | 38, 0x00050000 | 13

    def only_if(label: str, arg: int, value: int) -> list[Any]:
        """At ``label``: allow when argument ``arg`` is exactly ``value`` (both 32-bit halves),
        EPERM otherwise."""
        lo = 16 + 8 * arg
        return [(label,), (ld, 0, 0, lo + 4), (jeq, 0, "EPERM", 0), (ld, 0, 0, lo), (jeq, "ALLOW", "EPERM", value)]

    prog: list[Any] = [
        (ld, 0, 0, 4),
        (jeq, 1, 0, _AUDIT_ARCH_X86_64),
        (ret, 0, 0, kill),
        (ld, 0, 0, 0),
        (jge, "EPERM", 0, 0x40000000),
        (jeq, "UNSHARE", 0, _SYS_UNSHARE),
        (jeq, "SETNS", 0, _SYS_SETNS),
        (jeq, "MOUNT", 0, _SYS_MOUNT),
    ]
    for nr in sorted(NR[name] for name in DENY):
        if nr not in (_SYS_UNSHARE, _SYS_SETNS, _SYS_MOUNT):
            prog.append((jeq, "EPERM", 0, nr))
    # seccomp_data: nr at 0, arch at 4, instruction pointer at 8, args[i] at 16 + 8 * i (the low
    # 32 bits first on x86-64, then the high 32 bits).
    prog += [
        (jeq, "CLONE", 0, _SYS_CLONE),
        (jeq, "ENOSYS", 0, _SYS_CLONE3),
        (jeq, "SOCKET", 0, _SYS_SOCKET),
        (ret, 0, 0, allow),
        *only_if("UNSHARE", 0, CLONE_NEWPID),  # unshare(flags)
        *only_if("SETNS", 1, CLONE_NEWPID),  # setns(fd, nstype)
        *only_if("MOUNT", 3, _SCRATCH_REMOUNT),  # mount(source, target, fstype, flags, data)
        ("CLONE",),
        (ld, 0, 0, 16),
        (jset, "EPERM", 0, NS_FLAGS),
        ("ALLOW",),
        (ret, 0, 0, allow),
        ("SOCKET",),
        (ld, 0, 0, 16),
        (jeq, 0, "EACCES", 1),
        (ret, 0, 0, allow),
        ("EACCES",),
        (ret, 0, 0, eacces),
        ("ENOSYS",),
        (ret, 0, 0, enosys),
        ("EPERM",),
        (ret, 0, 0, eperm),
    ]
    labels: dict[str, int] = {}
    out: list[Any] = []
    for ins in prog:
        if len(ins) == 1:
            labels[ins[0]] = len(out)
        else:
            out.append(ins)
    final = []
    for i, (code, jt, jf, k) in enumerate(out):
        jt = labels[jt] - i - 1 if isinstance(jt, str) else jt
        jf = labels[jf] - i - 1 if isinstance(jf, str) else jf
        final.append((code, jt, jf, k))
    return final


class _Fprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


_FILTER: list[Any] = []


def install_seccomp() -> None:
    """Install :func:`seccomp_program` (built once per process, then reused by every fork)."""
    if not _FILTER:
        machine = os.uname().machine
        if machine != "x86_64":
            raise OSError(95, f"seccomp filter is written for x86_64, this is {machine}")
        prog = seccomp_program()
        buf = b"".join(struct.pack("=HBBI", *ins) for ins in prog)
        filt = ctypes.create_string_buffer(buf, len(buf))
        _FILTER.extend([filt, _Fprog(len(prog), ctypes.addressof(filt))])
    prctl(PR_SET_NO_NEW_PRIVS, 1)
    check(
        libc().prctl(
            ctypes.c_int(PR_SET_SECCOMP),
            ctypes.c_ulong(2),
            ctypes.byref(_FILTER[1]),
            ctypes.c_ulong(0),
            ctypes.c_ulong(0),
        ),
        "seccomp",
    )
