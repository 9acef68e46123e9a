"""Worker processes of the ``math`` verifier.

Two ways to run (see :mod:`.pool`):

- ``python -m grpo_rewards.verifiers._math.worker --zygote SOCKET_FD MEMORY_MB`` (Linux): a fork
  server that imports sympy and math-verify and warms them up once, then forks a ready worker
  for each request, passing the worker's pipe ends back over the socket. Workers start in
  milliseconds, also when a stuck one is replaced.
- ``python -m grpo_rewards.verifiers._math.worker READ_FD WRITE_FD MEMORY_MB``: one worker.

A worker caps its address space, says ``"ready"``, then answers ``[task, pred, gold, options]``
messages with ``[task, outcome, detail]`` until it reads ``null`` or EOF, or its parent goes away.
Messages both ways are plain data (JSON, see :mod:`.wire`): this process parses model text, and
the host must not have to trust what it sends back."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from typing import Any

from grpo_rewards.verifiers._math import equivalence, wire

__all__ = ["worker_main", "zygote_main"]


def _cap_memory(memory_mb: int) -> None:
    """Limit this process's address space to its current size plus ``memory_mb`` MiB."""
    if memory_mb <= 0:
        return
    try:
        import resource

        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[0])
        current = pages * os.sysconf("SC_PAGE_SIZE")
        limit = current + memory_mb * 1024 * 1024
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    except (ImportError, OSError, ValueError):  # pragma: no cover - not Linux: time limit only
        pass


def _warm_up() -> None:
    try:
        equivalence.warm_up()
    except Exception:  # noqa: BLE001 - a broken warm-up shows up again on the first task
        pass


def zygote_main(sock_fd: int, memory_mb: int) -> None:
    """Fork server: warm up once, then fork one worker per ``b"F"`` request until EOF."""
    import signal
    import socket

    sock = socket.socket(fileno=sock_fd)
    logging.getLogger("math_verify").setLevel(logging.CRITICAL)
    logging.getLogger("latex2sympy2_extended").setLevel(logging.CRITICAL)
    _warm_up()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps our workers: no zombies
    sock.sendall(b"R")
    while True:
        try:
            request = sock.recv(1)
        except OSError:
            break
        if not request:  # the owner closed the socket or died
            break
        task_r, task_w = os.pipe()
        result_r, result_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker
            try:
                sock.close()
                os.close(task_w)
                os.close(result_r)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
                worker_main(_Pipes(task_r, result_w), memory_mb, warm=False)
            finally:
                os._exit(0)
        os.close(task_r)
        os.close(result_w)
        try:
            socket.send_fds(sock, [b"%16d" % pid], [task_w, result_r])
        except OSError:
            break
        finally:
            os.close(task_w)
            os.close(result_r)
    os._exit(0)


def _watch_parent(parent: int) -> None:
    """Exit when the parent process is gone (its pid changes to the reaper's)."""
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(0)


class _Pipes:
    """The worker's ends of its two pipes, speaking :mod:`.wire` frames."""

    def __init__(self, read_fd: int, write_fd: int) -> None:
        self._r = read_fd
        self._w = write_fd

    def recv(self) -> Any:
        return wire.read_frame(self._r)

    def send(self, obj: Any) -> None:
        wire.write_frame(self._w, obj)


def worker_main(conn: _Pipes, memory_mb: int, warm: bool = True) -> None:
    """Answer ``[task, pred, gold, options]`` messages with ``[task, outcome, detail]`` until ``null``."""
    logging.getLogger("math_verify").setLevel(logging.CRITICAL)
    logging.getLogger("latex2sympy2_extended").setLevel(logging.CRITICAL)
    sys.setrecursionlimit(5000)
    if warm:
        _warm_up()
    _cap_memory(memory_mb)
    conn.send("ready")
    while True:
        try:
            msg = conn.recv()
        except (EOFError, OSError, ValueError, KeyboardInterrupt):
            return
        if msg is None:
            return
        idx, pred, gold, opts = msg
        try:
            outcome, detail = equivalence.judge(pred, gold, equivalence.JudgeOptions(*opts))
        except MemoryError:
            outcome, detail = "timeout", "memory limit reached while comparing"
        except RecursionError:
            outcome, detail = "unparseable", "answer nested too deeply to parse"
        except Exception as exc:  # noqa: BLE001 - reported, never fatal to the worker
            outcome, detail = "unparseable", f"{type(exc).__name__} while comparing: {str(exc)[:200]}"
        try:
            conn.send([idx, outcome, detail])
        except (EOFError, OSError):
            return


def main(argv: list[str]) -> None:
    """Entry point of the worker (or fork server) subprocess."""
    if len(argv) == 3 and argv[0] == "--zygote":
        zygote_main(int(argv[1]), int(argv[2]))  # exits when its owner goes away
    if len(argv) != 3:
        sys.exit(
            "usage: python -m grpo_rewards.verifiers._math.worker [--zygote SOCKET_FD | READ_FD WRITE_FD] MEMORY_MB"
        )
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    worker_main(_Pipes(int(argv[0]), int(argv[1])), int(argv[2]))
    sys.stdout.flush()
    os._exit(0)  # skip interpreter teardown (sympy's caches make it slow)


if __name__ == "__main__":
    main(sys.argv[1:])
