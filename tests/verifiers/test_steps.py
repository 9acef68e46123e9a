"""reasoning_steps: open-r1's values on open-r1's own cases, and no credit for step markers that
introduce nothing (where open-r1 pays in full).

Cases marked "open-r1" are copied from huggingface/open-r1 ``tests/test_rewards.py``
(``test_reasoning_steps_reward``, commit 21b48fbe4604dc875493d716de83476adb11e248). Where a test
states open-r1's value on a case of ours, it computes it with open-r1's pattern, quoted below from
``src/open_r1/rewards.py`` (commit c1e11922945753881e1992da765549098e6af6d4), as the reference.
"""

from __future__ import annotations

import re

import pytest

from grpo_rewards import load_rewards
from grpo_rewards.contract import Outcome, Sample
from grpo_rewards.errors import ConfigError
from grpo_rewards.testing import assert_verifier_contract
from grpo_rewards.verifiers.steps import ReasoningSteps, content_words

OPEN_R1_PATTERN = r"(Step \d+:|^\d+\.|\n-|\n\*|First,|Second,|Next,|Finally,)"


def open_r1(text: str) -> float:
    """open-r1's reasoning_steps_reward on one completion (the reference for the comparisons)."""
    return min(1.0, len(re.findall(OPEN_R1_PATTERN, text)) / 3)


def value(text: str, **opts: object) -> float | None:
    return ReasoningSteps(**opts).score(Sample(completion=text)).value  # type: ignore[arg-type]


OPEN_R1_CASES = [
    ("Step 1: First step\nStep 2: Second step\nStep 3: Third step", 1.0),
    ("First, we do this.\nSecond, we do that.\nFinally, we conclude.", 1.0),
    ("Step 1: Only step", 1 / 3),
    ("First, we do this.\nFinally, we conclude.", 2 / 3),
    ("Just plain text without any clear steps", 0.0),
]


@pytest.mark.parametrize(("text", "expected"), OPEN_R1_CASES)
def test_open_r1_cases_agree(text: str, expected: float) -> None:
    assert open_r1(text) == pytest.approx(expected)  # the case as open-r1 states it
    assert value(text) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    "text",
    [
        "Step 1: Step 2: Step 3:",
        "First, Second, Next,",
        "First, Second, Next, Finally,",
        "Step 1:\nStep 2:\nStep 3:\nStep 4:",
        "Step 1: ...\nStep 2: --\nStep 3: !!",  # punctuation is not content
    ],
)
def test_markers_without_content_earn_nothing(text: str) -> None:
    assert open_r1(text) == 1.0  # open-r1 pays these in full
    sc = ReasoningSteps().score(Sample(completion=text))
    assert sc.value == 0.0 and sc.outcome is Outcome.SCORED
    assert sc.info["steps"] == 0 and sc.info["too_short"] == sc.info["markers"] >= 3
    assert "under 2 words" in sc.detail


def test_a_marker_earns_only_the_content_after_it() -> None:
    # three empty markers and one real step: one step of three
    assert open_r1("First, Second, Next, Finally, the answer is 4") == 1.0
    assert value("First, Second, Next, Finally, the answer is 4") == pytest.approx(1 / 3)


def test_repeated_steps_count_once() -> None:
    text = "Step 1: add the numbers.\nStep 2: Add the numbers\nStep 3: add  the numbers!"
    assert open_r1(text) == 1.0
    sc = ReasoningSteps().score(Sample(completion=text))
    assert sc.value == pytest.approx(1 / 3)
    assert sc.info["repeated"] == 2 and "2 repeated" in sc.detail
    assert value(text, distinct=False) == 1.0  # the rule can be switched off
    assert value("- a b\n- a b\n- a c") == pytest.approx(2 / 3)


def test_min_words_sets_how_much_a_step_must_say() -> None:
    text = "Step 1: add\nStep 2: carry\nStep 3: done"
    assert value(text) == 0.0
    assert value(text, min_words=1) == 1.0
    assert value("Step 1: Step 2: Step 3:", min_words=0, distinct=False) == 1.0  # open-r1's behaviour
    assert value("First step: add 2 and 3, then 5 and 7") == 0.0  # no marker: "First step" is not "First,"


def test_target_sets_the_steps_for_full_credit() -> None:
    text = "1. add 2 and 3\n2. multiply by 4\n3. subtract one"
    assert value(text) == 1.0
    assert value(text, target=6) == pytest.approx(0.5)
    assert value(text, target=1) == 1.0


def test_numbered_items_and_bullets_on_every_line() -> None:
    # open-r1's ^\d+\. has no re.MULTILINE: it sees only the first item of a numbered list
    text = "1. add 2 and 3\n2. multiply by 4\n3. subtract one"
    assert open_r1(text) == pytest.approx(1 / 3)
    assert value(text) == 1.0
    assert value("  2) carry the one\n  3) write the sum") == pytest.approx(2 / 3)
    # a bullet on the first line counts; open-r1's \n- needs a newline before it
    bullets = "- add 2 and 3\n- multiply by 4\n* then subtract one\n• check the sum"
    assert open_r1(bullets) == pytest.approx(2 / 3)
    assert value(bullets) == 1.0


def test_what_looks_like_a_marker_but_is_not() -> None:
    # a horizontal rule, a negative number, bold text, a decimal: open-r1 counts three of them
    text = "x\n---\n-3 is the root\n**Bold** heading text\n3.14 is about pi"
    assert open_r1(text) == 1.0
    assert value(text) == 0.0
    # markdown bold around Step N: is still a step
    assert value("**Step 1:** compute x\n\n**Step 2:** compute y") == pytest.approx(2 / 3)


def test_a_numbered_transition_is_one_step() -> None:
    text = "1. First, we add 2 and 3.\n2. Next, we multiply by 4.\n3. Finally, we subtract one."
    sc = ReasoningSteps().score(Sample(completion=text))
    assert sc.value == 1.0 and sc.info["steps"] == 3 and sc.info["markers"] == 6


def test_chinese_steps_count_characters_as_words() -> None:
    assert content_words("先算加法。") == ("先", "算", "加", "法")
    assert value("Step 1: 先算加法\nStep 2: 再算乘法\nStep 3: 最后检查") == 1.0


def test_options_are_checked_and_the_contract_holds() -> None:
    for bad in ({"target": 0}, {"target": True}, {"min_words": -1}, {"distinct": "yes"}):
        with pytest.raises(ConfigError):
            load_rewards([{"name": "reasoning_steps", "options": bad}])
    texts = ["", "Step 1: go on now", "- a b\n- c d\n- e f", "x" * 5000]
    assert_verifier_contract(ReasoningSteps(), [Sample(completion=t) for t in texts])
    rs = load_rewards(["reasoning_steps"])
    assert rs.score(["Step 1: Step 2: Step 3:", "1. add 2 and 3\n2. times 4\n3. minus 1"]).values[
        "reasoning_steps"
    ] == [0.0, 1.0]
