"""The seccomp deny list as a table: every syscall number the worker uses is checked against
the kernel's own table (its uapi header, and libseccomp's where installed), and the filter built
from it is run here, instruction by instruction, on each denied call."""

from __future__ import annotations

import ctypes
import ctypes.util
import re
import struct
from pathlib import Path

import pytest

from grpo_rewards.sandbox._inside.kernel import NR as _NR
from grpo_rewards.sandbox._inside.seccomp import DENY as _DENY
from grpo_rewards.sandbox._inside.seccomp import seccomp_program

HEADERS = (Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h"), Path("/usr/include/asm/unistd_64.h"))
AUDIT_ARCH_X86_64 = 0xC000003E
EPERM, ENOSYS = 1, 38


def kernel_table() -> dict[str, int]:
    """``__NR_<name> <number>`` from the kernel's x86-64 uapi header (package linux-libc-dev)."""
    for header in HEADERS:
        if header.exists():
            text = header.read_text()
            return {m[1]: int(m[2]) for m in re.finditer(r"^#define __NR_(\w+) (\d+)$", text, re.M)}
    pytest.skip(f"no x86-64 <asm/unistd_64.h> here (looked at {', '.join(map(str, HEADERS))})")


def run_filter(nr: int, args: tuple[int, ...] = (), arch: int = AUDIT_ARCH_X86_64) -> int:
    """What :func:`seccomp_program` returns for one call: a classic-BPF interpreter for the few
    instructions the program uses (load word, jeq, jge, jset, return)."""
    data = struct.pack("=IIQ6Q", nr, arch, 0, *(list(args) + [0] * 6)[:6])
    prog = seccomp_program()
    pc, acc = 0, 0
    while True:
        code, jt, jf, k = prog[pc]
        pc += 1
        if code == 0x20:
            (acc,) = struct.unpack_from("=I", data, k)
        elif code == 0x06:
            return k
        else:
            taken = {0x15: acc == k, 0x35: acc >= k, 0x45: bool(acc & k)}[code]
            pc += jt if taken else jf


def test_every_number_is_the_kernels() -> None:
    kernel = kernel_table()
    wrong = {name: (nr, kernel.get(name)) for name, nr in _NR.items() if kernel.get(name) != nr}
    assert not wrong, f"(ours, the header's): {wrong}"


def test_every_number_is_libseccomps() -> None:
    path = ctypes.util.find_library("seccomp")
    if path is None:
        pytest.skip("libseccomp is not installed")
    lib = ctypes.CDLL(path)
    lib.seccomp_syscall_resolve_name_arch.argtypes = [ctypes.c_uint32, ctypes.c_char_p]
    lib.seccomp_syscall_resolve_name_arch.restype = ctypes.c_int
    theirs = {name: lib.seccomp_syscall_resolve_name_arch(AUDIT_ARCH_X86_64, name.encode()) for name in _NR}
    known = {name: nr for name, nr in theirs.items() if nr >= 0}  # an older libseccomp lacks the newest calls
    assert len(known) > len(_NR) // 2, theirs
    assert known == {name: _NR[name] for name in known}


def test_the_deny_list_names_calls_in_the_table() -> None:
    assert _DENY <= _NR.keys(), sorted(_DENY - _NR.keys())
    for name in ("io_uring_setup", "io_uring_enter", "io_uring_register", "pidfd_getfd", "kcmp", "process_madvise"):
        assert name in _DENY
    for name in ("mbind", "move_pages", "set_mempolicy", "lookup_dcookie", "uselib", "_sysctl", "userfaultfd"):
        assert name in _DENY


@pytest.mark.parametrize("name", sorted(_DENY))
def test_the_filter_refuses_every_denied_call(name: str) -> None:
    # Zero arguments: none of them is the one form of unshare, setns or mount the zygote keeps.
    assert run_filter(_NR[name]) == 0x00050000 | EPERM


def test_the_filter_lets_the_rest_through() -> None:
    allow = 0x7FFF0000
    kernel = kernel_table()
    for name in ("read", "write", "openat", "mmap", "exit_group", "pidfd_open", "capset"):
        assert run_filter(kernel[name]) == allow, name
    assert run_filter(_NR["unshare"], (0x20000000,)) == allow  # the zygote's unshare(CLONE_NEWPID)
    assert run_filter(_NR["clone3"]) == 0x00050000 | ENOSYS
    assert run_filter(kernel["read"], arch=0x40000003) == 0x80000000  # i386: killed
