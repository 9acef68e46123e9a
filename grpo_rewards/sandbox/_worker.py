"""The in-sandbox side of the local sandbox. Standard library only.

The host starts it as ``python3 -I -S -B -c "import _worker; _worker.main()"`` under a scrubbed
environment; the host also imports it for the wire format (:func:`encode` / :func:`decode`) and
the frame helpers. Nothing here imports grpo_rewards.

Process tree of one warm worker (see docs/sandbox.md for the why)::

    Z   bootstrap, in the host's PID namespace; enters a fresh user namespace (the host writes
        its uid/gid map) and unshares mount, network, IPC, UTS and PID namespaces; waits.
    Z'  PID 1 of the worker's PID namespace: builds a new read-only root from bind mounts and
        pivots into it; forks Zc; then, with capabilities dropped, seccomp on and non-dumpable,
        is the tester: serves jobs from the host (fd 0 in, fd 1 out), runs test code, never
        candidate code.
    Zc  the candidate zygote, forked before any job (its memory never holds tests): owns the
        scratch tmpfs on /box and /tmp; per run, forks U into a new PID namespace, kills it on
        the tester's word or at its deadline, then wipes the scratch dirs.
    U   PID 1 of the run's PID namespace: limits, capabilities cleared, seccomp, then the
        candidate's code. When U dies every process it started dies with it.

The verdict comes from the tester (assert tests run there, against proxies of the candidate's
functions living in U) or from the host (call results and program output are compared
outside the sandbox). U holds neither the tests nor the expected answers and has no file
descriptor that reaches the host.
"""

from __future__ import annotations

import _socket
import base64
import builtins
import ctypes
import errno
import fcntl
import json
import marshal
import math
import os
import re
import resource
import select
import signal
import socket
import stat
import struct
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time: the candidate zygote stays small
    from typing import Any

# --------------------------------------------------------------------------------------------
# Frames: 4-byte big-endian length + JSON.

MAX_FRAME = 64 << 20


class FrameError(Exception):
    """The peer closed the channel or sent something that is not a frame."""


def _read_exact(fd: int, n: int, deadline: float | None = None) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("timed out waiting for the peer")
            r, _, _ = select.select([fd], [], [], left)
            if not r:
                raise TimeoutError("timed out waiting for the peer")
        chunk = os.read(fd, min(n - len(buf), 1 << 20))
        if not chunk:
            raise FrameError("channel closed")
        buf += chunk
    return bytes(buf)


_ENCODER = json.JSONEncoder(separators=(",", ":"), allow_nan=False)  # one, not one per frame


def _no_default(o: Any) -> Any:
    raise TypeError(f"Object of type {type(o).__name__} is not JSON serializable")


# json's C encoder, built once: JSONEncoder.encode builds a new one (and more) per call.
_cme = getattr(json.encoder, "c_make_encoder", None)
_C_ENCODER: Any = (
    _cme(None, _no_default, json.encoder.encode_basestring_ascii, None, ":", ",", False, False, False) if _cme else None
)
_DECODER = json.JSONDecoder()


def _frame(obj: Any) -> bytes:
    data = ("".join(_C_ENCODER(obj, 0)) if _C_ENCODER is not None else _ENCODER.encode(obj)).encode()
    return _HEADER.pack(len(data)) + data


