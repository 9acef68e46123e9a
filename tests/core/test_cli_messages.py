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


# -- a column that no row has: an error before anything is scored --------------------------------


def test_a_column_no_row_has_fails_before_scoring_and_names_column_reward_and_columns(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "rows.jsonl", [{"prompt": "6 * 12?", "completion": "72", "solution": "72"}] * 3)
    out = tmp_path / "o.jsonl"
    r = cli("score", str(src), "-r", "math", "-o", str(out), "--no-progress")
    assert r.returncode == 2, r.stderr  # the data does not fit the config: ExitCode.USAGE
    assert r.stderr.startswith(f"grpo-rewards score: error: {src}: reward 'math' needs column 'answer'")
    assert "The dataset has columns: completion, prompt, solution." in r.stderr
    assert "--set math.column=" in r.stderr  # what to do
    assert "Traceback" not in r.stderr
    assert not out.exists() and list(tmp_path.iterdir()) == [src]
    to_stdout = cli("score", str(src), "-r", "math", "--no-progress")
    assert to_stdout.returncode == 2 and to_stdout.stdout == ""  # no row written


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    src = write_jsonl(tmp_path / "rows.jsonl", [{"completion": "72"}])
    r = cli("--debug", "score", str(src), "-r", "exact", "--no-progress")
    assert r.returncode == 2
    assert "Traceback (most recent call last)" in r.stderr and "DatasetColumnError" in r.stderr
    assert "grpo-rewards score: error: " in r.stderr.splitlines()[-1]


def test_a_column_missing_from_the_first_batch_is_looked_for_in_the_rest_of_the_file(tmp_path: Path) -> None:
    rows: list[dict[str, object]] = [{"completion": str(i)} for i in range(7)]
    late = write_jsonl(tmp_path / "late.jsonl", [*rows, {"completion": "7", "answer": "7"}])
    out = tmp_path / "o.jsonl"
    r = cli("score", str(late), "-r", "exact", "--batch-size", "2", "-o", str(out), "--no-progress")
    assert r.returncode == 0, r.stderr
    scored = read_jsonl(out)
    assert [x["outcomes"] for x in scored] == [{"exact": "bad_reference"}] * 7 + [{"exact": "correct"}]
    assert "7 rows without 'answer' (bad_reference)" in r.stdout
    assert "Traceback" not in r.stderr

    never = write_jsonl(tmp_path / "never.jsonl", rows)
    r = cli("score", str(never), "-r", "exact", "--batch-size", "2", "--no-progress")
    assert r.returncode == 2 and r.stdout == ""
    assert f"{never}: reward 'exact' needs column 'answer'" in r.stderr


def test_csv_json_and_parquet_files_without_the_column(tmp_path: Path) -> None:
    csv_file = tmp_path / "rows.csv"
    csv_file.write_text("completion,gold\n" + "Paris,Paris\n" * 5)
    json_file = tmp_path / "rows.json"
    json_file.write_text(json.dumps([{"completion": "Paris", "gold": "Paris"}] * 5))
    files = [csv_file, json_file]
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist([{"completion": "Paris", "gold": "Paris"}] * 5), tmp_path / "rows.parquet")
        files.append(tmp_path / "rows.parquet")
    except ImportError:
        pass
    for f in files:
        r = cli("score", str(f), "-r", "exact", "--batch-size", "2", "--no-progress")
        assert r.returncode == 2, (f, r.stderr)
        assert f"{f}: reward 'exact' needs column 'answer'" in r.stderr
        assert "The dataset has columns: completion, gold." in r.stderr and r.stdout == ""
        fixed = cli("score", str(f), "-r", "exact", "--set", "exact.column=gold", "--batch-size", "2", "--no-progress")
        assert fixed.returncode == 0, (f, fixed.stderr)
        assert [json.loads(x)["reward"] for x in fixed.stdout.splitlines()] == [1.0] * 5


def test_rows_without_the_column_here_and_there_are_counted(tmp_path: Path) -> None:
    src = write_jsonl(
        tmp_path / "rows.jsonl",
        [
            {"completion": "Paris", "answer": "Paris"},
            {"completion": "Paris"},
            {"completion": "Rome", "answer": None},
            {"completion": "Paris"},
        ],
    )
    out = tmp_path / "o.jsonl"
    r = cli("score", str(src), "-r", "exact", "-o", str(out), "--no-progress")
    assert r.returncode == 0, r.stderr
    assert [x["outcomes"] for x in read_jsonl(out)] == [
        {"exact": "correct"},
        {"exact": "bad_reference"},
        {"exact": "bad_reference"},
        {"exact": "bad_reference"},
    ]
    assert "3 rows without 'answer' (bad_reference)" in r.stdout


def test_with_skip_invalid_a_file_of_malformed_rows_is_no_column_error(tmp_path: Path) -> None:
    src = tmp_path / "rows.jsonl"
    src.write_text('{"completion": 1}\nnot json\n')
    r = cli("score", str(src), "-r", "exact", "--skip-invalid", "--no-progress")
    assert r.returncode == 0, r.stderr
    assert [json.loads(x)["reward"] for x in r.stdout.splitlines()] == [None, None]


# -- an empty input --------------------------------------------------------------------------------


def test_an_empty_input_is_an_error_naming_the_file(tmp_path: Path) -> None:
    blank = tmp_path / "empty.jsonl"
    blank.write_text("\n\n")
    header_only = tmp_path / "empty.csv"
    header_only.write_text("completion,answer\n")
    no_rows = tmp_path / "empty.json"
    no_rows.write_text("[]")
    for src in (blank, header_only, no_rows):
        out = tmp_path / "o.jsonl"
        r = cli("score", str(src), "-r", "exact", "-o", str(out), "--no-progress")
        assert r.returncode == 1, r.stderr
        assert f"grpo-rewards score: error: {src} has no rows to score" in r.stderr and "--allow-empty" in r.stderr
        assert not out.exists()


