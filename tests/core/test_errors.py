"""Every error the library raises on purpose is a ``GrpoRewardsError``."""

from __future__ import annotations

import pytest

from grpo_rewards import GrpoRewardsError
from grpo_rewards.sandbox import Job, SandboxUnavailable
from grpo_rewards.sandbox.local import LocalSandbox


def test_sandbox_unavailable_is_a_grpo_rewards_error_and_still_a_runtime_error() -> None:
    assert issubclass(SandboxUnavailable, GrpoRewardsError)
    assert issubclass(SandboxUnavailable, RuntimeError)  # code that caught it as one keeps working


def test_a_closed_local_sandbox_raises_it() -> None:
    sandbox = LocalSandbox(workers=1)
    sandbox.close()  # before any worker started: nothing is spawned
    with pytest.raises(GrpoRewardsError, match="this sandbox was closed") as ei:
        sandbox.run(Job("python", "stdio", "print(1)", inputs=[""]))
    assert isinstance(ei.value, SandboxUnavailable)
