"""The reasoning presets on each model family's real chat-template output.

Prompts are rendered with the public chat templates in ``chat_templates/`` through
transformers' ``render_jinja_template`` (what ``tokenizer.apply_chat_template`` calls), and each
completion is the text the template itself renders for the assistant's turn after that prompt,
so the strings are the models' own format, not hand-written guesses. The templates are byte
copies of the ones the trl==1.16.0 wheel ships in ``trl/chat_templates/`` (its README there says
which Hub model each comes from):

- ``deepseek_r1_distill.jinja``: DeepSeek-R1-Distill-* (Qwen and Llama); ``add_generation_prompt``
  ends with ``<｜Assistant｜><think>\\n``, so the completion has only ``</think>`` (prefilled tag);
- ``qwen3.jinja``: Qwen3 (the model writes ``<think>`` itself; ``enable_thinking=False`` puts an
  empty ``<think>\\n\\n</think>\\n\\n`` into the prompt instead);
- ``gptoss.jinja``: gpt-oss (harmony ``analysis`` and ``final`` channels);
- ``qwen2_5.jinja``: Qwen2.5, the base of Sky-T1-32B-Preview, with Sky-T1's system prompt from
  NovaSky-AI/SkyThought ``skythought/tools/util/prompts.py`` (commit 7d3353150f42b709) and the
  ``<|begin_of_thought|>``/``<|begin_of_solution|>`` format of its ``convert_prompt_example``;
- ``llama3_1.jinja``: Llama 3.1 Instruct, with the system prompt and ``XML_COT_FORMAT`` of
  Unsloth's ``nb/Llama3.1_(8B)-GRPO.ipynb`` (unslothai/notebooks, commit bdda2efc7ad5ae12).

Every case puts a wrong answer in the reasoning and the right one in the answer, so reading the
completion with the wrong preset (or none) changes the verdict: each test can fail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from grpo_rewards import load_rewards
from grpo_rewards.contract import Outcome, Sample
from grpo_rewards.reasoning import split
from grpo_rewards.verifiers.choice import MultipleChoice
from grpo_rewards.verifiers.exact import ExactMatch
from grpo_rewards.verifiers.format import FormatJSON, FormatThink
from grpo_rewards.verifiers.language import LanguageConsistency
from grpo_rewards.verifiers.length import OverlongPenalty

render_jinja_template = pytest.importorskip("transformers.utils.chat_template_utils").render_jinja_template

TEMPLATES = Path(__file__).parent / "chat_templates"

# NovaSky-AI/SkyThought skythought/tools/util/prompts.py (commit 7d3353150f42b70948782c37d8c2dd9e47137227)
SKY_T1_SYSTEM = (
    "Your role as an assistant involves thoroughly exploring questions through a systematic long "
    "thinking process before providing the final precise and accurate solutions. This requires "
    "engaging in a comprehensive cycle of analysis, summarizing, exploration, reassessment, reflection, "
    "backtracing, and iteration to develop well-considered thinking process. "
    "Please structure your response into two main sections: Thought and Solution. "
    "In the Thought section, detail your reasoning process using the specified format: "
    "<|begin_of_thought|> {thought with steps separated with '\n\n'} "
    "<|end_of_thought|> "
    "Each step should include detailed considerations such as analisying questions, summarizing "
    "relevant findings, brainstorming new ideas, verifying the accuracy of the current steps, refining "
    "any errors, and revisiting previous steps. "
    "In the Solution section, based on various attempts, explorations, and reflections from the Thought "
    "section, systematically present the final solution that you deem correct. The solution should "
    "remain a logical, accurate, concise expression style and detail necessary step needed to reach the "
    "conclusion, formatted as follows: "
    "<|begin_of_solution|> "
    "{final formatted, precise, and clear solution} "
    "<|end_of_solution|> "
    "Now, try to solve the following question through the above guidelines:"
)
# unslothai/notebooks nb/Llama3.1_(8B)-GRPO.ipynb (commit bdda2efc7ad5ae129ea63cd2065d23c391406283)
UNSLOTH_SYSTEM = "\nRespond in the following format:\n<reasoning>\n...\n</reasoning>\n<answer>\n...\n</answer>\n"
UNSLOTH_XML_COT_FORMAT = "<reasoning>\n{reasoning}\n</reasoning>\n<answer>\n{answer}\n</answer>\n"


def render(template: str, messages: list[dict[str, Any]], add_generation_prompt: bool, **kwargs: Any) -> str:
    rendered, _ = render_jinja_template(
        [messages],
        chat_template=(TEMPLATES / f"{template}.jinja").read_text(encoding="utf-8"),
        add_generation_prompt=add_generation_prompt,
        bos_token="<｜begin▁of▁sentence｜>" if template == "deepseek_r1_distill" else "<|begin_of_text|>",
        eos_token="",
        **kwargs,
    )
    return str(rendered[0])


@dataclass
class Family:
    """One model family: how its prompt and its completion for (reasoning, answer) are made."""

    name: str
    preset: Any
    template: str
    system: str | None = None
    template_kwargs: dict[str, Any] = field(default_factory=dict)

    def messages(self, question: str) -> list[dict[str, Any]]:
        msgs = [{"role": "system", "content": self.system}] if self.system else []
        return [*msgs, {"role": "user", "content": question}]

    def prompt(self, question: str) -> str:
        return render(self.template, self.messages(question), True, **self.template_kwargs)

    def completion(self, question: str, reasoning: str, answer: str) -> str:
        """What the model writes after the prompt: the template's own rendering of the assistant
        turn, less the end-of-turn token that generation stops at (a special token, not in the
        decoded text)."""
        prompt = self.prompt(question)
        if self.name == "deepseek-r1":
            # The template drops reasoning from assistant turns it renders, so the model's text is
            # built as the generation prompt leaves it: inside <think>, closed by the model.
            return f"{reasoning}\n</think>\n\n{answer}"
        if self.name == "sky-t1":
            message = {
                "role": "assistant",
                "content": f"<|begin_of_thought|>\n\n{reasoning}\n\n<|end_of_thought|>\n\n"
                f"<|begin_of_solution|>\n\n{answer}\n\n<|end_of_solution|>",
            }
        elif self.name == "unsloth":
            message = {
                "role": "assistant",
                "content": UNSLOTH_XML_COT_FORMAT.format(reasoning=reasoning, answer=answer),
            }
        else:  # qwen3 reads reasoning_content, gpt-oss reads thinking
            message = {"role": "assistant", "content": answer, "reasoning_content": reasoning, "thinking": reasoning}
        full = render(self.template, [*self.messages(question), message], False, **self.template_kwargs)
        assert full.startswith(prompt), (prompt, full)
        text = full[len(prompt) :]
        for end in ("<|im_end|>\n", "<|eot_id|>"):
            text = text.removesuffix(end)
        return text


FAMILIES = [
    Family("deepseek-r1", "think", "deepseek_r1_distill"),
    Family("qwen3", "think", "qwen3"),
    Family("gpt-oss", "harmony", "gptoss"),
    Family("sky-t1", "thought", "qwen2_5", system=SKY_T1_SYSTEM),
    Family("unsloth", "reasoning", "llama3_1", system=UNSLOTH_SYSTEM),
]
IDS = [f.name for f in FAMILIES]


def test_rendered_strings_are_the_families_formats() -> None:
    """The rendered strings carry each family's markers where the presets expect them."""
    fams = {f.name: f for f in FAMILIES}
    assert fams["deepseek-r1"].prompt("q").endswith("<｜Assistant｜><think>\n")
    assert fams["qwen3"].prompt("q").endswith("<|im_start|>assistant\n")
    assert fams["gpt-oss"].prompt("q").endswith("<|start|>assistant")
    assert fams["qwen3"].completion("q", "r", "a") == "<think>\nr\n</think>\n\na"
    assert fams["gpt-oss"].completion("q", "r", "a") == (
        "<|channel|>analysis<|message|>r<|end|><|start|>assistant<|channel|>final<|message|>a<|return|>"
    )
    assert fams["sky-t1"].completion("q", "r", "a").startswith("<|begin_of_thought|>")
    assert "<|begin_of_thought|>" in fams["sky-t1"].prompt("q")
    # Llama 3.1's template trims message contents: the trailing newline of XML_COT_FORMAT goes
    assert fams["unsloth"].completion("q", "r", "a") == "<reasoning>\nr\n</reasoning>\n<answer>\na\n</answer>"
    assert "<reasoning>" in fams["unsloth"].prompt("q")


