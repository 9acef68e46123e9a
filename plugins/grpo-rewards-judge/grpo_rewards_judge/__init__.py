"""grpo-rewards plugin: rewards from a model.

* ``judge.reward_model``: a ``transformers`` sequence-classification reward model (local path or Hub name).
* ``judge.llm``: an LLM judge behind any OpenAI-compatible chat endpoint (vLLM, TGI, ``transformers serve``,
  hosted APIs), with a rubric template, robust score parsing, concurrency limit, timeouts, retries and a cache.
* exploits for ``grpo-rewards redteam``: instructions to the grader, forged verdicts, appeals to authority
  (``grpo_rewards_judge.exploits``).
"""

from __future__ import annotations

from collections.abc import Callable

import grpo_rewards
from grpo_rewards_judge.exploits import JUDGE_EXPLOITS
from grpo_rewards_judge.llm import DEFAULT_RUBRIC, LLMJudge
from grpo_rewards_judge.parsing import ScoreParseError, parse_score
from grpo_rewards_judge.reward_model import RewardModel

__all__ = ["DEFAULT_RUBRIC", "LLMJudge", "RewardModel", "ScoreParseError", "parse_score"]


@grpo_rewards.hookimpl
def register_verifiers(register: Callable[..., None]) -> None:
    register(RewardModel)
    register(LLMJudge)


@grpo_rewards.hookimpl
def register_exploits(register: Callable[..., None]) -> None:
    for fn in JUDGE_EXPLOITS:
        register(fn)
