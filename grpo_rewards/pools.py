"""Host-side worker pools: the part the ``math`` verifier's pool and the local sandbox share.

Runs in the host process (a trainer, the ``grpo-rewards`` command line) and nowhere else. It
trusts its callers and the worker objects they give it (host code: a worker's ``stop()`` ends
and reaps its processes). It never reads what a worker process says: the pools that do decode
it as plain data themselves and treat a malformed message as that worker's fault.

What every pool gets here, the same way:

- **lazy start**: nothing starts before the first worker is asked for;
- **a start-failure budget**: after ``max_start_failures`` failed starts in a row the pool is
  dead, and every caller fails at once with :class:`PoolUnavailable` naming the first of them;
  a caller waiting for a worker when the last one is lost is woken and told why: nothing ever
  waits for a worker that will not come;
- **replace-on-fault**: a worker that faulted is stopped and never handed out again;
- **an owner check**: a pool inherited by a forked child forgets its parent's workers (they are
  the parent's to stop) and starts its own;
- **one exit path**: :meth:`Pool.close`, garbage collection and interpreter exit run the same
  stop-and-reap code (a ``weakref.finalize``), and every process is reaped when it returns;
- **sharing by key**: :func:`acquire` and :func:`release` count users, so that components with
  the same configuration share one warm pool, stopped by the last release.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

__all__ = ["Worker", "Helper", "Pool", "PoolUnavailable", "acquire", "release", "users"]

log = logging.getLogger("grpo_rewards.pools")

START_WAIT_S = 120.0
"""How long closing waits for starts in flight (each stops what it started once it sees the
pool closed); a start that takes longer is logged and left to stop its worker itself."""


class Worker(Protocol):
    """One worker of a pool: its process (or processes) and its pipes. Made, and so started, by
    the pool's ``spawn`` function."""

    ready: bool
    """Whether it can take work. A worker that reports ready later (after its imports) starts
    out False, and the pool is told with :meth:`Pool.confirm`."""

    def hang_up(self) -> None:
        """Ask it to end on its own (close its input); never blocks."""

    def stop(self, grace: float = 0.0) -> None:
        """End it and every process below it, reaped before this returns, after waiting up to
        ``grace`` seconds for it to end on its own. Safe to call twice; never raises."""


class Helper(Protocol):
    """A process the workers depend on (the math verifier's fork server), stopped after them."""

    def stop(self) -> None: ...


W = TypeVar("W", bound=Worker)
T = TypeVar("T")


class PoolUnavailable(RuntimeError):
    """The pool cannot hand out a worker: it was closed (``closed``), its start-failure budget
    is spent, or it lost its last worker and could not replace it. The message says why, and
    ``__cause__`` is the first failure, with its traceback."""

    def __init__(self, message: str, *, closed: bool = False) -> None:
        super().__init__(message)
        self.closed = closed


class _Failure(NamedTuple):
    why: str
    cause: BaseException


class _State(Generic[W]):
    """What the exit path needs, and nothing that refers back to the pool's owner: a sandbox
    nobody closed must stay collectable, and the finalizer must not keep it alive."""

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self.closed = False
        self.failures = 0  # failed starts in a row
        self.first: _Failure | None = None  # the first of them
        self.dead: _Failure | None = None  # set when the budget is spent
        self.lost: _Failure | None = None  # the last failed start
        self.replacements = 0
        self.forget()
        _states.add(self)

    def forget(self) -> None:
        """Start afresh in this process: workers made by another process are its own to stop."""
        self.pid = os.getpid()
        # New locks: a forked child's copies may have been held by a thread that is not there.
        self.cond = threading.Condition()
        self.start_lock = threading.Lock()
        self.live: list[W] = []  # every worker, busy or idle
        self.idle: list[W] = []
        self.helpers: list[Helper] = []
        self.starting = 0
        self.started = False

    def mine(self) -> _State[W]:
        if self.pid != os.getpid():  # forked without the at-fork hook (by C code): not ours
            self.forget()
        return self

    def shutdown(self) -> None:
        """The one exit path (:meth:`Pool.close`, garbage collection, interpreter exit): stop
        every worker, idle ones after ``grace`` seconds to end on their own, busy ones at once
        (they would see their input close only when their job ends), then the helpers."""
        self.mine()
        with self.cond:
            self.closed = True
            workers, idle = list(self.live), list(self.idle)
            helpers = list(self.helpers)
            self.live.clear()
            self.idle.clear()
            self.helpers.clear()
            self.cond.notify_all()
        busy = [w for w in workers if not any(w is i for i in idle)]
        _stop_all(idle, self.grace)
        _stop_all(busy, 0.0)
        with self.cond:
            deadline = time.monotonic() + START_WAIT_S
            while self.starting and time.monotonic() < deadline:
                self.cond.wait(deadline - time.monotonic())
            if self.starting:
                log.error("grpo-rewards: %d worker start(s) still running after close", self.starting)
        for h in helpers:
            try:
                h.stop()
            except Exception:  # the others must still be stopped
                log.exception("grpo-rewards: could not stop %r", h)


