"""The built distributions work as a user installs them: ``python -m build`` makes an sdist and,
from that sdist alone, a wheel; the wheel installed in a fresh virtual environment (its
dependencies from the package index, as pip installs them for a user) runs ``grpo-rewards`` and
imports ``grpo_rewards_trainer``, with every module and data file of both packages in it."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"grpo_rewards": ROOT / "grpo_rewards", "grpo_rewards_trainer": ROOT / "trainer" / "grpo_rewards_trainer"}

pytestmark = pytest.mark.slow


def run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    # Nothing from the checkout or the test run leaks in: not PYTHONPATH, not plugin settings.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("GRPO_REWARDS_")}
    r = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"{' '.join(argv)} exited {r.returncode}:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


def package_files() -> dict[str, str]:
    """Every module and data file of the two import packages in the checkout (``.py``, ``py.typed``,
    ``data/*``, as pyproject.toml's package-data names them): path in the wheel -> path in the checkout."""
    return {
        f"{name}/{p.relative_to(src).as_posix()}": p.relative_to(ROOT).as_posix()
        for name, src in PACKAGES.items()
        for p in src.rglob("*")
        if p.is_file()
        and "__pycache__" not in p.parts
        and (p.suffix == ".py" or p.name == "py.typed" or p.parent.name == "data")
    }


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        import build  # noqa: F401
    except ImportError:
        pytest.fail("the 'build' package is missing: pip install -e '.[dev]' (scripts/test.sh installs it)")
    out = tmp_path_factory.mktemp("dist")
    # No --sdist/--wheel: build makes the sdist, then the wheel from the unpacked sdist, so this also
    # proves that the sdist holds everything a build needs.
    run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)], cwd=out)
    return out


def test_the_wheel_holds_every_module_and_data_file(dist: Path) -> None:
    (wheel,) = dist.glob("grpo_rewards-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = sorted(set(package_files()) - names)
    assert not missing, f"files of the packages missing from {wheel.name}: {missing}"
    assert {"grpo_rewards/py.typed", "grpo_rewards_trainer/data/arithmetic.jsonl"} <= names
    entry_points = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "grpo-rewards = grpo_rewards.cli:main" in text and "grpo-train = grpo_rewards_trainer.cli:main" in text


def test_the_sdist_holds_what_a_build_needs(dist: Path) -> None:
    (sdist,) = dist.glob("grpo_rewards-*.tar.gz")
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    needed = {"pyproject.toml", "README.md", *package_files().values()}
    missing = sorted(needed - names)
    assert not missing, f"files missing from {sdist.name}: {missing}"


def test_the_wheel_installs_and_runs_in_a_fresh_venv(dist: Path, tmp_path: Path) -> None:
    (wheel,) = dist.glob("grpo_rewards-*.whl")
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], cwd=tmp_path)
    python = venv / "bin" / "python"
    run([str(python), "-m", "pip", "install", "-q", str(wheel)], cwd=tmp_path)

    listing = run([str(venv / "bin" / "grpo-rewards"), "list"], cwd=tmp_path).stdout
    assert "math" in listing and "[built-in]" in listing
    scored = tmp_path / "scored.jsonl"
    run(
        [str(venv / "bin" / "grpo-rewards"), "score", str(ROOT / "examples" / "quickstart.jsonl"), "-r", "exact"]
        + ["--no-progress", "-o", str(scored)],
        cwd=tmp_path,
    )
    assert len(scored.read_text().splitlines()) == 6
    check = (
        "import importlib.resources as r, grpo_rewards, grpo_rewards_trainer\n"
        "from grpo_rewards_trainer.arithmetic import load_bundled_rows\n"
        "print(grpo_rewards.__file__, grpo_rewards_trainer.__file__, grpo_rewards_trainer.__version__)\n"
        "assert r.files('grpo_rewards').joinpath('py.typed').is_file()\n"
        "assert load_bundled_rows()\n"
    )
    files = run([str(python), "-c", check], cwd=tmp_path).stdout.split()
    # imported from the new venv, not from the checkout
    assert all(Path(f).is_relative_to(venv) for f in files[:2]), files
    assert files[2] != "0.0.0+unknown"
