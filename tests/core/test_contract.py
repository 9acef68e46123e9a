"""The reward contract: Score, Outcome, Sample and Verifier basics."""

from __future__ import annotations

import math

import pytest

from grpo_rewards import MissingColumnError, Outcome, Sample, Score
from grpo_rewards.verifiers.exact import ExactMatch


def test_score_normalizes_value_and_outcome() -> None:
    s = Score(1, "correct", "ok")
    assert s.value == 1.0 and isinstance(s.value, float)
    assert s.outcome is Outcome.CORRECT
    assert s.to_dict() == {"value": 1.0, "outcome": "correct", "detail": "ok"}


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_score_rejects_non_finite(bad: float) -> None:
    with pytest.raises(ValueError, match="finite"):
        Score(bad, Outcome.SCORED)


def test_score_rejects_bool_and_strings() -> None:
    with pytest.raises(TypeError):
        Score(True, Outcome.CORRECT)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Score("1.0", Outcome.CORRECT)  # type: ignore[arg-type]


def test_unknown_outcome_is_rejected() -> None:
    with pytest.raises(ValueError):
        Score(1.0, "great")  # type: ignore[arg-type]


def test_constructors_pick_the_documented_defaults() -> None:
    assert Score.correct().value == 1.0
    assert Score.wrong().value == 0.0
    assert Score.error("x").value is None
    assert Score.bad_reference("x").value is None
    assert Score.timeout().outcome is Outcome.TIMEOUT
    assert Score.correct(answer="42").info == {"answer": "42"}


def test_taxonomy_has_the_required_outcomes() -> None:
    required = {"correct", "wrong", "no_answer", "unparseable", "timeout", "error"}
    assert required <= {o.value for o in Outcome}


def test_sample_column_names_missing_column_and_what_exists() -> None:
    s = Sample("hi", row={"solution": "1", "id": 3})
    assert s.column("solution") == "1"
    with pytest.raises(MissingColumnError) as ei:
        s.column("answer")
    assert "missing column 'answer'" in str(ei.value)
    assert "id, solution" in str(ei.value)


def test_option_defaults_come_from_init_signature() -> None:
    opts = ExactMatch.option_defaults()
    assert opts["column"] == "answer"
    assert "case_sensitive" in opts
