"""parse_score: verdict formats judges actually produce; out-of-scale and missing scores are errors."""

from __future__ import annotations

import pytest
from grpo_rewards_judge import ScoreParseError, parse_score


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("Score: 7", 7.0),
        ("The response is fine.\nScore: 8.5", 8.5),
        ("**Score**: 6", 6.0),
        ("Rating: [[9]]", 9.0),
        ("I would rate it 4/10.", 4.0),
        ("On a scale of 0 to 10... I give 3 out of 10", 3.0),
        ('{"reasoning": "ok", "score": 5}', 5.0),
        ("7", 7.0),
        ("Score : 7", 7.0),
        ("score = 2", 2.0),
        ("The score is 10", 10.0),
        # the last verdict wins: judges restate the scale before answering
        ("Use Score: 0 for wrong and Score: 10 for perfect. Score: 6", 6.0),
        # reasoning inside <think> is ignored
        ("<think>Score: 1? no</think> Score: 9", 9.0),
    ],
)
def test_parses_common_verdict_formats(reply: str, expected: float) -> None:
    assert parse_score(reply, 0, 10) == expected


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        ("I cannot judge this.", "no score found"),
        ("Score: 11", "outside the scale"),
        ("Score: -1", "outside the scale"),
        ("", "no score found"),
        ("<think>Score: 8</think>", "no score found"),
    ],
)
def test_missing_or_out_of_scale_scores_are_errors(reply: str, message: str) -> None:
    with pytest.raises(ScoreParseError, match=message):
        parse_score(reply, 0, 10)


def test_custom_pattern() -> None:
    assert parse_score("VERDICT=3 (of 5)", 1, 5, pattern=r"VERDICT=(\d)") == 3.0
    with pytest.raises(ScoreParseError):
        parse_score("Score: 3", 1, 5, pattern=r"VERDICT=(\d)")
