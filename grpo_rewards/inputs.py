"""Reading rows to score from JSONL, JSON, CSV or Parquet files, with errors that name ``file:line``."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grpo_rewards.errors import InputError

__all__ = [
    "InputRow",
    "read_rows",
    "read_positioned_rows",
    "read_rows_at",
    "count_rows",
    "scan_columns",
    "row_from_data",
    "SUPPORTED_SUFFIXES",
    "SEEKABLE_SUFFIXES",
]

SUPPORTED_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet")
SEEKABLE_SUFFIXES = (".jsonl", ".parquet")
"""Types whose rows can be read from a position on (:func:`read_rows_at`), so that another
process (a Ray actor) reads its own stretch of the file."""

_PARQUET_BATCH = 1024


@dataclass
class InputRow:
    """One input row. ``error`` is set (and ``data`` may be partial) when the row is malformed."""

    where: str
    data: dict[str, Any]
    error: str | None = None


def _check_row(data: Any, where: str, completion_column: str | None) -> str | None:
    if not isinstance(data, dict):
        return f"{where}: expected a JSON object, got {type(data).__name__}"
    if completion_column is None:  # rows of a dataset, not of completions (grpo-rewards redteam)
        return None
    if completion_column not in data:
        cols = ", ".join(sorted(data)) or "(none)"
        return f"{where}: missing column {completion_column!r} (the row has: {cols})"
    c = data[completion_column]
    if isinstance(c, str):
        return None
    if isinstance(c, list) and all(isinstance(m, dict) and "content" in m for m in c) and c:
        return None
    return (
        f"{where}: column {completion_column!r} must be a string or a non-empty list of messages "
        f"({{'role': ..., 'content': ...}}), got {json.dumps(c)[:80]}"
    )


def _jsonl(path: Path) -> Iterator[tuple[str, Any, str | None]]:
    for _pos, where, data, error in _jsonl_positioned(path):
        yield where, data, error


def _lines(raw: bytes) -> list[bytes]:
    """``raw`` (one line of a binary read, ending at ``\\n``) cut where text mode's universal
    newlines cut it: also at a lone ``\\r``."""
    if b"\r" not in raw:
        return [raw]
    parts, start = [], 0
    while (j := raw.find(b"\r", start)) >= 0:
        end = j + 2 if raw[j + 1 : j + 2] == b"\n" else j + 1
        parts.append(raw[start:end])
        start = end
    if start < len(raw):
        parts.append(raw[start:])
    return parts


def _jsonl_positioned(
    path: Path, offset: int = 0, lineno: int = 0, limit: int | None = None, label: str | None = None
) -> Iterator[tuple[tuple[int, int], str, Any, str | None]]:
    """Rows from byte ``offset`` on (the line numbered ``lineno + 1``), each with its position
    ``(offset, line number - 1)``; at most ``limit`` rows. Read in binary, so positions are byte
    offsets, and cut into lines as text mode would."""
    n = 0
    with path.open("rb") as fh:
        fh.seek(offset)
        for raw in fh:
            for part in _lines(raw):
                pos = (offset, lineno)
                offset += len(part)
                lineno += 1
                line = part.decode("utf-8")
                if not line.strip():
                    continue
                if limit is not None and n >= limit:
                    return
                n += 1
                where = f"{label or path}:{lineno}"
                # Without its line break: a line that ends too early would otherwise fail at the break,
                # which json reports as line 2, column 1, instead of at the column where the line ends.
                text = line.rstrip("\r\n")
                try:
                    yield pos, where, json.loads(text), None
                except json.JSONDecodeError as exc:
                    yield pos, where, {"_raw": text}, f"{where}: invalid JSON: {exc.msg} (column {exc.colno})"


def _json(path: Path) -> Iterator[tuple[str, Any, str | None]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}:{exc.lineno}: invalid JSON: {exc.msg} (column {exc.colno})") from exc
    if not isinstance(data, list):
        raise InputError(f"{path}: a .json input must hold a list of row objects")
    for i, row in enumerate(data):
        yield f"{path}[{i}]", row, None


def _csv(path: Path) -> Iterator[tuple[str, Any, str | None]]:
    with path.open("r", encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        for row in reader:
            where = f"{path}:{reader.line_num}"
            if None in row:
                yield where, {k: v for k, v in row.items() if k is not None}, f"{where}: more fields than the header"
                continue
            yield where, dict(row), None


def _parquet(path: Path) -> Iterator[tuple[str, Any, str | None]]:
    for (_i, _), where, data, error in _parquet_positioned(path):
        yield where, data, error


def _parquet_positioned(
    path: Path, start: int = 0, limit: int | None = None, label: str | None = None
) -> Iterator[tuple[tuple[int, int], str, Any, str | None]]:
    """Rows from row ``start`` on, a batch at a time (never the whole table), each with its
    position ``(row index, 0)``; at most ``limit`` rows. Only the row groups from the one that
    holds ``start`` are read."""
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise InputError(f"{path}: reading Parquet needs pyarrow: pip install pyarrow") from exc

    pf = pq.ParquetFile(path)
    first, skip = 0, start
    while first < pf.num_row_groups and skip >= (k := pf.metadata.row_group(first).num_rows):
        skip -= k
        first += 1
    i, n = start - skip, 0
    groups = list(range(first, pf.num_row_groups))
    if not groups:
        return
    for batch in pf.iter_batches(batch_size=_PARQUET_BATCH, row_groups=groups):
        for row in batch.to_pylist():
            if i >= start:
                if limit is not None and n >= limit:
                    return
                n += 1
                yield (i, 0), f"{label or path}[row {i}]", row, None
            i += 1


def read_rows(path: str | Path, *, completion_column: str | None = "completion") -> Iterator[InputRow]:
    """Return an iterator over the rows of ``path``; malformed rows come with ``error`` set (the
    caller decides). A missing file or an unsupported type raises :class:`InputError` at once."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"input file {str(p)!r} does not exist")
    suffix = p.suffix.lower()
    readers = {".jsonl": _jsonl, ".json": _json, ".csv": _csv, ".parquet": _parquet}
    if suffix not in readers:
        raise InputError(f"{p}: unsupported input type {suffix!r}; use one of {', '.join(SUPPORTED_SUFFIXES)}")
    return _rows(readers[suffix](p), completion_column)


