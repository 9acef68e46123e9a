"""OpenRLHF 0.11: rewards for ``--reward.remote_url``, as a file (``reward_func``) or over HTTP.

The contract, from openrlhf 0.11.2 (the wheel's ``openrlhf/utils/agent.py``,
``SingleTurnAgentExecutor``): after each generation OpenRLHF decodes the prompt's and the
response's tokens together, ``query = tokenizer.decode(prompt_ids + response_ids,
skip_special_tokens=False)``, and either

- calls ``reward_func(queries, prompts, labels)`` from the ``.py`` file that ``--reward.remote_url``
  names (loaded with ``importlib.util.spec_from_file_location``, run in a thread), or
- POSTs ``{"query": [...], "prompts": [...], "labels": [...]}`` to the URL it names
  (``_fetch_rewards_via_http``, five tries), as ``openrlhf/cli/serve_rm.py`` answers on
  ``POST /get_reward``,

and reads ``{"rewards": [...], "scores": [...], "extra_logs": {...}}``
(``openrlhf/trainer/ppo_utils/samples_generator.py`` turns each into a tensor). ``prompts`` are
the prompts after OpenRLHF's chat template (``openrlhf/datasets/prompts_dataset.py``,
``preprocess_data``), so the completion is what follows the prompt in the query, less the
special tokens that end a turn. ``labels`` are the dataset's ``--data.label_key`` values.

What runs here: OpenRLHF's rollout workers (``reward_func``) or ``grpo-rewards serve``
(:func:`request_rows`, :func:`answer`). What it may trust: nothing in a request; its shape is
checked by the caller (the server answers ``422`` naming the field).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from grpo_rewards.integrations import label_column_for, reward_set_for
from grpo_rewards.rewardset import RewardSet
from grpo_rewards.scoring import score_rows

__all__ = ["reward_func", "completion_from_query", "request_rows", "answer", "END_OF_TURN"]

END_OF_TURN = ("<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<|end_of_text|>", "<|end|>", "</s>", "<eos>")
"""Special tokens that end a response in common chat templates; stripped from a query's end,
since OpenRLHF decodes with ``skip_special_tokens=False``."""


def completion_from_query(query: str, prompt: str, end_of_turn: Sequence[str] = END_OF_TURN) -> str:
    """The response in ``query`` (prompt + response, decoded as one): what follows ``prompt``
    (found at the start, or after a BOS token the decoding added), without trailing end-of-turn
    tokens."""
    if query.startswith(prompt):
        text = query[len(prompt) :]
    elif prompt and (at := query.find(prompt)) >= 0:
        text = query[at + len(prompt) :]
    else:  # re-tokenizing changed the prompt's text: drop the longest common prefix
        n = 0
        while n < min(len(query), len(prompt)) and query[n] == prompt[n]:
            n += 1
        text = query[n:]
    stripped = True
    while stripped:
        stripped = False
        text = text.rstrip()
        for tok in end_of_turn:
            if tok and text.endswith(tok):
                text = text[: -len(tok)]
                stripped = True
    return text


def request_rows(
    queries: Sequence[str], prompts: Sequence[str], labels: Sequence[Any], label_column: str
) -> list[dict[str, Any]]:
    """Rows as ``grpo-rewards score`` reads them. A label that is an object (or a JSON object
    string) gives several columns; any other label fills ``label_column``."""
    rows = []
    for query, prompt, label in zip(queries, prompts, labels, strict=True):
        row: dict[str, Any] = {"prompt": prompt, "completion": completion_from_query(query, prompt)}
        if isinstance(label, str) and label.startswith("{"):
            try:
                label = json.loads(label)
            except ValueError:
                pass
        if isinstance(label, dict):
            row.update({k: v for k, v in label.items() if k not in ("prompt", "completion")})
        else:
            row[label_column] = label
        rows.append(row)
    return rows


def answer(reward_set: RewardSet, scored: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """OpenRLHF's reply from scored rows: ``rewards`` and ``scores`` (the weighted sum; ``0.0``
    where no component gave a signal, since OpenRLHF has no "no signal"), and ``extra_logs`` with
    each component's value (logged by OpenRLHF under the component's name)."""
    rewards = [0.0 if r["reward"] is None else float(r["reward"]) for r in scored]
    extra = {
        name: [0.0 if r["rewards"][name] is None else float(r["rewards"][name]) for r in scored]
        for name in reward_set.names
    }
    return {"rewards": rewards, "scores": list(rewards), "extra_logs": extra}


def reward_func(
    queries: Sequence[str],
    prompts: Sequence[str],
    labels: Sequence[Any],
    *,
    rewards: Sequence[Any] | str | None = None,
    config: str | None = None,
    label_column: str | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """OpenRLHF's local reward function: give this module's file to ``--reward.remote_url``.
    The composition comes from ``$GRPO_REWARDS_CONFIG`` (or ``rewards=`` / ``config=``)."""
    rs = reward_set_for(rewards, config)
    rows = request_rows(queries, prompts, labels, label_column_for(rs, label_column))
    from grpo_rewards.inputs import row_from_data

    scored = list(score_rows(rs, [row_from_data(r, f"queries[{i}]") for i, r in enumerate(rows)], details=False))
    return answer(rs, scored)
