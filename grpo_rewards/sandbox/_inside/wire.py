"""Frames, the channel and the value codec: what crosses every boundary of the local sandbox.

Runs in every process: the host (grpo_rewards.sandbox.local and the host-side modules beside
it, the only modules of this package the host imports), the tester, the zygote and the
candidate's run. It trusts nothing it reads: a frame is a 4-byte length and JSON, bounded by a
size limit and a deadline, and a value is plain data of exact builtin types (anything else,
subclasses included, becomes an opaque handle). The one exception is :func:`send_trusted` /
:meth:`Channel.recv_trusted` (marshal), used only between the tester and the zygote, two
processes of ours that candidate code never reaches.
"""

from __future__ import annotations

import base64
import json
import marshal
import math
import os
import select
import struct
import time

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing is not imported at run time: the candidate zygote stays small
    from typing import Any


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
    (None: non-plain values become ``{"o": type name}``). A subclass of a plain type is encoded
    as its base value (see :data:`_BASES`)."""
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
    base = _plain_base(x)
    if base is not None:
        return encode(base, handle, depth + 1)
    if handle is None:
        return {"o": _type_name(x)}
    return {"h": [handle(x), _type_name(x), callable(x)]}


# Subclasses of the plain types travel as their base value, read by the base type's own C
# methods, which no subclass method can change: a list subclass with a __contains__ that always
# says yes, or an int whose __eq__ is always true, arrives as the list or the int it holds.
_BASES = (
    (int, int.__index__),
    (float, float.__float__),
    (str, str.__str__),
    (bytes, bytes.__bytes__),
    (complex, complex.__complex__),
    (list, list.copy),
    (tuple, lambda x: tuple.__getitem__(x, slice(None))),
    (dict, dict.copy),
    (set, set.copy),
    (frozenset, frozenset.copy),
)


def _plain_base(x: Any) -> Any:
    t = type(x)  # the real type: isinstance() would believe a forged __class__
    for base, read in _BASES:
        if issubclass(t, base):
            return read(x)
    return None


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
