"""open-r1's published cases for ``reasoning_steps_reward`` and ``tag_count_reward``, scored by our
``reasoning_steps`` and ``format.tag_count``, asserting OUR value.

Source: huggingface/open-r1 ``tests/test_rewards.py`` at commit 21b48fbe4604dc875493d716de83476adb11e248
(Apache-2.0, Copyright 2025 The HuggingFace Team): ``test_reasoning_steps_reward`` and the six
``test_tag_count_rewards_*`` cases. Cases copied, not code. Disagreements are in
``DISAGREEMENTS`` and docs/verifiers/peers.md.
"""

from __future__ import annotations

from typing import Any

import pytest

DISAGREEMENTS: dict[str, tuple[Any, str]] = {}


def expected(case: str, peer_value: Any) -> Any:
    return DISAGREEMENTS[case][0] if case in DISAGREEMENTS else peer_value


STEPS = [
    ("steps-three-steps", "Step 1: First step\nStep 2: Second step\nStep 3: Third step", 1.0),
    ("steps-first-second-finally", "First, we do this.\nSecond, we do that.\nFinally, we conclude.", 1.0),
    ("steps-one-step", "Step 1: Only step", 1 / 3),
    ("steps-two-steps", "First, we do this.\nFinally, we conclude.", 2 / 3),
    ("steps-none", "Just plain text without any clear steps", 0.0),
]


@pytest.mark.parametrize(("case", "text", "peer"), STEPS, ids=[c[0] for c in STEPS])
def test_reasoning_steps_reward(peer_score: Any, case: str, text: str, peer: float) -> None:
    (value,) = peer_score([{"name": "reasoning_steps"}], [text])
    assert value == pytest.approx(expected(case, peer))


TAGS = [
    ("tag-count-all", "<think>\nSome reasoning\n</think>\n<answer>\nThe answer\n</answer>", 1.0),
    ("tag-count-missing-think-begin", "Some reasoning\n</think>\n<answer>\nThe answer\n</answer>", 0.75),
    ("tag-count-missing-think-end", "<think>\nSome reasoning\n<answer>\nThe answer\n</answer>", 0.75),
    ("tag-count-missing-answer-begin", "<think>\nSome reasoning\n</think>\nThe answer\n</answer>", 0.75),
    ("tag-count-missing-answer-end", "<think>\nSome reasoning\n</think>\n<answer>\nThe answer", 0.75),
    ("tag-count-no-tags", "Some reasoning\nThe answer", 0.0),
]


@pytest.mark.parametrize(("case", "text", "peer"), TAGS, ids=[c[0] for c in TAGS])
def test_tag_count_reward(peer_score: Any, case: str, text: str, peer: float) -> None:
    (value,) = peer_score([{"name": "format.tag_count"}], [text])
    assert value == pytest.approx(expected(case, peer))
