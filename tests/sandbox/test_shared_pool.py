"""One warm pool for every ``code`` component (issue #17): components with the same ``sandbox``
and ``sandbox_options`` (a Python and a stdio one in one reward set, or two reward sets) share
one local sandbox, and it stops, every process reaped, when the last of them is closed."""

from __future__ import annotations

import json
import os

from grpo_rewards import load_rewards
from grpo_rewards.sandbox.local import LocalSandbox
from grpo_rewards.verifiers.code import CodeVerifier

from .conftest import sandbox_processes

# Options no other test uses, so that no other test's pool is shared with these.
SHARED = {"timeout": 2.0, "total_timeout": 8.0, "sandbox_options": {"workers": 2, "tester_memory_mb": 3001}}
ADD = json.dumps({"kind": "assert", "code": "assert add(1, 2) == 3\n"})
DOUBLE = json.dumps({"kind": "stdio", "cases": [{"input": "21\n", "output": "42\n"}]})
ADD_OK = "```python\ndef add(a, b):\n    return a + b\n```"
DOUBLE_OK = "```python\nprint(int(input()) * 2)\n```"


def _sandbox(rs: object, name: str) -> LocalSandbox:
    v = rs.verifier(name)  # type: ignore[attr-defined]
    assert isinstance(v, CodeVerifier)
    sb = v.sandbox
    assert isinstance(sb, LocalSandbox)
    return sb


def test_code_components_with_the_same_options_share_one_pool_until_the_last_closes() -> None:
    both = load_rewards(
        [
            {"name": "code", "options": SHARED},
            {"name": "code", "alias": "code_stdio", "options": {**SHARED, "column": "stdio_tests"}},
        ]
    )
    other = load_rewards([{"name": "code", "options": SHARED}])
    apart = load_rewards([{"name": "code", "options": {**SHARED, "sandbox_options": {"workers": 1}}}])
    try:
        res = both.score([ADD_OK, DOUBLE_OK], columns={"tests": [ADD, ADD], "stdio_tests": [DOUBLE, DOUBLE]})
        assert [s.outcome.value for s in res.scores["code"]] == ["correct", "wrong"]
        assert [s.outcome.value for s in res.scores["code_stdio"]] == ["wrong", "correct"]
        assert other.score([ADD_OK], columns={"tests": [ADD]}).totals == [1.0]

        sb = _sandbox(both, "code")
        assert _sandbox(both, "code_stdio") is sb and _sandbox(other, "code") is sb
        assert _sandbox(apart, "code") is not sb  # other options: a pool of its own
        pids = {w.proc.pid for w in sb._all}
        assert len(pids) == 2  # one set of warm workers, not one per component
        below = sandbox_processes(sb) | pids

        both.close()
        assert not sb.closed and {w.proc.pid for w in sb._all} == pids  # still in use by `other`
        assert other.score([ADD_OK], columns={"tests": [ADD]}).totals == [1.0]
        other.close()
        assert sb.closed and sb._all == []
        # Every process of the pool reaped by the time the last close returned.
        assert not [p for p in below if os.path.exists(f"/proc/{p}")]
    finally:
        both.close()
        other.close()
        apart.close()


def test_a_closed_reward_set_reopens_its_sandbox_on_next_use() -> None:
    rs = load_rewards([{"name": "code", "options": SHARED}])
    try:
        assert rs.score([ADD_OK], columns={"tests": [ADD]}).totals == [1.0]
        first = _sandbox(rs, "code")
        rs.close()
        assert first.closed
        assert rs.score([ADD_OK], columns={"tests": [ADD]}).totals == [1.0]  # a new pool
        assert _sandbox(rs, "code") is not first
    finally:
        rs.close()
