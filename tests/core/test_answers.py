"""Answer extraction is a public core module, ``grpo_rewards.answers``, not a verifier's helper."""

from __future__ import annotations

import importlib.util

import grpo_rewards
import grpo_rewards.answers as answers
from grpo_rewards.verifiers import choice, exact, language


def test_root_names_come_from_the_public_module() -> None:
    for name in ("Answer", "extract_answer", "strip_think", "tag_blocks"):
        obj = getattr(grpo_rewards, name)
        assert obj is getattr(answers, name)
        assert obj.__module__ == "grpo_rewards.answers"  # what the API docs and tracebacks show
        assert name in answers.__all__


def test_builtin_verifiers_read_answers_through_it() -> None:
    for module in (exact, choice, language):
        assert module.extract_answer is answers.extract_answer


def test_the_private_module_is_gone() -> None:
    assert importlib.util.find_spec("grpo_rewards.verifiers._answer") is None


def test_its_docstring_says_what_it_may_trust() -> None:
    doc = answers.__doc__ or ""
    assert "untrusted" in doc and "linear" in doc


def test_extraction_as_documented() -> None:
    text = "<think>maybe <answer>3</answer>?</think> <answer>4</answer>"
    assert answers.strip_think(text) == " <answer>4</answer>"
    assert answers.tag_blocks(text, "answer") == ["4"]
    assert answers.extract_answer(text).text == "4"
    assert answers.extract_answer("<answer>4</answer><answer>5</answer>").hedged
    assert answers.fenced_blocks("```python\nx = 1\n```\n~~~\ny\n~~~") == ["x = 1\n", "y\n"]
