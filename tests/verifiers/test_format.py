"""format.think, format.tags, format.regex and format.json: what earns credit and what does not."""

from __future__ import annotations

import json
import pickle

import pytest

from grpo_rewards import load_rewards
from grpo_rewards.contract import Outcome, Sample
from grpo_rewards.errors import ConfigError
from grpo_rewards.testing import assert_reward_contract, assert_verifier_contract
from grpo_rewards.verifiers.format import FormatJSON, FormatRegex, FormatTags, FormatThink

GOOD = "<think>\n2 + 2 = 4\n</think>\n<answer>\n4\n</answer>"


def s(text: str, prompt: object = None) -> Sample:
    return Sample(completion=text, prompt=prompt)


# -- format.think, strict --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value", "why"),
    [
        (GOOD, 1.0, "format ok"),
        ("  <think>a</think><answer>b</answer>\n", 1.0, "format ok"),  # surrounding whitespace is fine
        ("<think>a</think>\n\n<answer>b</answer>", 1.0, "format ok"),
        ("<think>a</think><answer>b</answer> extra", 0.0, "text after </answer>"),
        ("Sure! <think>a</think><answer>b</answer>", 0.0, "text before <think>"),
        ("<think>a</think> so <answer>b</answer>", 0.0, "text before <answer>"),
        ("<think>  </think><answer>b</answer>", 0.0, "empty section <think>"),
        ("<think>a</think><answer> </answer>", 0.0, "empty section <answer>"),
        ("<think>a<think>b</think><answer>c</answer>", 0.0, "<think> appears 2 times"),
        ("<think>a</think><answer>b</answer><answer>c</answer>", 0.0, "<answer> appears 2 times"),
        ("<answer>b</answer><think>a</think>", 0.0, "text before <think>"),
        ("<think>a</think>b", 0.0, "<answer> appears 0 times"),
        ("<THINK>a</THINK><ANSWER>b</ANSWER>", 0.0, "<think> appears 0 times"),  # tags are case-sensitive
    ],
)
def test_think_strict(text: str, value: float, why: str) -> None:
    sc = FormatThink().score(s(text))
    assert sc.value == value
    assert why in sc.detail


def test_think_empty_completion_is_no_answer() -> None:
    sc = FormatThink().score(s(""))
    assert (sc.value, sc.outcome) == (0.0, Outcome.NO_ANSWER)
    assert FormatThink(mode="soft").score(s("   ")).outcome is Outcome.NO_ANSWER


def test_think_free_text_answer() -> None:
    v = FormatThink(answer_tag="")
    assert v.score(s("<think>r</think>\nThe answer is 4.")).value == 1.0
    assert "no final answer" in v.score(s("<think>r</think>  ")).detail
    assert v.score(s("<think>r</think><think>r</think>4")).value == 0.0
    # soft: think open, think close, final answer: one third each
    soft = FormatThink(answer_tag="", mode="soft")
    assert soft.score(s("<think>r</think>4")).value == 1.0
    assert soft.score(s("<think>r</think>")).value == pytest.approx(2 / 3)
    assert soft.score(s("r</think>4")).value == pytest.approx(2 / 3)


def test_prefilled_think_from_prompt() -> None:
    v = FormatThink()
    prompt = "Solve 2+2.<|im_start|>assistant\n<think>\n"
    assert v.score(s("2+2=4</think><answer>4</answer>", prompt)).value == 1.0
    # the same completion without the prompt evidence lacks its opening tag
    assert v.score(s("2+2=4</think><answer>4</answer>")).value == 0.0
    # chat prompt whose last message ends with the opening tag
    msgs = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "<think>"}]
    assert v.score(s("r</think><answer>4</answer>", msgs)).value == 1.0
    # prefilled=True: repeating the tag the prompt already opened is an error
    forced = FormatThink(prefilled=True)
    sc = forced.score(s("<think>r</think><answer>4</answer>"))
    assert sc.value == 0.0 and "already in the prompt" in sc.detail
    assert forced.score(s("r</think><answer>4</answer>")).value == 1.0
    assert FormatThink(prefilled=True, mode="soft").score(s("<think>r</think><answer>4</answer>")).value == 0.75
    # prefilled=False never looks at the prompt
    assert FormatThink(prefilled=False).score(s("r</think><answer>4</answer>", prompt)).value == 0.0