@pytest.mark.parametrize("family", FAMILIES, ids=IDS)
def test_split_reads_reasoning_and_answer(family: Family) -> None:
    text = family.completion("What is 6*7?", "6*7 is 41? No, 42.", "42")
    sp = split(text, family.preset, prefilled=True if family.name == "deepseek-r1" else None)
    assert "41" in "".join(sp.reasoning) and "41" not in sp.answer
    assert sp.complete is True
    expected = "<answer>\n42\n</answer>\n" if family.name == "unsloth" else "42"
    assert sp.answer.strip() == expected.strip()


@pytest.mark.parametrize("family", [f for f in FAMILIES if f.name in ("deepseek-r1", "qwen3")], ids=["r1", "qwen3"])
def test_answer_is_what_the_template_keeps_of_the_turn(family: Family) -> None:
    """Both templates re-render an earlier assistant turn without its reasoning (the text after
    ``</think>``): the answer the ``think`` preset reads is exactly what the template keeps."""
    reasoning, answer = "6*7 is 41? No, 42.", "The answer is 42."
    completion = family.completion("What is 6*7?", reasoning, answer)
    opened = "<think>\n" if family.name == "deepseek-r1" else ""  # the prompt's prefilled tag
    history = [
        *family.messages("What is 6*7?"),
        {"role": "assistant", "content": opened + completion},
        {"role": "user", "content": "And 6*8?"},
    ]
    rendered = render(family.template, history, False)
    kept = rendered.split("What is 6*7?", 1)[1].split("And 6*8?", 1)[0]
    ours = split(completion, "think").answer
    assert ours.strip() == answer
    assert ours.strip() in kept and reasoning not in kept


