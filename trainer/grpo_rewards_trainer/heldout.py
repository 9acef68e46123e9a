"""Held-out task accuracy: greedy answers to questions that training never saw.

What runs here: the policy being trained, generating greedily (no sampling) in the trainer's
process before GRPO, every ``every`` steps, and after it, on the held-out rows; and one reward
component (``math`` by default) judging the answers. What it may trust: the trainer's model
and tokenizer; nothing in the completions, which go through the verifier as any completion does.

Two numbers tell whether a run learned the task rather than the format:

``accuracy``
    the share of held-out questions whose greedy answer the component scores ``correct``;
``top_answer_share``
    the share of held-out answers taken by the single most common answer (an answer the
    verifier could not find counts as one answer, ``""``). A policy that collapsed onto one
    answer, or onto no answer, shows it here whatever its reward says.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

from transformers import TrainerCallback

__all__ = ["HeldoutResult", "HeldoutCallback", "evaluate_heldout"]

log = logging.getLogger("grpo_rewards_trainer")


@dataclass(frozen=True)
class HeldoutResult:
    """One evaluation: ``n`` questions, the ``accuracy``, the ``top_answer_share`` and that answer."""

    n: int
    accuracy: float
    top_answer_share: float
    top_answer: str


def _prompt_text(tokenizer: Any, prompt: Any) -> str:
    if isinstance(prompt, str):
        return prompt
    return str(tokenizer.apply_chat_template(list(prompt), tokenize=False, add_generation_prompt=True))


def evaluate_heldout(
    model: Any,
    tokenizer: Any,
    rows: Sequence[dict[str, Any]],
    rewards: Any,
    component: str,
    *,
    max_new_tokens: int,
    batch_size: int = 64,
) -> HeldoutResult:
    """Greedy completions for ``rows`` (each with a ``prompt`` and the columns ``component``
    reads), scored by ``rewards`` (a :class:`~grpo_rewards.RewardSet` with that component)."""
    import torch

    was_training = model.training
    side = tokenizer.padding_side
    tokenizer.padding_side = "left"  # generation continues every prompt from its last token
    model.eval()
    correct, answers = 0, []
    try:
        for start in range(0, len(rows), batch_size):
            batch = rows[start : start + batch_size]
            texts = [_prompt_text(tokenizer, r["prompt"]) for r in batch]
            enc = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)
            with torch.no_grad():
                out = model.generate(
                    **enc,
                    max_new_tokens=max_new_tokens,
                    do_sample=False,
                    pad_token_id=tokenizer.pad_token_id,
                )
            completions = tokenizer.batch_decode(out[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
            columns = {k: [r[k] for r in batch] for k in batch[0] if k != "prompt"}
            scores, _ = rewards.score_component(
                component, completions, prompts=[r["prompt"] for r in batch], columns=columns
            )
            for score in scores:
                correct += score.outcome.value == "correct"
                answers.append(str(score.info.get("answer", "")) if score.info else "")
    finally:
        tokenizer.padding_side = side
        model.train(was_training)
    top, count = Counter(answers).most_common(1)[0] if answers else ("", 0)
    n = max(1, len(rows))
    return HeldoutResult(len(rows), correct / n, count / n, top)


class HeldoutCallback(TrainerCallback):
    """Measures held-out accuracy before training, every ``every`` steps, and after it, and
    writes ``{"n", "before", "after", "top_answer_share", "top_answer", "curve"}`` into ``sink``
    (the trainer's ``run_info["heldout"]``, read by ``run.json`` and ``rewards.png``)."""

    def __init__(
        self,
        rows: Sequence[dict[str, Any]],
        rewards: Any,
        component: str,
        *,
        sink: MutableMapping[str, Any],
        every: int = 0,
        max_new_tokens: int = 32,
    ) -> None:
        self.rows = list(rows)
        self.rewards = rewards
        self.component = component
        self.sink = sink
        self.every = int(every)
        self.max_new_tokens = int(max_new_tokens)
        self.curve: list[tuple[int, float]] = []
        self.before: HeldoutResult | None = None

    def _measure(self, step: int, model: Any, tokenizer: Any) -> HeldoutResult:
        result = evaluate_heldout(
            model, tokenizer, self.rows, self.rewards, self.component, max_new_tokens=self.max_new_tokens
        )
        if not self.curve or self.curve[-1][0] != step:
            self.curve.append((step, result.accuracy))
        return result

    def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        self.before = self._measure(state.global_step, kw["model"], kw["processing_class"])
        log.info(
            "held-out accuracy before GRPO: %.1f%% of %d questions (greedy)", 100 * self.before.accuracy, self.before.n
        )

    def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        if self.every and state.global_step % self.every == 0 and state.global_step < state.max_steps:
            self._measure(state.global_step, kw["model"], kw["processing_class"])

    def on_train_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
        after = self._measure(state.global_step, kw["model"], kw["processing_class"])
        before = self.before or after
        self.sink.update(
            n=after.n,
            component=self.component,
            before=round(before.accuracy, 4),
            after=round(after.accuracy, 4),
            top_answer_share=round(after.top_answer_share, 4),
            top_answer=after.top_answer,
            top_answer_share_before=round(before.top_answer_share, 4),
            curve=[[s, round(a, 4)] for s, a in self.curve],
        )
