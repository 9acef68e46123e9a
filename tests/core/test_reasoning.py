"""The reasoning-delimiter setting (grpo_rewards.reasoning): presets, explicit delimiters, how a
completion splits into reasoning and answer, prefilled opening tags, configuration errors, the
[defaults] table of a composition, and agreement with TRL 1.16's reasoning_accuracy_reward."""

from __future__ import annotations

import pickle
import time

import pytest

from grpo_rewards import extract_answer, load_rewards, strip_think, tag_blocks
from grpo_rewards.contract import Outcome, Sample
from grpo_rewards.errors import ConfigError
from grpo_rewards.reasoning import PRESETS, parse_reasoning, prefilled_for, split
from grpo_rewards.verifiers.exact import ExactMatch

HARMONY = (
    "<|channel|>analysis<|message|>6*7, maybe 41? no: 42<|end|>"
    "<|start|>assistant<|channel|>final<|message|>42<|return|>"
)
THOUGHT = (
    "<|begin_of_thought|>\n\n6*7, maybe 41? no: 42\n\n<|end_of_thought|>\n\n"
    "<|begin_of_solution|>\n\n42\n\n<|end_of_solution|>"
)


@pytest.mark.parametrize(
    ("text", "preset", "answer", "reasoning", "complete"),
    [
        ("<think>41?</think> 42", "think", " 42", ("41?",), True),
        ("41?</think> 42", "think", " 42", ("41?",), True),  # prefilled <think>: only the closing tag
        ("<think>41? no", "think", "", ("41? no",), False),  # unclosed: no answer
        ("42", "think", "42", (), None),  # no tags: a model that did not think
        ("<THINK>41?</Think>42", "think", "42", ("41?",), True),  # case-insensitive, as before
        ("<reasoning>41?</reasoning><answer>42</answer>", "reasoning", "<answer>42</answer>", ("41?",), True),
        (THOUGHT, "thought", "\n\n42\n\n", ("\n\n6*7, maybe 41? no: 42\n\n",), True),
        (HARMONY, "harmony", "42", ("6*7, maybe 41? no: 42",), True),
        (HARMONY.removesuffix("<|return|>"), "harmony", "42", ("6*7, maybe 41? no: 42",), True),
        ("<|channel|>final<|message|>42<|end|>", "harmony", "42", (), None),  # no analysis message
        (HARMONY, "auto", "42", ("6*7, maybe 41? no: 42",), True),
        (THOUGHT, "auto", "\n\n42\n\n", ("\n\n6*7, maybe 41? no: 42\n\n",), True),
        ("<think>41?</think>42", "none", "<think>41?</think>42", (), None),
        ("<think>41?</think>42", "harmony", "<think>41?</think>42", (), None),  # other presets leave it
    ],
)
def test_split_per_preset(
    text: str, preset: str, answer: str, reasoning: tuple[str, ...], complete: bool | None
) -> None:
    sp = split(text, preset)
    assert (sp.answer, sp.reasoning, sp.complete) == (answer, reasoning, complete)


def test_text_between_sections_is_kept_and_stray_closers_end_the_prefilled_part() -> None:
    assert split("x <think>y</think> z <think>w</think> v").answer == "x  z  v"
    assert split("a</think>b</think>c").answer == "c"  # TRL: after the last delimiter


def test_a_stray_closer_in_a_completion_that_opens_the_section_itself_is_text() -> None:
    """A model that writes its own <think> was not prefilled. The embedded demo's tiny model
    writes such completions; reading the stray </think> as the end of a prefilled section made
    math say no_answer for a right answer and cut the demo's held-out accuracy (66.3 % -> 41.3 %)."""
    demo = "7 - 2 = 6\n</think>\n</think>\n<think>\n</answer>"
    assert split(demo).answer == "7 - 2 = 6\n</think>\n</think>\n"
    assert split(demo, prefilled=True).answer.strip() == ""  # a prompt known to open <think>: no answer
    rs = load_rewards(["math"])
    try:
        out = rs.score([demo], columns={"answer": ["6"]})
    finally:
        rs.close()
    assert out.scores["math"][0].outcome.value == "correct"


def test_prefilled_prompt_makes_a_completion_without_closing_tag_all_reasoning() -> None:
    assert split("still thinking 41", "think", prefilled=True).answer == ""
    assert split("still thinking 41", "think").answer == "still thinking 41"
    # the model opened the section again inside the prefilled one: it ends at the first close
    assert split("hmm <think>41</think> 42", "think", prefilled=True).answer == " 42"
    think = parse_reasoning("think")
    assert prefilled_for(think, "<｜User｜>6*7?<｜Assistant｜><think>\n") is True
    assert prefilled_for(think, [{"role": "user", "content": "6*7?"}]) is None
    assert prefilled_for(parse_reasoning({"preset": "think", "prefilled": True}), None) is True