def draft(family: Family, wrong: str) -> str:
    """A draft answer inside the reasoning. Unsloth's format answers in <answer>, which is read
    wherever it is: a draft <answer> block inside <reasoning> makes the preset matter there too."""
    return f"\n<answer>{wrong}</answer>" if family.name == "unsloth" else ""


def _score(spec: dict[str, Any], completion: str, prompt: Any, **columns: Any) -> Any:
    rs = load_rewards(spec)
    try:
        return rs.score([completion], prompts=[prompt], columns={k: [v] for k, v in columns.items()}).scores
    finally:
        rs.close()


@pytest.mark.parametrize("family", FAMILIES, ids=IDS)
@pytest.mark.parametrize("conversational", [False, True], ids=["text-prompt", "chat-prompt"])
def test_math_with_the_matching_preset(family: Family, conversational: bool) -> None:
    q = "What is 6*7?"
    completion = family.completion(
        q, r"First guess \boxed{41}. Check: 6*7 = 42." + draft(family, "41"), r"The answer is \boxed{42}."
    )
    prompt = family.messages(q) if conversational else family.prompt(q)
    spec = {"defaults": {"reasoning": family.preset}, "rewards": [{"name": "math", "options": {"workers": 1}}]}
    assert _score(spec, completion, prompt, answer="42")["math"][0].outcome == Outcome.CORRECT
    # Read without the reasoning delimiters, the guess in the reasoning is a second, different answer.
    none = {"defaults": {"reasoning": "none"}, "rewards": [{"name": "math", "options": {"workers": 1}}]}
    assert _score(none, completion, prompt, answer="42")["math"][0].outcome != Outcome.CORRECT


@pytest.mark.parametrize("family", FAMILIES, ids=IDS)
def test_truncated_reasoning_has_no_answer(family: Family) -> None:
    """A completion cut off inside its reasoning: no answer, whatever numbers the reasoning holds
    (TRL's reasoning_accuracy_reward gives 0.0 here too)."""
    q = "What is 6*7?"
    whole = family.completion(q, r"6*7 = \boxed{42} surely, but let me check", "done")
    cut = whole[: whole.index("let me check")]
    spec = {"defaults": {"reasoning": family.preset}, "rewards": [{"name": "math", "options": {"workers": 1}}]}
    score = _score(spec, cut, family.prompt(q), answer="42")["math"][0]
    assert score.outcome == Outcome.NO_ANSWER and score.value == 0.0


@pytest.mark.parametrize("family", FAMILIES, ids=IDS)
def test_exact_choice_json_language_and_length(family: Family) -> None:
    q = "Capital of France? A) Lyon B) Paris"
    text = family.completion(q, "Lyon? No: the capital is Paris, so A is wrong." + draft(family, "A"), "B")
    sample = Sample(text, row={"answer": "B"}, prompt=family.prompt(q))
    assert MultipleChoice(reasoning=family.preset).score(sample).outcome == Outcome.CORRECT
    assert MultipleChoice(reasoning="none").score(sample).outcome != Outcome.CORRECT
    assert ExactMatch(reasoning=family.preset).score(sample).outcome == Outcome.CORRECT
    assert ExactMatch(reasoning="none").score(sample).outcome != Outcome.CORRECT

    text = family.completion(q, 'Draft: {"capital": "Lyon"} no.' + draft(family, "{}"), '{"capital": "Paris"}')
    sample = Sample(text, prompt=family.prompt(q))
    assert FormatJSON(reasoning=family.preset).score(sample).outcome == Outcome.CORRECT
    assert FormatJSON(reasoning="none").score(sample).outcome != Outcome.CORRECT

    text = family.completion(q, "Réfléchissons en français : la capitale est Paris.", "The answer is Paris.")
    sample = Sample(text, prompt=family.prompt(q))
    only_answer = LanguageConsistency(language="en", method="detect", part="answer", reasoning=family.preset)
    assert pytest.approx(1.0) == only_answer.score(sample).value
    answer = split(text, family.preset, prefilled=family.name == "deepseek-r1" or None).answer
    measured = OverlongPenalty(unit="chars", part="answer", reasoning=family.preset).measure(sample)
    assert measured[0] == len(answer) < len(text)


