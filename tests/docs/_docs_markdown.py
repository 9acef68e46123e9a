"""Fenced code blocks of Markdown files, for the docs tests.

A block is skipped when the nearest non-blank line above it is an HTML comment starting with
``<!-- no-test``, e.g. ``<!-- no-test: needs a GPU -->`` (the comment does not render). A
``bash``/``sh`` block preceded by ``<!-- test: shell -->`` is a shell example to run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"

_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`\n]*)$")
NO_TEST = "<!-- no-test"
TEST_SHELL = "<!-- test: shell -->"


@dataclass(frozen=True)
class Block:
    """One fenced code block: where it is, its language, its code, and whether it opts out."""

    path: Path
    line: int  # 1-based line of the first code line
    lang: str
    code: str
    skip: bool
    shell: bool = False

    @property
    def where(self) -> str:
        return f"{_rel(self.path)}:{self.line}"


def _rel(path: Path) -> Path:
    return path.relative_to(REPO) if path.is_relative_to(REPO) else path


def code_blocks(path: Path) -> list[Block]:
    """Every fenced block of ``path`` in order (indented fences, as in admonitions, included)."""
    lines = path.read_text(encoding="utf-8").split("\n")
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = _OPEN.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence = m.group("indent"), m.group("fence")
        info = m.group("info").strip()
        lang = info.split()[0].lstrip(".{").rstrip("}").lower() if info else ""
        prev = next((ln.strip() for ln in reversed(lines[:i]) if ln.strip()), "")
        body: list[str] = []
        j = i + 1
        while j < len(lines):
            stripped = lines[j].strip()
            if stripped.startswith(fence[0] * len(fence)) and set(stripped) == {fence[0]}:
                break
            body.append(lines[j][len(indent) :] if lines[j].startswith(indent) else lines[j].lstrip())
            j += 1
        else:
            raise AssertionError(f"{_rel(path)}:{i + 1}: code fence {fence!r} is never closed")
        shell = lang in ("bash", "sh", "shell") and prev == TEST_SHELL
        blocks.append(Block(path, i + 2, lang, "\n".join(body) + "\n", prev.startswith(NO_TEST), shell))
        i = j + 1
    return blocks


def markdown_files() -> list[Path]:
    """The docs pages and the README, whose examples must run."""
    return [REPO / "README.md", *sorted(p for p in DOCS.rglob("*.md") if "_ext" not in p.parts)]
