"""``grpo-rewards audit`` and :mod:`grpo_rewards.audit`: files scored by ``math``, re-checked by a second
verifier configuration (``math`` with another extraction) or by another grader's verdict column.
No stubs: every verdict below comes from running a verifier."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from grpo_rewards import Outcome, load_rewards
from grpo_rewards.audit import ColumnOpinion, CompositionOpinion, audit, format_report, wilson_interval
from grpo_rewards.cli import main
from grpo_rewards.plugins import reset_registry

DATA = Path(__file__).parent / "data" / "math_cot_25.jsonl"


@pytest.fixture(autouse=True)
def no_installed_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("GRPO_REWARDS_LOAD_PLUGINS", "")
    reset_registry()
    yield
    reset_registry()


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def score(tmp_path: Path, src: Path, *reward: str) -> Path:
    out = tmp_path / f"{src.stem}.scored.jsonl"
    assert main(["score", str(src), *reward, "-o", str(out), "--no-progress"]) == 0
    return out


# Rows whose verdict flips with the extraction rule: math's default order takes the box, the
# 'last_number' rule the last number of the text.
ROWS = [
    {"prompt": "p1", "answer": "12", "completion": "So \\boxed{12}."},  # both correct
    {"prompt": "p2", "answer": "12", "completion": "We get \\boxed{12}, from 3 steps"},  # last_number: 3
    {"prompt": "p3", "answer": "12", "completion": "It is \\boxed{5}. No wait, 12"},  # last_number: 12
    {"prompt": "p4", "answer": "7", "completion": "\\boxed{8} and 8"},  # both wrong
    {"prompt": "p5", "answer": "7", "completion": "\\boxed{8} but maybe 7"},  # last_number: 7
    {"prompt": "p6", "answer": "9", "completion": "\\boxed{9}"},  # both correct
]


def test_wilson_interval_matches_published_values() -> None:
    # Brown, Cai & DasGupta (2001) / Newcombe (1998) table: 0 of 10 -> [0, 0.2775]; 5 of 10 -> [0.2366, 0.7634]
    lo, hi = wilson_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(0.2775, abs=1e-4)
    assert wilson_interval(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    assert wilson_interval(10, 10)[1] == 1.0 and wilson_interval(10, 10)[0] == pytest.approx(1 - 0.2775, abs=1e-4)
    # wider at a higher level; no data: the whole range
    assert wilson_interval(3, 20, 0.99)[0] < wilson_interval(3, 20, 0.95)[0]
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError, match="successes"):
        wilson_interval(3, 2)


def test_second_verifier_configuration_finds_exactly_the_rows_whose_verdict_flips(tmp_path: Path) -> None:
    scored = score(tmp_path, write_jsonl(tmp_path / "rows.jsonl", ROWS), "-r", "math")
    assert [r["outcomes"]["math"] for r in read_jsonl(scored)] == ["correct"] * 2 + ["wrong"] * 3 + ["correct"]
    rs = load_rewards({"rewards": [{"name": "math", "options": {"extract": ["last_number"]}}]})
    result = audit(scored, CompositionOpinion(rs), per_outcome=10)
    rs.close()
    by = {a.outcome: a for a in result.outcomes}
    assert set(by) == {Outcome.CORRECT, Outcome.WRONG}
    c, w = by[Outcome.CORRECT], by[Outcome.WRONG]
    assert (c.population, c.sampled, c.agree, c.disagree) == (3, 3, 2, 1)
    assert (w.population, w.sampled, w.agree, w.disagree) == (3, 3, 1, 2)
    assert c.rate == pytest.approx(1 / 3) and w.rate == pytest.approx(2 / 3)
    assert c.interval == wilson_interval(1, 3) and w.interval == wilson_interval(2, 3)
    assert c.kind == "false positive" and w.kind == "false negative"
    flipped = {d.row.data["prompt"]: (d.row.outcome.value, d.verdict.correct) for d in result.disagreements}
    assert flipped == {"p2": ("correct", False), "p3": ("wrong", True), "p5": ("wrong", True)}
    assert [d.row.where for d in result.disagreements] == [f"{scored}:2", f"{scored}:3", f"{scored}:5"]


def test_no_verdict_is_counted_apart_never_as_agreement(tmp_path: Path) -> None:
    scored = score(tmp_path, write_jsonl(tmp_path / "rows.jsonl", ROWS), "-r", "math")
    # the 'tag' rule alone finds no <answer> tag in any row: no_answer, i.e. no second verdict
    rs = load_rewards({"rewards": [{"name": "math", "options": {"extract": ["tag"]}}]})
    result = audit(scored, CompositionOpinion(rs))
    rs.close()
    for a in result.outcomes:
        assert (a.agree, a.disagree, dict(a.no_verdict)) == (0, 0, {"no_answer": a.sampled})
        assert a.rate is None
    assert len(result.no_verdicts) == 6 and not result.disagreements
    report = format_report(result)
    assert "| `correct` (false positives) | 3 | 3 | 0 | 0 | 3 | - | - |" in report
    assert "- `wrong`: no_answer 3" in report


def test_stratified_sample_is_seeded_and_drawn_within_each_outcome(tmp_path: Path) -> None:
    rows = [{"answer": "1", "completion": f"\\boxed{{{i % 3}}}", "k": i} for i in range(60)]
    scored = score(tmp_path, write_jsonl(tmp_path / "many.jsonl", rows), "-r", "math")
    opinion = ColumnOpinion("answer")  # "1": a verdict column saying 'correct' for every row

    def picked(seed: int) -> dict[str, list[int]]:
        r = audit(scored, opinion, per_outcome=5, seed=seed)
        return {a.outcome.value: [d.row.data["k"] for d in r.disagreements + r.no_verdicts] for a in r.outcomes} | {
            "n": [a.sampled for a in r.outcomes]
        }

    result = audit(scored, opinion, per_outcome=5, seed=1)
    by = {a.outcome: a for a in result.outcomes}
    assert (by[Outcome.CORRECT].population, by[Outcome.WRONG].population) == (20, 40)
    assert (by[Outcome.CORRECT].sampled, by[Outcome.WRONG].sampled) == (5, 5)
    ks = [d.row.data["k"] for d in result.disagreements]  # the sampled wrong rows: the column says correct
    assert len(ks) == 5 and all(k % 3 != 1 for k in ks) and ks == sorted(ks)
    assert picked(1) == picked(1)
    assert any(picked(s) != picked(1) for s in (2, 3, 4))


def test_real_completions_against_the_reference_graders_column(tmp_path: Path) -> None:
    scored = score(tmp_path, DATA, "-r", "math")
    result = audit(scored, ColumnOpinion("reference_score"), per_outcome=50)
    by = {a.outcome: a for a in result.outcomes}
    assert (by[Outcome.CORRECT].population, by[Outcome.WRONG].population) == (12, 13)
    assert (by[Outcome.WRONG].agree, by[Outcome.WRONG].disagree) == (13, 0)
    assert (by[Outcome.CORRECT].agree, by[Outcome.CORRECT].disagree) == (11, 1)
    (d,) = result.disagreements
    assert d.row.where == f"{scored}:25" and d.row.data["answer"] == "10{,}000" and d.verdict.correct is False


def test_cli_writes_the_report_and_the_disagreeing_rows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scored = score(tmp_path, write_jsonl(tmp_path / "rows.jsonl", ROWS), "-r", "math")
    capsys.readouterr()
    report, rows = tmp_path / "audit.md", tmp_path / "disagree.jsonl"
    argv = ["audit", str(scored), "-r", "math", "--set", 'math.extract="last_number"']
    rc = main([*argv, "--report", str(report), "--disagreements", str(rows), "--seed", "3"])
    assert rc == 0
    text = report.read_text()
    assert "second opinion: math (extract='last_number'), component 'math'" in text
    assert "intervals: Wilson score, 95 %" in text
    lo, hi = wilson_interval(2, 3)
    assert f"| `wrong` (false negatives) | 3 | 3 | 1 | 2 | 0 | 66.7 % [{100 * lo:.1f} %, {100 * hi:.1f} %] |" in text
    out = read_jsonl(rows)
    assert [r["prompt"] for r in out] == ["p2", "p3", "p5"]
    assert "reward" not in out[0] and "outcomes" not in out[0]  # the row as read, plus 'audit'
    assert out[1]["audit"] | {"second_detail": None} == {
        "where": f"{scored}:3",
        "component": "math",
        "outcome": "wrong",
        "value": 0.0,
        "detail": out[1]["audit"]["detail"],
        "second_opinion": "math (extract='last_number'), component 'math'",
        "second_verdict": "correct",
        "second_outcome": "correct",
        "second_value": 1.0,
        "second_detail": None,
    }
    assert f"wrote 3 rows to {rows}" in capsys.readouterr().out


def _err(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    capsys.readouterr()
    rc = main(["audit", *argv])
    return rc, capsys.readouterr().err


def test_cli_a_file_that_is_not_scored_is_an_error_naming_the_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rc, err = _err(capsys, str(DATA), "--column", "reference_score")
    assert rc == 1
    assert f"{DATA}:1: not a scored row: no 'outcomes' object" in err and "grpo-rewards score" in err


def test_cli_a_missing_column_is_an_error_naming_the_row_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [{**r, "grade": True} for r in ROWS]
    del rows[3]["grade"]
    scored = score(tmp_path, write_jsonl(tmp_path / "rows.jsonl", rows), "-r", "math")
    rc, err = _err(capsys, str(scored), "--column", "grade")
    assert rc == 1 and f"{scored}:4: missing column 'grade', which the second opinion reads" in err
    # a second verifier reading a column that no row has
    rc, err = _err(capsys, str(scored), "-r", "math", "--set", "math.column=gold")
    assert rc == 1 and f"{scored}:1: missing column 'gold'" in err


def test_cli_a_verdict_column_with_another_value_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [{**r, "grade": "maybe" if i == 2 else True} for i, r in enumerate(ROWS)]
    scored = score(tmp_path, write_jsonl(tmp_path / "rows.jsonl", rows), "-r", "math")
    rc, err = _err(capsys, str(scored), "--column", "grade")
    assert rc == 1 and f"{scored}:3: column 'grade' holds 'maybe'" in err


def test_cli_unknown_outcomes_are_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scored = score(tmp_path, write_jsonl(tmp_path / "rows.jsonl", ROWS), "-r", "math")
    rc, err = _err(capsys, str(scored), "--column", "answer", "--outcome", "wrongish")
    assert rc == 2 and "--outcome 'wrongish' is not an outcome; valid: correct," in err
    rc, err = _err(capsys, str(scored), "--column", "answer", "--outcome", "scored")
    assert rc == 1 and "outcome 'scored' is not a verdict on the completion" in err
    rows = read_jsonl(scored)
    rows[4]["outcomes"]["math"] = "great"
    bad = write_jsonl(tmp_path / "bad.jsonl", rows)
    rc, err = _err(capsys, str(bad), "--column", "answer")
    assert rc == 1 and f"{bad}:5: component 'math' has outcome 'great', which is not an outcome" in err


def test_cli_other_mistakes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scored = score(tmp_path, write_jsonl(tmp_path / "rows.jsonl", ROWS), "-r", "math", "-r", "exact")
    rc, err = _err(capsys, str(scored), "--column", "answer")
    assert rc == 1 and f"{scored}:1: the file was scored with 2 components (math, exact)" in err
    rc, err = _err(capsys, str(scored), "--column", "answer", "--component", "nope")
    assert rc == 1 and f"{scored}:1: no component 'nope' in this row's outcomes (it has: math, exact)" in err
    rc, err = _err(capsys, str(scored))
    assert rc == 2 and "give the second opinion" in err
    rc, err = _err(capsys, str(scored), "--column", "answer", "-r", "math")
    assert rc == 2 and "give the second opinion" in err
    broken = tmp_path / "broken.jsonl"
    broken.write_text(scored.read_text().splitlines()[0] + "\n{not json\n")
    rc, err = _err(capsys, str(broken), "--column", "answer", "--component", "math")
    assert rc == 1 and f"{broken}:2: invalid JSON" in err
    rc, err = _err(capsys, str(tmp_path / "none.jsonl"), "--column", "answer")
    assert rc == 2 and "none.jsonl: no such file" in err


def test_rates_are_finite_and_within_their_intervals(tmp_path: Path) -> None:
    scored = score(tmp_path, write_jsonl(tmp_path / "rows.jsonl", ROWS), "-r", "math")
    rs = load_rewards({"rewards": [{"name": "math", "options": {"extract": ["last_number"]}}]})
    result = audit(scored, CompositionOpinion(rs), confidence=0.8)
    rs.close()
    for a in result.outcomes:
        assert a.rate is not None and math.isfinite(a.rate)
        lo, hi = a.interval
        assert lo <= a.rate <= hi and (lo, hi) == wilson_interval(a.disagree, a.judged, 0.8)
    assert json.loads(json.dumps(result.to_dict()))["interval"] == "Wilson score"


def test_rows_marked_invalid_by_score_are_counted_not_audited(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    src = tmp_path / "rows.jsonl"
    src.write_text(
        '{"answer": "1", "text": "no completion"}\n' + "".join(json.dumps({**r, "grade": 1}) + "\n" for r in ROWS)
    )
    scored = tmp_path / "scored.jsonl"
    assert main(["score", str(src), "-r", "math", "-o", str(scored), "--skip-invalid", "--no-progress"]) == 0
    result = audit(scored, ColumnOpinion("grade"))
    assert (result.rows, result.invalid, sum(a.sampled for a in result.outcomes)) == (7, 1, 6)
    assert "rows in the file: 7 (1 marked invalid by 'score --skip-invalid', not audited)" in format_report(result)
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    rc, err = _err(capsys, str(empty), "--column", "answer")
    assert rc == 1 and "has no scored rows to audit (0 rows, 0 marked invalid)" in err


def test_cli_fail_above_gates_on_the_intervals_lower_bound(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--fail-above: exit 3 only for an outcome whose disagreement rate is above the limit with the
    interval's confidence (its lower bound), so a small sample does not fail CI by chance."""
    scored = score(tmp_path, write_jsonl(tmp_path / "rows.jsonl", ROWS), "-r", "math")
    argv = ["audit", str(scored), "-r", "math", "--set", 'math.extract="last_number"', "--report", str(tmp_path / "a")]
    capsys.readouterr()
    # wrong: 2 of 3 disagree, Wilson 95 % lower bound 20.8 %; correct: 1 of 3, lower bound 6.1 %
    assert main([*argv, "--fail-above", "0.1"]) == 3
    err = capsys.readouterr().err
    assert "wrong: false negative rate 66.7 % [20.8 %, 93.9 %] is above --fail-above 0.1" in err
    assert "correct:" not in err
    assert main([*argv, "--fail-above", "0.25"]) == 0
    assert main([*argv, "--fail-above", "1.5"]) == 2
    assert "--fail-above must be a rate between 0 and 1" in capsys.readouterr().err