def _write_all(fd: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def send_frame(fd: int, obj: Any) -> None:
    _write_all(fd, _frame(obj))


def send_trusted(fd: int, obj: Any) -> None:
    """A frame of ``marshal`` data, for one of our own processes to read: decoding marshal
    builds far fewer objects than decoding JSON, and in the candidate zygote (whose every
    written page is a copy-on-write fault) that matters. Never for anything a candidate's
    process sends: ``marshal`` is not safe on hostile input, so those frames are JSON."""
    data = marshal.dumps(obj)
    _write_all(fd, _HEADER.pack(len(data)) + data)


def recv_frame(fd: int, deadline: float | None = None, limit: int = MAX_FRAME) -> Any:
    (n,) = struct.unpack(">I", _read_exact(fd, 4, deadline))
    if n > limit:
        raise FrameError(f"frame of {n} bytes exceeds the limit of {limit}")
    try:
        return _DECODER.decode(_read_exact(fd, n, deadline).decode())
    except (ValueError, RecursionError) as exc:
        raise FrameError(f"malformed frame: {exc}") from None


_HEADER = struct.Struct(">I")


class Channel:
    """Frames from one descriptor, read with as few system calls as possible (usually one
    ``select`` and one ``read`` per frame, instead of two of each for the header and the body);
    bytes read past the end of a frame wait in this object for the next one. A channel belongs
    to one peer for the descriptor's whole life, so one peer's leftover bytes can never be read
    as another's (a reused descriptor number gets a new Channel)."""

    __slots__ = ("fd", "buf")

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.buf = bytearray()

    def recv(self, deadline: float | None = None, limit: int = MAX_FRAME) -> Any:
        data = self._frame(deadline, limit)
        try:
            return _DECODER.decode(data.decode())
        except (ValueError, RecursionError) as exc:
            raise FrameError(f"malformed frame: {exc}") from None

    def recv_trusted(self, deadline: float | None = None, limit: int = MAX_FRAME) -> Any:
        """A frame written by :func:`send_trusted` (only ever from one of our own processes)."""
        try:
            return marshal.loads(self._frame(deadline, limit))
        except (ValueError, EOFError, TypeError) as exc:
            raise FrameError(f"malformed frame: {exc}") from None

    def _frame(self, deadline: float | None, limit: int) -> bytes:
        buf = self.buf
        while len(buf) < 4:
            self._fill(4 - len(buf), deadline)
        (n,) = _HEADER.unpack_from(buf)
        if n > limit:
            raise FrameError(f"frame of {n} bytes exceeds the limit of {limit}")
        end = 4 + n
        while len(buf) < end:
            self._fill(end - len(buf), deadline)
        data = bytes(buf[4:end])
        del buf[:end]
        return data

    def _fill(self, need: int, deadline: float | None) -> None:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("timed out waiting for the peer")
            r, _, _ = select.select([self.fd], [], [], left)
            if not r:
                raise TimeoutError("timed out waiting for the peer")
        chunk = os.read(self.fd, min(max(need, 1 << 16), 1 << 20))
        if not chunk:
            raise FrameError("channel closed")
        self.buf += chunk


# --------------------------------------------------------------------------------------------
# Wire format for values: exact builtin types only. Anything else (subclasses included, so an
# int subclass whose __eq__ always returns True) becomes an opaque handle.

_MAX_DEPTH = 200
_FLAT = frozenset({str, bool, type(None)})  # types that are their own JSON encoding, always
_FLAT_IN = frozenset({str, bool, int, float, type(None)})  # decoded JSON scalars are plain as they are


class Opaque:
    """Marker for a value that is not plain data, as decoded on the host."""

    __slots__ = ("type_name",)

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<non-plain {self.type_name} object>"


def encode(x: Any, handle: Any = None, depth: int = 0) -> Any:
    """Encode ``x`` as JSON-able data; ``handle(x)`` turns a non-plain value into a handle id
    (None: non-plain values become ``{"o": type name}``)."""
    if depth > _MAX_DEPTH:
        raise ValueError("value nested too deeply")
    t = type(x)
    if x is None or t is bool or t is str:
        return x
    if t is int:
        if -(2**53) < x < 2**53:
            return x
        return {"i": format(x, "x")}
    if t is float:
        if math.isfinite(x):
            return x
        return {"x": repr(x)}
    if t is list:
        for v in x:  # the common case (a list of scalars) without a call per element
            tv = type(v)
            if tv is int:
                if not -(2**53) < v < 2**53:
                    break
            elif tv is float:
                if not math.isfinite(v):
                    break
            elif tv not in _FLAT:
                break
        else:
            return {"l": x}
        return {"l": [encode(v, handle, depth + 1) for v in x]}
    if t is tuple:
        return {"t": [encode(v, handle, depth + 1) for v in x]}
    if t is dict:
        return {"d": [[encode(k, handle, depth + 1), encode(v, handle, depth + 1)] for k, v in x.items()]}
    if t is set or t is frozenset:
        return {"s" if t is set else "f": [encode(v, handle, depth + 1) for v in x]}
    if t is bytes:
        return {"b": base64.b64encode(x).decode()}
    if t is complex:
        return {"c": [encode(x.real), encode(x.imag)]}
    if handle is None:
        return {"o": _type_name(x)}
    return {"h": [handle(x), _type_name(x), callable(x)]}


def _type_name(x: Any) -> str:
    try:
        return str(type(x).__qualname__)[:100]
    except Exception:  # noqa: BLE001 - a hostile metaclass
        return "object"


def decode(x: Any, handle: Any = None, depth: int = 0) -> Any:
    """Inverse of :func:`encode`; ``handle(id, type_name, callable)`` builds a proxy for a handle
    (None: handles decode to :class:`Opaque`)."""
    if depth > _MAX_DEPTH:
        raise ValueError("value nested too deeply")
    if x is None or isinstance(x, bool | int | float | str):
        return x
    if isinstance(x, list):
        raise ValueError("bare list in wire value")
    if not isinstance(x, dict) or len(x) != 1:
        raise ValueError("malformed wire value")
    ((tag, v),) = x.items()
    if tag == "l":
        if all(type(e) in _FLAT_IN for e in v):
            return v
        return [decode(e, handle, depth + 1) for e in v]
    if tag == "t":
        return tuple(decode(e, handle, depth + 1) for e in v)
    if tag == "d":
        return {decode(k, handle, depth + 1): decode(e, handle, depth + 1) for k, e in v}
    if tag == "s":
        return {decode(e, handle, depth + 1) for e in v}
    if tag == "f":
        return frozenset(decode(e, handle, depth + 1) for e in v)
    if tag == "i":
        if not isinstance(v, str) or len(v) > 100_000:
            raise ValueError("integer too large")
        return int(v, 16)
    if tag == "x":
        return float(v)
    if tag == "b":
        return base64.b64decode(v)
    if tag == "c":
        return complex(decode(v[0]), decode(v[1]))
    if tag == "o":
        return Opaque(str(v))
    if tag == "h":
        if handle is None:
            return Opaque(str(v[1]))
        return handle(int(v[0]), str(v[1]), bool(v[2]))
    if tag == "m":
        raise ValueError("module reference outside a namespace")
    raise ValueError(f"unknown wire tag {tag!r}")


# --------------------------------------------------------------------------------------------
# Kernel interfaces through ctypes (no extra packages).

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


def _check(ret: int, what: str) -> int:
    if ret == -1:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return ret


def unshare(flags: int) -> None:
    _check(libc().unshare(ctypes.c_int(flags)), f"unshare({flags:#x})")


def mount(src: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    c = libc()
    enc = lambda s: s.encode() if s is not None else None  # noqa: E731
    ret = c.mount(enc(src), enc(target), enc(fstype), ctypes.c_ulong(flags), enc(data))
    _check(ret, f"mount {src} on {target} ({fstype})")


def umount2(target: str, flags: int) -> None:
    _check(libc().umount2(target.encode(), ctypes.c_int(flags)), f"umount {target}")


def pivot_root(new: str, old: str) -> None:
    _check(libc().syscall(_NR["pivot_root"], new.encode(), old.encode()), "pivot_root")


def prctl(option: int, arg2: int = 0, arg3: int = 0) -> int:
    return _check(
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
    _check(libc().syscall(_NR["capset"], ctypes.byref(_CAP_HEADER), ctypes.byref(_CAP_DATA)), "capset")
    prctl(PR_SET_NO_NEW_PRIVS, 1)


# System call numbers on x86-64, under the names the kernel's uapi header <asm/unistd_64.h>
# gives them (__NR_<name>): every number this module passes to syscall() or to the seccomp
# filter comes from here, and tests/sandbox/test_seccomp.py checks each entry against that
# header (and against libseccomp's table where it is installed).
_NR = {
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

# seccomp: a deny list on top of the namespaces (defence in depth). A run needs none of these:
# they change the host (clock, swap, modules, reboot), reach outside the run's namespaces
# (mounts, other processes' memory, descriptors or pages, file handles), or are large kernel
# surfaces a test program has no use for (io_uring, BPF, perf, keyrings, userfaultfd, NUMA
# memory policy, and the obsolete _sysctl, uselib and lookup_dcookie).
_DENY = frozenset({
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
_SYS_CLONE, _SYS_CLONE3, _SYS_SOCKET = _NR["clone"], _NR["clone3"], _NR["socket"]
_AUDIT_ARCH_X86_64 = 0xC000003E


# The zygote itself runs under the filter (its runs inherit it, so no run pays for attaching
# one), and it needs three of the denied calls in exactly one form each: unshare() and setns()
# of a PID namespace (one per run) and a remount of the scratch tmpfs (when a job's disk limit
# changes). Those forms stay allowed; a run cannot use them anyway, for they need
# CAP_SYS_ADMIN, which a run has nowhere: its capabilities are gone and it cannot make a user
# namespace to get new ones (every other unshare(), and clone() with namespace flags, is
# refused).
_SYS_UNSHARE, _SYS_SETNS, _SYS_MOUNT = _NR["unshare"], _NR["setns"], _NR["mount"]
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
    for nr in sorted(_NR[name] for name in _DENY):
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
    _check(
        libc().prctl(
            ctypes.c_int(PR_SET_SECCOMP),
            ctypes.c_ulong(2),
            ctypes.byref(_FILTER[1]),
            ctypes.c_ulong(0),
            ctypes.c_ulong(0),
        ),
        "seccomp",
    )


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


# --------------------------------------------------------------------------------------------
# Worker state, shared by the forked roles.


class W:
    layers: dict[str, str] = {}
    box_parent = ""  # host directory used for boxes when there is no mount namespace
    mountns = False
    pidns = False
    seccomp_ok = False
    caps_ok = False
    env: dict[str, str] = {}
    spawn_sock: socket.socket | None = None
    zygote_pid = 0  # the candidate zygote, the tester's child: collected before the tester exits
    host = Channel(0)
    run_calls: list[tuple[Any, tuple[Any, ...], str]] = []
    unshare: Any = None  # libc's unshare() and setns(), bound once in the zygote
    setns: Any = None
    nproc = 8
    job = 0
    cfg: dict[str, Any] = {}


def main() -> None:
    # What this process imports at module level is imported by now, while the host's files are
    # still reachable. After pivot_root only the sandbox root is: the few standard-library
    # modules imported lazily below (ast, gc, importlib, tempfile, traceback) load from the
    # Python prefix, which the root carries as a read-only bind mount (local.py, _handshake).
    libc()
    W.host = Channel(0)
    cfg = W.host.recv()
    W.cfg = cfg
    W.env = dict(cfg["env"])
    W.nproc = int(cfg.get("base_processes", 8))
    want = cfg["layers"]
    layers: dict[str, str] = {}
    userns = False
    if not want.get("userns", True):
        layers["userns"] = "disabled"
    else:
        try:
            unshare(CLONE_NEWUSER)
            userns = True
            layers["userns"] = "ok"
        except OSError as exc:
            layers["userns"] = f"unavailable: {exc}"
    send_frame(1, {"userns": userns, "pid": os.getpid()})
    reply = W.host.recv()
    if userns and not reply.get("mapped"):
        layers["userns"] = f"unavailable: {reply.get('error', 'uid map not written')}"
    elif userns:
        # Become the namespace's uid/gid 0, i.e. the unprivileged ids the host mapped us to.
        try:
            os.setgroups([])
        except OSError:
            pass  # setgroups is denied in an unprivileged user namespace
        os.setresgid(0, 0, 0)
        os.setresuid(0, 0, 0)
    privileged = userns and reply.get("mapped") or os.geteuid() == 0
    flags_wanted = [
        ("netns", CLONE_NEWNET),
        ("mountns", CLONE_NEWNS),
        ("pidns", CLONE_NEWPID),
        ("ipcns", CLONE_NEWIPC),
        ("utsns", CLONE_NEWUTS),
    ]
    for name, flag in flags_wanted:
        if not want.get(name, True):
            layers[name] = "disabled"
            continue
        if not privileged:
            layers[name] = "unavailable: needs a user namespace or root"
            continue
        try:
            unshare(flag)
            layers[name] = "ok"
        except OSError as exc:
            layers[name] = f"unavailable: {exc}"
    W.pidns = layers.get("pidns") == "ok"
    W.mountns = layers.get("mountns") == "ok"
    if W.pidns:
        pid = os.fork()
        if pid:
            # Z: stay until Z' ends, then end too (the host sees EOF).
            os.close(0)
            _, status = os.waitpid(pid, 0)
            os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if W.mountns:
        try:
            _build_root(cfg)
            layers["fs"] = "ok"
        except OSError as exc:
            layers["fs"] = f"unavailable: {exc}"
            W.mountns = False
    else:
        layers["fs"] = "unavailable: no mount namespace"
    if not W.mountns:
        W.box_parent = cfg["box_parent"]
    if W.mountns and layers.get("utsns") == "ok":
        try:
            socket.sethostname("sandbox")
        except OSError:
            pass
    layers["seccomp"], layers["caps"] = _probe_child_layers()
    W.seccomp_ok = layers["seccomp"] == "ok"
    W.caps_ok = layers["caps"] == "ok"
    layers["rlimits"] = "ok"
    W.layers = layers
    zc_sock, z_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    zc = os.fork()
    if zc == 0:
        z_sock.close()
        _candidate_zygote(zc_sock)
        os._exit(0)
    zc_sock.close()
    W.zygote_pid = zc
    W.spawn_sock = z_sock
    # The zygote says it is ready, or why it is not (its traceback): a worker whose zygote
    # cannot start never reports ready, so its fault never reaches a candidate's score.
    try:
        first = Channel(z_sock.fileno()).recv(time.monotonic() + 60)
    except (FrameError, OSError, TimeoutError) as exc:
        first = {"failed": f"the candidate zygote ended during its set-up ({type(exc).__name__}: {exc})"}
    if not first.get("ready"):
        _stop_zygote()
        send_frame(1, {"ready": False, "error": str(first.get("failed", first))})
        os._exit(1)
    send_frame(1, {"ready": True, "layers": layers})
    _serve_jobs()


def _build_root(cfg: dict[str, Any]) -> None:
    """New root: a tmpfs holding read-only bind mounts of the system directories, fresh /proc,
    a few device nodes and empty mount points for the per-run tmpfs; the host's /tmp, home and
    everything else are simply not in it."""
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    # Any existing directory works as a mount point in our own mount namespace.
    root = next(d for d in ("/mnt", "/media", "/srv", "/tmp") if os.path.isdir(d))
    mount("sandbox-root", root, "tmpfs", MS_NOSUID | MS_NODEV, "size=16m,mode=0755")
    for d in ("proc", "dev", "tmp", "box", "build", "etc"):
        os.mkdir(f"{root}/{d}", 0o755)
    os.chmod(f"{root}/tmp", 0o1777)
    for src in cfg["binds"]:
        if not os.path.lexists(src):
            continue
        dst = root + src
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if os.path.islink(src):
            os.symlink(os.readlink(src), dst)
            continue
        if os.path.isdir(src):
            os.makedirs(dst, exist_ok=True)
        else:
            open(dst, "w").close()
        mount(src, dst, None, MS_BIND | MS_REC)
        mount(None, dst, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    for name, text in cfg["etc"].items():
        with open(f"{root}/etc/{name}", "w") as f:
            f.write(text)
    for dev in ("null", "zero", "full", "random", "urandom"):
        open(f"{root}/dev/{dev}", "w").close()
        mount(f"/dev/{dev}", f"{root}/dev/{dev}", None, MS_BIND)
    os.symlink("/proc/self/fd", f"{root}/dev/fd")
    for i, n in enumerate(("stdin", "stdout", "stderr")):
        os.symlink(f"/proc/self/fd/{i}", f"{root}/dev/{n}")
    os.mkdir(f"{root}/dev/shm", 0o1777)
    # hidepid: a process sees only processes it could ptrace; the workers are non-dumpable, so
    # a candidate sees itself and its own children, not the tester or the zygote.
    try:
        mount("proc", f"{root}/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=invisible")
    except OSError:
        mount("proc", f"{root}/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=2")
    mount("build", f"{root}/build", "tmpfs", MS_NOSUID | MS_NODEV, f"size={int(cfg['build_mb'])}m,mode=0755")
    os.chdir(root)
    pivot_root(".", ".")
    umount2(".", MNT_DETACH)
    os.chdir("/")
    mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


def _probe_child_layers() -> tuple[str, str]:
    """Try the seccomp filter (with capabilities still held, an unshare() must now fail) and
    capability dropping in a throwaway child."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        res = {}
        try:
            install_seccomp()
            try:
                unshare(CLONE_NEWNS)
                res["seccomp"] = "unavailable: filter installed but unshare() still allowed"
            except OSError:
                res["seccomp"] = "ok"
        except OSError as exc:
            res["seccomp"] = f"unavailable: {exc}"
        try:
            drop_capabilities()
            res["caps"] = "ok"
        except OSError as exc:
            res["caps"] = f"unavailable: {exc}"
        os.write(w, json.dumps(res).encode())
        os._exit(0)
    os.close(w)
    data = b""
    while chunk := os.read(r, 4096):
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    try:
        res = json.loads(data)
    except ValueError:
        return "unavailable: probe crashed", "unavailable: probe crashed"
    return res["seccomp"], res["caps"]


def _reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


class JobTimeout(BaseException):
    """The job's total time ran out while test code was running (raised by SIGALRM)."""


class SandboxFault(BaseException):
    """The sandbox itself failed: the candidate zygote is gone, or a run's set-up failed before
    any candidate code ran. Never the candidate's doing, so never part of its score: the host
    gets a ``fault`` frame (the sample is ``error``, the worker is replaced). A BaseException,
    so that no runner's ``except Exception`` takes it for a failing case."""


_alarm = {"critical": False, "pending": False}


def _on_alarm(signum: int, frame: Any) -> None:
    if _alarm["critical"]:
        _alarm["pending"] = True
        return
    raise JobTimeout()


class _Critical:
    """Defer the job alarm while a protocol exchange is half done (a frame half written, file
    descriptors sent but not yet received): the channel must stay in step for the next job."""

    def __enter__(self) -> None:
        _alarm["critical"] = True

    def __exit__(self, *exc: object) -> None:
        _alarm["critical"] = False
        if _alarm["pending"]:
            _alarm["pending"] = False
            if exc[0] is None:
                raise JobTimeout()


def _ack() -> bool:
    """Early stop: the host's word on whether to go on (it compares outputs, not us)."""
    _flush_host()
    with _Critical():
        return bool(W.host.recv().get("go"))


_OUT: list[bytes] = []


def _send_host(obj: Any) -> None:
    """Queue a frame for the host; :func:`_flush_host` writes the queue in one go when the host
    has to answer (early stop) or the job ends, so a job usually costs the host one wake-up."""
    _OUT.append(_frame(obj))


def _flush_host(critical: bool = True) -> None:
    """Write the queued frames; ``critical=False`` once the job's alarm is off (a deferred
    alarm must not fire after the job)."""
    if _OUT:
        data = b"".join(_OUT)
        _OUT.clear()
        if critical:
            with _Critical():
                _write_all(1, data)
        else:
            _write_all(1, data)


def _set_name(name: bytes) -> None:
    """Name the process (``ps``, ``top`` and profilers show it)."""
    libc().prctl(15, ctypes.c_char_p(name), 0, 0, 0)  # PR_SET_NAME


def _stop_zygote() -> None:
    """Kill and collect the candidate zygote before the tester exits: without a PID namespace
    nothing else would (it would be left ``<defunct>`` under PID 1)."""
    if W.zygote_pid:
        try:
            os.kill(W.zygote_pid, signal.SIGKILL)
            os.waitpid(W.zygote_pid, 0)
        except OSError:
            pass
        W.zygote_pid = 0


def _serve_jobs() -> None:
    """Z' as the tester: one job at a time, test code run here (never candidate code), with a
    SIGALRM at the job's deadline; case frames go to the host as they complete, then "end".

    The tester has hard limits of its own: address space (``tester_memory_mb``: a candidate
    whose values make test code allocate without end gets a MemoryError, its case fails) and
    CPU time over its life (``tester_cpu_s``; a job's share is its soft limit, SIGXCPU ends the
    job as its alarm would, and the host retires a worker past half of it, between jobs)."""
    prctl(PR_SET_DUMPABLE, 0)
    _set_name(b"sbx-tester")
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))  # the tester never forks
    mem = int(W.cfg.get("tester_memory_mb", 4096)) << 20
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    cpu_hard = int(W.cfg.get("tester_cpu_s", 3600))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_hard, cpu_hard))
    if W.caps_ok:
        drop_capabilities()
    if W.seccomp_ok:
        install_seccomp()
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.signal(signal.SIGXCPU, _on_alarm)
    while True:
        try:
            job = W.host.recv()
        except FrameError:
            _stop_zygote()
            os._exit(0)
        if "kind" not in job:
            continue  # a stray early-stop answer for a job that already ended
        timed_out = False
        W.job += 1
        budget = float(job["limits"]["total_s"]) + 0.5
        if job["language"] in ("c", "cpp"):
            budget += float(job["limits"]["compile_s"])
        signal.setitimer(signal.ITIMER_REAL, budget)
        used = _cpu_used()
        resource.setrlimit(resource.RLIMIT_CPU, (min(cpu_hard, math.ceil(used + budget + 1)), cpu_hard))
        try:
            _tester(job)
        except JobTimeout:
            timed_out = True
        except MemoryError:
            # Only candidate data grows the tester's memory (values it returned, items it
            # yielded): the job ends here, and the cases that did not report count as failed.
            _send_host({"exhausted": "the test run hit the tester's memory limit"})
        except SandboxFault as exc:
            _send_host({"fault": str(exc)})
        except BaseException as exc:  # noqa: BLE001 - reported to the host, never swallowed
            try:
                import traceback

                _send_host({"fatal": f"{type(exc).__name__}: {exc}", "tb": traceback.format_exc()[-2000:]})
            except JobTimeout:
                timed_out = True
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        for run in list(Spawned.live):
            run.close()
        _reap()
        _send_host({"end": True, "timed_out": timed_out, "cpu_s": round(_cpu_used(), 3)})
        _flush_host(critical=False)  # the alarm is off


def _cpu_used() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


# --------------------------------------------------------------------------------------------
# Zc / U: candidate processes.


def _candidate_zygote(sock: socket.socket) -> None:
    """Zc: forks one candidate process U per request, each in a new PID namespace, and watches
    it until it ends (T's word, T gone, or the run's wall-clock deadline). Its first frame to T
    is ``ready``, or ``failed`` with the traceback of its set-up."""
    fd = sock.fileno()
    try:
        pidns_fd, scratch_mb, build = _zygote_setup()
    except BaseException:  # noqa: BLE001 - sent to T, which tells the host
        import traceback

        try:
            send_frame(fd, {"failed": traceback.format_exc()[-4000:]})
        except OSError:
            pass
        os._exit(1)
    send_frame(fd, {"ready": True})
    _zygote_loop(sock, pidns_fd, scratch_mb, build)


def _zygote_setup() -> tuple[int, int, str]:
    """The zygote's one-time set-up; returns its PID namespace fd, the scratch size and the
    build directory."""
    if not stat.S_ISCHR(os.stat("/dev/null").st_mode):
        raise OSError(
            "/dev/null is not the null device here (it is not a character device; the sandbox "
            "bind-mounts the host's /dev/null): restore it on the host, e.g. "
            "rm /dev/null && mknod -m 666 /dev/null c 1 3"
        )
    null = os.open("/dev/null", os.O_RDWR)
    os.dup2(null, 0)  # the host's pipes are not for candidates; keep 0-2 occupied
    os.dup2(null, 1)
    os.close(null)
    prctl(PR_SET_DUMPABLE, 0)  # candidates cannot read this process through /proc
    _set_name(b"sbx-zygote")
    if dict(os.environ) != W.env:  # runs inherit it: the scrubbed environment, nothing else
        os.environ.clear()
        os.environ.update(W.env)
    pidns_fd = os.open("/proc/self/ns/pid", os.O_RDONLY) if W.pidns else -1
    W.unshare, W.setns = libc().unshare, libc().setns
    import gc
    import importlib

    # Modules candidates import all the time (HumanEval prompts start with "from typing import
    # List"): imported once here, inherited by every run instead of loaded by each.
    for name in W.cfg.get("preload", ()):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a module this interpreter lacks is simply not preloaded
            pass
    scratch_mb = 0
    if W.mountns:  # mounted before the filter goes on, which only lets a remount through
        scratch_mb = 64
        _mount_scratch(scratch_mb, remount=False)
    if W.seccomp_ok or W.caps_ok:
        if W.caps_ok:
            lock_capabilities()  # the zygote keeps what it holds; runs inherit the locks
        # no_new_privs is inherited across fork(): set once here, not by each run.
        prctl(PR_SET_NO_NEW_PRIVS, 1)
        if W.seccomp_ok:
            # Once, here: every run inherits the filter (attaching one costs each run a BPF
            # compile and a few hundred microseconds). See seccomp_program for the zygote's
            # own exceptions.
            install_seccomp()
        W.run_calls = _run_calls()
    gc.collect()
    libc().malloc_trim(0)  # give freed heap back: every page left here is copied per run
    gc.freeze()  # the collector leaves inherited objects alone: fewer copy-on-write faults per run
    build = "/build" if W.mountns else os.path.join(W.box_parent, "build")
    if W.mountns and not os.listdir(build):
        _EMPTY[build] = os.stat(build).st_size
    return pidns_fd, scratch_mb, build


def _zygote_loop(sock: socket.socket, pidns_fd: int, scratch_mb: int, build: str) -> None:
    """Zc's requests: one run per request, until T hangs up."""
    fd = sock.fileno()
    last_job = None
    plans: dict[tuple[Any, ...], tuple[tuple[int, tuple[int, int]], ...]] = {}
    chan = Channel(fd)
    while True:
        try:
            req = chan.recv_trusted()
        except FrameError:
            return
        if req.get("job") != last_job:
            # A new job: nothing a previous job's runs left in /build survives into it.
            _clear_build(build)
            last_job = req.get("job")
        try:
            lim = req["limits"]
            key = (lim["cpu_s"], lim["memory_mb"], lim["file_mb"], lim["processes"])
            plan = plans.get(key)
            if plan is None:
                if len(plans) > 64:
                    plans.clear()
                plan = plans[key] = rlimit_plan(lim, int(lim["processes"]) + W.nproc)
            if W.mountns:
                want = int(lim["disk_mb"])
                if want != scratch_mb:
                    _mount_scratch(want, remount=scratch_mb > 0)
                    scratch_mb = want
            _spawn(sock, req, plan, pidns_fd)
        except OSError as exc:
            socket.send_fds(sock, [b"E"], [])
            send_frame(fd, {"error": f"spawn failed: {exc}"})


def _run_calls() -> list[tuple[Any, tuple[Any, ...], str]]:
    """The kernel calls each run makes itself: losing its capabilities (the zygote keeps its
    own), with the ctypes arguments built once, here in the zygote: building them in every run
    would write to (and so copy) pages the runs otherwise share. The zygote has already locked
    the capability bounding set, set ``no_new_privs`` and installed the seccomp filter, all of
    which every run inherits."""
    c = libc()
    calls: list[tuple[Any, tuple[Any, ...], str]] = []
    if W.caps_ok:
        args = (ctypes.c_long(_NR["capset"]), ctypes.byref(_CAP_HEADER), ctypes.byref(_CAP_DATA))
        calls.append((c.syscall, args, "capset"))
    return calls


def _mount_scratch(size_mb: int, remount: bool) -> None:
    """The scratch dir (/box) and /tmp: tmpfs owned by the candidate zygote, wiped after every
    run (cheaper than a mount namespace per run, which this kernel makes cost milliseconds)."""
    for path, mode in (("/box", "0777"), ("/tmp", "1777")):
        opts = f"size={size_mb}m,nr_inodes=4096,mode={mode}"
        if remount:
            mount(None, path, None, MS_REMOUNT | MS_NOSUID | MS_NODEV, opts)
        else:
            mount("scratch", path, "tmpfs", MS_NOSUID | MS_NODEV, opts)
        if not os.listdir(path):
            _EMPTY[path] = os.stat(path).st_size


def _wipe(path: str, mode: int) -> None:
    """Empty one of the sandbox's own tmpfs directories and restore its mode, with one
    ``stat`` when there is nothing to do: a tmpfs directory's size grows with every entry in
    it, so an empty one has the size it had when it was mounted (:data:`_EMPTY`)."""
    st = os.stat(path)
    if st.st_size != _EMPTY.get(path):
        _rm_tree(path, keep=True)
        if path not in _EMPTY or os.listdir(path):
            _EMPTY.pop(path, None)  # not what we thought: never trust the size for it again
        else:
            _EMPTY[path] = os.stat(path).st_size
    if st.st_mode & 0o7777 != mode:  # a run owns the directory, so it can chmod it
        os.chmod(path, mode)


_EMPTY: dict[str, int] = {}


def _clear_build(build: str) -> None:
    if W.mountns:
        _wipe(build, 0o755)
    else:
        _clear_dir(build)


def _clear_dir(path: str) -> None:
    """Remove everything inside ``path`` (which is kept), without importing shutil."""
    if not os.path.isdir(path):
        os.makedirs(path, exist_ok=True)
        return
    _rm_tree(path, keep=True)


def _rm_tree(path: str, keep: bool = False) -> None:
    try:
        entries = list(os.scandir(path))
    except OSError:
        entries = []
    for e in entries:
        try:
            if e.is_dir(follow_symlinks=False):
                _rm_tree(e.path)
            else:
                os.unlink(e.path)
        except OSError:
            pass
    if not keep:
        try:
            os.rmdir(path)
        except OSError:
            pass


_SCM = (socket.SOL_SOCKET, socket.SCM_RIGHTS)


def _spawn(sock: socket.socket, req: dict[str, Any], plan: Any, pidns_fd: int) -> None:
    """Fork the run U and hand T its descriptors, then watch it. Every page this process
    writes between two forks is a page fault (fork write-protects them all), so this path is
    kept to plain descriptors and system calls."""
    status_r, status_w = os.pipe()
    ctrl_r, ctrl_w = os.pipe()
    rpc = req["mode"] == "rpc"
    if rpc:  # a socket both ways for RPC; a pipe for program output otherwise
        a, b = _socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        io_t, io_u = a.detach(), b.detach()
    else:
        io_t, io_u = os.pipe()
    if W.mountns:
        box = "/box"
    else:
        import tempfile

        box = tempfile.mkdtemp(dir=W.box_parent, prefix="box-")
    if W.pidns:
        _check(W.unshare(CLONE_NEWPID), "unshare")  # only the next child enters it
    try:
        pid = os.fork()
    except OSError:
        if W.pidns:
            _check(W.setns(pidns_fd, CLONE_NEWPID), "setns")
        raise
    if pid == 0:
        code = 120
        try:  # the zygote's other descriptors are closed in _candidate (closerange)
            _candidate(req, plan, box, status_w, -1 if rpc else io_u, io_u if rpc else -1)
        except BaseException as exc:  # noqa: BLE001 - reported through the status pipe
            # Only the run's set-up can get here with status_w open: it is closed before any
            # candidate code runs, so nothing written here can come from the candidate.
            try:
                what = f"{type(exc).__name__}: {exc}"
                os.write(status_w, json.dumps({"fault": f"a run's set-up failed: {what}"}).encode() + b"\n")
            except OSError:
                pass
        os._exit(code)
    os.close(io_u)
    try:
        if W.pidns:  # back to our own namespace for children, or the next unshare() is refused
            _check(W.setns(pidns_fd, CLONE_NEWPID), "setns")
        sock.sendmsg(_K, [(*_SCM, struct.pack("3i", status_r, ctrl_w, io_t))])
    except BaseException:
        os.kill(pid, signal.SIGKILL)  # never leave a run that nobody watches
        os.waitpid(pid, 0)
        for f in (status_r, status_w, ctrl_r, ctrl_w, io_t):
            os.close(f)
        raise
    os.close(status_r)
    os.close(ctrl_w)
    os.close(io_t)
    _supervise(pid, req, status_w, ctrl_r, box)


_K = [b"k"]


def _supervise(pid: int, req: dict[str, Any], status_w: int, ctrl_r: int, box: str) -> None:
    pidfd = os.pidfd_open(pid)
    left = float(req["limits"]["wall_s"])
    deadline = time.monotonic() + left
    killed = b""
    while True:
        r, _, _ = select.select([pidfd, ctrl_r], [], [], left)
        if pidfd in r:
            break
        if ctrl_r in r:
            os.read(ctrl_r, 1)  # a byte or EOF: either way T wants it gone
            killed = b"killed"
            if select.select([pidfd], [], [], 0)[0]:
                killed = b""
                break  # it had already ended on its own
        else:
            left = deadline - time.monotonic()
            if left > 0:
                continue  # woken early (a signal): wait out the rest
            killed = b"timeout"
        try:
            if W.pidns:
                os.kill(pid, signal.SIGKILL)  # PID 1 of the run: the kernel kills the rest
            else:
                os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
        break
    _, status, ru = os.wait4(pid, 0)
    os.close(pidfd)
    os.close(ctrl_r)
    if not W.pidns:
        try:
            os.killpg(pid, signal.SIGKILL)  # the best we can do without a PID namespace
        except OSError:
            pass
    if W.mountns:
        # Every process of the run is gone: nothing can race the wipe. A run may have changed
        # the directories' modes (it owns them); the next one gets them as they were.
        for d, mode in _SCRATCH:
            _wipe(d, mode)
    else:
        _rm_tree(box)
    line = b"S %d %d %s %.4f %d %d\n" % (
        os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1,
        os.WTERMSIG(status) if os.WIFSIGNALED(status) else 0,
        killed or b"-",
        ru.ru_utime + ru.ru_stime,
        ru.ru_maxrss,
        ru.ru_minflt,
    )  # one bytes object, not a dict and its JSON (see _parse_status)
    try:
        os.write(status_w, line)
    except OSError:
        pass
    os.close(status_w)


_SCRATCH = (("/box", 0o777), ("/tmp", 0o1777))


def _candidate(req: dict[str, Any], plan: Any, box: str, status_w: int, out_w: int, rpc_fd: int) -> None:
    """U: the candidate's process, PID 1 of its own namespace. Private mounts, descriptors,
    limits and filters first; then the candidate runs, holding no descriptor but its own."""
    # Every page this process writes is copied from the zygote (about 10 us each on a VM):
    # the setup below is kept to what cannot be done once in the zygote.
    # Our pipes must not be 0-3, which are rearranged below (in practice they never are: the
    # zygote's own 0-2 are taken and its channel to the tester came first).
    if 0 <= status_w <= 3:
        status_w = fcntl.fcntl(status_w, fcntl.F_DUPFD, 10)
    if 0 <= out_w <= 3:
        out_w = fcntl.fcntl(out_w, fcntl.F_DUPFD, 10)
    if 0 <= rpc_fd <= 3:
        rpc_fd = fcntl.fcntl(rpc_fd, fcntl.F_DUPFD, 10)
    os.setsid()  # own session and process group: kill(0, ...) reaches only this run
    try:
        for name, text in (req.get("files") or {}).items():
            with open(os.path.join(box, name), "w") as f:
                f.write(text)
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT):
            raise
        # The program (its source, for the languages that write it out) does not fit the
        # run's disk limit: the candidate's doing, a failed case like any other.
        os.write(status_w, json.dumps({"setup_error": f"the program does not fit the disk limit: {exc}"}).encode())
        os._exit(120)
    # The zygote's descriptors 0 and 1 are /dev/null (see main); 2 may be the host's stderr.
    # dup2() makes the copies inheritable, as exec mode needs.
    os.dup2(out_w if out_w >= 0 and req.get("stderr_to_stdout") else 1, 2)
    if out_w >= 0:
        os.dup2(out_w, 1)
    if req.get("stdin"):
        stdin_path = os.path.join(box, ".stdin")
        with open(stdin_path, "wb") as fb:
            fb.write(req["stdin"].encode())
        fd_in = os.open(stdin_path, os.O_RDONLY)
        os.unlink(stdin_path)
        os.dup2(fd_in, 0)
    if rpc_fd >= 0:
        os.dup2(rpc_fd, 3)
        rpc_fd = 3
    keep = 4 if rpc_fd == 3 else 3
    os.closerange(keep, status_w)  # everything else the zygote held: its channel, other pipes
    os.closerange(status_w + 1, 1 << 16)
    os.chdir(box)
    for which, pair in plan:  # see rlimit_plan
        resource.setrlimit(which, pair)
    for fn, args, what in W.run_calls:  # capset, then the seccomp filter (see _run_calls)
        _check(fn(*args), what)
    os.close(status_w)  # from here on nothing but the candidate's own descriptors
    mode = req["mode"]
    if mode == "exec":
        argv = req["argv"]
        try:
            os.execve(argv[0], argv, W.env)
        except OSError as exc:
            os.write(1, f"cannot execute {argv[0]}: {exc}\n".encode())
            os._exit(127)
    code = req["code"]
    if type(code) is bytes:  # compiled by the tester (see _candidate_code)
        code = marshal.loads(code)
    if mode == "main":
        _run_main(code)
    if mode == "rpc":
        _rpc_server(code, rpc_fd)
    os._exit(0)


_CodeType = type(_no_default.__code__)


_COMPILE_HERE_MAX = 256 << 10  # characters of candidate source the tester compiles itself


def _candidate_code(job: dict[str, Any], filename: str) -> bytes | None:
    """The candidate's Python source compiled here in the tester, as ``marshal`` data for its
    run (None when it does not compile: the run then compiles it and fails exactly as Python
    would). Compiling runs none of the candidate's code; doing it here, once per job, spares
    every run the compiler's copy-on-write page faults and a stdio job the compile per case."""
    if "_compiled" not in job:
        job["_compiled"] = None
        if len(job["code"]) <= _COMPILE_HERE_MAX:  # a giant program compiles in its run, limited
            try:
                job["_compiled"] = marshal.dumps(compile(job["code"], filename, "exec", dont_inherit=True))
            except (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError):
                pass
    compiled: bytes | None = job["_compiled"]
    return compiled


def _run_main(code: Any) -> None:
    """Run a Python program as ``python main.py`` would, with stdout flushed at the end."""
    sys.stdin = open(0, closefd=False)
    sys.stdout = open(1, "w", closefd=False)
    sys.stderr = open(2, "w", closefd=False)
    sys.argv = ["main.py"]
    sys.path[:0] = ["/box"]
    g = {"__name__": "__main__", "__builtins__": builtins, "__file__": "main.py"}
    status = 0
    try:
        exec(code if type(code) is _CodeType else compile(code, "main.py", "exec", dont_inherit=True), g)
    except SystemExit as exc:
        c = exc.code
        status = c if isinstance(c, int) else (0 if c is None else 1)
        if c is not None and not isinstance(c, int):
            print(c, file=sys.stderr)
    except BaseException:  # noqa: BLE001 - reported as the program's stderr and exit status
        import traceback

        traceback.print_exc()
        status = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # noqa: BLE001
        pass
    os._exit(status & 0xFF)


def _rpc_server(code: Any, fd: int) -> None:
    """Load the candidate module, then answer T's requests: calls, attribute reads, iteration.
    Results go back as plain data or as handles; T never sees a candidate object."""
    objects: dict[int, Any] = {}

    def handle(x: Any) -> int:
        objects[id(x)] = x
        return id(x)

    sys.argv = ["solution.py"]
    sys.path[:0] = ["/box"]
    g: dict[str, Any] = {"__name__": "solution", "__builtins__": builtins}
    try:
        exec(code if type(code) is _CodeType else compile(code, "solution.py", "exec", dont_inherit=True), g)
    except BaseException as exc:  # noqa: BLE001 - SystemExit included: loading must finish
        send_frame(fd, {"load_error": _exc_info(exc)})
        os._exit(0)
    names: dict[str, Any] = {}
    for k, v in list(g.items()):
        if k.startswith("__"):
            continue
        if type(v).__name__ == "module":
            names[k] = {"m": getattr(v, "__name__", k)}
            continue
        try:
            names[k] = encode(v, handle)
        except (ValueError, RecursionError):
            names[k] = {"h": [handle(v), _type_name(v), callable(v)]}
    send_frame(fd, {"globals": names})

    def value(x: Any) -> Any:
        return decode(x, lambda i, t, c: objects[i])

    chan = Channel(fd)
    while True:
        try:
            req = chan.recv_trusted()
        except (FrameError, OSError):
            os._exit(0)
        try:
            op = req["op"]
            obj = objects[req["h"]]
            if op == "call":
                args = [value(a) for a in req["a"]]
                kwargs = {k: value(v) for k, v in req["k"].items()}
                res: Any = obj(*args, **kwargs)
            elif op == "attr":
                res = getattr(obj, req["n"])
            elif op == "iter":
                res = iter(obj)
            elif op == "next":
                try:
                    res = next(obj)
                except StopIteration:
                    send_frame(fd, {"stop": True})
                    continue
            elif op == "len":
                res = len(obj)
            elif op == "item":
                res = obj[value(req["k"])]
            elif op == "contains":
                res = value(req["k"]) in obj
            else:
                raise ValueError(f"unknown op {op!r}")
            try:
                out = {"v": encode(res, handle)}
            except (ValueError, RecursionError) as exc:
                out = {"e": _exc_info(exc)}
        except BaseException as exc:  # noqa: BLE001 - the candidate's exception, sent to T
            out = {"e": _exc_info(exc)}
        send_frame(fd, out)


def _exc_info(exc: BaseException) -> list[str]:
    t = type(exc)
    name = t.__name__ if t.__module__ == "builtins" else "RemoteError"
    try:
        msg = str(exc)[:500]
    except BaseException:  # noqa: BLE001 - a hostile __str__
        msg = "<unprintable>"
    import traceback

    tb = traceback.extract_tb(exc.__traceback__)
    where = f" (solution.py line {tb[-1].lineno})" if tb and tb[-1].filename == "solution.py" else ""
    return [name, msg, f"{t.__name__}: {msg}{where}"]


# --------------------------------------------------------------------------------------------
# T: the tester.


def _parse_status(line: bytes) -> dict[str, Any]:
    """The zygote's status line for a run that ended (see _supervise)."""
    _, ex, sig, killed, cpu, rss, flt = line.split()
    return {
        "exit": None if ex == b"-1" else int(ex),
        "signal": int(sig) or None,
        "killed": "" if killed == b"-" else killed.decode(),
        "cpu_s": float(cpu),
        "maxrss_kb": int(rss),
        "minflt": int(flt),
    }


class Spawned:
    """T's view of one candidate run: status pipe, kill switch, output pipe or RPC socket."""

    live: set[Spawned] = set()

    def __init__(self, req: dict[str, Any]) -> None:
        sock = W.spawn_sock
        assert sock is not None
        req["job"] = W.job
        self._status: dict[str, Any] | None = None
        self._closed = False
        with _Critical():  # registered in `live` before a deferred job alarm can fire
            try:
                send_trusted(sock.fileno(), req)
                msg, fds, _, _ = socket.recv_fds(sock, 1, 4)
            except OSError as exc:
                raise SandboxFault(f"the candidate zygote is gone ({type(exc).__name__}: {exc})") from None
            if msg != b"k" or len(fds) < 3:
                for f in fds:
                    os.close(f)
                if not msg:
                    raise SandboxFault("the candidate zygote is gone (it closed its socket)")
                try:
                    why = recv_frame(sock.fileno(), time.monotonic() + 10).get("error")
                except (FrameError, OSError, TimeoutError) as exc:
                    why = f"no reason given ({type(exc).__name__})"
                raise SandboxFault(f"the candidate zygote could not start a run: {why}")
            self.status_fd, self.ctrl_fd, self.io_fd = fds[0], fds[1], fds[2]
            self.chan = Channel(self.io_fd)
            self.deadline = time.monotonic() + float(req["limits"]["wall_s"]) + 0.5
            Spawned.live.add(self)

    def kill(self) -> None:
        try:
            os.write(self.ctrl_fd, b"k")
        except OSError:
            pass

    def status(self) -> dict[str, Any]:
        """Wait for the run to end and return how it ended (exit, signal, killed, cpu_s).
        Raises :class:`SandboxFault` when the sandbox, not the run, failed: the run's set-up
        failed before any candidate code ran, or the zygote that watched it died."""
        st = self._wait()
        if "fault" in st:
            raise SandboxFault(st["fault"])
        return st

    def _wait(self) -> dict[str, Any]:
        if self._status is None:
            buf = b""
            while True:
                chunk = os.read(self.status_fd, 4096)
                if not chunk:
                    break
                buf += chunk
            st: dict[str, Any] = {}
            for line in buf.splitlines():
                if line.startswith(b"S "):
                    st.update(_parse_status(line))
                    continue
                try:
                    st.update(json.loads(line))
                except ValueError:
                    continue
            if "setup_error" in st:
                st["error"] = st["setup_error"]
            elif not st:
                st = {"fault": "the candidate zygote died while it watched a run"}
            self._status = st
        return self._status

    def close(self) -> None:
        if self._closed:
            return
        self.kill()
        self._wait()
        self._closed = True
        Spawned.live.discard(self)
        for f in (self.status_fd, self.ctrl_fd, self.io_fd):
            try:
                os.close(f)
            except OSError:
                pass


def _tester(job: dict[str, Any]) -> None:
    kind = job["kind"]
    lang = job["language"]
    send = _send_host
    if lang in ("c", "cpp"):
        ok = _compile(job, send)
        if not ok:
            return
    job_deadline = time.monotonic() + float(job["limits"]["total_s"])
    if kind == "stdio":
        _run_stdio(job, send, job_deadline)
    elif kind == "call":
        _run_call(job, send, job_deadline)
    elif kind == "assert":
        if lang == "python":
            _run_assert(job, send, job_deadline)
        else:
            _run_assert_program(job, send, job_deadline)
    else:
        send({"fatal": f"unknown test kind {kind!r}"})


def _limits(job: dict[str, Any], wall: float | None = None) -> dict[str, Any]:
    lim = dict(job["limits"])
    if job["language"] == "javascript":
        # V8 reserves gigabytes of address space up front; its heap is capped by a flag instead.
        lim["memory_mb"] = int(lim["memory_mb"]) + 8192
    if wall is not None:
        lim["wall_s"] = wall
    return lim


def _compile(job: dict[str, Any], send: Any) -> bool:
    lang = job["language"]
    src = "main.c" if lang == "c" else "main.cpp"
    out = "/build/a.out" if W.mountns else os.path.join(W.box_parent, "build", "a.out")
    compiler = job["toolchain"]["compiler"]
    argv = [compiler, *job["toolchain"]["flags"], src, "-o", out, *job["toolchain"]["libs"]]
    lim = _limits(job, float(job["limits"]["compile_s"]))
    lim["memory_mb"] = max(int(lim["memory_mb"]), 2048)
    lim["cpu_s"] = float(job["limits"]["compile_s"])
    code = job["code"]
    run = Spawned(
        {"mode": "exec", "argv": argv, "limits": lim, "files": {src: code}, "build_rw": True, "stderr_to_stdout": True}
    )
    text, _ = _read_output(run, 64 << 10)
    st = run.status()
    run.close()
    if st.get("exit") != 0:
        send({"compile_error": text.decode(errors="replace")[-2000:], "status": st})
        return False
    return True


def _read_output(run: Spawned, cap: int) -> tuple[bytes, bool]:
    """Read the run's stdout until EOF, the cap or the deadline; then the run is killed."""
    buf = bytearray()
    truncated = False
    while True:
        left = run.deadline - time.monotonic()
        if left <= 0:
            break
        r, _, _ = select.select([run.io_fd], [], [], left)
        if not r:
            break
        chunk = os.read(run.io_fd, 1 << 16)
        if not chunk:
            break
        buf += chunk
        if len(buf) > cap:
            truncated = True
            del buf[cap:]
            break
    run.kill()
    return bytes(buf), truncated


def _program_argv(job: dict[str, Any]) -> tuple[str, list[str] | None, dict[str, str]]:
    lang = job["language"]
    if lang == "python":
        return "main", None, {}
    if lang in ("c", "cpp"):
        return "exec", ["/build/a.out" if W.mountns else os.path.join(W.box_parent, "build", "a.out")], {}
    if lang == "javascript":
        heap = f"--max-old-space-size={int(job['limits']['memory_mb'])}"
        return "exec", [job["toolchain"]["node"], heap, "main.js"], {"main.js": job["code"]}
    raise ValueError(f"unsupported language {lang!r}")


def _run_stdio(job: dict[str, Any], send: Any, job_deadline: float) -> None:
    mode, argv, files = _program_argv(job)
    for i, case in enumerate(job["cases"]):
        left = job_deadline - time.monotonic()
        if left <= 0:
            send({"case": i, "skipped": "job time limit reached"})
            continue
        wall = min(float(job["limits"]["wall_s"]), left)
        code = _candidate_code(job, "main.py") if mode == "main" else None
        req = {"mode": mode, "argv": argv, "code": code or job["code"], "files": files, "limits": _limits(job, wall)}
        req["stdin"] = case.get("input", "")
        run = Spawned(req)
        out, truncated = _read_output(run, int(job["limits"]["output_bytes"]))
        st = run.status()
        run.close()
        send({"case": i, "stdout": out.decode(errors="replace"), "truncated": truncated, "status": st})
        if job.get("early_stop") and not _ack():
            return


# A top-level statement starts in column 0, or follows a semicolon or a backslash line
# continuation (an indented ``assert`` is inside a block, never top-level); test code where
# nothing matches has no top-level assert. A match anywhere else (in a string, after a ``;``
# inside a block) only sends the test down the slower, exact path.
_TOP_ASSERT = re.compile(r"^\f*assert\b|(?:;|\\\r?\n)[ \t\f]*(?:\\\r?\n[ \t\f]*)*assert\b", re.MULTILINE)


class RemoteError(Exception):
    """An exception raised by candidate code that is not a builtin exception type."""


class CandidateGone(Exception):
    """The candidate's process died or stopped answering."""


class Remote:
    """A proxy in T for an object living in U. Calls, attribute reads and iteration go to U;
    results come back as plain data. Equality is identity and truthiness is refused, so an
    object whose ``__eq__``/``__bool__`` always says yes cannot pass a check."""

    __slots__ = ("_rpc", "_h", "_t", "_c")

    def __init__(self, rpc: RPC, h: int, t: str, c: bool) -> None:
        object.__setattr__(self, "_rpc", rpc)
        object.__setattr__(self, "_h", h)
        object.__setattr__(self, "_t", t)
        object.__setattr__(self, "_c", c)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._rpc.request({"op": "call", "h": self._h, "a": [self._rpc.enc(a) for a in args],
                                  "k": {k: self._rpc.enc(v) for k, v in kwargs.items()}})  # fmt: skip

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name not in ("__name__", "__doc__", "__qualname__"):
            raise AttributeError(name)
        return self._rpc.request({"op": "attr", "h": self._h, "n": name})

    def __iter__(self) -> Any:
        return self._rpc.request({"op": "iter", "h": self._h})

    def __next__(self) -> Any:
        return self._rpc.request({"op": "next", "h": self._h})

    def __len__(self) -> int:
        n = self._rpc.request({"op": "len", "h": self._h})
        if type(n) is not int:
            raise TypeError("len() of a candidate object returned a non-int")
        return n

    def __getitem__(self, key: Any) -> Any:
        return self._rpc.request({"op": "item", "h": self._h, "k": self._rpc.enc(key)})

    def __contains__(self, key: Any) -> bool:
        v = self._rpc.request({"op": "contains", "h": self._h, "k": self._rpc.enc(key)})
        if type(v) is not bool:
            raise TypeError("'in' on a candidate object returned a non-bool")
        return v

    def __bool__(self) -> bool:
        raise TypeError(f"truth value of a candidate's {self._t} object is not plain data")

    def __eq__(self, other: object) -> bool:
        return self is other

    def __hash__(self) -> int:
        return hash(self._h)

    def __repr__(self) -> str:
        return f"<candidate {self._t}>"


class RPC:
    """T's end of the channel to U, with a per-case deadline."""

    def __init__(self, job: dict[str, Any]) -> None:
        self.job = job
        self.run: Spawned | None = None
        self.deadline = 0.0
        self.globals: dict[str, Any] = {}
        self.load_error: str | None = None

    def start(self, wall: float) -> None:
        req = {
            "mode": "rpc",
            "code": _candidate_code(self.job, "solution.py") or self.job["code"],
            "limits": _limits(self.job, wall),
        }
        self.run = Spawned(req)
        self.deadline = time.monotonic() + wall
        try:
            first = self.run.chan.recv(self.deadline, int(self.job["limits"]["output_bytes"]))
        except (FrameError, OSError, TimeoutError) as exc:
            self.stop()
            raise CandidateGone(self._why(exc, "while loading")) from None
        if "load_error" in first:
            self.load_error = first["load_error"][2]
            self.globals = {}
            return
        self.load_error = None
        ns: dict[str, Any] = {}
        for k, v in first["globals"].items():
            if isinstance(v, dict) and "m" in v and len(v) == 1:
                try:
                    ns[k] = __import__(str(v["m"]))
                    for part in str(v["m"]).split(".")[1:]:
                        ns[k] = getattr(ns[k], part)
                except Exception:  # noqa: BLE001 - an unimportable module stays out
                    continue
            else:
                ns[k] = decode(v, self._handle)
        self.globals = ns

    def _why(self, exc: BaseException, when: str) -> str:
        if isinstance(exc, TimeoutError):
            return f"time limit exceeded {when}"
        st = self.run.status() if self.run is not None else {}
        if st.get("error"):
            return f"{st['error']} {when}"
        if st.get("killed") == "timeout":
            return f"time limit exceeded {when}"
        if st.get("signal"):
            name = (
                signal.Signals(st["signal"]).name if st["signal"] in signal.Signals._value2member_map_ else st["signal"]
            )
            return f"candidate process killed by {name} {when}"
        if st.get("exit") is not None:
            return f"candidate process exited with status {st['exit']} {when}"
        return f"candidate process stopped answering {when}: {exc}"

    def stop(self) -> dict[str, Any]:
        st: dict[str, Any] = {}
        if self.run is not None:
            run, self.run = self.run, None
            run.close()
            st = run.status()
        return st

    def _handle(self, h: int, t: str, c: bool) -> Remote:
        return Remote(self, h, t, c)

    def enc(self, x: Any) -> Any:
        def handle(v: Any) -> Any:
            if isinstance(v, Remote) and v._rpc is self:
                return v._h
            raise TypeError(f"cannot pass a {type(v).__name__} to candidate code (only plain data)")

        out = encode(x, handle)
        return out

    def request(self, msg: dict[str, Any]) -> Any:
        if self.run is None:
            raise CandidateGone("candidate process is not running")
        try:
            send_trusted(self.run.io_fd, msg)
            ans = self.run.chan.recv(self.deadline, int(self.job["limits"]["output_bytes"]))
        except (FrameError, OSError, TimeoutError) as exc:
            why = self._why(exc, "during a call")
            self.stop()
            raise (TimeoutError(why) if "time limit" in why else CandidateGone(why)) from None
        if "stop" in ans:
            raise StopIteration
        if "e" in ans:
            name, msg_, _ = ans["e"]
            cls = getattr(builtins, str(name), None)
            if isinstance(cls, type) and issubclass(cls, Exception) and cls.__module__ == "builtins":
                raise cls(msg_)
            raise RemoteError(f"{name}: {msg_}")
        try:
            return decode(ans["v"], self._handle)
        except (ValueError, TypeError, KeyError, RecursionError) as exc:
            raise CandidateGone(f"malformed answer from candidate process: {exc}") from None


def _case_wall(job: dict[str, Any], job_deadline: float) -> float:
    return max(0.05, min(float(job["limits"]["wall_s"]), job_deadline - time.monotonic()))


def _describe(exc: BaseException) -> str:
    if isinstance(exc, AssertionError):
        return "assertion failed" + (f": {exc}" if str(exc) else "")
    return f"{type(exc).__name__}: {exc}"[:500]


def _run_call(job: dict[str, Any], send: Any, job_deadline: float) -> None:
    rpc = RPC(job)
    fn_name = job["fn_name"]
    for i, case in enumerate(job["cases"]):
        if time.monotonic() >= job_deadline:
            send({"case": i, "skipped": "job time limit reached"})
            continue
        wall = _case_wall(job, job_deadline)
        res: dict[str, Any] = {"case": i}
        try:
            if rpc.run is None:
                rpc.start(wall)
            rpc.deadline = time.monotonic() + wall
            if rpc.load_error:
                res["error"] = f"solution failed to load: {rpc.load_error}"
            else:
                target = rpc.globals.get(fn_name)
                if target is None:
                    res["error"] = f"solution defines no {fn_name!r}"
                elif not isinstance(target, Remote) or not target._c:
                    res["error"] = f"{fn_name!r} is not callable"
                else:
                    args = [decode(a) for a in case["args"]]
                    kwargs = {k: decode(v) for k, v in case.get("kwargs", {}).items()}
                    val = target(*args, **kwargs)
                    res["value"] = encode(val)
        except TimeoutError as exc:
            res["error"] = str(exc)
            res["timeout"] = True
        except CandidateGone as exc:
            res["error"] = str(exc)
        except Exception as exc:  # noqa: BLE001 - the candidate raised: this case fails
            res["error"] = _describe(exc)
        send(res)
        if job.get("early_stop") and not _ack():
            break
    rpc.stop()


_TESTS: dict[str, list[tuple[bool, Any]]] = {}
_TESTS_MAX = 256  # test texts kept compiled, each at most _TESTS_MAX_CHARS long
_TESTS_MAX_CHARS = 1 << 16


def _test_groups(src: str) -> list[tuple[bool, Any]]:
    """Test code as (is_case, code object) pairs: the statements before the first top-level
    ``assert`` are setup, and every statement from it on is a case (an ``assert`` or not, so a
    failing ``check(add)`` after the last assert fails a case); with no top-level assert
    (HumanEval's ``check(candidate)``) the whole text is one case. Compiled once per test
    text and kept (the newest
    :data:`_TESTS_MAX`, up to 64 KiB of text each): in GRPO every completion of a prompt is
    tested by the same code, and a code object is never changed by running it."""
    groups = _TESTS.pop(src, None)  # popped and re-inserted: dict order is recency
    if groups is None:
        if _TOP_ASSERT.search(src) is None:
            # No statement can be a top-level assert: one case, compiled from the text
            # (parsing it into Python AST objects first would double the cost).
            groups = [(True, compile(src, "tests.py", "exec", dont_inherit=True))]
        else:
            import ast

            body = ast.parse(src, "tests.py").body
            if not any(isinstance(s, ast.Assert) for s in body):
                groups = [
                    (True, compile(ast.Module(body=body, type_ignores=[]), "tests.py", "exec", dont_inherit=True))
                ]
            else:
                # Setup is what comes before the first assert; every statement from it on is a
                # case (grpo_rewards.verifiers.code.assert_case_count counts them the same way).
                first = next(i for i, s in enumerate(body) if isinstance(s, ast.Assert))
                groups = [
                    (
                        i >= first,
                        compile(ast.Module(body=[s], type_ignores=[]), "tests.py", "exec", dont_inherit=True),
                    )
                    for i, s in enumerate(body)
                ]
        if len(src) > _TESTS_MAX_CHARS:
            return groups
        if len(_TESTS) >= _TESTS_MAX:
            del _TESTS[next(iter(_TESTS))]
    _TESTS[src] = groups
    return groups


def _run_assert(job: dict[str, Any], send: Any, job_deadline: float) -> None:
    """Run Python test code in T against proxies of the candidate's module in U. Statements
    before the first top-level ``assert`` are setup, every statement from it on is a case (a
    test with no top-level assert, e.g. HumanEval's ``check(candidate)``, is one case)."""
    try:
        groups = _test_groups(job["test_code"])
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        if isinstance(exc, SyntaxError):
            why = f"does not parse: line {exc.lineno}: {exc.msg}"
        else:
            why = f"does not compile: {type(exc).__name__}: {exc}"
        send({"bad_tests": f"assert test code {why}"})
        return
    rpc = RPC(job)
    ns: dict[str, Any] = {}
    case = 0
    setup_error: str | None = None
    stop = False

    def ensure() -> None:
        nonlocal ns
        if rpc.run is None:
            rpc.start(_case_wall(job, job_deadline))
            ns = {"__name__": "__main__", "__builtins__": builtins}
            ns.update(rpc.globals)
            if rpc.load_error:
                raise CandidateGone(f"solution failed to load: {rpc.load_error}")

    for is_case, code in groups:
        if not is_case and setup_error is not None:
            continue
        res: dict[str, Any] = {"case": case}
        if stop or time.monotonic() >= job_deadline:
            if is_case:
                res["skipped"] = "stopped early" if stop else "job time limit reached"
                send(res)
                case += 1
            continue
        try:
            if setup_error is not None:
                raise RuntimeError(setup_error)
            ensure()
            rpc.deadline = time.monotonic() + _case_wall(job, job_deadline)
            exec(code, ns)
            res["passed"] = True
        except TimeoutError as exc:
            res["error"] = str(exc) or "time limit exceeded"
            res["timeout"] = True
        except CandidateGone as exc:
            res["error"] = str(exc)
        except (JobTimeout, SandboxFault):
            raise
        except BaseException as exc:  # noqa: BLE001 - anything else fails the case
            res["error"] = _describe(exc)
            import traceback

            tb = traceback.extract_tb(exc.__traceback__)
            lines = [f.lineno for f in tb if f.filename == "tests.py"]
            if lines:
                res["line"] = lines[-1]
        if not is_case:
            if "passed" not in res:
                setup_error = f"test setup failed: {res['error']}"
                if rpc.load_error:
                    setup_error = res["error"]
            continue
        send(res)
        case += 1
        if job.get("early_stop") and not _ack():
            stop = True
    rpc.stop()


def _run_assert_program(job: dict[str, Any], send: Any, job_deadline: float) -> None:
    """Non-Python assert tests: test code appended to the program; it passes when the program
    exits with status 0 having printed the per-run token as its last line (the token is drawn
    here, after the candidate zygote forked, so the candidate cannot know it in advance)."""
    token = base64.b32encode(os.urandom(15)).decode()
    lang = job["language"]
    mode, argv, files = _program_argv(job)
    if lang == "javascript":
        files = {"main.js": job["code"] + "\n" + job["test_code"] + f'\nconsole.log("\\n{token}");\n'}
    wall = _case_wall(job, job_deadline)
    run = Spawned({"mode": mode, "argv": argv, "code": "", "files": files, "limits": _limits(job, wall)})
    out, _ = _read_output(run, int(job["limits"]["output_bytes"]))
    st = run.status()
    run.close()
    lines = out.decode(errors="replace").rstrip().splitlines()
    passed = st.get("exit") == 0 and bool(lines) and lines[-1].strip() == token
    res: dict[str, Any] = {"case": 0, "passed": passed}
    if not passed:
        res["error"] = "program did not complete the tests" + (f" ({_status_text(st)})" if st else "")
        if st.get("killed") == "timeout":
            res["timeout"] = True
    send(res)


def _status_text(st: dict[str, Any]) -> str:
    if st.get("killed") == "timeout":
        return "time limit exceeded"
    if st.get("signal"):
        return f"killed by signal {st['signal']}"
    return f"exit status {st.get('exit')}"


if __name__ == "__main__":
    main()