def test_explicit_delimiters() -> None:
    assert (
        split("<start_working_out>41<end_working_out>42", ["<start_working_out>", "<end_working_out>"]).answer == "42"
    )
    assert split("<thinking>41</thinking>42", "<thinking>").answer == "42"
    # TRL's close-only delimiter
    assert split("41 [END] 42", {"close": "[END]"}).answer == " 42"
    assert split("41 [END] 42 [END] 43", {"close": ["[END]"]}).answer == " 43"
    table = {"open": "<t>", "close": "</t>", "answer": ["<a>", "</a>"]}
    assert split("<t>41</t> noise <a>42</a>", table).answer == "42"
    both = parse_reasoning(["think", "reasoning"])
    assert split("<reasoning>41</reasoning><think>40</think>42", both).answer == "42"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("thinking", "unknown reasoning preset 'thinking'; did you mean 'think'?"),
        ("harmonie", "did you mean 'harmony'?"),
        ("Thought", "did you mean 'thought'?"),
        (["<a>", "<a>"], "must differ"),
        ({"open": "<a>"}, "needs 'close'"),
        ({"preset": "think", "close": "</x>"}, "either 'preset'"),
        ({"presett": "think"}, "did you mean 'preset'?"),
        ({"preset": "think", "prefilled": "maybe"}, "true, false or 'auto'"),
        ([], "empty list"),
        (3, "reasoning is a preset name"),
    ],
)
def test_bad_settings_are_config_errors(spec: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("?", r"\?").replace("(", r"\(")):
        parse_reasoning(spec)


def test_every_preset_is_documented_and_listed() -> None:
    assert list(PRESETS) == ["think", "reasoning", "thought", "harmony", "auto", "none"]
    from pathlib import Path

    page = (Path(__file__).parents[2] / "docs" / "verifiers" / "reasoning.md").read_text(encoding="utf-8")
    assert all(f"`{name}`" in page for name in PRESETS)


def test_answers_helpers_take_the_setting() -> None:
    assert strip_think(HARMONY, "harmony") == "42"
    assert strip_think("41</think>42") == "42"
    assert tag_blocks("<reasoning><answer>41</answer></reasoning><answer>42</answer>", "answer", "reasoning") == ["42"]
    assert extract_answer(THOUGHT, reasoning="thought").text == "\n\n42\n\n"
    # with the default preset the Sky-T1 thought is read as answer text: the setting matters
    assert "41" in (extract_answer(THOUGHT).text or "")


def test_split_is_linear_on_a_flood_of_markers() -> None:
    for text in ("<think>" * 200_000, "</think>" * 200_000, "<|channel|>analysis<|message|>x<|end|>" * 50_000):
        start = time.perf_counter()
        split(text, "auto")
        assert time.perf_counter() - start < 2.0


def test_delimiters_pickle_for_worker_processes() -> None:
    d = parse_reasoning("auto")
    split("<think>x</think>y", d)  # fills the compiled-pattern cache
    again = pickle.loads(pickle.dumps(d))
    assert again == d and split(HARMONY, again).answer == "42"


# -- the composition's [defaults] ------------------------------------------------------------


def test_defaults_reasoning_reaches_every_verifier_that_has_the_option() -> None:
    def fn(completions: list[str], **kw: object) -> list[float]:
        return [0.0] * len(completions)

    rs = load_rewards(
        {
            "defaults": {"reasoning": "harmony"},
            "rewards": [
                "exact",
                {"name": "choice", "options": {"reasoning": "think"}},  # its own setting wins
                {"name": fn, "alias": "plain"},  # a plain function gets nothing it did not ask for
            ],
        }
    )
    try:
        opts = {c.name: dict(c.options) for c in rs.spec.components}
        assert opts == {"exact": {"reasoning": "harmony"}, "choice": {"reasoning": "think"}, "plain": {}}
        scores = rs.score([HARMONY], columns={"answer": ["42"]}).scores
        assert scores["exact"][0].outcome == Outcome.CORRECT
    finally:
        rs.close()


