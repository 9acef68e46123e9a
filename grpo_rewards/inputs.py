"""Reading rows to score from JSONL, JSON, CSV or Parquet files, with errors that name ``file:line``."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grpo_rewards.errors import InputError

__all__ = ["InputRow", "read_rows", "count_rows", "scan_columns", "SUPPORTED_SUFFIXES"]

SUPPORTED_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet")


@dataclass
class InputRow:
    """One input row. ``error`` is set (and ``data`` may be partial) when the row is malformed."""

    where: str
    data: dict[str, Any]
    error: str | None = None


def _check_row(data: Any, where: str, completion_column: str) -> str | None:
    if not isinstance(data, dict):
        return f"{where}: expected a JSON object, got {type(data).__name__}"
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
    with path.open("r", encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            where = f"{path}:{lineno}"
            if not line.strip():
                continue
            # Without its line break: a line that ends too early would otherwise fail at the break,
            # which json reports as line 2, column 1, instead of at the column where the line ends.
            text = line.rstrip("\r\n")
            try:
                yield where, json.loads(text), None
            except json.JSONDecodeError as exc:
                yield where, {"_raw": text}, f"{where}: invalid JSON: {exc.msg} (column {exc.colno})"


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
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise InputError(f"{path}: reading Parquet needs pyarrow: pip install pyarrow") from exc
    table = pq.read_table(path)
    for i, row in enumerate(table.to_pylist()):
        yield f"{path}[row {i}]", row, None


def read_rows(path: str | Path, *, completion_column: str = "completion") -> Iterator[InputRow]:
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


def _rows(source: Iterator[tuple[str, Any, str | None]], completion_column: str) -> Iterator[InputRow]:
    for where, data, error in source:
        if error is None:
            error = _check_row(data, where, completion_column)
        yield InputRow(where, data if isinstance(data, dict) else {"_raw": data}, error)


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