def test_allow_empty_writes_an_empty_output_with_a_warning(tmp_path: Path) -> None:
    src = tmp_path / "empty.jsonl"
    src.write_text("")
    out = tmp_path / "o.jsonl"
    r = cli("score", str(src), "-r", "exact", "-o", str(out), "--allow-empty", "--no-progress")
    assert r.returncode == 0, r.stderr
    assert f"grpo-rewards score: warning: {src} has no rows to score" in r.stderr
    assert out.read_text() == "" and "0 rows scored" in r.stdout


# -- --set COMPONENT.OPTION=VALUE ------------------------------------------------------------------


def test_set_gives_a_component_options(tmp_path: Path) -> None:
    src = write_jsonl(
        tmp_path / "rows.jsonl",
        [{"completion": "<think>hm</think>paris", "answer": "Paris"}],
    )
    plain = cli("score", str(src), "-r", "exact", "-r", "format.think:0.5", "--no-progress")
    assert plain.returncode == 0, plain.stderr
    assert json.loads(plain.stdout)["rewards"] == {"exact": 1.0, "format.think": 0.0}
    r = cli(
        "score",
        str(src),
        "-r",
        "exact",
        "-r",
        "format.think:0.5",
        "--set",
        "exact.case_sensitive=true",  # a TOML literal
        "--set",
        "format.think.answer_tag=",  # the option follows the last dot; no TOML literal: a string
        "--no-progress",
    )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["rewards"] == {"exact": 0.0, "format.think": 1.0}


def test_set_with_an_unknown_component_or_option_is_a_usage_error_with_the_near_miss(tmp_path: Path) -> None:
    r = cli("score", str(EXAMPLE), "-r", "exact", "--set", "exakt.column=gold")
    assert r.returncode == 2
    assert "--set exakt.column=gold: no component 'exakt' in the reward set; did you mean 'exact'?" in r.stderr
    r = cli("score", str(EXAMPLE), "-r", "exact", "--set", "math.timeout=2")
    assert r.returncode == 2 and "add it with -r math" in r.stderr
    r = cli("score", str(EXAMPLE), "-r", "exact", "--set", "exact.colum=gold")
    assert r.returncode == 2
    assert "--set exact.colum=gold: verifier 'exact' has no option 'colum'; did you mean 'column'?" in r.stderr
    r = cli("score", str(EXAMPLE), "-r", "exact", "--set", "exact.extract=nope")
    assert r.returncode == 2 and "extract must be 'auto', 'tag' or 'full', got 'nope'" in r.stderr
    r = cli("score", str(EXAMPLE), "-r", "exact", "--set", "exact")
    assert r.returncode == 2 and "--set exact: expected COMPONENT.OPTION=VALUE" in r.stderr
    assert "Traceback" not in r.stderr


def test_score_help_shows_set() -> None:
    r = cli("score", "--help")
    assert r.returncode == 0
    assert "--set COMPONENT.OPTION=VALUE" in r.stdout and "code.timeout=2" in r.stdout


# -- list NAME ---------------------------------------------------------------------------------------


def test_list_name_shows_options_columns_outcomes_and_origin() -> None:
    r = cli("list", "exact")
    assert r.returncode == 0, r.stderr
    text = r.stdout
    assert text.startswith("exact: Normalized exact string match")
    assert "from: built-in" in text
    assert "columns: answer" in text
    assert "outcomes: correct, wrong, no_answer, bad_reference" in text
    option = next(line.split() for line in text.splitlines() if line.strip().startswith("column "))
    assert option == ["column", "str", '"answer"']
    assert ["case_sensitive", "bool", "false"] in [line.split() for line in text.splitlines()]
    assert cli("show", "exact").stdout == text


def test_list_name_of_a_verifier_that_needs_options_says_so() -> None:
    r = cli("list", "format.regex")
    assert r.returncode == 0, r.stderr
    assert "columns: unknown with the default options (format.regex needs a 'pattern' option)" in r.stdout
    assert "outcomes: correct, wrong, timeout" in r.stdout


def test_list_unknown_name_is_a_usage_error_with_near_misses() -> None:
    r = cli("list", "exakt")
    assert r.returncode == 2
    assert "grpo-rewards list: error: unknown verifier 'exakt'; did you mean 'exact'?" in r.stderr


def test_list_json_describes_every_verifier_for_tools() -> None:
    r = cli("list", "--json")
    assert r.returncode == 0, r.stderr
    verifiers = {v["name"]: v for v in json.loads(r.stdout)["verifiers"]}
    exact = verifiers["exact"]
    assert exact["origin"] == "built-in" and exact["builtin"] is True
    assert {"name": "column", "type": "str", "default": "answer"} in exact["options"]
    assert exact["columns"] == ["answer"]
    assert exact["outcomes"] == ["correct", "wrong", "no_answer", "bad_reference"]
    assert verifiers["math"]["options"][0]["name"] == "column"
    assert verifiers["format.regex"]["columns"] is None and "pattern" in verifiers["format.regex"]["columns_error"]
    for v in verifiers.values():
        assert {"options", "columns", "outcomes", "origin"} <= set(v)
    one = cli("list", "--json", "exact")
    assert one.returncode == 0 and json.loads(one.stdout) == exact
