"""Storing reasoning-gym entries in a dataset column, losslessly.

A reasoning-gym entry is ``{"question", "answer", "metadata"}``, and each task's ``score_answer``
compares against things in ``metadata``. Plain JSON would turn tuples into lists and integer
dict keys into strings, and some scorers then fail on their own gold answer (``arc_agi``
compares a parsed board, a tuple of tuples, with ``metadata["output"]``). :func:`dump_entry`
tags those types so that :func:`load_entry` gives back an entry equal to the original.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["dump_entry", "load_entry", "EntryError"]

_TUPLE = "__tuple__"
_SET = "__set__"
_DICT = "__dict__"


class EntryError(ValueError):
    """A column value is not a reasoning-gym entry (the message says what is wrong)."""


def _encode(obj: Any, path: str) -> Any:
    if obj is None or isinstance(obj, str | bool | int | float):
        return obj
    if isinstance(obj, tuple):
        return {_TUPLE: [_encode(x, f"{path}[{i}]") for i, x in enumerate(obj)]}
    if isinstance(obj, list):
        return [_encode(x, f"{path}[{i}]") for i, x in enumerate(obj)]
    if isinstance(obj, set | frozenset):
        return {_SET: [_encode(x, f"{path}{{}}") for x in sorted(obj, key=repr)]}
    if isinstance(obj, Mapping):
        if all(isinstance(k, str) for k in obj) and not ({_TUPLE, _SET, _DICT} & set(obj)):
            return {k: _encode(v, f"{path}.{k}") for k, v in obj.items()}
        return {_DICT: [[_encode(k, f"{path}<key>"), _encode(v, f"{path}[{k!r}]")] for k, v in obj.items()]}
    item = getattr(obj, "item", None)  # numpy scalars
    if callable(item) and getattr(obj, "shape", None) == ():
        return _encode(item(), path)
    raise EntryError(f"cannot store {type(obj).__name__} at entry{path} as JSON")


def _decode(obj: dict[str, Any]) -> Any:
    if len(obj) == 1:
        if _TUPLE in obj:
            return tuple(obj[_TUPLE])
        if _SET in obj:
            return set(obj[_SET])
        if _DICT in obj:
            return {_hashable(k): v for k, v in obj[_DICT]}
    return obj


def _hashable(k: Any) -> Any:
    return tuple(_hashable(x) for x in k) if isinstance(k, list) else k


def dump_entry(entry: Mapping[str, Any]) -> str:
    """Serialize a reasoning-gym entry to a JSON string that :func:`load_entry` restores exactly."""
    return json.dumps(_encode(dict(entry), ""), ensure_ascii=False)


def load_entry(value: Any) -> dict[str, Any]:
    """Restore an entry from a column value (a :func:`dump_entry` string, plain JSON, or a dict).

    :raises EntryError: when the value is not JSON or not an entry with ``question`` and ``metadata``.
    """
    if isinstance(value, str):
        try:
            entry = json.loads(value, object_hook=_decode)
        except json.JSONDecodeError as exc:
            raise EntryError(f"not JSON ({exc}): {value[:60]!r}") from None
    elif isinstance(value, Mapping):
        entry = json.loads(dump_entry(value), object_hook=_decode)  # a copy the scorer may not mutate
    else:
        raise EntryError(f"expected a JSON string or a dict, got {type(value).__name__}")
    if not isinstance(entry, dict) or "metadata" not in entry or "answer" not in entry:
        keys = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
        raise EntryError(f"not a reasoning-gym entry (needs 'question', 'answer', 'metadata'; has {keys})")
    return entry
