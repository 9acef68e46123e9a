"""The documentation site builds with ``mkdocs build --strict``: broken links, missing pages,
pages left out of the nav, unresolved API references and docstring problems fail it.

Needs the ``docs`` extra (part of ``all``). The build is offline: no fonts or other assets are
fetched, and the built pages reference none.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from _docs_markdown import DOCS, REPO

from grpo_rewards import hookspecs


def _nav_pages(node: object) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [p for item in node for p in _nav_pages(item)]
    if isinstance(node, dict):
        return [p for value in node.values() for p in _nav_pages(value)]
    return []


class _Loader(yaml.SafeLoader):
    """Reads mkdocs.yml, ignoring MkDocs' custom tags (``!relative``, ``!ENV``)."""


_Loader.add_multi_constructor("!", lambda loader, suffix, node: None)


def test_nav_lists_every_page_and_only_existing_ones() -> None:
    config = yaml.load((REPO / "mkdocs.yml").read_text(encoding="utf-8"), Loader=_Loader)
    nav = _nav_pages(config["nav"])
    missing = [p for p in nav if not (DOCS / p).is_file()]
    assert not missing, f"mkdocs.yml nav lists pages that do not exist: {missing}"
    pages = sorted(str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md") if "_ext" not in p.parts)
    left_out = [p for p in pages if p not in nav]
    assert not left_out, f"pages not in the mkdocs.yml nav: {left_out}"


@pytest.mark.slow
def test_mkdocs_build_strict(tmp_path: Path) -> None:
    if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("mkdocstrings_handlers") is None:
        pytest.fail('mkdocs or mkdocstrings is not installed: pip install -e ".[docs]" (part of ".[all]")')
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "trainer")])}
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site), "--config-file", "mkdocs.yml"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{log[-5000:]}"
    warnings = [line for line in log.splitlines() if line.startswith(("WARNING", "ERROR"))]
    assert not warnings, "\n".join(warnings)

    hooks_html = (site / "reference" / "hooks" / "index.html").read_text(encoding="utf-8")
    for hook in hookspecs.HOOKS:
        assert f'id="grpo_rewards.hookspecs.{hook}"' in hooks_html, f"the hooks page has no section for {hook}"
    api_html = (site / "reference" / "api" / "index.html").read_text(encoding="utf-8")
    assert 'id="grpo_rewards.load_rewards"' in api_html
    remote = re.compile(r'<(?:script|link|img)\b[^>]*\b(?:src|href)="(?:https?:)?//[^"]*"')
    for page in site.rglob("*.html"):
        found = remote.findall(page.read_text(encoding="utf-8"))
        assert not found, f"{page.relative_to(site)} loads remote assets (the site must work offline): {found[:3]}"
