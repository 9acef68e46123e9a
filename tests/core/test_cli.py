"""The ``grpo-rewards`` command line, run as a user runs it."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "quickstart.jsonl"


def cli(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("GRPO_REWARDS_")}
    e["GRPO_REWARDS_LOAD_PLUGINS"] = ""
    e.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "grpo_rewards.cli", *args],
        capture_output=True,
        text=True,
        env=e,
        timeout=300,
        cwd=cwd,
    )


def read_jsonl(p: Path) -> list[dict]:
    return [json.loads(line) for line in p.read_text().splitlines() if line.strip()]


def test_list_shows_builtins_with_descriptions() -> None:
    r = cli("list")
    assert r.returncode == 0, r.stderr
    assert "Verifiers:" in r.stdout
    line = next(ln for ln in r.stdout.splitlines() if ln.strip().startswith("exact "))
    assert "Normalized exact string match" in line and "[built-in]" in line
    data = json.loads(cli("list", "--json").stdout)
    assert any(v["name"] == "exact" and v["builtin"] for v in data["verifiers"])


def test_score_bundled_example(tmp_path: Path) -> None:
    out = tmp_path / "scored.jsonl"
    r = cli("score", str(EXAMPLE), "--reward", "exact", "-o", str(out))
    assert r.returncode == 0, r.stderr
    rows = read_jsonl(out)
    src = read_jsonl(EXAMPLE)
    assert len(rows) == len(src)
    for row, orig in zip(rows, src, strict=True):
        assert {k: row[k] for k in orig} == orig  # every input column kept
        assert set(row["rewards"]) == {"exact"} and set(row["outcomes"]) == {"exact"}
    assert [r_["reward"] for r_ in rows] == [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    assert rows[2]["details"]["exact"].endswith("(hedging)")
    # summary table: per reward mean and outcome counts
    assert "exact" in r.stdout and "0.3333" in r.stdout and "correct=2" in r.stdout and "wrong=4" in r.stdout
    assert "6 rows scored" in r.stdout


def test_score_weights_and_config(tmp_path: Path) -> None:
    cfg = tmp_path / "rewards.toml"
    cfg.write_text('[[rewards]]\nname = "exact"\nweight = 2.0\noutcomes = { wrong = -1.0 }\n')
    out = tmp_path / "o.jsonl"
    r = cli("score", str(EXAMPLE), "--config", str(cfg), "-o", str(out), "--no-details")
    assert r.returncode == 0, r.stderr
    rows = read_jsonl(out)
    assert [x["reward"] for x in rows] == [2.0, -2.0, -2.0, -2.0, 2.0, -2.0]
    assert "details" not in rows[0]


def test_score_to_stdout_puts_summary_on_stderr() -> None:
    r = cli("score", str(EXAMPLE), "-r", "exact:0.5", "--no-progress")
    assert r.returncode == 0, r.stderr
    rows = [json.loads(x) for x in r.stdout.splitlines()]
    assert rows[0]["reward"] == 0.5
    assert "TOTAL (weighted)" in r.stderr


def test_malformed_line_stops_with_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    lines = EXAMPLE.read_text().splitlines()
    lines.insert(2, '{"completion": "x", "answer": ')
    bad.write_text("\n".join(lines) + "\n")
    out = tmp_path / "o.jsonl"
    r = cli("score", str(bad), "-r", "exact", "-o", str(out))
    assert r.returncode == 1
    assert f"{bad}:3: invalid JSON" in r.stderr
    assert "--skip-invalid" in r.stderr
    assert not out.exists() and not list(tmp_path.glob("*.partial"))  # no half-written output


def test_skip_invalid_marks_rows_instead_of_dropping_them(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        '{"completion": "Paris", "answer": "Paris"}\n'
        "not json\n"
        '{"answer": "Paris"}\n'
        '{"completion": 42, "answer": "Paris"}\n'
        "[1, 2]\n"
        '{"completion": "Rome", "answer": "Paris"}\n'
    )
    out = tmp_path / "o.jsonl"
    r = cli("score", str(bad), "-r", "exact", "-o", str(out), "--skip-invalid")
    assert r.returncode == 0, r.stderr
    rows = read_jsonl(out)
    assert len(rows) == 6
    assert [x.get("invalid", "")[: len(str(bad)) + 2] for x in rows] == [
        "",
        f"{bad}:2",
        f"{bad}:3",
        f"{bad}:4",
        f"{bad}:5",
        "",
    ]
    assert "missing column 'completion'" in rows[2]["invalid"]
    assert [x["reward"] for x in rows] == [1.0, None, None, None, None, 0.0]
    assert "4 invalid" in r.stdout


def test_unknown_reward_is_a_clear_error(tmp_path: Path) -> None:
    r = cli("score", str(EXAMPLE), "-r", "exakt", "-o", str(tmp_path / "o.jsonl"))
    assert r.returncode == 2  # a config error: ExitCode.USAGE
    assert "unknown verifier 'exakt'; did you mean 'exact'?" in r.stderr
    assert not (tmp_path / "o.jsonl").exists()


def test_missing_input_and_missing_reward(tmp_path: Path) -> None:
    r = cli("score", str(tmp_path / "nope.jsonl"), "-r", "exact")
    assert r.returncode == 1 and "does not exist" in r.stderr
    r = cli("score", str(EXAMPLE))
    assert r.returncode == 2 and "at least one --reward" in r.stderr


def test_csv_and_parquet_inputs(tmp_path: Path) -> None:
    rows = [{"completion": "Paris", "answer": "Paris"}, {"completion": "Rome", "answer": "Paris"}]
    c = tmp_path / "in.csv"
    with c.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["completion", "answer"])
        w.writeheader()
        w.writerows(rows)
    r = cli("score", str(c), "-r", "exact", "-o", str(tmp_path / "c.jsonl"))
    assert r.returncode == 0, r.stderr
    assert [x["reward"] for x in read_jsonl(tmp_path / "c.jsonl")] == [1.0, 0.0]

    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    p = tmp_path / "in.parquet"
    pq.write_table(pa.Table.from_pylist(rows), p)
    r = cli("score", str(p), "-r", "exact", "-o", str(tmp_path / "p.jsonl"))
    assert r.returncode == 0, r.stderr
    assert [x["reward"] for x in read_jsonl(tmp_path / "p.jsonl")] == [1.0, 0.0]


def test_progress_bar_on_long_inputs(tmp_path: Path) -> None:
    big = tmp_path / "big.jsonl"
    big.write_text("".join(json.dumps({"completion": str(i), "answer": "7"}) + "\n" for i in range(3000)))
    r = cli("score", str(big), "-r", "exact", "-o", str(tmp_path / "o.jsonl"), "--batch-size", "100", "--progress")
    assert r.returncode == 0, r.stderr
    assert "scoring" in r.stderr and "3000/3000" in r.stderr
    assert len(read_jsonl(tmp_path / "o.jsonl")) == 3000


def test_completion_ids_column_is_passed_like_trl(tmp_path: Path) -> None:
    src = tmp_path / "ids.jsonl"
    src.write_text(
        json.dumps({"completion": "abcdefghij", "completion_ids": [1, 2, 3]})
        + "\n"
        + json.dumps({"completion": "abcdefghij", "completion_ids": [4, 5]})
        + "\n"
    )
    cfg = tmp_path / "r.toml"
    cfg.write_text('[[rewards]]\nname = "length.target"\noptions = { min_length = 3, max_length = 5 }\n')
    out = tmp_path / "o.jsonl"
    r = cli("score", str(src), "--config", str(cfg), "-o", str(out))
    assert r.returncode == 0, r.stderr
    rows = read_jsonl(out)
    # three and two tokens (not ten characters): in the band, and one short of it
    assert rows[0]["rewards"]["length.target"] == 1.0
    assert rows[1]["rewards"]["length.target"] < 1.0
    assert rows[0]["completion_ids"] == [1, 2, 3]


def test_import_registers_decorated_rewards_for_list_and_score(tmp_path: Path) -> None:
    (tmp_path / "cli_decorated.py").write_text(
        "import grpo_rewards\n\n"
        "@grpo_rewards.reward(name='mine.says_hi')\n"
        "def says_hi(completion):\n"
        '    """1.0 when the completion says hi."""\n'
        "    return 'hi' in completion.lower()\n"
    )
    env = {"PYTHONPATH": str(tmp_path)}
    listed = cli("--import", "cli_decorated", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "mine.says_hi" in listed.stdout and "1.0 when the completion says hi." in listed.stdout
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"completion": "Hi there"}\n{"completion": "bye"}\n')
    scored = cli("--import", "cli_decorated", "score", str(rows), "-r", "mine.says_hi", "--no-progress", env=env)
    assert scored.returncode == 0, scored.stderr
    assert [r["outcomes"]["mine.says_hi"] for r in map(json.loads, scored.stdout.splitlines())] == ["correct", "wrong"]
    bad = cli("--import", "no_such_module_here", "list", env=env)
    assert bad.returncode == 2
    assert "grpo-rewards list: error: --import no_such_module_here: ModuleNotFoundError" in bad.stderr
