"""Griffe extension: render the reST bits of our Sphinx-style docstrings as Markdown.

The package's docstrings use Sphinx conventions (``:param:``, ``:class:`~x.Y```, ``Example::``
literal blocks) so that they read well in ``help()`` and IDEs. mkdocstrings parses the
``:param:`` fields itself (``docstring_style: sphinx``) but renders the rest as Markdown, where
cross-reference roles and ``::`` literal blocks have no meaning. This extension rewrites:

- roles (``:class:`~grpo_rewards.Verifier```) into inline code (``Verifier``);
- ``Example::`` literal blocks into fenced code blocks, tagged ``python`` or ``toml`` when the
  block parses as such.
"""

from __future__ import annotations

import ast
import re
import textwrap
import tomllib
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|data|exc|obj|const):`(~?)([^`]+)`")


def _role(match: re.Match[str]) -> str:
    target = match.group(2)
    if match.group(1):
        target = target.rsplit(".", 1)[-1]
    return f"`{target}`"


def _language(code: str) -> str:
    # TOML first: "[[rewards]]\nname = 'x'" is valid Python too, while real Python code
    # (calls, imports, defs) is rarely valid TOML.
    try:
        tomllib.loads(code)
        return "toml"
    except tomllib.TOMLDecodeError:
        pass
    try:
        ast.parse(code)
        return "python"
    except SyntaxError:
        return "text"


def rst_to_markdown(text: str) -> str:
    """Rewrite roles and ``::`` literal blocks of a docstring into Markdown."""
    text = _ROLE.sub(_role, text)
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.rstrip().endswith("::") and not line.lstrip().startswith(":"):
            head = line.rstrip()[:-2].rstrip()
            indent = len(line) - len(line.lstrip())
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            block: list[str] = []
            while j < len(lines) and (not lines[j].strip() or len(lines[j]) - len(lines[j].lstrip()) > indent):
                block.append(lines[j])
                j += 1
            while block and not block[-1].strip():
                block.pop()
            if block:
                code = textwrap.dedent("\n".join(block))
                pad = " " * indent
                if head.strip():
                    out.append(head + ":")
                    out.append("")
                out.append(f"{pad}```{_language(code)}")
                out.extend(pad + c if c else "" for c in code.split("\n"))
                out.append(f"{pad}```")
                out.append("")
                i = j
                continue
        out.append(line)
        i += 1
    return "\n".join(out)


class SphinxRolesToMarkdown(griffe.Extension):
    """Apply :func:`rst_to_markdown` to every docstring griffe loads."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rst_to_markdown(obj.docstring.value)
