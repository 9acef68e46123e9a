"""``grpo-rewards`` says what is wrong: each mistake exits with its status from
:mod:`grpo_rewards.exitcodes` and a message that names the file, column, component or option
(issue #16). The command line runs as a user runs it, in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "quickstart.jsonl"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRPO_REWARDS_")}
    env["GRPO_REWARDS_LOAD_PLUGINS"] = ""
    return subprocess.run(
        [sys.executable, "-m", "grpo_rewards.cli", *args], capture_output=True, text=True, env=env, timeout=300
    )


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# -- malformed JSON: the column is where the fault is -------------------------------------------


def test_a_truncated_jsonl_line_reports_the_column_where_it_ends(tmp_path: Path) -> None:
    line = '{"completion": "The capital is Paris", "answer":'  # 48 characters: the value is missing at 49
    assert len(line) == 48
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"completion": "Paris", "answer": "Paris"}\n' + line + "\n")
    r = cli("score", str(bad), "-r", "exact", "--no-progress")
    assert r.returncode == 1
    assert f"{bad}:2: invalid JSON: Expecting value (column 49)" in r.stderr


def test_a_fault_inside_a_jsonl_line_reports_its_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"completion": "The capital is Paris", "answer" "Paris"}\r\n')  # ':' missing at 49
    r = cli("score", str(bad), "-r", "exact", "--no-progress")
    assert r.returncode == 1
    assert f"{bad}:1: invalid JSON: Expecting ':' delimiter (column 49)" in r.stderr


def test_a_malformed_json_file_reports_line_and_column(tmp_path: Path) -> None:
    line = '  {"completion": "Rome", "answer": }'
    assert line.index("}") + 1 == 36
    bad = tmp_path / "bad.json"
    bad.write_text('[\n  {"completion": "Paris", "answer": "Paris"},\n' + line + "\n]\n")
    r = cli("score", str(bad), "-r", "exact", "--no-progress")
    assert r.returncode == 1
    assert f"{bad}:3: invalid JSON: Expecting value (column 36)" in r.stderr