def test_defaults_reasoning_typo_names_the_file(tmp_path: pytest.TempPathFactory) -> None:
    cfg = tmp_path / "rewards.toml"  # type: ignore[operator]
    cfg.write_text('[defaults]\nreasoning = "thougt"\n\n[[rewards]]\nname = "exact"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"rewards.toml: defaults.reasoning: unknown reasoning preset 'thougt'"):
        load_rewards(str(cfg))
    cfg.write_text('[defaults]\nreasonning = "think"\n\n[[rewards]]\nname = "exact"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="did you mean 'reasoning'"):
        load_rewards(str(cfg))


def test_verifier_option_typo_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="did you mean 'thought'"):
        ExactMatch(reasoning="thougt")
    assert ExactMatch(reasoning="thought").score(Sample(THOUGHT, row={"answer": "42"})).outcome == Outcome.CORRECT
    assert ExactMatch().score(Sample(THOUGHT, row={"answer": "42"})).outcome == Outcome.WRONG


# -- TRL 1.16 reasoning_accuracy_reward --------------------------------------------------------

# Completions and TRL's value with reasoning_delimiters=[close]; ours is math with the matching
# preset. Cases taken from the function's docstring example (trl/rewards/accuracy_rewards.py,
# trl==1.16.0) and extended to every preset.
TRL_CASES = [
    (r"<think> Reasoning content </think> The final answer is \boxed{\frac{1}{3}}", "think", "</think>", 1.0),
    (r"<think> Reasoning content </think> The final answer is \boxed{\frac{1}{2}}", "think", "</think>", 0.0),
    (r"<think> Reasoning with partial answers \boxed{\frac{1}{3}} but no final answer", "think", "</think>", 0.0),
    (r"Prefilled reasoning \boxed{\frac{1}{2}} </think> so \boxed{\frac{1}{3}}", "think", "</think>", 1.0),
    (r"<reasoning>try \boxed{1}</reasoning><answer>\boxed{\frac{1}{3}}</answer>", "reasoning", "</reasoning>", 1.0),
    (
        r"<|begin_of_thought|>\boxed{1}<|end_of_thought|><|begin_of_solution|>\boxed{\frac{1}{3}}<|end_of_solution|>",
        "thought",
        "<|end_of_thought|>",
        1.0,
    ),
    (r"<|begin_of_thought|>still going \boxed{\frac{1}{3}}", "thought", "<|end_of_thought|>", 0.0),
    (
        r"<|channel|>analysis<|message|>\boxed{1}<|end|><|start|>assistant<|channel|>final<|message|>\boxed{\frac{1}{3}}",
        "harmony",
        "<|end|>",
        1.0,
    ),
]


@pytest.mark.parametrize(("completion", "preset", "close", "trl_value"), TRL_CASES)
def test_math_agrees_with_trl_reasoning_accuracy_reward(
    completion: str, preset: str, close: str, trl_value: float
) -> None:
    pytest.importorskip("math_verify")
    from trl.rewards import reasoning_accuracy_reward

    trl = reasoning_accuracy_reward([[{"content": completion}]], [r"\frac{1}{3}"], reasoning_delimiters=[close])
    assert trl == [trl_value]
    rs = load_rewards({"defaults": {"reasoning": preset}, "rewards": [{"name": "math", "options": {"workers": 1}}]})
    try:
        ours = rs.score([completion], columns={"answer": [r"\frac{1}{3}"]}).scores["math"][0]
    finally:
        rs.close()
    assert ours.value == trl_value, ours.detail


def test_documented_difference_from_trl_no_delimiter_at_all() -> None:
    """TRL scores a completion without its delimiter 0.0 ("incomplete reasoning"); here it is read
    as all answer unless the setting says the template opens the reasoning (prefilled = true)."""
    pytest.importorskip("math_verify")
    from trl.rewards import reasoning_accuracy_reward

    text = r"The answer is \boxed{\frac{1}{3}}"
    assert reasoning_accuracy_reward([[{"content": text}]], [r"\frac{1}{3}"]) == [0.0]
    for setting, value in (("think", 1.0), ({"preset": "think", "prefilled": True}, 0.0)):
        rs = load_rewards(
            {"defaults": {"reasoning": setting}, "rewards": [{"name": "math", "options": {"workers": 1}}]}
        )
        try:
            assert rs.score([text], columns={"answer": [r"\frac{1}{3}"]}).scores["math"][0].value == value
        finally:
            rs.close()


def test_format_think_with_auto_accepts_any_one_family_structure() -> None:
    from grpo_rewards.verifiers.format import FormatTags, FormatThink

    auto = FormatThink(reasoning="auto", answer_tag="auto")
    for text in (
        "<think>r</think><answer>42</answer>",
        "<reasoning>r</reasoning><answer>42</answer>",
        THOUGHT,
        HARMONY.removesuffix("<|return|>"),
    ):
        assert auto.score(Sample(text)).outcome == Outcome.CORRECT, text
    # mixing two families' markers is no family's structure
    assert auto.score(Sample("<think>r</reasoning><answer>42</answer>")).outcome == Outcome.WRONG
    soft = FormatTags(reasoning=["think", "reasoning"], mode="soft")
    assert soft.score(Sample("<reasoning>r</reasoning><answer>42</answer>")).value == 1.0
    assert soft.score(Sample("<reasoning>r</reasoning>")).value == 0.5


def test_a_guess_hidden_before_a_stray_closer_is_still_a_hedge() -> None:
    """Hostile: two different answers, the first before a stray </think> in a completion that opens
    <think> itself. Read as text (not as a prefilled section), both boxes are answers, so math
    calls it a hedge and pays nothing; reading the first as reasoning would have paid the guess."""
    hedge = "\\boxed{5}\n</think>\n<think>checking</think>\n\\boxed{6}"
    rs = load_rewards(["math"])
    try:
        out = rs.score([hedge, "<think>checking</think>\n\\boxed{6}"], columns={"answer": ["6", "6"]})
    finally:
        rs.close()
    assert [s.outcome for s in out.scores["math"]] == [Outcome.WRONG, Outcome.CORRECT]
    assert out.values["math"] == [0.0, 1.0]
