"""The docs cover the code: a hook, a built-in verifier, a verifier option, a public name, a
command-line option or a trainer config key (with its default) that is missing from the docs
fails a test here."""

from __future__ import annotations

import argparse
import inspect
import re
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from _docs_markdown import DOCS, REPO

import grpo_rewards
from grpo_rewards import hookspecs
from grpo_rewards.plugins import Entry, get_registry, reset_registry


def _read(rel: str) -> str:
    path = DOCS / rel
    assert path.is_file(), f"docs/{rel} does not exist"
    return path.read_text(encoding="utf-8")


def _directives(text: str) -> tuple[list[str], list[str]]:
    """mkdocstrings ``::: identifier`` lines, and the ``members:`` each lists."""
    idents = re.findall(r"^::: *([\w.]+)", text, flags=re.M)
    members = re.findall(r"^ +- +(\w+) *$", text, flags=re.M)
    return idents, members


# -- hooks -------------------------------------------------------------------------------------


def test_every_hookspec_is_in_the_hooks_reference() -> None:
    idents, members = _directives(_read("reference/hooks.md"))
    assert "grpo_rewards.hookspecs" in idents
    missing = [h for h in hookspecs.HOOKS if h not in members]
    extra = [m for m in members if m not in hookspecs.HOOKS]
    assert not missing, f"hooks missing from docs/reference/hooks.md (add them under members:): {missing}"
    assert not extra, f"docs/reference/hooks.md lists hooks that do not exist: {extra}"


@pytest.mark.parametrize("hook", hookspecs.HOOKS)
def test_every_hookspec_docstring_is_a_complete_reference(hook: str) -> None:
    """The generated reference shows what the docstring holds: parameters, when, an example."""
    fn = getattr(hookspecs, hook)
    doc = inspect.getdoc(fn) or ""
    params = list(inspect.signature(fn).parameters)
    for p in params:
        assert f":param {p}:" in doc, f"hookspecs.{hook}: parameter {p!r} is not documented (:param {p}:)"
    assert ":returns:" in doc, f"hookspecs.{hook}: no :returns: field"
    assert "Called " in doc, f"hookspecs.{hook}: the docstring does not say when the hook is called ('Called ...')"
    assert "Example::" in doc, f"hookspecs.{hook}: no 'Example::' block"


# -- verifiers -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def builtins() -> Iterator[dict[str, Entry]]:
    """The built-in verifiers (installed third-party plugins do not count)."""
    reset_registry()
    entries = {n: e for n, e in get_registry().verifiers.items() if e.plugin.builtin}
    reset_registry()
    assert "exact" in entries
    yield entries


def _page_of(name: str) -> str:
    return f"verifiers/{name.split('.')[0]}.md"


