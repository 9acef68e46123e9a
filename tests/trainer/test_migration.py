"""Every row of the migration table in docs/training.md, one test per row id (test_<id>_...)."""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("trl")

from grpo_rewards import Outcome, load_rewards
from grpo_rewards.testing import call_like_trl

DOCS = Path(__file__).resolve().parents[2] / "docs" / "training.md"


def _table_ids() -> list[str]:
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("### Migrating", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| ([A-Z]\d+) \|", section, flags=re.M)


def test_every_row_of_the_migration_table_has_a_test() -> None:
    ids = _table_ids()
    assert ids, "no migration table found in docs/training.md"
    tested = sorted({m.group(1).upper() for name in globals() if (m := re.match(r"test_([a-z]\d+)_", name))})
    assert sorted(ids) == tested


@pytest.fixture
def parts(tiny_model_path: Path, arithmetic_rows: list[dict[str, Any]], tmp_path: Path) -> dict[str, Any]:
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return {
        "model": AutoModelForCausalLM.from_pretrained(tiny_model_path),
        "tokenizer": AutoTokenizer.from_pretrained(tiny_model_path),
        "dataset": Dataset.from_list(arithmetic_rows),
        "out": str(tmp_path / "out"),
    }


def _config(parts: dict[str, Any]) -> Any:
    from grpo_rewards_trainer import GRPOConfig

    return GRPOConfig(output_dir=parts["out"], per_device_train_batch_size=8, num_generations=4)


def seed_reward_fn(responses, ground_truths):  # the seed's reward function, as written there
    rewards = []
    for resp, gt in zip(responses, ground_truths, strict=True):
        rewards.append(1.0 if gt in resp else 0.0)
    return rewards


@pytest.mark.slow
def test_s1_the_import_line_is_the_only_change(parts: dict[str, Any]) -> None:
    import trl
    from grpo_rewards_trainer import GRPOConfig, GRPOTrainer

    assert issubclass(GRPOTrainer, trl.GRPOTrainer) and issubclass(GRPOConfig, trl.GRPOConfig)
    trainer = GRPOTrainer(
        model=parts["model"],
        args=_config(parts),
        train_dataset=parts["dataset"],
        tokenizer=parts["tokenizer"],
        reward_fn=seed_reward_fn,
    )
    assert isinstance(trainer, trl.GRPOTrainer)


@pytest.mark.slow
def test_s2_tokenizer_is_processing_class(parts: dict[str, Any]) -> None:
    from grpo_rewards_trainer import GRPOTrainer

    trainer = GRPOTrainer(
        model=parts["model"],
        args=_config(parts),
        train_dataset=parts["dataset"],
        tokenizer=parts["tokenizer"],
        rewards="math",
    )
    assert trainer.processing_class is parts["tokenizer"]


@pytest.mark.slow
def test_s3_a_responses_ground_truths_function_reads_the_gold_column(parts: dict[str, Any]) -> None:
    from grpo_rewards_trainer import GRPOTrainer

    data = parts["dataset"].rename_column("answer", "solution")
    trainer = GRPOTrainer(
        model=parts["model"],
        args=_config(parts),
        train_dataset=data,
        tokenizer=parts["tokenizer"],
        reward_fn=seed_reward_fn,
    )
    call = call_like_trl(trainer.reward_funcs[0], [{"prompt": "p", "solution": "12"}] * 2, ["it is 12", "it is 13"])
    assert call.values == [1.0, 0.0]
    assert trainer.rewards is not None and trainer.rewards.component("seed_reward_fn").options == {
        "gold_column": "solution"
    }


@pytest.mark.slow
def test_s4_reward_model_is_scored_by_trl_beside_the_rewards(parts: dict[str, Any], tiny_model_path: Path) -> None:
    from grpo_rewards_trainer import GRPOTrainer
    from transformers import AutoModelForSequenceClassification

    rm = AutoModelForSequenceClassification.from_pretrained(tiny_model_path, num_labels=1)
    trainer = GRPOTrainer(
        model=parts["model"],
        args=_config(parts),
        train_dataset=parts["dataset"],
        tokenizer=parts["tokenizer"],
        reward_model=rm,
        rewards=["math"],
    )
    assert trainer.reward_funcs[-1] is rm
    assert trainer.args.reward_weights == [1.0, 1.0]
    assert trainer.run_info["rewards"]["components"][-1]["reward_model"] is True


@pytest.mark.slow
def test_s5_num_generations_on_the_trainer(parts: dict[str, Any]) -> None:
    from grpo_rewards_trainer import GRPOConfig, GRPOTrainer

    trainer = GRPOTrainer(
        parts["model"],
        GRPOConfig(output_dir=parts["out"], per_device_train_batch_size=8, num_generations=8),
        parts["dataset"],
        None,
        parts["tokenizer"],
        None,
        seed_reward_fn,
        4,  # the seed's positional order: ..., reward_model, reward_fn, num_generations
    )
    assert trainer.args.num_generations == 4 and trainer.num_generations == 4


def test_s6_adamw_8bit_without_cuda(tmp_path: Path) -> None:
    from grpo_rewards_trainer import FallbackWarning, GRPOConfig

    with pytest.warns(FallbackWarning, match="using optim='adamw_torch' instead"):
        assert GRPOConfig(output_dir=str(tmp_path), optim="adamw_8bit").optim == "adamw_torch"


def test_s7_bf16_on_a_cpu(tmp_path: Path) -> None:
    from grpo_rewards_trainer import FallbackWarning, GRPOConfig

    with pytest.warns(FallbackWarning, match="bf16=True needs a GPU"):
        assert GRPOConfig(output_dir=str(tmp_path), bf16=True).bf16 is False


@pytest.mark.slow
def test_t1_trl_positional_order(parts: dict[str, Any]) -> None:
    from grpo_rewards_trainer import GRPOTrainer

    args = _config(parts)
    trainer = GRPOTrainer(parts["model"], ["math"], args, parts["dataset"], None, parts["tokenizer"])
    assert trainer.reward_func_names == ["math"] and trainer.processing_class is parts["tokenizer"]


@pytest.mark.slow
def test_t2_weights_live_in_the_composition(parts: dict[str, Any]) -> None:
    from grpo_rewards_trainer import GRPOTrainer

    def g(completions: list[Any], **kwargs: Any) -> list[float]:
        return [0.0] * len(completions)

    args = _config(parts)
    trainer = GRPOTrainer(
        model=parts["model"],
        args=args,
        train_dataset=parts["dataset"],
        processing_class=parts["tokenizer"],
        reward_funcs=["math", {"name": g, "weight": 0.2}],
    )
    assert trainer.args.reward_weights == [1.0, 0.2]
    assert trainer.reward_weights.tolist() == pytest.approx([1.0, 0.2])


@pytest.mark.slow
def test_u1_unsloth_style_objects_or_a_model_id(
    parts: dict[str, Any], tiny_model_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from grpo_rewards_trainer import GRPOTrainer
    from peft import LoraConfig, PeftModel, get_peft_model

    # What FastLanguageModel.get_peft_model returns is a PeftModel: pass it as it is.
    peft_model = get_peft_model(
        parts["model"], LoraConfig(r=4, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
    )
    args = _config(parts)
    trainer = GRPOTrainer(
        model=peft_model, args=args, train_dataset=parts["dataset"], tokenizer=parts["tokenizer"], rewards="math"
    )
    assert isinstance(trainer.model, PeftModel)
    # Or a model id / directory, loaded by the backend that works here (transformers + PEFT on a CPU).
    with warnings.catch_warnings(), caplog.at_level("INFO", logger="grpo_rewards_trainer"):
        warnings.simplefilter("ignore", FutureWarning)
        trainer = GRPOTrainer(
            model=str(tiny_model_path),
            args=_config(parts),
            train_dataset=parts["dataset"],
            rewards="math",
            backend="auto",
            model_options={"lora": {"r": 4, "target_modules": ["q_proj", "v_proj"]}},
        )
    assert trainer.backend["name"] == "transformers" and isinstance(trainer.model, PeftModel)
    backend_lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("backend: ")]
    assert backend_lines == [f"backend: transformers ({trainer.backend['reason']})"]


# The reward functions of Unsloth's GRPO notebooks (Qwen2.5 (3B) GRPO), in their shape: XML tags
# <reasoning> and <answer>, the gold answer in the "answer" column.
def _extract_xml_answer(text: str) -> str:
    return text.split("<answer>")[-1].split("</answer>")[0].strip()


def correctness_reward_func(prompts: Any, completions: Any, answer: Any, **kwargs: Any) -> list[float]:
    responses = [completion[0]["content"] for completion in completions]
    return [2.0 if _extract_xml_answer(r) == a else 0.0 for r, a in zip(responses, answer, strict=True)]


def int_reward_func(completions: Any, **kwargs: Any) -> list[float]:
    responses = [completion[0]["content"] for completion in completions]
    return [0.5 if _extract_xml_answer(r).isdigit() else 0.0 for r in responses]


def test_u2_notebook_reward_functions_work_as_they_are_or_as_built_ins() -> None:
    completions = [
        [{"role": "assistant", "content": "<reasoning>\n2+2\n</reasoning>\n<answer>\n4\n</answer>\n"}],
        [{"role": "assistant", "content": "it is 5"}],
    ]
    rows = [{"prompt": [{"role": "user", "content": "2+2?"}], "answer": "4"}] * 2
    as_they_are = load_rewards([correctness_reward_func, int_reward_func, "format.think:0.2"])
    assert call_like_trl(as_they_are.reward_funcs[0], rows, completions).values == [2.0, 0.0]
    assert call_like_trl(as_they_are.reward_funcs[1], rows, completions).values == [0.5, 0.0]
    built_ins = load_rewards(
        ["math:2.0", {"name": "format.tags", "options": {"tags": ["reasoning", "answer"], "mode": "soft"}}]
    )
    assert call_like_trl(built_ins.reward_funcs[0], rows, completions).values == [1.0, 0.0]
    tags = call_like_trl(built_ins.reward_funcs[1], rows, completions).values
    assert tags[0] == 1.0 and tags[1] == 0.0
    assert built_ins.reward_weights == [2.0, 1.0]


def test_r1_open_r1_accuracy_reward_reads_solution() -> None:
    rs = load_rewards([{"name": "math", "options": {"column": "solution"}}])
    res = rs.score(["The answer is $\\boxed{\\frac{1}{2}}$", "\\boxed{0.4}"], columns={"solution": ["$0.5$"] * 2})
    assert [s.outcome for s in res.scores["math"]] == [Outcome.CORRECT, Outcome.WRONG]


def test_r2_open_r1_format_and_tag_count() -> None:
    rs = load_rewards(["format.think", {"name": "format.tags", "alias": "tag_count", "options": {"mode": "soft"}}])
    res = rs.score(["<think>\nx\n</think>\n<answer>\n4\n</answer>", "4"])
    assert res.values["format.think"] == [1.0, 0.0]
    assert res.values["tag_count"][0] == 1.0 and res.values["tag_count"][1] == 0.0


def test_r3_open_r1_length_and_repetition_rewards() -> None:
    rs = load_rewards(
        [
            "math",
            {"name": "length.cosine", "options": {"unit": "chars", "max_length": 100}},
            {"name": "length.group", "options": {"unit": "chars"}},
            {"name": "repetition", "options": {"ngram_size": 2}},
            {"name": "length.overlong", "options": {"unit": "chars", "max_length": 20, "cache_length": 5}},
        ]
    )
    res = rs.score(["\\boxed{4}", "\\boxed{4} " + "la la " * 10], prompts=["p", "p"], columns={"answer": ["4", "4"]})
    assert res.values["length.cosine"][0] > res.values["length.cosine"][1] > 0  # both right: shorter is better
    assert res.values["length.group"][0] > res.values["length.group"][1]
    assert res.values["repetition"][0] == 0.0 > res.values["repetition"][1]
    assert res.values["length.overlong"] == [0.0, -1.0]
