"""format.tag_count: open-r1's tag_count_reward values on open-r1's own cases, what stuffing
earns (nothing more for repeated tags, as in open-r1; nothing for empty or reordered sections,
unlike open-r1), and open-r1's exact values with ``ordered=false, allow_empty=true``.

Cases marked "open-r1" are copied from huggingface/open-r1 ``tests/test_rewards.py``
(``test_tag_count_rewards_*``, commit 21b48fbe4604dc875493d716de83476adb11e248). Where a test
states open-r1's value on a case of ours, it computes it with open-r1's ``count_tags``, quoted
below from ``src/open_r1/rewards.py`` (commit c1e11922945753881e1992da765549098e6af6d4).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from grpo_rewards import load_rewards
from grpo_rewards.contract import Outcome, Sample
from grpo_rewards.errors import ConfigError
from grpo_rewards.testing import assert_verifier_contract
from grpo_rewards.verifiers.tag_count import TagCount, tag_lines


def open_r1(text: str) -> float:
    """open-r1's tag_count_reward on one completion (the reference for the comparisons)."""
    count = 0.0
    if text.count("<think>\n") == 1:
        count += 0.25
    if text.count("\n</think>\n") == 1:
        count += 0.25
    if text.count("\n<answer>\n") == 1:
        count += 0.25
    if text.count("\n</answer>") == 1:
        count += 0.25
    return count


def value(text: str, **opts: object) -> float | None:
    return TagCount(**opts).score(Sample(completion=text)).value  # type: ignore[arg-type]


OPEN_R1_CASES = [
    ("<think>\nSome reasoning\n</think>\n<answer>\nThe answer\n</answer>", 1.0),  # all_correct
    ("Some reasoning\n</think>\n<answer>\nThe answer\n</answer>", 0.75),  # missing_think_begin
    ("<think>\nSome reasoning\n<answer>\nThe answer\n</answer>", 0.75),  # missing_think_end
    ("<think>\nSome reasoning\n</think>\nThe answer\n</answer>", 0.75),  # missing_answer_begin
    ("<think>\nSome reasoning\n</think>\n<answer>\nThe answer", 0.75),  # missing_answer_end
    ("Some reasoning\nThe answer", 0.0),  # missing_all_tags
]

# Completions on which our defaults and open-r1 differ on purpose, with open-r1's value and ours.
STUFFING = [
    ("<think>\n\n</think>\n<answer>\n\n</answer>", 1.0, 0.0),  # bare tags, no reasoning, no answer
    ("<think>\n</think>\n<answer>\n42\n</answer>", 1.0, 0.5),  # empty reasoning
    ("\n<answer>\n42\n</answer>\n<think>\nwhy\n</think>\n", 1.0, 0.5),  # sections swapped
    ("\n</answer>\n<answer>\n42\n</think>\n<think>\nwhy", 1.0, 0.25),  # reversed: only the first tag line
]


@pytest.mark.parametrize(("text", "expected"), OPEN_R1_CASES)
def test_open_r1_cases_agree(text: str, expected: float) -> None:
    assert open_r1(text) == expected  # the case as open-r1 states it
    assert value(text) == expected
    assert value(text, ordered=False, allow_empty=True) == expected


@pytest.mark.parametrize(
    "text",
    [
        "<think>\nSome reasoning\n</think>\n<answer>\nThe answer\n</answer>\n<answer>\nThe answer\n</answer>",
        "<think>\na\n</think>\n<think>\nb\n</think>\n<answer>\nc\n</answer>",
        "<think>\n<think>\n<think>\nx\n</think>\n</think>\n<answer>\n1\n</answer>",
        "<think>\nx\n</think>\n<answer>\n1\n</answer>" * 5,
    ],
)
def test_repeating_tags_never_adds_credit(text: str) -> None:
    # open-r1 counts a tag line only when it occurs exactly once: so do we, in every mode
    assert value(text, ordered=False, allow_empty=True) == open_r1(text) < 1.0
    assert value(text) <= open_r1(text)  # type: ignore[operator]
    assert value("<think>\nx\n</think>\n<answer>\n1\n</answer>" * 5) == 0.0


