"""MkDocs hook: relative links from a page to repository files outside ``docs/`` (a benchmark
script, an example config) become links to those files on the repository host.

Only links whose target exists in the repository are rewritten, so a link to a file that does
not exist still fails ``mkdocs build --strict``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

_LINK = re.compile(r"(?<!!)\]\((?P<target>[^)\s#]+)(?P<anchor>#[^)\s]*)?\)")
_FENCE = re.compile(r"^\s*(```|~~~)")


def _rewrite(markdown: str, page_dir: Path, docs_dir: Path, repo_root: Path, base: str) -> str:
    out: list[str] = []
    fenced = False
    for line in markdown.split("\n"):
        if _FENCE.match(line):
            fenced = not fenced
        if not fenced:

            def repl(m: re.Match[str]) -> str:
                target = m.group("target")
                if "://" in target or target.startswith(("/", "mailto:")):
                    return m.group(0)
                path = (page_dir / target).resolve()
                if path.is_relative_to(docs_dir) or not path.is_relative_to(repo_root) or not path.exists():
                    return m.group(0)
                kind = "tree" if path.is_dir() else "blob"
                rel = path.relative_to(repo_root).as_posix()
                return f"]({base}/{kind}/main/{rel}{m.group('anchor') or ''})"

            line = _LINK.sub(repl, line)
        out.append(line)
    return "\n".join(out)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    docs_dir = Path(config["docs_dir"]).resolve()
    repo_root = Path(config["config_file_path"]).resolve().parent
    base = str(config["repo_url"]).rstrip("/")
    page_dir = Path(page.file.abs_src_path).resolve().parent
    return _rewrite(markdown, page_dir, docs_dir, repo_root, base)
