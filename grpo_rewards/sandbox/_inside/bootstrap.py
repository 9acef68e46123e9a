"""The worker's start: namespaces, the new root, and the fork into the two roles.

The host starts it as ``python3 -I -S -B -c "from _inside import bootstrap; bootstrap.main()"``
under a scrubbed environment. It trusts the host's configuration frame (fd 0) and nothing
else; no candidate code has run anywhere in the worker yet. Process tree of one warm worker
(see docs/sandbox.md for the why)::

    Z   bootstrap, in the host's PID namespace; enters a fresh user namespace (the host writes
        its uid/gid map) and unshares mount, network, IPC, UTS and PID namespaces; waits.
    Z'  PID 1 of the worker's PID namespace: builds a new read-only root from bind mounts and
        pivots into it; forks Zc (:mod:`.zygote`); then, with capabilities dropped, seccomp on
        and non-dumpable, is the tester (:mod:`.tester`).
    Zc  the candidate zygote: forks each run U (:mod:`.candidate`) and watches it.

Every module of this package is imported here, at the top, while the host's files are still
reachable: after ``pivot_root`` only the sandbox root is, and the few standard-library modules
imported lazily later (ast, gc, importlib, tempfile, traceback) load from the Python prefix,
which the root carries as a read-only bind mount (_worker.py, ``_handshake``).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time

from . import runners, tester, zygote
from .kernel import (
    CLONE_NEWIPC,
    CLONE_NEWNET,
    CLONE_NEWNS,
    CLONE_NEWPID,
    CLONE_NEWUSER,
    CLONE_NEWUTS,
    MNT_DETACH,
    MS_BIND,
    MS_NODEV,
    MS_NOEXEC,
    MS_NOSUID,
    MS_PRIVATE,
    MS_RDONLY,
    MS_REC,
    MS_REMOUNT,
    PR_SET_PDEATHSIG,
    drop_capabilities,
    libc,
    mount,
    pivot_root,
    prctl,
    umount2,
    unshare,
)
from .seccomp import install_seccomp
from .wire import Channel, FrameError, send_frame

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time: the candidate zygote stays small
    from typing import Any


class Setup:
    """What the bootstrap found and decided, before the roles forked: read-only afterwards. The
    zygote and the tester each get it (and keep their own state besides)."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        self.cfg = cfg
        self.env: dict[str, str] = dict(cfg["env"])
        self.nproc = int(cfg.get("base_processes", 8))
        self.layers: dict[str, str] = {}
        self.box_parent = ""  # host directory used for boxes when there is no mount namespace
        self.mountns = False
        self.pidns = False
        self.seccomp_ok = False
        self.caps_ok = False


def main() -> None:
    # What this process imports at module level is imported by now, while the host's files are
    # still reachable. After pivot_root only the sandbox root is: the few standard-library
    # modules imported lazily below (ast, gc, importlib, tempfile, traceback) load from the
    # Python prefix, which the root carries as a read-only bind mount (_worker.py, _handshake).
    libc()
    host = Channel(0)
    cfg = host.recv()
    setup = Setup(cfg)
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
    reply = host.recv()
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
    setup.pidns = layers.get("pidns") == "ok"
    setup.mountns = layers.get("mountns") == "ok"
    if setup.pidns:
        pid = os.fork()
        if pid:
            # Z: stay until Z' ends, then end too (the host sees EOF).
            os.close(0)
            _, status = os.waitpid(pid, 0)
            os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if setup.mountns:
        try:
            _build_root(cfg)
            layers["fs"] = "ok"
        except OSError as exc:
            layers["fs"] = f"unavailable: {exc}"
            setup.mountns = False
    else:
        layers["fs"] = "unavailable: no mount namespace"
    if not setup.mountns:
        setup.box_parent = cfg["box_parent"]
    if setup.mountns and layers.get("utsns") == "ok":
        try:
            socket.sethostname("sandbox")
        except OSError:
            pass
    layers["seccomp"], layers["caps"] = _probe_child_layers()
    setup.seccomp_ok = layers["seccomp"] == "ok"
    setup.caps_ok = layers["caps"] == "ok"
    layers["rlimits"] = "ok"
    setup.layers = layers
    zc_sock, z_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    zc = os.fork()
    if zc == 0:
        z_sock.close()
        zygote.serve(setup, zc_sock)
        os._exit(0)
    zc_sock.close()
    # The zygote says it is ready, or why it is not (its traceback): a worker whose zygote
    # cannot start never reports ready, so its fault never reaches a candidate's score.
    try:
        first = Channel(z_sock.fileno()).recv(time.monotonic() + 60)
    except (FrameError, OSError, TimeoutError) as exc:
        first = {"failed": f"the candidate zygote ended during its set-up ({type(exc).__name__}: {exc})"}
    if not first.get("ready"):
        os.kill(zc, signal.SIGKILL)
        os.waitpid(zc, 0)
        send_frame(1, {"ready": False, "error": str(first.get("failed", first))})
        os._exit(1)
    send_frame(1, {"ready": True, "layers": layers})
    tester.serve(setup, host, z_sock, zc, runners.run_job)


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
