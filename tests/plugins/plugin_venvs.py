"""Helpers for tests/plugins: fresh virtual environments with plugins pip-installed from their folders, as a user installs them.

To stay fast and offline, a test venv has no pip and no packages of its own beyond what is installed into
it: a ``.pth`` file puts the test interpreter's site-packages (grpo-rewards and the plugins' dependencies)
behind its own. Packages are installed with this interpreter's pip (``pip --python VENV``), with
``--no-index`` (a missing dependency fails instead of downloading) and ``--no-build-isolation``. A plugin
installed into the venv shadows any copy in the outer environment (its site-packages comes first).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import venv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
PLUGINS = REPO / "plugins"
PLUGIN_DIRS = sorted(p for p in PLUGINS.iterdir() if (p / "pyproject.toml").is_file())


@dataclass
class Venv:
    path: Path

    @property
    def python(self) -> str:
        return str(self.path / "bin" / "python")

    def pip_install(self, *targets: str | Path) -> None:
        cmd = [sys.executable, "-m", "pip", "--python", self.python, "install", "--quiet", "--no-index"]
        cmd += ["--no-build-isolation", "--disable-pip-version-check", *map(str, targets)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, f"pip install {targets} failed:\n{proc.stdout}\n{proc.stderr}"

    def run(
        self, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
    ) -> subprocess.CompletedProcess:
        """Run ``python ARGS`` in the venv with a clean plugin environment plus ``env``."""
        full = {k: v for k, v in os.environ.items() if not k.startswith("GRPO_REWARDS_")}
        full.update(env or {})
        return subprocess.run(
            [self.python, *args], capture_output=True, text=True, env=full, cwd=cwd or self.path, timeout=300
        )

    def grpo_rewards(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        return self.run("-m", "grpo_rewards", *args, env=env)

    def registry(self, env: dict[str, str] | None = None) -> dict[str, Any]:
        proc = self.grpo_rewards("list", "--json", env=env)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)


def make_venv(path: Path) -> Venv:
    venv.EnvBuilder(with_pip=False, symlinks=True).create(path)
    child = Path(sysconfig.get_path("purelib", vars={"base": str(path), "platbase": str(path)}))
    parent = sysconfig.get_path("purelib")
    # addsitedir (not a plain path line) so that the outer env's own .pth files, e.g. editable installs, work too
    (child / "_outer_site_packages.pth").write_text(f"import site; site.addsitedir({parent!r})\n")
    return Venv(path)


BROKEN_PLUGIN = {
    "pyproject.toml": """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "grpo-rewards-broken"
version = "0.1.0"

[project.entry-points.grpo_rewards]
broken = "grpo_rewards_broken"

[tool.setuptools]
packages = ["grpo_rewards_broken"]
""",
    "grpo_rewards_broken/__init__.py": """\
import grpo_rewards


class Never(grpo_rewards.Verifier):
    name = "broken.never"
    description = "never registered"


raise RuntimeError("boom: this plugin is broken at import")
""",
}
