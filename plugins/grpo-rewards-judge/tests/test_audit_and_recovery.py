"""judge.llm as the second opinion of grpo-rewards' ``audit`` and of a component's ``recover``
setting, against a real ``transformers serve`` on loopback (the tiny chat model answers only "3" or
"7": a 0.3 or 0.7 grade; which one depends on its random weights, so each test runs at thresholds
0.3 (every grade is "correct"), 0.5 and 0.8 (every grade is "wrong")). The judge's own grades, asked
directly, give the expected values; and a judge that cannot be reached is never agreement and
never a recovery."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from grpo_rewards_judge import LLMJudge
from stub_server import free_port

from grpo_rewards import Sample, load_rewards
from grpo_rewards.audit import CompositionOpinion, audit
from grpo_rewards.cli import main
from grpo_rewards.plugins import Registry
from grpo_rewards.testing import call_like_trl

RUBRIC = "grade the response to the task . task : {prompt} response : {completion} answer : {answer} Score :"
ROWS = [
    {"prompt": "please add two and two", "answer": "4", "completion": "so \\boxed{4}"},
    {"prompt": "please add two and two", "answer": "4", "completion": "the answer is \\boxed{5}"},
    {"prompt": "how many legs does a cat have ?", "answer": "4", "completion": "four so \\boxed{4}"},
    {"prompt": "how many legs does a cat have ?", "answer": "4", "completion": "three legs \\boxed{3}"},
    {"prompt": "what is six minus one ?", "answer": "5", "completion": "it is \\boxed{6}"},
    {"prompt": "what is six minus one ?", "answer": "5", "completion": "\\boxed{5}"},
]


def _judge_options(served: tuple[str, str], **extra: Any) -> dict[str, Any]:
    base_url, model = served
    return {"model": model, "base_url": base_url, "rubric": RUBRIC, "max_tokens": 1, **extra}


def _direct_grades(served: tuple[str, str]) -> list[float]:
    judge = LLMJudge(**_judge_options(served))
    scores = judge.score_batch(
        [Sample(r["completion"], row={"answer": r["answer"]}, prompt=r["prompt"], index=i) for i, r in enumerate(ROWS)]
    )
    grades = [s.value for s in scores]  # type: ignore[union-attr]
    assert set(grades) <= {0.3, 0.7}, scores
    return grades  # type: ignore[return-value]


def _scored_file(tmp_path: Path) -> Path:
    src = tmp_path / "rows.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    out = tmp_path / "scored.jsonl"
    assert main(["score", str(src), "-r", "math", "-o", str(out), "--no-progress"]) == 0
    return out


THRESHOLDS = pytest.mark.parametrize("threshold", [0.3, 0.5, 0.8])


@pytest.mark.slow  # starts a server (about 15 s, once per session)
@THRESHOLDS
def test_audit_with_the_llm_judge_as_second_opinion(
    registry: Registry, served_model: tuple[str, str], tmp_path: Path, threshold: float
) -> None:
    scored = _scored_file(tmp_path)
    first = [json.loads(line)["outcomes"]["math"] for line in scored.read_text().splitlines()]
    assert first == ["correct", "wrong", "correct", "wrong", "wrong", "correct"]
    grades = _direct_grades(served_model)
    rs = load_rewards({"rewards": [{"name": "judge.llm", "options": _judge_options(served_model)}]})
    result = audit(scored, CompositionOpinion(rs, threshold=threshold), per_outcome=10)
    rs.close()
    judged_correct = [g >= threshold for g in grades]
    expected_disagree = {i for i, (o, c) in enumerate(zip(first, judged_correct, strict=True)) if (o == "correct") != c}
    if threshold == 0.3:  # the judge says correct to all: the three wrong verdicts are the disagreements
        assert expected_disagree == {1, 3, 4}
    if threshold == 0.8:
        assert expected_disagree == {0, 2, 5}
    assert {int(d.row.where.rsplit(":", 1)[1]) - 1 for d in result.disagreements} == expected_disagree
    for a in result.outcomes:
        rows = [i for i, o in enumerate(first) if o == a.outcome.value]
        assert a.sampled == len(rows) == a.agree + a.disagree and not a.no_verdict
        assert a.disagree == len(expected_disagree & set(rows))
    for d in result.disagreements:
        assert d.verdict.outcome == "scored" and d.verdict.value in (0.3, 0.7)

    # the same through the command line, with the judge's options given by --set
    report = tmp_path / "audit.md"
    argv = ["audit", str(scored), "-r", "judge.llm", "--report", str(report), "--threshold", str(threshold)]
    for key, value in _judge_options(served_model).items():
        argv += ["--set", f"judge.llm.{key}={value}"]
    assert main(argv) == 0
    text = report.read_text()
    assert "second opinion: judge.llm (model=" in text
    n_wrong_disagree = len(expected_disagree & {i for i, o in enumerate(first) if o == "wrong"})
    assert f"| `wrong` (false negatives) | 3 | 3 | {3 - n_wrong_disagree} | {n_wrong_disagree} | 0 |" in text


def test_audit_with_an_unreachable_judge_counts_no_verdicts(registry: Registry, tmp_path: Path) -> None:
    scored = _scored_file(tmp_path)
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    rs = load_rewards(
        {"rewards": [{"name": "judge.llm", "options": {"model": "m", "base_url": url, "max_retries": 0}}]}
    )
    result = audit(scored, CompositionOpinion(rs))
    rs.close()
    for a in result.outcomes:
        assert (a.agree, a.disagree, dict(a.no_verdict), a.rate) == (0, 0, {"error": 3}, None)
    assert not result.disagreements and len(result.no_verdicts) == 6
    assert all(f"cannot reach {url}" in d.verdict.detail for d in result.no_verdicts)


@pytest.mark.slow
@THRESHOLDS
def test_recovery_with_the_llm_judge(registry: Registry, served_model: tuple[str, str], threshold: float) -> None:
    grades = _direct_grades(served_model)
    recover = {"verifier": "judge.llm", "options": _judge_options(served_model), "threshold": threshold}
    rs = load_rewards({"rewards": [{"name": "math", "recover": recover}]})
    call = call_like_trl(rs.reward_funcs[0], ROWS, [r["completion"] for r in ROWS])
    first_wrong = [1, 3, 4]
    expected = [1.0 if i not in first_wrong or grades[i] >= threshold else 0.0 for i in range(len(ROWS))]
    assert call.values == expected  # a recovered sample gets 1.0, the correct value, never the judge's 0.3 or 0.7
    recovered = sum(1 for i in first_wrong if grades[i] >= threshold)
    assert recovered == {0.3: 3, 0.8: 0}.get(threshold, recovered)
    assert call.metric("recovery/math/calls") == 3.0
    assert call.metric("recovery/math/recovered") == recovered
    assert call.metric("recovery/math/confirmed") == 3 - recovered
    assert call.metric("recovery/math/failed") == 0.0


def test_recovery_with_an_unreachable_judge_keeps_wrong(registry: Registry) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    options = {"model": "m", "base_url": url, "max_retries": 0}
    rs = load_rewards({"rewards": [{"name": "math", "recover": {"verifier": "judge.llm", "options": options}}]})
    call = call_like_trl(rs.reward_funcs[0], ROWS, [r["completion"] for r in ROWS])
    assert call.values == [1.0, 0.0, 1.0, 0.0, 0.0, 1.0]
    assert call.metric("recovery/math/failed") == 3.0 and call.metric("recovery/math/recovered") == 0.0
