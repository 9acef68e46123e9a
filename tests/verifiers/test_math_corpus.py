"""Regression corpora for ``math`` (data: ../shared/data, provenance in its README.md).

- ``math_cot_samples.jsonl``: 800 real completions on MATH with the Qwen2.5-Math grader's
  verdicts.

(math-verify's own test cases run in tests/peers/test_peer_math_verify.py.) Every deliberate
disagreement is listed here and explained in docs/verifiers/math.md; a new
disagreement (or a fixed one) fails the test so the list and the docs stay true.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from grpo_rewards.contract import Outcome, Sample
from grpo_rewards.verifiers.math import MathVerifier

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not DATA.is_dir(), reason=f"shared data not found at {DATA}"),
]

COT_DISAGREEMENTS = {
    583: "gold 10{,}000 vs answer 10000: the reference grader does not strip LaTeX's {,} separator",
}


def _rows(name: str) -> list[dict[str, Any]]:
    with open(DATA / name, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


@pytest.fixture(scope="module")
def verifier() -> Iterator[MathVerifier]:
    v = MathVerifier(timeout=20)
    yield v
    v.close()


def test_math_cot_samples_against_reference_grader(verifier: MathVerifier) -> None:
    rows = _rows("math_cot_samples.jsonl")
    assert len(rows) == 800
    results = verifier.score_batch([Sample(r["completion"], {"answer": r["answer"]}) for r in rows])
    disagree = set()
    for i, (r, res) in enumerate(zip(rows, results, strict=True)):
        assert not isinstance(res, BaseException), res
        assert res.outcome in (Outcome.CORRECT, Outcome.WRONG), (i, res)
        if (res.outcome is Outcome.CORRECT) != r["reference_score"]:
            disagree.add(i)
    assert disagree == set(COT_DISAGREEMENTS)
    assert 1 - len(disagree) / len(rows) >= 0.99
    # Both directions: the reference holds right and wrong completions, and so do we.
    assert sum(r["reference_score"] for r in rows) == 728


def test_gsm8k_gold_solutions_score_themselves_correct(verifier: MathVerifier) -> None:
    rows = _rows("gsm8k_test.jsonl")
    results = verifier.score_batch([Sample(r["answer"], {"answer": r["answer"]}) for r in rows])
    assert all(not isinstance(s, BaseException) and s.outcome is Outcome.CORRECT for s in results)
    # ... and a neighbour's solution is wrong unless the two numbers happen to be equal.
    shifted = verifier.score_batch([Sample(rows[i - 1]["answer"], {"answer": r["answer"]}) for i, r in enumerate(rows)])
    same = [
        rows[i - 1]["answer"].split("####")[-1].strip() == r["answer"].split("####")[-1].strip()
        for i, r in enumerate(rows)
    ]
    for s, eq in zip(shifted, same, strict=True):
        assert not isinstance(s, BaseException)
        assert s.outcome is (Outcome.CORRECT if eq else Outcome.WRONG)