def _stop_all(workers: list[W], grace: float) -> None:
    """Hang up on every worker first, so that idle ones end together within ``grace``."""
    for w in workers:
        w.hang_up()
    deadline = time.monotonic() + grace
    for w in workers:
        try:
            w.stop(max(0.0, deadline - time.monotonic()))
        except Exception:  # the others must still be stopped
            log.exception("grpo-rewards: could not stop %r", w)


def _drop(items: list[Any], item: Any) -> bool:
    for i, x in enumerate(items):
        if x is item:
            del items[i]
            return True
    return False


class Pool(Generic[W]):
    """Up to ``size`` workers made by ``spawn``, started on first use.

    :param spawn: makes and starts one worker; called with the worker it replaces (or None),
        so that a replacement can inherit, say, its CPU. Whatever it raises is a failed start.
    :param size: how many workers.
    :param what: what a worker is, for messages (``"sandbox worker"``).
    :param max_start_failures: failed starts in a row after which the pool is dead.
    :param parallel_start: start the first workers in parallel threads (slow starts).
    :param grace: seconds idle workers get to end on their own when the pool closes.

    Two ways to use it: hand workers out one at a time with :meth:`take` and :meth:`give` (the
    local sandbox, where each job runs on its own thread), or drive :meth:`workers` directly
    from one thread at a time (the math pool, which multiplexes all of them).
    """

    def __init__(
        self,
        spawn: Callable[[W | None], W],
        size: int,
        *,
        what: str = "worker",
        max_start_failures: int = 3,
        parallel_start: bool = False,
        grace: float = 2.0,
    ) -> None:
        self._spawn = spawn
        self.size = max(1, int(size))
        self.what = what
        self.max_start_failures = max(1, int(max_start_failures))
        self._parallel = parallel_start
        self._s: _State[W] = _State(grace)
        self._finalizer = weakref.finalize(self, self._s.shutdown)

    # -- state ----------------------------------------------------------------------------

    @property
    def started(self) -> bool:
        """Whether the first start succeeded (in this process)."""
        return self._s.mine().started

    @property
    def closed(self) -> bool:
        return self._s.closed

    @property
    def replacements(self) -> int:
        """Workers stopped after a fault (or retired) and started anew."""
        return self._s.replacements

    def workers(self) -> list[W]:
        """The current workers, busy and idle (a copy)."""
        s = self._s.mine()
        with s.cond:
            return list(s.live)

    def helpers(self) -> list[Helper]:
        s = self._s.mine()
        with s.cond:
            return list(s.helpers)

    def add_helper(self, helper: Helper) -> None:
        """Stop ``helper`` on the exit path, after the workers."""
        s = self._s.mine()
        with s.cond:
            closed = s.closed
            if not closed:
                s.helpers.append(helper)
        if closed:
            helper.stop()
            raise self._closed_error()

    def remove_helper(self, helper: Helper) -> None:
        """Stop ``helper`` now."""
        s = self._s.mine()
        with s.cond:
            _drop(s.helpers, helper)
        helper.stop()

    # -- start ----------------------------------------------------------------------------

    def start(self, check: Callable[[list[W]], None] | None = None) -> None:
        """Start a worker for every empty slot (all of them the first time), and admit them
        together once ``check`` (if given) accepts them. When one fails to start, or ``check``
        raises, every one just started is stopped, the failure counts against the budget, and
        it is raised. Raises :class:`PoolUnavailable` when the pool is closed or dead."""
        s = self._s.mine()
        with s.start_lock:
            with s.cond:
                self._raise_if_unavailable(s)
                n = self.size - len(s.live) - s.starting
                if n <= 0:
                    s.started = True
                    return
                s.starting += n
            made: list[W] = []
            error: BaseException | None = None
            admitted = False
            try:
                made, error = self._spawn_many(n)
                if error is None and check is not None:
                    try:
                        check(made)
                    except BaseException as exc:  # noqa: BLE001 - counted and raised below
                        error = exc
                with s.cond:
                    if error is None and not s.closed:
                        s.live.extend(made)
                        s.idle.extend(made)
                        s.started = admitted = True
                        if all(w.ready for w in made):
                            self._succeeded(s)
                    elif error is not None and not s.closed:
                        self._failed(s, error, f"{type(error).__name__}: {error}")
                if not admitted:
                    _stop_all(made, 0.0)
            finally:
                with s.cond:
                    s.starting -= n
                    s.cond.notify_all()
        if error is not None:
            raise error
        if not admitted:
            raise self._closed_error()

    def _spawn_many(self, n: int) -> tuple[list[W], BaseException | None]:
        made: list[W] = []
        error: BaseException | None = None
        if self._parallel and n > 1:
            with ThreadPoolExecutor(n) as ex:
                futures = [ex.submit(self._spawn, None) for _ in range(n)]
                for f in futures:
                    try:
                        made.append(f.result())
                    except BaseException as exc:  # noqa: BLE001 - the first one is reported
                        error = error or exc
            return made, error
        for _ in range(n):
            try:
                made.append(self._spawn(None))
            except BaseException as exc:  # noqa: BLE001 - returned to the caller
                return made, exc
        return made, None

    def confirm(self, w: W) -> None:
        """``w`` reported ready: it may take work, and the run of failed starts is over."""
        s = self._s.mine()
        with s.cond:
            w.ready = True
            self._succeeded(s)

    def _succeeded(self, s: _State[W]) -> None:
        s.failures = 0
        s.first = None

    def _failed(self, s: _State[W], cause: BaseException, why: str) -> None:
        """Count a failed start (``s.cond`` held); the budget spent, the pool is dead."""
        if s.failures == 0 or s.first is None:
            s.first = _Failure(why, cause)
        s.failures += 1
        s.lost = _Failure(why, cause)
        if s.failures >= self.max_start_failures and s.dead is None:
            s.dead = s.first
        s.cond.notify_all()

    # -- hand out ---------------------------------------------------------------------------

    def take(self) -> W:
        """An idle worker, waiting until one is free (starting the pool on first use). Raises
        :class:`PoolUnavailable` when the pool is closed, dead, or has no worker left and none
        starting, at once and to every waiting caller."""
        s = self._s.mine()
        if not s.started:
            self.start()
        with s.cond:
            while True:
                if s.closed:
                    raise self._closed_error()
                if s.idle:
                    return s.idle.pop()  # the most recently used: its memory is warm
                if s.dead is not None:
                    raise self._dead_error(s)
                if not s.live and not s.starting:
                    raise self._lost_error(s)
                s.cond.wait()

    def give(self, w: W) -> None:
        """Hand back a worker from :meth:`take` that finished its work cleanly (one that
        faulted goes to :meth:`replace`). Stopped instead when the pool closed meanwhile."""
        s = self._s.mine()
        with s.cond:
            keep = not s.closed and any(x is w for x in s.live)
            if keep:
                s.idle.append(w)
                s.cond.notify()
        if not keep:
            w.stop()

    def replace(self, w: W, why: BaseException, *, failed_start: bool = False) -> W:
        """Stop ``w`` (it faulted, and may have work in flight that the next user would read as
        its own: never reused) and start another in its place, returned and idle. A
        ``failed_start`` (``w`` never became ready) counts against the budget. Raises
        :class:`PoolUnavailable` when the pool is closed or dead, or what ``spawn`` raised (also
        counted), waking every caller waiting in :meth:`take` when no worker is left."""
        what = f"{type(why).__name__}: {why}"
        w.stop()
        s = self._s.mine()
        with s.cond:
            s.replacements += 1
            _drop(s.live, w)
            _drop(s.idle, w)
            if s.closed:
                raise self._closed_error()
            if failed_start:
                self._failed(s, why, f"a {self.what} failed to start: {what}")
            if s.dead is not None:
                raise self._dead_error(s)
            s.starting += 1
        new: W | None = None
        try:
            try:
                new = self._spawn(w)
            except BaseException as exc:
                with s.cond:
                    self._failed(s, exc, f"a {self.what} failed ({what}) and could not be restarted: "
                                 f"{type(exc).__name__}: {exc}")  # fmt: skip
                raise
            with s.cond:
                closed = s.closed
                if not closed:
                    s.live.append(new)
                    s.idle.append(new)
                    if new.ready:
                        self._succeeded(s)
            if closed:
                new.stop()
                raise self._closed_error()
            return new
        finally:
            with s.cond:
                s.starting -= 1
                s.cond.notify_all()

    # -- errors -----------------------------------------------------------------------------

    def _raise_if_unavailable(self, s: _State[W]) -> None:
        if s.closed:
            raise self._closed_error()
        if s.dead is not None:
            raise self._dead_error(s)

    def _closed_error(self) -> PoolUnavailable:
        return PoolUnavailable(f"the pool of {self.what}s was closed", closed=True)

    def _dead_error(self, s: _State[W]) -> PoolUnavailable:
        assert s.dead is not None
        err = PoolUnavailable(f"{s.failures} failed starts in a row; the first: {s.dead.why}")
        err.__cause__ = s.dead.cause
        return err

    def _lost_error(self, s: _State[W]) -> PoolUnavailable:
        if s.lost is None:
            return PoolUnavailable(f"no {self.what} left")
        err = PoolUnavailable(s.lost.why)
        err.__cause__ = s.lost.cause
        return err

    # -- stop -------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop every worker and helper, reaped before this returns; for good: later calls
        raise :class:`PoolUnavailable`. The same code runs when the pool is collected
        unclosed, and at interpreter exit."""
        self._finalizer()


_states: weakref.WeakSet[_State[Any]] = weakref.WeakSet()

# -- sharing by key -------------------------------------------------------------------------

_shared: dict[Hashable, list[Any]] = {}  # key -> [the shared object, its users]
_shared_lock = threading.Lock()


def acquire(key: Hashable, factory: Callable[[], T]) -> T:
    """The object shared under ``key``, made by ``factory()`` for the first user (or when the
    last one was closed meanwhile). Each call is one user; pair it with :func:`release`."""
    with _shared_lock:
        entry = _shared.get(key)
        if entry is None or getattr(entry[0], "closed", False):
            entry = _shared[key] = [factory(), 0]
        entry[1] += 1
        obj: T = entry[0]
        return obj


def release(obj: Any) -> None:
    """One user of ``obj`` is done with it; the last one's release closes it (its ``close()``,
    when it has one). An object that is not shared (any more) is closed at once."""
    with _shared_lock:
        for key, entry in _shared.items():
            if entry[0] is obj:
                entry[1] -= 1
                if entry[1] > 0:
                    return
                del _shared[key]
                break
    close = getattr(obj, "close", None)
    if callable(close):
        close()


def users(obj: Any) -> int:
    """How many users share ``obj`` through :func:`acquire` (0: not shared)."""
    with _shared_lock:
        return next((e[1] for e in _shared.values() if e[0] is obj), 0)


def _after_fork_in_child() -> None:
    # The child has one thread: nothing holds these now, but copies of held locks stay held.
    global _shared_lock
    _shared_lock = threading.Lock()
    for s in list(_states):
        s.forget()


os.register_at_fork(after_in_child=_after_fork_in_child)
