"""{{ cookiecutter.dist_name }}: a grpo-rewards plugin.

Registers the verifier ``{{ cookiecutter.verifier_name }}``. Edit :class:`{{ cookiecutter.class_name }}`, or add
more verifiers and register each in :func:`register_verifiers`.
"""

from __future__ import annotations

from collections.abc import Callable

import grpo_rewards
from grpo_rewards import Sample, Score, Verifier

__all__ = ["{{ cookiecutter.class_name }}"]


class {{ cookiecutter.class_name }}(Verifier):
    """{{ cookiecutter.verifier_description }}.

    The answer is the last ``<answer>...</answer>`` block of the completion; without one there is no answer.
    Options are keyword-only ``__init__`` arguments with defaults; configs set them with
    ``{name = "{{ cookiecutter.verifier_name }}", options = {column = "gold"}}``.
    """

    name = "{{ cookiecutter.verifier_name }}"
    description = "{{ cookiecutter.verifier_description }}"

    def __init__(self, *, column: str = "answer") -> None:
        self.column = column

    def required_columns(self) -> list[str]:
        return [self.column]

    def score(self, sample: Sample) -> Score:
        gold = sample.column(self.column)  # a missing column is reported by name, as bad_reference
        if not isinstance(gold, str) or not gold.strip():
            return Score.bad_reference(f"column {self.column!r} holds no answer")
        completion = sample.completion
        start, end = completion.rfind("<answer>"), completion.rfind("</answer>")
        if start < 0 or end < start:
            return Score.no_answer("no <answer> block")
        answer = completion[start + len("<answer>") : end].strip()
        if answer.casefold() == gold.strip().casefold():
            return Score.correct(answer=answer)
        return Score.wrong(f"expected {gold.strip()!r}, got {answer[:80]!r}")


@grpo_rewards.hookimpl
def register_verifiers(register: Callable[..., None]) -> None:
    register({{ cookiecutter.class_name }})