# -- soft mode: a quarter per marker, never farmable ------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        (GOOD, 1.0),
        ("<think>a</think><answer>b</answer> trailing text is fine in soft mode", 1.0),
        ("<think>a</think>b", 0.5),  # think open + close
        ("<think>a</think><answer>b", 0.75),  # missing </answer>
        ("<think>a</think><think>a</think><answer>b</answer>", 0.5),  # repeated think tags earn nothing
        ("<think>a</think><answer>b</answer><answer>c</answer>", 0.5),
        ("<think></think><answer>b</answer>", 0.5),  # an empty section earns neither of its tags
        ("<think>a</think><answer> </answer>", 0.5),
        ("</answer><answer></think><think>", 0.25),  # every tag once, but out of order
        ("no tags at all", 0.0),
    ],
)
def test_soft_partial_credit(text: str, value: float) -> None:
    assert FormatThink(mode="soft").score(s(text)).value == pytest.approx(value)


def test_soft_tag_stuffing_scores_less_than_the_honest_format() -> None:
    v = FormatTags(mode="soft")
    honest = v.score(s(GOOD)).value
    for n in (2, 3, 10):
        stuffed = "<think>" * n + "a" + "</think>" * n + "<answer>" * n + "b" + "</answer>" * n
        sc = v.score(s(stuffed))
        assert sc.value == 0.0 and sc.outcome is Outcome.WRONG
        assert sc.value < honest


def test_tags_unsloth_markers_and_three_sections() -> None:
    v = FormatTags(tags=[["<start_working_out>", "<end_working_out>"], ["<SOLUTION>", "</SOLUTION>"]])
    assert v.score(s("<start_working_out>x<end_working_out><SOLUTION>4</SOLUTION>")).value == 1.0
    assert v.score(s("<start_working_out>x<end_working_out>4")).value == 0.0
    three = FormatTags(tags=["plan", "<think>", "answer"], mode="soft")
    assert three.score(s("<plan>p</plan><think>t</think><answer>a</answer>")).value == 1.0
    assert three.score(s("<plan>p</plan><answer>a</answer>")).value == pytest.approx(4 / 6)
    allow = FormatTags(trailing="allow")
    assert allow.score(s("<think>a</think><answer>b</answer> bye")).value == 1.0


@pytest.mark.parametrize(
    "opts",
    [
        {"tags": []},
        {"tags": ["think", "think"]},
        {"tags": ["a b"]},
        {"tags": [["<x>", "<x>"]]},
        {"tags": [["<a>", "</a>"], ["<a>x", "</b>"]]},  # one marker inside another
        {"mode": "lenient"},
        {"trailing": "maybe"},
        {"prefilled": "sometimes"},
    ],
)
def test_tags_bad_options_are_config_errors(opts: dict) -> None:
    with pytest.raises(ConfigError, match="format.tags"):
        load_rewards([{"name": "format.tags", "options": opts}])


# -- format.regex ---------------------------------------------------------------------------


