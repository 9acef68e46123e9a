"""The wire between the ``math`` verifier's pool and its workers: length-prefixed JSON, both ways.

Runs in both processes. The workers (:mod:`.worker`) parse model text with sympy and
math-verify, so what they parse may make them misbehave; the host (:mod:`.pool`) therefore
trusts nothing a worker sends. It reads a worker's frames without ever blocking on one, refuses
any larger than :data:`MAX_REPLY`, decodes them with :mod:`json` only (never ``pickle`` or
``marshal``, whose loaders run code or crash on crafted input), and accepts exactly two
shapes: ``"ready"`` and ``[task number, outcome, detail]`` for the task that worker was given.
Anything else raises :class:`Malformed`, and the pool replaces the worker. The workers trust
the host (their parent), and decode its tasks with the same codec.

A frame is a 4-byte big-endian length and that many bytes of ASCII JSON.
"""

from __future__ import annotations

import json
import os
import struct
from typing import Any

__all__ = [
    "MAX_REPLY",
    "OUTCOMES",
    "Malformed",
    "encode",
    "write_frame",
    "read_frame",
    "FrameReader",
    "parse_reply",
    "show",
]

_HEADER = struct.Struct("!I")
MAX_REPLY = 1 << 16
"""The largest reply the host reads, in bytes (a verdict's detail is a few hundred)."""
OUTCOMES = frozenset({"correct", "wrong", "unparseable", "bad_reference", "timeout"})
"""The outcomes a worker may report."""


class Malformed(ValueError):
    """A message that is not one the protocol allows: the sender's fault."""


def encode(obj: Any) -> bytes:
    """One frame holding ``obj`` (plain data: str, int, float, bool, None, lists, dicts)."""
    data = json.dumps(obj, ensure_ascii=True, separators=(",", ":")).encode("ascii")
    return _HEADER.pack(len(data)) + data


def write_frame(fd: int, obj: Any) -> None:
    view = memoryview(encode(obj))
    while view:
        view = view[os.write(fd, view) :]


def _read_exact(fd: int, n: int) -> bytes | None:
    chunks = []
    while n:
        chunk = os.read(fd, n)
        if not chunk:
            return None
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int) -> Any:
    """The next frame from a trusted sender, waiting for it (the worker's side). ``EOFError``
    when the sender is gone."""
    header = _read_exact(fd, _HEADER.size)
    if header is None:
        raise EOFError
    payload = _read_exact(fd, _HEADER.unpack(header)[0])
    if payload is None:
        raise EOFError
    return json.loads(payload)


class FrameReader:
    """The host's end of one worker's reply pipe: non-blocking, bounded, JSON only."""

    def __init__(self, fd: int, limit: int = MAX_REPLY) -> None:
        os.set_blocking(fd, False)
        self.fd = fd
        self.limit = limit
        self._buf = bytearray()

    def fileno(self) -> int:
        return self.fd

    def read(self) -> list[Any]:
        """What has arrived, as the frames it completes (often none, when a frame comes in
        pieces: the rest is awaited like any reply, under the task's deadline). ``EOFError``
        when the worker is gone; :class:`Malformed` for a frame over the limit or not JSON."""
        try:
            chunk = os.read(self.fd, 1 << 16)
        except BlockingIOError:
            chunk = None
        if chunk == b"":
            raise EOFError
        if chunk:
            self._buf += chunk
        out = []
        while len(self._buf) >= _HEADER.size:
            (n,) = _HEADER.unpack_from(self._buf)
            if n > self.limit:
                raise Malformed(f"a {n}-byte message (the limit is {self.limit})")
            if len(self._buf) < _HEADER.size + n:
                break
            payload = bytes(self._buf[_HEADER.size : _HEADER.size + n])
            del self._buf[: _HEADER.size + n]
            out.append(_decode(payload))
        return out

    def close(self) -> None:
        try:
            os.close(self.fd)
        except OSError:
            pass


def _decode(payload: bytes) -> Any:
    try:
        return json.loads(payload.decode("ascii"))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise Malformed(f"not a JSON message ({type(exc).__name__}: {str(exc)[:80]})") from None


def parse_reply(msg: Any, task: int) -> tuple[str, str]:
    """``(outcome, detail)`` from a worker's reply to task number ``task``; :class:`Malformed`
    otherwise."""
    if not (isinstance(msg, list) and len(msg) == 3):
        raise Malformed(f"a reply that is not [task, outcome, detail]: {show(msg)}")
    idx, outcome, detail = msg
    if type(idx) is not int or idx != task:
        raise Malformed(f"a verdict for task {show(idx)} while it was given task {task}")
    if not isinstance(outcome, str) or outcome not in OUTCOMES:
        raise Malformed(f"an unknown outcome {show(outcome)}")
    if not isinstance(detail, str):
        raise Malformed(f"a detail that is not text: {show(detail)}")
    return outcome, detail


def show(value: Any) -> str:
    """A short ``repr`` of what a worker sent, for messages."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