@pytest.mark.parametrize("family", FAMILIES, ids=IDS)
def test_code_runs_the_answer_not_the_draft(family: Family) -> None:
    q = "Write add(a, b)."
    text = family.completion(
        q,
        "Draft:\n```python\ndef add(a, b):\n    return a - b\n```\nWrong sign.",
        "```python\ndef add(a, b):\n    return a + b\n```",
    )
    spec = {"defaults": {"reasoning": family.preset}, "rewards": ["code"]}
    tests = {"kind": "assert", "code": "assert add(2, 3) == 5\n"}
    assert _score(spec, text, family.prompt(q), tests=tests)["code"][0].outcome == Outcome.CORRECT
    spec_none = {"defaults": {"reasoning": "none"}, "rewards": [{"name": "code", "options": {"extract": "first"}}]}
    assert _score(spec_none, text, family.prompt(q), tests=tests)["code"][0].outcome != Outcome.CORRECT


@pytest.mark.parametrize("family", FAMILIES, ids=IDS)
def test_format_think_with_the_matching_preset(family: Family) -> None:
    q = "What is 6*7?"
    text = family.completion(q, "6 sevens are 42.", "42")
    # R1, Qwen3 and gpt-oss answer in free text after the reasoning; Sky-T1 in its solution
    # section; Unsloth's notebook in <answer>.
    answer_tag = "" if family.name in ("deepseek-r1", "qwen3") else "auto"
    fmt = FormatThink(reasoning=family.preset, answer_tag=answer_tag)
    assert fmt.score(Sample(text, prompt=family.prompt(q))).outcome == Outcome.CORRECT, text
    assert (
        FormatThink(answer_tag=answer_tag, reasoning="think" if family.preset != "think" else "reasoning")
        .score(Sample(text, prompt=family.prompt(q)))
        .outcome
        == Outcome.WRONG
    )
    if family.name == "deepseek-r1":
        # The chat prompt (messages) does not show the tag the template opens: say it in the setting.
        chat = Sample(text, prompt=family.messages(q))
        assert fmt.score(chat).outcome == Outcome.WRONG
        told = FormatThink(reasoning={"preset": "think", "prefilled": True}, answer_tag="")
        assert told.score(chat).outcome == Outcome.CORRECT


def test_qwen3_with_thinking_disabled_reads_the_whole_completion_as_answer() -> None:
    """``enable_thinking=False`` closes an empty think block inside the prompt; the completion is
    all answer. (TRL's reasoning_accuracy_reward, which needs a delimiter, scores it 0.0.)"""
    qwen3 = Family("qwen3", "think", "qwen3", template_kwargs={"enable_thinking": False})
    prompt = qwen3.prompt("What is 6*7?")
    assert prompt.endswith("<think>\n\n</think>\n\n")
    spec = {"defaults": {"reasoning": "think"}, "rewards": [{"name": "math", "options": {"workers": 1}}]}
    assert _score(spec, r"\boxed{42}", prompt, answer="42")["math"][0].outcome == Outcome.CORRECT


def test_gpt_oss_turn_decoded_without_special_tokens() -> None:
    """TRL and vLLM decode with skip_special_tokens=True by default; gpt-oss's turn then reads
    "analysis...assistantfinal...". The harmony preset reads that form too; with prefilled = true
    a decoded turn cut off inside its analysis has no answer."""
    gpt_oss = next(f for f in FAMILIES if f.name == "gpt-oss")
    q = "What is 6*7?"
    text = gpt_oss.completion(q, r"First guess \boxed{41}. Check: 6*7 = 42.", r"The answer is \boxed{42}.")
    for special in ("<|channel|>", "<|message|>", "<|end|>", "<|start|>", "<|return|>"):
        text = text.replace(special, "")
    assert text.startswith("analysisFirst guess") and "assistantfinalThe answer" in text
    assert split(text, "harmony").answer == r"The answer is \boxed{42}."
    spec = {"defaults": {"reasoning": "harmony"}, "rewards": [{"name": "math", "options": {"workers": 1}}]}
    assert _score(spec, text, gpt_oss.prompt(q), answer="42")["math"][0].outcome == Outcome.CORRECT
    cut = text[: text.index("Check")]
    told = {"defaults": {"reasoning": {"preset": "harmony", "prefilled": True}}, "rewards": spec["rewards"]}
    assert _score(told, cut, gpt_oss.prompt(q), answer="41")["math"][0].outcome == Outcome.NO_ANSWER