def test_regex_modes() -> None:
    full = FormatRegex(pattern=r"<answer>\d+</answer>")
    assert full.score(s("  <answer>42</answer>\n")).value == 1.0
    assert full.score(s("x <answer>42</answer>")).value == 0.0
    assert FormatRegex(pattern=r"<answer>\d+</answer>", match="search").score(s("x <answer>42</answer> y")).value == 1.0
    assert FormatRegex(pattern=r"<answer>", match="match").score(s("<answer>42")).value == 1.0
    assert FormatRegex(pattern=r"<answer>", match="match").score(s("x<answer>42")).value == 0.0
    # flags: DOTALL by default, i for case
    assert FormatRegex(pattern=r"a.b").score(s("a\nb")).value == 1.0
    assert FormatRegex(pattern=r"a.b", flags="").score(s("a\nb")).value == 0.0
    assert FormatRegex(pattern=r"ab", flags="i").score(s("AB")).value == 1.0
    assert FormatRegex(pattern=r"ab", strip=False).score(s(" ab")).value == 0.0


def test_regex_catastrophic_backtracking_times_out() -> None:
    v = FormatRegex(pattern=r"(a|a)+$", timeout_s=0.2)  # exponential even for the regex library
    sc = v.score(s("a" * 40 + "!"))
    assert sc.outcome is Outcome.TIMEOUT and sc.value == 0.0
    assert pickle.loads(pickle.dumps(v)).score(s("aaa")).value == 1.0


@pytest.mark.parametrize(
    ("opts", "msg"),
    [
        ({}, "needs a 'pattern'"),
        ({"pattern": "(unclosed"}, "invalid pattern"),
        ({"pattern": "a", "match": "fuzzy"}, "match must be"),
        ({"pattern": "a", "flags": "q"}, "unknown regex flag"),
    ],
)
def test_regex_bad_options(opts: dict, msg: str) -> None:
    with pytest.raises(ConfigError, match=msg):
        load_rewards([{"name": "format.regex", "options": opts}])


# -- format.json ----------------------------------------------------------------------------

SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
    "required": ["name", "age"],
}


@pytest.mark.parametrize(
    ("text", "outcome", "why"),
    [
        ('{"name": "Ada", "age": 36}', Outcome.CORRECT, "completion"),
        ('<think>{"no": 1}</think><answer>{"name": "Ada", "age": 36}</answer>', Outcome.CORRECT, "<answer>"),
        ('Here:\n```json\n{"name": "Ada", "age": 36}\n```\nDone.', Outcome.CORRECT, "fenced block"),
        ('<answer>\n```json\n{"name": "Ada", "age": 36}\n```\n</answer>', Outcome.CORRECT, "<answer>"),
        ('{"name": "Ada", "age": -1}', Outcome.WRONG, "schema violation at /age"),
        ('{"name": "Ada"}', Outcome.WRONG, "'age' is a required property"),
        ('{"name": "Ada", "age": 36', Outcome.UNPARSEABLE, "invalid JSON"),
        ('{"name": "Ada", "age": NaN}', Outcome.UNPARSEABLE, "NaN is not valid JSON"),
        ("", Outcome.NO_ANSWER, "no JSON found"),
        ("<answer></answer>", Outcome.NO_ANSWER, "no JSON found"),
        ('<answer>{"name": "A", "age": 1}</answer><answer>{"name": "B", "age": 2}</answer>', Outcome.WRONG, "hedging"),
    ],
)
def test_json_with_schema(text: str, outcome: Outcome, why: str) -> None:
    sc = FormatJSON(schema=SCHEMA).score(s(text))
    assert sc.outcome is outcome
    assert sc.value == (1.0 if outcome is Outcome.CORRECT else 0.0)
    assert why in sc.detail


def test_json_without_schema_and_extract_modes(tmp_path) -> None:
    assert FormatJSON().score(s("[1, 2, 3]")).value == 1.0
    assert FormatJSON().score(s("not json")).outcome is Outcome.UNPARSEABLE
    assert FormatJSON(extract="tag").score(s("[1]")).outcome is Outcome.NO_ANSWER
    assert FormatJSON(extract="fenced").score(s("[1]")).outcome is Outcome.NO_ANSWER
    assert FormatJSON(extract="full").score(s("```\n[1]\n```")).outcome is Outcome.UNPARSEABLE
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(SCHEMA))
    assert FormatJSON(schema=str(path)).score(s('{"name": "x", "age": 1}')).value == 1.0
    assert FormatJSON(schema=json.dumps(SCHEMA)).score(s('{"name": "x"}')).value == 0.0
    v = pickle.loads(pickle.dumps(FormatJSON(schema=SCHEMA)))
    assert v.score(s('{"name": "x", "age": "old"}')).outcome is Outcome.WRONG