@pytest.mark.parametrize(("text", "theirs", "ours"), STUFFING)
def test_empty_and_reordered_sections_earn_nothing(text: str, theirs: float, ours: float) -> None:
    assert open_r1(text) == theirs
    sc = TagCount().score(Sample(completion=text))
    assert sc.value == ours and sc.outcome is Outcome.SCORED
    # open-r1's exact values with both guards off
    assert value(text, ordered=False, allow_empty=True) == theirs


def test_detail_says_which_tag_lines_failed() -> None:
    sc = TagCount().score(Sample(completion="<think>\n\n</think>\n<answer>\nx\n</answer>\n</answer>"))
    assert sc.value == 0.25  # only <answer>'s line: </answer> is repeated, the think section empty
    assert "empty <think>...</think>" in sc.detail and "'\\n</answer>' x2" in sc.detail
    assert sc.info == {"tag_lines": 1, "of": 4}
    sc = TagCount().score(Sample(completion="<think>\nok\n</think>\n<answer>\n1\n</answer>"))
    assert sc.detail == "4/4 tag lines" and sc.value == 1.0


def test_tags_without_their_newlines_do_not_count() -> None:
    # the R1 template's tag lines, as open-r1: format.tags scores tags wherever they stand
    text = "<think>why</think><answer>42</answer>"
    assert open_r1(text) == 0.0 and value(text) == 0.0


def test_other_tags_and_one_section() -> None:
    assert tag_lines(["reasoning", "answer"]) == [
        ("<reasoning>\n", "\n</reasoning>\n"),
        ("\n<answer>\n", "\n</answer>"),
    ]
    unsloth = "<reasoning>\nadd them\n</reasoning>\n<answer>\n5\n</answer>"
    assert value(unsloth, tags=["reasoning", "answer"]) == 1.0
    assert value(unsloth) == 0.5  # the default tags: only the answer lines
    assert value("<answer>\n5\n</answer>", tags="answer") == 1.0
    assert value("<answer>\n5", tags=["answer"]) == 0.5


def test_options_are_checked_and_the_contract_holds() -> None:
    for bad in ({"tags": []}, {"tags": ["<think>"]}, {"tags": ["a", "a"]}, {"ordered": 1}, {"allow_empty": "no"}):
        with pytest.raises(ConfigError):
            load_rewards([{"name": "format.tag_count", "options": bad}])
    texts = ["", OPEN_R1_CASES[0][0], STUFFING[0][0], "<think>\n" * 1000]
    assert_verifier_contract(TagCount(), [Sample(completion=t) for t in texts])
    rs = load_rewards([{"name": "format.tag_count", "options": {"ordered": False, "allow_empty": True}}])
    assert rs.score([t for t, _, _ in STUFFING]).values["format.tag_count"] == [t for _, t, _ in STUFFING]


def test_the_shared_reasoning_setting_names_the_first_section(tmp_path: Path) -> None:
    unsloth = "<reasoning>\n4 + 3 = 7\n</reasoning>\n<answer>\n7\n</answer>"
    config = tmp_path / "rewards.toml"
    config.write_text('[defaults]\nreasoning = "reasoning"\n\n[[rewards]]\nname = "format.tag_count"\n')
    for spec in (config, [{"name": "format.tag_count", "options": {"reasoning": "reasoning"}}]):
        rs = load_rewards(spec)
        try:
            assert rs.score([unsloth]).values["format.tag_count"] == [1.0]
        finally:
            rs.close()
    rs = load_rewards(["format.tag_count"])
    try:
        assert rs.score([unsloth]).values["format.tag_count"] == [0.5]  # only the answer lines count
    finally:
        rs.close()


@pytest.mark.parametrize("setting", ["harmony", "thought", "auto"])
def test_a_reasoning_setting_without_tag_lines_is_a_config_error(setting: str) -> None:
    with pytest.raises(ConfigError, match="counts R1-style tag lines"):
        load_rewards([{"name": "format.tag_count", "options": {"reasoning": setting}}])
