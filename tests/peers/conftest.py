"""Shared helper of the peer-case tests: score completions through ``grpo_rewards.load_rewards``
and call the reward functions exactly as TRL's ``GRPOTrainer`` does.

``peer_score(spec, completions, rows, completion_ids=None, component=-1)`` returns the values
of one component (the last by default, so a dependency such as ``math`` for ``length.cosine``
can come first with weight 0). Reward sets are built once per specification and closed at the
end of the session, so the ``math`` worker pools are started once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import pytest

from grpo_rewards import load_rewards
from grpo_rewards.rewardset import RewardSet
from grpo_rewards.testing import call_like_trl

PeerScore = Callable[..., list[float | None]]


@pytest.fixture(scope="session")
def peer_score() -> Iterator[PeerScore]:
    sets: dict[str, RewardSet] = {}

    def score(
        spec: Sequence[Any],
        completions: Sequence[str],
        rows: Sequence[Mapping[str, Any]] | Mapping[str, Any] | None = None,
        completion_ids: Sequence[Sequence[int]] | None = None,
        component: int = -1,
    ) -> list[float | None]:
        key = json.dumps(spec, sort_keys=True)
        if key not in sets:
            sets[key] = load_rewards(list(spec))
        if rows is None:
            rows = {}
        if isinstance(rows, Mapping):
            rows = [rows] * len(completions)
        rows = [{"prompt": "Solve it.", **r} for r in rows]
        # conversational completions, as the peers' tests pass them
        messages = [[{"role": "assistant", "content": c}] for c in completions]
        call = call_like_trl(sets[key].reward_funcs[component], rows, messages, completion_ids=completion_ids)
        return list(call.values)

    yield score
    for rs in sets.values():
        rs.close()
