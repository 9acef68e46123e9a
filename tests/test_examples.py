"""The example recipe in examples/ scores its example completions as documented."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from grpo_rewards import load_rewards
from grpo_rewards.cli import main

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "examples" / "math_recipe.toml"
COMPLETIONS = ROOT / "examples" / "math_recipe_completions.jsonl"

# Per row of the completions file: what math says, whether the format is right.
MATH = ["correct", "wrong", "correct", "wrong", "correct", "correct", "wrong", "no_answer", "bad_reference"]
FORMAT = [1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0]
# Row 6 pads its thinking with one sentence repeated 12 times: 120 words, 118 trigrams of which
# 32 are distinct, so the repetition penalty is -(1 - 32/118).
REPETITION = [0.0, 0.0, 0.0, 0.0, 0.0, -(1 - 32 / 118), 0.0, 0.0, 0.0]


def rows() -> list[dict]:
    return [json.loads(line) for line in COMPLETIONS.read_text(encoding="utf-8").splitlines() if line.strip()]


def overlong(n: int) -> float:
    """DAPO Eq. 13 with L_max = 512, L_cache = 128 (the recipe's options)."""
    return 0.0 if n <= 384 else (384 - n) / 128 if n <= 512 else -1.0


def cosine(n: int, correct: bool) -> float:
    """Yeo et al.'s cosine reward with open-r1's values and max_length = 512."""
    r0, rt = (1.0, 0.5) if correct else (-1.0, -0.5)
    return rt + 0.5 * (r0 - rt) * (1 + math.cos(math.pi * min(n, 512) / 512))


def expected() -> list[dict[str, float | None]]:
    out = []
    for row, verdict, fmt, rep in zip(rows(), MATH, FORMAT, REPETITION, strict=True):
        n = len(row["completion"])  # the file has no completion_ids: lengths are characters
        signal = verdict != "bad_reference"
        out.append(
            {
                "math": (1.0 if verdict == "correct" else 0.0) if signal else None,
                "format.think": fmt,
                "length.overlong": overlong(n),
                "length.cosine": cosine(n, verdict == "correct") if signal else None,
                "repetition": rep,
            }
        )
    return out


WEIGHTS = {"math": 1.0, "format.think": 0.2, "length.overlong": 0.5, "length.cosine": 0.5, "repetition": 0.5}


def total(values: dict[str, float | None]) -> float:
    return sum(WEIGHTS[k] * v for k, v in values.items() if v is not None)


def test_recipe_components() -> None:
    rs = load_rewards(RECIPE)
    assert dict(zip(rs.names, rs.reward_weights, strict=True)) == WEIGHTS
    assert rs.verifier("length.cosine").dependencies() == ["math"]
    assert rs.component("math").outcomes  # timeout = 0.0, error/bad_reference skipped


def test_recipe_scores_the_example_file() -> None:
    rs = load_rewards(RECIPE)
    data = rows()
    out = rs.score(
        [r["completion"] for r in data],
        prompts=[r["prompt"] for r in data],
        columns={"answer": [r["answer"] for r in data]},
    )
    assert [s.outcome.value for s in out.scores["math"]] == MATH
    want = expected()
    for i, w in enumerate(want):
        for name, v in w.items():
            got = out.values[name][i]
            assert got == (None if v is None else pytest.approx(v)), (i, name, got, v, data[i]["note"])
        assert out.totals[i] == pytest.approx(total(w))
    t = out.totals
    # what the recipe is for: in each group the short, well-formatted correct answer wins
    assert max(t[:4]) == t[0] and max(t[4:8]) == t[4]  # type: ignore[type-var]
    assert t[5] < t[4]  # padding a correct answer costs (overlong + repetition + cosine)
    assert t[3] < t[1]  # hedging is worse than a plain wrong answer (no format credit)
    assert t[7] == pytest.approx(-0.5)  # empty: cosine's worst value, nothing else
    assert t[8] == pytest.approx(0.2)  # unusable gold: only the format counts


def test_cli_scores_the_example_file_the_same(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "scored.jsonl"
    assert main(["score", str(COMPLETIONS), "-c", str(RECIPE), "-o", str(out), "--no-progress"]) == 0
    scored = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["outcomes"]["math"] for r in scored] == MATH
    for r, w in zip(scored, expected(), strict=True):
        assert r["reward"] == pytest.approx(total(w))
    assert "TOTAL" in capsys.readouterr().out


def test_every_format_length_answer_verifier_scores_the_file_from_the_cli(tmp_path: Path) -> None:
    """Defaults work out of the box: each verifier by name through ``grpo-rewards score -r``."""
    names = [
        "math",
        "exact",
        "choice",
        "format.think",
        "format.tags",
        "format.json",
        "length.overlong",
        "length.cosine",
        "length.group",
        "length.target",
        "repetition",
        "language",
    ]
    out = tmp_path / "scored.jsonl"
    argv = ["score", str(COMPLETIONS), "-o", str(out), "--no-progress"]
    for n in names:
        argv += ["-r", n]
    assert main(argv) == 0
    scored = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(scored) == len(rows())
    for r in scored:
        assert set(r["rewards"]) == set(names)
        assert not any(o == "error" for o in r["outcomes"].values()), r["details"]
    # exact agrees with math on these plain-number answers, except for the boxed one
    assert [r["outcomes"]["exact"] for r in scored][:2] == ["correct", "wrong"]
    assert all(r["outcomes"]["choice"] == "bad_reference" for r in scored)  # numbers are not option letters
    # format.regex needs a pattern, so it comes from a config
    cfg = tmp_path / "regex.toml"
    cfg.write_text(
        '[[rewards]]\nname = "format.regex"\noptions = { pattern = "<answer>\\\\s*\\\\d+\\\\s*</answer>", match = "search" }\n'
    )
    assert main(["score", str(COMPLETIONS), "-c", str(cfg), "-o", str(out), "--no-progress"]) == 0
    regex_values = [json.loads(line)["rewards"]["format.regex"] for line in out.read_text().splitlines()]
    assert regex_values == [1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0, 1.0]
