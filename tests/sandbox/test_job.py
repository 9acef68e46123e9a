"""What a sandbox job may be: checked where it is made, not discovered by a run that can never pass."""

from __future__ import annotations

import pytest

from grpo_rewards.sandbox import KINDS, Job


@pytest.mark.parametrize("language", ["c", "cpp"])
def test_a_c_or_cpp_assert_job_is_refused(language: str) -> None:
    with pytest.raises(ValueError, match=rf"Job.kind 'assert' is not supported for {language}; supported: stdio"):
        Job(language=language, kind="assert", code="int main(){}", test_code="assert(1);")


def test_an_unknown_language_or_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="Job.language must be one of python, javascript, c, cpp, got 'rust'"):
        Job(language="rust", kind="stdio", code="fn main(){}")
    with pytest.raises(ValueError, match="Job.kind 'call' is not supported for javascript"):
        Job(language="javascript", kind="call", code="")


def test_every_kind_the_code_verifier_accepts_is_a_kind_a_job_may_have() -> None:
    from grpo_rewards.verifiers import code

    assert code._KINDS is KINDS
    for language, kinds in KINDS.items():
        for kind in kinds:
            Job(language=language, kind=kind, code="")
