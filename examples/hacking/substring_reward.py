# ruff: noqa: B905  (the function below is the seed's, character for character)
"""The seed's example reward, kept exactly as the seed writes it.

The seed (the GRPOTrainer description this project starts from) gives, under "Example Usage"::

    # Define reward function (example for math)
    def reward_fn(responses, ground_truths):
        rewards = []
        for resp, gt in zip(responses, ground_truths):
            # Check if answer matches
            rewards.append(1.0 if gt in resp else 0.0)
        return rewards

It pays 1.0 whenever the gold answer occurs anywhere in the completion, as a substring: a
completion that lists every number from 0 to 100 is paid for every integer answer in that range.
``seed_reward.toml`` names it by import path (``substring_reward:reward_fn``), with this folder on
``PYTHONPATH``; grpo-rewards calls it in the seed's form, ``(responses, ground_truths)``, with the
completions' texts and the data's ``answer`` column.
"""


def reward_fn(responses, ground_truths):
    rewards = []
    for resp, gt in zip(responses, ground_truths):
        # Check if answer matches
        rewards.append(1.0 if gt in resp else 0.0)
    return rewards
