"""``grpo-rewards score -o PATH`` replaces a regular file atomically and leaves everything else what it
is: a FIFO stays a FIFO, a symbolic link stays a link, ``/dev/null`` stays the null device."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

from private_dev import GUARD, assert_host_dev_null_intact, require_private_dev, run_with_private_dev

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "quickstart.jsonl"
ROWS = sum(1 for line in EXAMPLE.read_text().splitlines() if line.strip())


def env() -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("GRPO_REWARDS_")}
    e["GRPO_REWARDS_LOAD_PLUGINS"] = ""
    return e


def score_to(output: Path | str, source: Path = EXAMPLE) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "grpo_rewards.cli", "score", str(source), "-r", "exact", "--no-progress"]
    return subprocess.run([*argv, "-o", str(output)], capture_output=True, text=True, env=env(), timeout=300)


def rewards(text: str) -> list[float]:
    return [json.loads(line)["reward"] for line in text.splitlines() if line.strip()]


def test_output_to_a_fifo_streams_the_rows_and_the_fifo_stays(tmp_path: Path) -> None:
    fifo = tmp_path / "scored.fifo"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()), daemon=True)
    reader.start()
    r = score_to(fifo)
    reader.join(timeout=60)
    assert r.returncode == 0, r.stderr
    assert len(rewards(received[0])) == ROWS
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scored.fifo"]  # no temporary file


def test_output_through_a_symbolic_link_replaces_the_target_and_keeps_the_link(tmp_path: Path) -> None:
    target = tmp_path / "runs" / "scored.jsonl"
    target.parent.mkdir()
    target.write_text("old\n")
    link = tmp_path / "latest.jsonl"
    link.symlink_to(target)
    r = score_to(link)
    assert r.returncode == 0, r.stderr
    assert link.is_symlink() and link.resolve() == target
    assert len(rewards(target.read_text())) == ROWS


def test_output_over_a_file_keeps_its_mode_and_a_failed_run_keeps_its_content(tmp_path: Path) -> None:
    out = tmp_path / "scored.jsonl"
    out.write_text("old\n")
    out.chmod(0o600)
    r = score_to(out)
    assert r.returncode == 0, r.stderr
    assert len(rewards(out.read_text())) == ROWS and stat.S_IMODE(out.stat().st_mode) == 0o600
    scored = out.read_text()
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"completion": "a", "answer": "a"}\nnot json\n')
    r = score_to(out, bad)
    assert r.returncode != 0 and "bad.jsonl:2" in r.stderr
    assert out.read_text() == scored  # the failed run left the previous output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.jsonl", "scored.jsonl"]


def test_output_to_dev_null_as_root_leaves_it_a_character_device() -> None:
    """The bug: as root, ``-o /dev/null`` renamed a regular file over the machine's /dev/null. Run in
    a private mount namespace with its own /dev; then the host's /dev/null is checked too."""
    require_private_dev()
    check = (
        "import os, stat, subprocess, sys\n"
        "r = subprocess.run(sys.argv[1:])\n"
        "st = os.stat('/dev/null')\n"
        "print(r.returncode, stat.S_ISCHR(st.st_mode), os.major(st.st_rdev), os.minor(st.st_rdev), os.listdir('/dev'))\n"
    )
    argv = [sys.executable, "-m", "grpo_rewards.cli", "score", str(EXAMPLE), "-r", "exact", "--no-progress"]
    r = run_with_private_dev([sys.executable, "-c", GUARD + check, *argv, "-o", "/dev/null"], env=env())
    assert r.returncode == 0, r.stderr
    # the command's exit status; /dev/null a character device 1:3; nothing else left in /dev
    assert r.stdout.splitlines()[-1] == "0 True 1 3 ['null']", r.stdout + r.stderr
    assert "wrote /dev/null" in r.stdout
    assert_host_dev_null_intact()
