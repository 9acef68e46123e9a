"""The code examples in the docs and the README run, so they cannot rot.

Every fenced ``python`` block of a page runs, in order, in one namespace per page (later blocks
may use what earlier ones defined, as a reader would), in a scratch directory that has the
repository's ``examples/``. Every ``toml`` block with ``[[rewards]]`` tables is loaded with
``load_rewards``; a ``toml`` block that is a ``grpo-train`` config is checked against the
trainer's schema and its rewards are loaded. A ``bash`` block marked ``<!-- test: shell -->`` runs with ``bash -e`` (the
venv's scripts first on ``PATH``) and must exit 0. A block opts out with ``<!-- no-test: reason -->`` on the line above it; use
that only for what CI cannot do (a GPU, a network, a model download).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from _docs_markdown import REPO, Block, code_blocks, markdown_files

from grpo_rewards import load_rewards
from grpo_rewards.plugins import reset_registry

PAGES = [p for p in markdown_files() if any(b.lang in ("python", "py", "toml") or b.shell for b in code_blocks(p))]


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A working directory with ``examples/`` (also importable, for ``my_rewards:...`` paths), and
    only the built-in plugins loaded."""
    (tmp_path / "examples").symlink_to(REPO / "examples")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(REPO / "examples"))  # reward modules named by import path
    monkeypatch.setenv("GRPO_REWARDS_LOAD_PLUGINS", "")
    reset_registry()
    yield tmp_path
    reset_registry()


def _run_python(block: Block, namespace: dict[str, object]) -> None:
    code = compile(block.code, block.where, "exec")
    try:
        exec(code, namespace)
    except Exception as exc:
        raise AssertionError(f"the python example at {block.where} failed: {type(exc).__name__}: {exc}") from exc


def _load_toml(block: Block, tmp: Path) -> None:
    try:
        data = tomllib.loads(block.code)
    except tomllib.TOMLDecodeError as exc:
        raise AssertionError(f"the TOML example at {block.where} does not parse: {exc}") from exc
    if "rewards" not in data:
        return  # neither a reward set nor a trainer config (e.g. a pyproject.toml excerpt): parsed is enough
    path = tmp / f"example_{block.line}.toml"
    path.write_text(block.code, encoding="utf-8")
    try:
        if set(data) <= {"rewards", "defaults"}:
            spec: object = path
        else:  # a grpo-train config: check it against the trainer's schema, then load its rewards
            from grpo_rewards_trainer.config import load_config, reward_spec, validate_grpo_keys

            config = load_config(path)
            if "grpo" in data:
                validate_grpo_keys(config["grpo"], source=block.where)
            spec = reward_spec(config)
        rs = load_rewards(spec)
    except Exception as exc:
        raise AssertionError(f"the config at {block.where} does not load: {type(exc).__name__}: {exc}") from exc
    rs.close()


def _run_shell(block: Block, cwd: Path) -> None:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run(
        ["bash", "-e", "-o", "pipefail", "-c", block.code],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, (
        f"the shell example at {block.where} exited {proc.returncode}:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    )


def _is_slow(page: Path) -> bool:
    """Pages whose examples take seconds: shell commands (a fresh interpreter each), or torch/TRL
    imports (a trainer config's ``[grpo]`` table is checked against ``trl.GRPOConfig``)."""
    for b in code_blocks(page):
        if b.skip:
            continue
        if b.shell or (b.lang == "toml" and "[grpo]" in b.code):
            return True
        if b.lang in ("python", "py") and any(
            f"import {m}" in b.code or f"from {m}" in b.code for m in ("torch", "trl")
        ):
            return True
    return False


PARAMS = [pytest.param(p, id=str(p.relative_to(REPO)), marks=[pytest.mark.slow] if _is_slow(p) else []) for p in PAGES]


@pytest.mark.parametrize("page", PARAMS)
def test_examples_run(page: Path, scratch: Path) -> None:
    namespace: dict[str, object] = {"__name__": "__docs_example__"}
    ran = 0
    for block in code_blocks(page):
        if block.skip:
            continue
        if block.lang in ("python", "py"):
            _run_python(block, namespace)
            ran += 1
        elif block.lang == "toml":
            _load_toml(block, scratch)
            ran += 1
        elif block.shell:
            _run_shell(block, scratch)
            ran += 1
    if ran == 0:
        pytest.skip(f"every example of {page.relative_to(REPO)} is marked no-test")


def test_fence_parser_and_opt_out(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "# t\n\n```python\nx = 1\n```\n\n<!-- no-test: needs a GPU -->\n```python\nimport cuda\n```\n\n"
        "!!! note\n    ```toml\n    a = 1\n    ```\n\n<!-- test: shell -->\n````bash\ntrue\n````\n",
        encoding="utf-8",
    )
    blocks = code_blocks(page)
    assert [(b.lang, b.code, b.skip, b.shell, b.line) for b in blocks] == [
        ("python", "x = 1\n", False, False, 4),
        ("python", "import cuda\n", True, False, 9),
        ("toml", "a = 1\n", False, False, 14),
        ("bash", "true\n", False, True, 19),
    ]