@pytest.mark.parametrize(
    ("schema", "msg"),
    [
        ({"type": "no-such-type"}, "invalid JSON Schema"),
        ("missing/schema.json", "does not exist"),
        ("{not json", "not valid JSON"),
        ("[1]", "does not exist"),
    ],
)
def test_json_bad_schema_is_config_error(schema: object, msg: str) -> None:
    with pytest.raises(ConfigError, match=msg):
        load_rewards([{"name": "format.json", "options": {"schema": schema}}])


# -- the contract, through load_rewards and the way TRL calls -----------------------------------


@pytest.mark.parametrize(
    "spec",
    [
        "format.think",
        {"name": "format.tags", "options": {"mode": "soft"}},
        {"name": "format.regex", "options": {"pattern": "<answer>.*</answer>", "match": "search"}},
        {"name": "format.json"},
    ],
)
def test_reward_contract(spec: object) -> None:
    rows = [{"prompt": "q"}] * 3
    values = assert_reward_contract(spec, rows, [GOOD, [{"role": "assistant", "content": GOOD}], "nothing"])
    assert values[0] == values[1]
    assert values[2] == 0.0


@pytest.mark.parametrize("cls", [FormatThink, FormatTags, FormatJSON])
def test_verifier_contract(cls: type) -> None:
    assert_verifier_contract(cls, [s(GOOD), s("")])


# -- one rule for empty sections, strict and soft, across format.think and format.tags ----------
# TRL 1.16's think_format_reward (trl/rewards/format_rewards.py) pays 1.0 for an empty
# <think></think>; ours does not by default (empty reasoning is a format hack), and allow_empty
# gives TRL's behaviour in both verifiers and both modes.

EMPTY_THINK = "<think></think><answer>b</answer>"


@pytest.mark.parametrize("cls", [FormatThink, FormatTags])
def test_both_verifiers_share_defaults(cls: type) -> None:
    v = cls()
    assert (v.mode, v.prefilled, v.trailing, v.allow_empty) == ("strict", "auto", "forbid", False)


@pytest.mark.parametrize("cls", [FormatThink, FormatTags])
@pytest.mark.parametrize(("mode", "rejected", "allowed"), [("strict", 0.0, 1.0), ("soft", 0.5, 1.0)])
def test_empty_sections_follow_one_rule(cls: type, mode: str, rejected: float, allowed: float) -> None:
    assert cls(mode=mode).score(s(EMPTY_THINK)).value == rejected
    assert cls(mode=mode, allow_empty=True).score(s(EMPTY_THINK)).value == allowed
    assert cls(mode=mode, allow_empty=True).score(s("<think>  </think><answer>b</answer>")).value == allowed


@pytest.mark.parametrize(
    ("text", "trl"),
    [  # values of TRL 1.16's think_format_reward (its docstring's two cases, then its regex)
        ("<think>\nThis is my reasoning.\n</think>\nThis is my answer.", 1.0),
        ("<think>\nThis is my reasoning.\nThis is my answer.", 0.0),
        ("<think></think>\nThis is my answer.", 1.0),
        ("<think>\nThis is my reasoning.\n</think>", 1.0),
        ("<think>a</think><think>b</think>answer", 0.0),
        ("Preamble <think>a</think>answer", 0.0),
    ],
)
def test_think_matches_trl_with_allow_empty_and_trailing_allow(text: str, trl: float) -> None:
    v = FormatThink(answer_tag="", allow_empty=True, trailing="allow")
    assert v.score(s(text)).value == trl
