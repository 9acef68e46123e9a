"""The candidate zygote (Zc): spawns, supervises and wipes the runs. It holds no test material.

Forked from Z' before any job, so its memory never holds tests or expected answers; it never
runs candidate code itself. Per run it forks U (:mod:`.candidate`) into a new PID namespace,
hands the tester U's descriptors, kills U at the tester's word or at the run's deadline, and
wipes the scratch directories once every process of U is gone. It trusts the tester's requests
(marshal frames, :func:`.wire.send_trusted`) and nothing a run does.
"""

from __future__ import annotations

import _socket
import ctypes
import json
import os
import select
import signal
import socket
import stat
import struct
import time

from . import candidate
from .kernel import (
    _CAP_DATA,
    _CAP_HEADER,
    CLONE_NEWPID,
    MS_NODEV,
    MS_NOSUID,
    MS_REMOUNT,
    NR,
    PR_SET_DUMPABLE,
    PR_SET_NO_NEW_PRIVS,
    check,
    libc,
    lock_capabilities,
    mount,
    prctl,
    rlimit_plan,
    set_name,
)
from .seccomp import install_seccomp
from .wire import Channel, FrameError, send_frame

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time: the candidate zygote stays small
    from typing import Any

    from .bootstrap import Setup


class _Zygote:
    """The zygote's own state: set once by :func:`serve` and its set-up, before the first run."""

    def __init__(self) -> None:
        self.setup: Setup = None  # type: ignore[assignment]
        self.run_calls: list[tuple[Any, tuple[Any, ...], str]] = []  # each run's capset and seccomp calls
        self.unshare: Any = None  # libc's unshare() and setns(), bound once
        self.setns: Any = None


Z = _Zygote()


def serve(setup: Setup, sock: socket.socket) -> None:
    """Zc: forks one candidate process U per request, each in a new PID namespace, and watches
    it until it ends (T's word, T gone, or the run's wall-clock deadline). Its first frame to T
    is ``ready``, or ``failed`` with the traceback of its set-up."""
    Z.setup = setup
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
    set_name(b"sbx-zygote")
    if dict(os.environ) != Z.setup.env:  # runs inherit it: the scrubbed environment, nothing else
        os.environ.clear()
        os.environ.update(Z.setup.env)
    pidns_fd = os.open("/proc/self/ns/pid", os.O_RDONLY) if Z.setup.pidns else -1
    Z.unshare, Z.setns = libc().unshare, libc().setns
    import gc
    import importlib

    # Modules candidates import all the time (HumanEval prompts start with "from typing import
    # List"): imported once here, inherited by every run instead of loaded by each.
    for name in Z.setup.cfg.get("preload", ()):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a module this interpreter lacks is simply not preloaded
            pass
    scratch_mb = 0
    if Z.setup.mountns:  # mounted before the filter goes on, which only lets a remount through
        scratch_mb = 64
        _mount_scratch(scratch_mb, remount=False)
    if Z.setup.seccomp_ok or Z.setup.caps_ok:
        if Z.setup.caps_ok:
            lock_capabilities()  # the zygote keeps what it holds; runs inherit the locks
        # no_new_privs is inherited across fork(): set once here, not by each run.
        prctl(PR_SET_NO_NEW_PRIVS, 1)
        if Z.setup.seccomp_ok:
            # Once, here: every run inherits the filter (attaching one costs each run a BPF
            # compile and a few hundred microseconds). See seccomp_program for the zygote's
            # own exceptions.
            install_seccomp()
        Z.run_calls = _run_calls()
    gc.collect()
    libc().malloc_trim(0)  # give freed heap back: every page left here is copied per run
    gc.freeze()  # the collector leaves inherited objects alone: fewer copy-on-write faults per run
    build = "/build" if Z.setup.mountns else os.path.join(Z.setup.box_parent, "build")
    if Z.setup.mountns and not os.listdir(build):
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
                plan = plans[key] = rlimit_plan(lim, int(lim["processes"]) + Z.setup.nproc)
            if Z.setup.mountns:
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
    if Z.setup.caps_ok:
        args = (ctypes.c_long(NR["capset"]), ctypes.byref(_CAP_HEADER), ctypes.byref(_CAP_DATA))
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
    if Z.setup.mountns:
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
    if Z.setup.mountns:
        box = "/box"
    else:
        import tempfile

        box = tempfile.mkdtemp(dir=Z.setup.box_parent, prefix="box-")
    if Z.setup.pidns:
        check(Z.unshare(CLONE_NEWPID), "unshare")  # only the next child enters it
    try:
        pid = os.fork()
    except OSError:
        if Z.setup.pidns:
            check(Z.setns(pidns_fd, CLONE_NEWPID), "setns")
        raise
    if pid == 0:
        code = 120
        try:  # the zygote's other descriptors are closed in _candidate (closerange)
            candidate.run(req, plan, box, status_w, -1 if rpc else io_u, io_u if rpc else -1, Z.run_calls, Z.setup.env)
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
        if Z.setup.pidns:  # back to our own namespace for children, or the next unshare() is refused
            check(Z.setns(pidns_fd, CLONE_NEWPID), "setns")
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
            if Z.setup.pidns:
                os.kill(pid, signal.SIGKILL)  # PID 1 of the run: the kernel kills the rest
            else:
                os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass
        break
    _, status, ru = os.wait4(pid, 0)
    os.close(pidfd)
    os.close(ctrl_r)
    if not Z.setup.pidns:
        try:
            os.killpg(pid, signal.SIGKILL)  # the best we can do without a PID namespace
        except OSError:
            pass
    if Z.setup.mountns:
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
