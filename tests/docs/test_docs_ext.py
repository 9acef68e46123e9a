"""The two small docs-build extensions in ``docs/_ext``: reST docstring bits to Markdown, and
links to repository files outside ``docs/``."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from _docs_markdown import DOCS, REPO


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, DOCS / "_ext" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_roles_become_inline_code_and_literal_blocks_become_fenced() -> None:
    rst = _load("griffe_rst")
    doc = (
        "Use :class:`~grpo_rewards.Verifier` and :func:`grpo_rewards.load_rewards`.\n\n"
        "Example::\n\n    x = load_rewards(['math'])\n\nConfig::\n\n    [[rewards]]\n    name = 'math'\n\nAfter."
    )
    assert rst.rst_to_markdown(doc) == (
        "Use `Verifier` and `grpo_rewards.load_rewards`.\n\n"
        "Example:\n\n```python\nx = load_rewards(['math'])\n```\n\n"
        "Config:\n\n```toml\n[[rewards]]\nname = 'math'\n```\n\nAfter."
    )
    assert rst.rst_to_markdown(":param x: a value ending in a colon::") == ":param x: a value ending in a colon::"


def test_links_to_repository_files_outside_docs_point_at_the_repository() -> None:
    links = _load("repo_links")
    page_dir = DOCS / "benchmarks"
    base = "https://github.com/o/r"
    md = (
        "[script](../../pyproject.toml#L1) [page](../concepts.md) [gone](../../no_such_file.py) "
        "[web](https://x.org/a) [dir](../../examples)\n```\n[in code](../../pyproject.toml)\n```"
    )
    out = links._rewrite(md, page_dir, DOCS.resolve(), REPO.resolve(), base)
    assert out == (
        f"[script]({base}/blob/main/pyproject.toml#L1) [page](../concepts.md) [gone](../../no_such_file.py) "
        f"[web](https://x.org/a) [dir]({base}/tree/main/examples)\n```\n[in code](../../pyproject.toml)\n```"
    )
    assert Path(REPO / "pyproject.toml").is_file()
