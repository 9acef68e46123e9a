"""docs/verifiers/peers.md stays true: every deliberate disagreement and every not-covered case
marked in a tests/peers module is listed on the page, and every module cites its source commit."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

HERE = Path(__file__).parent
PAGE = (HERE.parents[1] / "docs" / "verifiers" / "peers.md").read_text(encoding="utf-8")
MODULES = [
    "test_peer_open_r1",
    "test_peer_open_r1_steps_tags",
    "test_peer_trl",
    "test_peer_math_verify",
    "test_peer_verl",
]


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"peers_{name}", HERE / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _shown(key: object) -> list[str]:
    if isinstance(key, tuple):  # (gold, pred) of math-verify, shown in code spans with \n written out
        return [f"`{k.replace(chr(10), chr(92) + 'n')}`" for k in key]
    return [f"`{key}`"]


@pytest.mark.parametrize("name", MODULES)
def test_every_marked_case_is_on_the_page(name: str) -> None:
    module = _load(name)
    marked = {**getattr(module, "DISAGREEMENTS", {}), **getattr(module, "NOT_COVERED", {})}
    for key in marked:
        for text in _shown(key):
            assert text in PAGE, f"{name}: {key!r} is marked but docs/verifiers/peers.md does not list {text}"


@pytest.mark.parametrize("name", MODULES)
def test_every_module_cites_its_source(name: str) -> None:
    doc = _load(name).__doc__ or ""
    assert "commit" in doc and any(len(w.strip("`(),.")) == 40 for w in doc.split()), name
