"""The seed's example reward, as users copy it (../shared/seed/GRPOTrainer.md, "Example Usage")::

    def reward_fn(responses, ground_truths):
        rewards = []
        for resp, gt in zip(responses, ground_truths):
            # Check if answer matches
            rewards.append(1.0 if gt in resp else 0.0)
        return rewards

written as a grpo-rewards plain function (TRL's calling convention: the completions, then the
dataset's columns by name). On GSM8K the gold column holds a worked solution ending in
``#### N``; like every user of this reward on GSM8K, it compares the final answer ``N``.
``grpo-rewards redteam`` flags it: a completion that lists every number from 0 to 100 is paid
1.0 (docs/redteam/gsm8k-seed.md).
"""

from __future__ import annotations


def reward(completions, answer, **kwargs):
    rewards = []
    for resp, gt in zip(completions, answer, strict=True):
        gt = str(gt).split("####")[-1].strip()
        rewards.append(1.0 if gt in resp else 0.0)
    return rewards
