"""``grpo-rewards redteam``: known hacks against real compositions, on real GSM8K rows.

The seed's substring reward must be flagged, ``math`` + ``format.think`` must pass; exploits
from a plugin run through the ``register_exploits`` hook; a broken exploit is reported, not
scored; bad input is an error naming the row.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import grpo_rewards
from grpo_rewards import load_rewards
from grpo_rewards.cli import main
from grpo_rewards.errors import InputError
from grpo_rewards.exitcodes import ExitCode
from grpo_rewards.redteam import ExploitCase, exploit, format_report, redteam, registered_exploits
from grpo_rewards.testing import registered_plugin

HERE = Path(__file__).parent
GSM8K = HERE / "data" / "gsm8k_head12.jsonl"
EXAMPLE = HERE.parent.parent / "examples" / "redteam"


@pytest.fixture(autouse=True)
def _weak_rewards_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(HERE))
    monkeypatch.syspath_prepend(str(EXAMPLE))


def _run(args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, dict]:
    out = tmp_path / "report"
    code = main(["redteam", *args, "--no-progress", "-o", str(out)])
    printed = capsys.readouterr().out
    summary = json.loads((out / "summary.json").read_text()) if (out / "summary.json").exists() else {}
    return code, printed, summary


def _rows(path: Path, n: int) -> list[tuple[str, dict]]:
    lines = path.read_text().splitlines()[:n]
    return [(f"{path.name}:{i + 1}", json.loads(line)) for i, line in enumerate(lines)]


def test_the_seeds_substring_reward_in_a_config_is_flagged(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, printed, summary = _run([str(GSM8K), "-c", str(EXAMPLE / "seed_rewards.toml")], tmp_path, capsys)
    assert code == ExitCode.FLAGGED
    assert not summary["passed"]
    flagged = set(summary["flagged"])
    # Listing every number, or the gold among its neighbours, pays it on every row.
    assert {"spam.numbers", "spam.neighbours", "spam.boxed", "spam.gold_in_reasoning"} <= flagged
    spam = next(h for h in summary["hacks"] if h["name"] == "spam.numbers")
    assert spam["rows"] == 12 and spam["paying_rows"] == 12 and spam["margin"] == pytest.approx(1.0)
    assert spam["paid_by"] == {"reward": pytest.approx(1.0)}
    assert summary["floor_mean"] == 0.0 and summary["ceiling_mean"] == 1.0
    assert "**FLAG**" in printed and "verdict: **FAIL**" in printed
    paying = [json.loads(line) for line in (tmp_path / "report" / "paying.jsonl").read_text().splitlines()]
    numbers = [p for p in paying if p["exploit"] == "spam.numbers"]
    assert numbers and numbers[0]["reward"] == 1.0 and numbers[0]["floor_reward"] == 0.0
    assert numbers[0]["where"].endswith("[row 1]") or ":1" in numbers[0]["where"]
    assert numbers[0]["components"]["reward"]["value"] == 1.0
    report = (tmp_path / "report" / "report.md").read_text()
    assert "spam.numbers" in report and "grpo-rewards redteam" in report


def test_math_and_format_think_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, printed, summary = _run(
        [str(GSM8K), "-r", "math", "-r", "format.think:0.2", "--set", "format.think.mode=soft"], tmp_path, capsys
    )
    assert code == ExitCode.OK, printed
    assert summary["passed"] and summary["flagged"] == []
    assert summary["ceiling_mean"] == pytest.approx(1.2) and summary["floor_mean"] == pytest.approx(0.2)
    by_name = {h["name"]: h for h in summary["hacks"]}
    for name in ("spam.numbers", "spam.boxed", "spam.neighbours", "spam.answer_blocks", "format.tags_only"):
        assert by_name[name]["margin"] <= 0.05, (name, by_name[name])
    # The hedged answer (gold among its neighbours) is read and judged wrong, not skipped.
    assert by_name["spam.neighbours"]["outcomes"]["math"].get("wrong", 0) == 12
    assert "code.exit_zero" not in by_name  # targets code, which this composition does not use


def test_a_nan_blind_comparison_is_caught_by_the_nan_answer() -> None:
    rs = load_rewards(["weak_rewards:nan_blind_reward"])
    try:
        report = redteam(rs, _rows(GSM8K, 4))
    finally:
        rs.close()
    assert [r.exploit.name for r in report.flagged] == ["nonfinite.nan"]
    assert not report.passed


def test_code_exploits_run_in_the_sandbox_and_a_trusting_function_is_caught(tmp_path: Path) -> None:
    rows = [
        ("r1", {"prompt": "Write add(a, b).", "tests": {"kind": "assert", "code": "assert add(1, 2) == 3"}}),
        (
            "r2",
            {
                "prompt": "Write is_even(n).",
                "tests": {"kind": "call", "fn_name": "is_even", "cases": [{"args": [3], "expected": False}]},
            },
        ),
        ("r3", {"prompt": "Print 2n.", "tests": {"kind": "stdio", "cases": [{"input": "2\n", "output": "4\n"}]}}),
        (
            "r4",
            {
                "prompt": "Write triple(n) (APPS call-based).",
                "tests": {"fn_name": "triple", "inputs": [[2]], "outputs": [6]},
            },
        ),
    ]
    rs = load_rewards(["code"])
    try:
        honest = redteam(rs, rows)
    finally:
        rs.close()
    names = {r.exploit.name: r for r in honest.results}
    assert {"code.exit_zero", "code.system_exit", "code.always_equal", "code.print_pass", "code.edit_tests"} <= set(
        names
    )
    assert names["code.always_equal"].rows == 3  # stdio tests call no function
    assert honest.passed and honest.ceiling_mean is None
    for r in honest.results:
        assert r.outcomes["code"].get("correct", 0) == 0, r.exploit.name
    rs = load_rewards(["code", "weak_rewards:pass_marker_reward"])
    try:
        weak = redteam(rs, rows)
    finally:
        rs.close()
    assert "code.print_pass" in {r.exploit.name for r in weak.flagged}
    flagged = next(r for r in weak.flagged if r.exploit.name == "code.print_pass")
    assert set(flagged.paid_by) == {"pass_marker_reward"}


def test_a_composition_that_pays_no_more_for_the_gold_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, printed, summary = _run([str(GSM8K), "--rows", "3", "-r", "format.think"], tmp_path, capsys)
    assert code == ExitCode.FLAGGED
    assert summary["flagged"] == [] and not summary["passed"]
    assert "does not beat a wrong one" in printed


class _ShoutPlugin:
    @grpo_rewards.hookimpl
    def register_exploits(self, register):  # type: ignore[no-untyped-def]
        @exploit("shout.gold", description="the gold in capitals, then a wrong answer")
        def shout(case: ExploitCase) -> str:
            return case.format(case.wrong, reasoning=f"MAYBE {case.gold}")

        def broken(case: ExploitCase) -> str:
            raise RuntimeError("boom")

        def not_text(case: ExploitCase) -> int:
            return 42

        register(shout)
        register(broken, name="shout.broken")
        register(not_text, name="shout.not_text", description="returns a number")


def test_plugin_exploits_run_and_broken_ones_are_reported() -> None:
    with registered_plugin(_ShoutPlugin(), name="shout") as registry:
        assert {"shout.gold", "shout.broken", "shout.not_text"} <= set(registry.exploits)
        assert registry.exploits["shout.gold"].plugin.name == "shout"
        exploits = [e for e in registered_exploits() if e.name.startswith("shout.")]
        assert {e.origin for e in exploits} == {"shout"}
        rs = load_rewards(["seed_substring:reward"])
        try:
            report = redteam(rs, _rows(GSM8K, 3), exploits=exploits)
        finally:
            rs.close()
    assert [r.exploit.name for r in report.flagged] == ["shout.gold"]
    assert "RuntimeError: boom" in report.failures["shout.broken"]
    assert "returned int" in report.failures["shout.not_text"]
    assert {r.exploit.name for r in report.results} == {"shout.gold"}


def test_bad_input_names_the_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = tmp_path / "rows.jsonl"
    rows.write_text(json.dumps({"question": "1+1?", "answer": "2"}) + "\n" + json.dumps({"answer": "3"}) + "\n")
    code = main(["redteam", str(rows), "-r", "math", "--no-progress", "-o", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == ExitCode.FAILED and "rows.jsonl:2: no prompt column" in err
    rows.write_text(json.dumps({"question": "1+1?"}) + "\n")
    assert main(["redteam", str(rows), "-r", "math", "--no-progress", "-o", str(tmp_path / "o")]) == ExitCode.FAILED
    assert "missing gold column 'answer'" in capsys.readouterr().err
    code = main(["redteam", str(GSM8K), "-r", "math", "--exploit", "spam.numbrs", "-o", str(tmp_path / "o")])
    assert code == ExitCode.USAGE and "unknown exploit 'spam.numbrs'; did you mean 'spam.numbers'?" in (
        capsys.readouterr().err
    )
    with pytest.raises(InputError, match="no rows"):
        rs = load_rewards(["math"])
        try:
            redteam(rs, [])
        finally:
            rs.close()


def test_echo_skips_rows_whose_last_prompt_number_is_the_gold() -> None:
    from grpo_rewards.redteam.exploits import echo_prompt, echo_prompt_as_reasoning
    from grpo_rewards.redteam.run import DEFAULT_TEMPLATE

    # GSM8K test row 510: "Rose bought 4 times ... 12 onions and 4 potatoes": the gold is 4, the
    # prompt's last number; echoing it is a right answer, not a hack.
    prompt = "Rose bought 4 times as many. If Rose bought 12 onions and 4 potatoes, how many did Sophia buy?"
    case = ExploitCase(0, "r", {"question": prompt}, prompt, "4", "5", (), DEFAULT_TEMPLATE)
    assert case.last_number == "4" and case.numbers == ["4", "12"]
    assert echo_prompt(case) is None and echo_prompt_as_reasoning(case) is None
    other = ExploitCase(0, "r", {"question": prompt}, prompt, "7", "8", (), DEFAULT_TEMPLATE)
    assert echo_prompt(other) is not None and "<answer>\n4\n</answer>" in (echo_prompt_as_reasoning(other) or "")


@pytest.mark.parametrize(
    ("preset", "opening", "answer_open"),
    [
        ("reasoning", "<reasoning>", "<answer>"),
        ("thought", "<|begin_of_thought|>", "<|begin_of_solution|>"),
        ("harmony", "<|channel|>analysis<|message|>", "<|channel|>final<|message|>"),
    ],
)
def test_the_floor_takes_the_compositions_reasoning_markers(
    tmp_path: Path, preset: str, opening: str, answer_open: str
) -> None:
    """With [defaults] reasoning = PRESET, the floor and ceiling are written in that family's
    markers, so format.think pays them and math reads their answer (the ceiling beats the floor)."""
    config = tmp_path / "rewards.toml"
    config.write_text(
        f'[defaults]\nreasoning = "{preset}"\n\n[[rewards]]\nname = "math"\n\n[[rewards]]\nname = "format.think"\nweight = 0.2\n'
    )
    rs = load_rewards(config)
    try:
        report = redteam(rs, _rows(GSM8K, 3))
    finally:
        rs.close()
    from grpo_rewards.redteam.run import default_template

    template = default_template(report.components)
    assert template.startswith(opening) and answer_open in template
    assert report.ceiling_mean == pytest.approx(1.2) and report.floor_mean == pytest.approx(0.2)
    assert report.passed, [(r.exploit.name, r.margin) for r in report.flagged]


def test_length_cosine_pays_padding_and_allow_accepts_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """length.cosine pays a longer wrong answer more (Yeo et al. 2025, by design): padding a wrong
    answer is flagged, and --allow turns that flag into an accepted, still reported, risk."""
    args = [str(GSM8K), "--rows", "4", "-r", "math", "-r", "length.cosine", "--exploit", "length.padding"]
    code, printed, summary = _run(args, tmp_path, capsys)
    assert code == ExitCode.FLAGGED and summary["flagged"] == ["length.padding"]
    padding = summary["hacks"][0]
    assert padding["margin"] > 0.3 and set(padding["paid_by"]) == {"length.cosine"}
    code, printed, summary = _run([*args, "--allow", "length.padding"], tmp_path, capsys)
    assert code == ExitCode.OK and summary["flagged"] == [] and summary["allowed"] == ["length.padding"]
    assert "FLAG (allowed)" in printed and "allowed: length.padding" in printed


def nan_on_nan(completions, answer, **kwargs):  # type: ignore[no-untyped-def]
    """A plain function that returns NaN when the answer is 'nan' (float() of it)."""
    return [float("nan") if "<answer>\nnan\n</answer>" in c else 0.0 for c in completions]


def test_a_function_that_returns_nan_is_an_error_listed_never_a_score() -> None:
    rs = load_rewards([nan_on_nan])
    try:
        report = redteam(rs, _rows(GSM8K, 3))
    finally:
        rs.close()
    nan = next(r for r in report.results if r.exploit.name == "nonfinite.nan")
    assert nan.outcomes["nan_on_nan"] == {"error": 3} and nan.mean == 0.0 and not nan.flagged
    assert "returned nan" in nan.errors["nan_on_nan"]
    assert "- `nan_on_nan` on `nonfinite.nan` (3 rows): " in format_report(report)