def read_positioned_rows(
    path: str | Path, *, completion_column: str = "completion"
) -> Iterator[tuple[tuple[int, int], InputRow]]:
    """The rows of a ``.jsonl`` or ``.parquet`` file, as :func:`read_rows` gives them, each with
    the position :func:`read_rows_at` starts from."""
    p = _seekable(path)
    source = _jsonl_positioned(p) if p.suffix.lower() == ".jsonl" else _parquet_positioned(p)
    for pos, where, data, error in source:
        yield pos, _row(where, data, error, completion_column)


def read_rows_at(
    path: str | Path,
    position: tuple[int, int],
    count: int,
    *,
    completion_column: str = "completion",
    label: str | None = None,
) -> list[InputRow]:
    """``count`` rows of a ``.jsonl`` or ``.parquet`` file from ``position`` (one that
    :func:`read_positioned_rows` gave), exactly as :func:`read_rows` gives them.

    :param label: the file's name in the rows' ``where`` and errors (default ``path``): the name
        the user gave, when another process reads it by its absolute path.
    """
    p = _seekable(path)
    if p.suffix.lower() == ".jsonl":
        source = _jsonl_positioned(p, position[0], position[1], count, label)
    else:
        source = _parquet_positioned(p, position[0], count, label)
    return [_row(where, data, error, completion_column) for _pos, where, data, error in source]


def _seekable(path: str | Path) -> Path:
    p = Path(path)
    if not p.is_file():
        raise InputError(f"input file {str(p)!r} does not exist")
    if p.suffix.lower() not in SEEKABLE_SUFFIXES:
        raise InputError(f"{p}: unsupported input type {p.suffix!r} here; use one of {', '.join(SEEKABLE_SUFFIXES)}")
    return p


def _row(where: str, data: Any, error: str | None, completion_column: str | None) -> InputRow:
    if error is None:
        error = _check_row(data, where, completion_column)
    return InputRow(where, data if isinstance(data, dict) else {"_raw": data}, error)


def row_from_data(data: Any, where: str, *, completion_column: str = "completion") -> InputRow:
    """One row given as already-parsed data (a request's JSON object), checked exactly as a row
    of a file is: ``error`` names ``where`` and the column when the row is malformed."""
    return _row(where, data, None, completion_column)


def _rows(source: Iterator[tuple[str, Any, str | None]], completion_column: str | None) -> Iterator[InputRow]:
    for where, data, error in source:
        yield _row(where, data, error, completion_column)


def scan_columns(path: str | Path) -> set[str] | None:
    """The columns that any row of ``path`` has, found without holding the rows: the header of a
    CSV file, the schema of a Parquet file, the keys of every object of a JSONL file (one more
    streaming pass, a line at a time). ``None`` for a ``.json`` file: it is one document, which the
    rows being read already hold in memory, so the caller reads on from them instead of parsing
    the file a second time."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".csv":
        with p.open("r", encoding="utf-8", newline="") as fh:
            return set(next(csv.reader(fh), []))
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        return set(pq.read_schema(p).names)
    if suffix == ".jsonl":
        columns: set[str] = set()
        with p.open("r", encoding="utf-8") as fh:
            for line in fh:
                try:
                    data = json.loads(line) if line.strip() else None
                except json.JSONDecodeError:
                    continue
                if isinstance(data, dict):
                    columns.update(data)
        return columns
    return None


def count_rows(path: str | Path) -> int | None:
    """Cheap row count for progress bars (JSONL: non-empty lines), or None when unknown."""
    p = Path(path)
    if p.suffix.lower() == ".jsonl":
        with p.open("rb") as fh:
            return sum(1 for line in fh if line.strip())
    return None