def test_every_builtin_verifier_is_in_the_overview(builtins: dict[str, Entry]) -> None:
    text = _read("verifiers/index.md")
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| *\[?`([\w.\-]+)`.*$", text, flags=re.M)}
    missing = sorted(set(builtins) - set(rows))
    assert not missing, f"built-in verifiers missing from the table in docs/verifiers/index.md: {missing}"
    unknown = sorted(set(rows) - set(builtins))
    assert not unknown, f"docs/verifiers/index.md lists verifiers that are not registered: {unknown}"
    for name, row in rows.items():
        link = f"({Path(_page_of(name)).name}"
        assert link in row, f"docs/verifiers/index.md: the row of {name!r} does not link {_page_of(name)}"


def test_every_builtin_verifier_has_a_page_with_its_options(builtins: dict[str, Entry]) -> None:
    problems = []
    for name, entry in sorted(builtins.items()):
        rel = _page_of(name)
        if not (DOCS / rel).is_file():
            problems.append(f"{name}: docs/{rel} does not exist")
            continue
        text = _read(rel)
        if f"`{name}`" not in text:
            problems.append(f"{name}: docs/{rel} never names it as `{name}`")
        factory = entry.factory
        options = factory.option_defaults() if isinstance(factory, type) and hasattr(factory, "option_defaults") else {}
        undocumented = [o for o in options if f"`{o}`" not in text]
        if undocumented:
            problems.append(f"{name}: options not documented in docs/{rel}: {undocumented}")
    assert not problems, "\n".join(problems)


# -- Python API ----------------------------------------------------------------------------------


def test_every_public_name_is_in_the_api_reference() -> None:
    idents, _ = _directives(_read("reference/api.md"))
    documented = {i.removeprefix("grpo_rewards.") for i in idents}
    missing = [n for n in grpo_rewards.__all__ if n not in documented]
    assert not missing, f"public names (grpo_rewards.__all__) missing from docs/reference/api.md: {missing}"


# -- command line --------------------------------------------------------------------------------


def _cli_options() -> dict[str, list[str]]:
    from grpo_rewards.cli import _parser

    parser = _parser()
    out: dict[str, list[str]] = {}
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    out[""] = [s for a in parser._actions for s in a.option_strings if s.startswith("--") and s != "--help"]
    for name, sp in sub.choices.items():
        opts = [s for a in sp._actions for s in a.option_strings if s.startswith("--") and s != "--help"]
        out[name] = opts + [a.dest.upper() for a in sp._actions if not a.option_strings]
    return out


def test_every_cli_command_and_option_is_in_the_cli_reference() -> None:
    text = _read("reference/cli.md")
    problems = []
    for command, options in _cli_options().items():
        if command and f"## `grpo-rewards {command}`" not in text:
            problems.append(f"no section '## `grpo-rewards {command}`'")
        for opt in options:
            if f"`{opt}" not in text:
                problems.append(f"grpo-rewards {command}: {opt} is not documented")
    assert not problems, "docs/reference/cli.md: " + "; ".join(problems)


def test_docs_tree_is_where_the_tests_look() -> None:
    assert (REPO / "mkdocs.yml").is_file()
    assert DOCS.is_dir()


# -- trainer config ------------------------------------------------------------------------------


def _trainer_config() -> dict[str, Any]:
    try:
        from grpo_rewards_trainer.config import DEFAULT_CONFIG
    except ImportError as exc:  # the trainer package is part of this repository; say so if it is absent
        pytest.skip(f"grpo_rewards_trainer.config is not importable ({exc}); the config reference cannot be checked")
    return DEFAULT_CONFIG


def _flatten(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Dotted keys of the schema; open tables (``dataset.rename``) and lists are leaves."""
    out: dict[str, Any] = {}
    for key, value in d.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping) and value and dotted != "dataset.rename":
            out.update(_flatten(value, dotted + "."))
        else:
            out[dotted] = value
    return out


def _config_rows() -> dict[str, str]:
    """``{key: default cell}`` of every table row of the config reference."""
    text = _read("reference/config.md")
    return {m.group(1): m.group(2).strip() for m in re.finditer(r"^\| `([\w.]+)` \|([^|]*)\|", text, flags=re.M)}


def test_every_trainer_config_key_is_in_the_config_reference() -> None:
    schema = _flatten(_trainer_config())
    rows = _config_rows()
    missing = [k for k in schema if k not in rows]
    assert not missing, f"trainer config keys missing from docs/reference/config.md: {missing}"
    stale = [k for k in rows if k not in schema]
    assert not stale, f"docs/reference/config.md documents keys the trainer config does not have: {stale}"


def test_config_reference_defaults_match_the_schema() -> None:
    schema = _flatten(_trainer_config())
    wrong = []
    for key, cell in _config_rows().items():
        default = schema.get(key)
        if cell == "*unset*":
            if default is not None:
                wrong.append(f"{key}: documented unset, default is {default!r}")
            continue
        code = re.fullmatch(r"`([^`]*)`", cell)
        if code is None:  # a description (a long prompt, the default reward list): not comparable
            continue
        try:
            value = tomllib.loads(f"v = {code.group(1)}")["v"]
        except tomllib.TOMLDecodeError:
            wrong.append(f"{key}: default cell {cell!r} is not a TOML value")
            continue
        if value != default and not (isinstance(default, tuple) and list(default) == value):
            wrong.append(f"{key}: documented {value!r}, default is {default!r}")
    assert not wrong, "docs/reference/config.md: " + "; ".join(wrong)


def test_every_grpo_train_option_is_in_the_cli_reference() -> None:
    try:
        from grpo_rewards_trainer.cli import build_parser
    except ImportError as exc:
        pytest.skip(f"grpo_rewards_trainer.cli is not importable ({exc})")
    text = _read("reference/cli.md")
    assert "## `grpo-train`" in text, "docs/reference/cli.md has no '## `grpo-train`' section"
    parser = build_parser()
    options = [s for a in parser._actions for s in a.option_strings if s.startswith("--") and s != "--help"]
    options += [a.dest.upper() for a in parser._actions if not a.option_strings]
    missing = [o for o in options if f"`{o}" not in text]
    assert not missing, f"grpo-train options missing from docs/reference/cli.md: {missing}"


# -- quickstart ----------------------------------------------------------------------------------


def test_quickstart_starts_with_the_readme_commands() -> None:
    from _docs_markdown import code_blocks

    def first_bash(path: Path) -> str:
        return next(b.code for b in code_blocks(path) if b.lang in ("bash", "sh", "shell"))

    assert first_bash(DOCS / "quickstart.md") == first_bash(REPO / "README.md"), (
        "docs/quickstart.md's first command block must be the README's two commands, verbatim"
    )


def test_every_exit_code_is_in_the_cli_reference() -> None:
    from grpo_rewards.exitcodes import ExitCode

    text = _read("reference/cli.md")
    assert "## Exit status" in text, "docs/reference/cli.md has no '## Exit status' section"
    section = text.split("## Exit status", 1)[1]
    missing = [c.name for c in ExitCode if f"| {int(c)} | `{c.name}` |" not in section]
    assert not missing, f"exit codes missing from the table in docs/reference/cli.md: {missing}"
