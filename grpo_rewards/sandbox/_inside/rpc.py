"""The tester's end of the RPC to a candidate's run, and its anti-forgery rules.

Runs in the tester. The candidate's objects never cross: what comes back is plain data of exact
builtin types (:mod:`.wire`) or a handle, wrapped in a :class:`Remote` proxy whose every
operation is a request to the run. So a value whose ``__eq__`` always returns True, or an
``int`` subclass, cannot reach test code as such: comparisons happen here, on plain data, with
this process's builtins, which candidate code cannot patch. A run that stops answering, answers
malformed frames or overruns its deadline ends the call (:class:`CandidateGone`,
``TimeoutError``): the case fails.
"""

from __future__ import annotations

import builtins
import signal
import time

from .wire import FrameError, decode, encode, send_trusted

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time: the candidate zygote stays small
    from collections.abc import Callable
    from typing import Any

    from .tester import Spawned


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
    """T's end of the channel to U, with a per-case deadline. ``spawn(wall)`` starts the run (in
    rpc mode, with that wall time) and returns the tester's handle on it (``tester.Spawned``)."""

    def __init__(self, job: dict[str, Any], spawn: Callable[[float], Spawned]) -> None:
        self.job = job
        self.spawn = spawn
        self.run: Spawned | None = None
        self.deadline = 0.0
        self.globals: dict[str, Any] = {}
        self.load_error: str | None = None

    def start(self, wall: float) -> None:
        self.run = self.spawn(wall)
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
            if name in ("StopIteration", "StopAsyncIteration"):
                # Only "next" ends an iteration (its answer is "stop"). Raised by anything else
                # (a call inside map() or zip(), say), it would end the test's loop early and
                # skip its asserts: a RuntimeError, as PEP 479 makes of it in a generator.
                raise RuntimeError(f"candidate code raised {name}")
            cls = getattr(builtins, str(name), None)
            if isinstance(cls, type) and issubclass(cls, Exception) and cls.__module__ == "builtins":
                raise cls(msg_)
            raise RemoteError(f"{name}: {msg_}")
        try:
            return decode(ans["v"], self._handle)
        except (ValueError, TypeError, KeyError, RecursionError) as exc:
            raise CandidateGone(f"malformed answer from candidate process: {exc}") from None
