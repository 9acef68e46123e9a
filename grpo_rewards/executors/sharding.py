"""Cutting a batch into shards without splitting a prompt group.

Group-aware verifiers (``length.group``) compare the completions of one prompt with each
other, so every completion of a prompt must be scored in one call. A group is what
:class:`~grpo_rewards.RewardSet` calls one: the completions with equal prompts in a batch
(``RewardSet._group_ids``), wherever they sit in it.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["shard_by_group"]


def shard_by_group(groups: Sequence[int], shards: int) -> list[list[int]]:
    """Indices of each shard: whole groups, in the order their first sample appears, packed into
    at most ``shards`` shards of about equal size (never an empty one).

    :param groups: the group id of each sample.
    :param shards: how many shards to aim for (at least 1).
    :returns: lists of sample indices, each sorted; together every index exactly once.
    """
    members: dict[int, list[int]] = {}
    for i, g in enumerate(groups):
        members.setdefault(g, []).append(i)
    n = len(groups)
    if n == 0:
        return []
    target = n / max(1, min(shards, len(members)))
    out: list[list[int]] = []
    current: list[int] = []
    done = 0
    for idx in members.values():
        current.extend(idx)
        done += len(idx)
        # Close the shard once it reaches its share of what is done so far: sizes stay even
        # whatever the group sizes are.
        if done >= target * (len(out) + 1) - 1e-9:
            out.append(sorted(current))
            current = []
    if current:
        out.append(sorted(current))
    return out
