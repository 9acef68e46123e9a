"""Every GRPOTrainer mistake is one clear message, before any model loads."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

pytest.importorskip("trl")

from datasets import Dataset
from grpo_rewards_trainer import FallbackWarning, GRPOConfig, GRPOTrainer, SettingsMismatchWarning, grpo_trainer, tiny

from grpo_rewards.errors import ConfigError, DatasetColumnError


class ReachedTheModel(Exception):
    """Raised where the model would load: every check before it passed."""


@pytest.fixture(autouse=True)
def no_model_loading(monkeypatch: pytest.MonkeyPatch) -> None:
    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("a model was loaded before the mistake was reported")

    monkeypatch.setattr(grpo_trainer, "load_model", forbidden)
    monkeypatch.setattr(tiny, "tiny_model_dir", forbidden)


@pytest.fixture
def stop_at_the_model(monkeypatch: pytest.MonkeyPatch) -> None:
    def reached(*args: object, **kwargs: object) -> None:
        raise ReachedTheModel

    monkeypatch.setattr(tiny, "tiny_model_dir", reached)


def _args(tmp_path: Path, **kw: object) -> GRPOConfig:
    base: dict[str, object] = {"output_dir": str(tmp_path / "out"), "per_device_train_batch_size": 8}
    return GRPOConfig(**{**base, **kw})


def _data(**columns: list[str]) -> Dataset:
    n = len(next(iter(columns.values())))
    return Dataset.from_dict({"prompt": [f"q{i}" for i in range(n)], **columns})


@pytest.mark.parametrize(
    ("given", "names"),
    [
        ({"tokenizer": "tok", "processing_class": "tok"}, "processing_class= and tokenizer="),
        ({"reward_fn": len, "reward_funcs": [len]}, "reward_funcs= and reward_fn="),
        ({"rewards": ["math"], "reward_fn": len}, "reward_fn= and rewards="),
    ],
)
def test_both_names_of_one_argument(given: dict[str, object], names: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        GRPOTrainer(model="tiny", args=_args(tmp_path), **given)
    assert str(err.value).startswith(f"GRPOTrainer got both {names}, which are one argument under two names")
    assert str(err.value).endswith("; pass only one")


def test_an_argument_given_by_position_and_by_name(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="GRPOTrainer got multiple values for argument 'args'"):
        GRPOTrainer("tiny", _args(tmp_path), args=_args(tmp_path))


def test_adamw_8bit_on_a_cpu_falls_back_with_one_warning(tmp_path: Path) -> None:
    with pytest.warns(FallbackWarning) as caught:
        args = _args(tmp_path, optim="adamw_8bit")
    ours = [w for w in caught if w.category is FallbackWarning]
    assert [str(w.message) for w in ours] == [
        "optim='adamw_8bit' needs bitsandbytes on a CUDA GPU (no CUDA GPU and bitsandbytes is not installed); "
        "using optim='adamw_torch' instead"
    ]
    assert ours[0].filename == __file__  # the warning points at the user's line
    assert args.optim == "adamw_torch"


def test_bf16_on_a_cpu_is_turned_off(tmp_path: Path) -> None:
    with pytest.warns(FallbackWarning, match=r"^bf16=True needs a GPU with bfloat16 support, and there is none here"):
        assert _args(tmp_path, bf16=True).bf16 is False
    with warnings.catch_warnings():
        warnings.simplefilter("error", FallbackWarning)  # TRL's own default (bf16 on) is turned off quietly
        assert _args(tmp_path).bf16 is False


def test_bad_num_generations_lists_the_valid_values(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        _args(tmp_path, per_device_train_batch_size=1, gradient_accumulation_steps=8, num_generations=3)
    assert str(err.value) == (
        "num_generations=3 does not divide the generation batch of 8 completions (per_device_train_batch_size 1 "
        "x 1 process(es) x steps_per_generation 8); valid values: 2, 4, 8, or change the batch so that "
        "num_generations divides it"
    )
    # The seed passes num_generations to the trainer: checked there too, before the model.
    with pytest.raises(ConfigError, match=r"num_generations=5 does not divide .* valid values: 2, 4, 8,"):
        GRPOTrainer(
            model="tiny", args=_args(tmp_path), train_dataset=_data(answer=["1"]), reward_fn="math", num_generations=5
        )


def test_a_dataset_without_the_gold_column(tmp_path: Path) -> None:
    data = _data(ground_truths=["2", "4"])
    with pytest.raises(DatasetColumnError) as err:
        GRPOTrainer(model="tiny", args=_args(tmp_path), train_dataset=data, rewards=["math", "format.think:0.2"])
    assert str(err.value) == (
        "reward 'math' needs column 'answer', which the data does not have. The dataset has columns: "
        "ground_truths, prompt. Rename the column, or point the reward's 'column' option at the one that holds it."
    )

    def reward_fn(responses, ground_truths):
        return [1.0 for _ in responses]

    with pytest.raises(DatasetColumnError) as err:
        GRPOTrainer(model="tiny", args=_args(tmp_path), train_dataset=_data(gold=["2"]), reward_fn=reward_fn)
    assert str(err.value).startswith(
        "reward 'reward_fn' takes (responses, ground_truths), and the data has none of the gold columns "
        "'answer', 'ground_truth', 'solution'. The dataset has columns: gold, prompt. Name the column with gold_column="
    )


def test_eval_dataset_columns_are_checked_too(tmp_path: Path) -> None:
    with pytest.raises(DatasetColumnError, match="reward 'math' needs column 'answer'.* columns: prompt, solution"):
        GRPOTrainer(
            model="tiny",
            args=_args(tmp_path),
            train_dataset=_data(answer=["1"]),
            eval_dataset=_data(solution=["1"]),
            rewards=["math"],
        )


def test_reward_weights_come_from_the_composition(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"args.reward_weights=\[1.0, 1.0\] disagrees with the rewards' own weights"):
        GRPOTrainer(
            model="tiny",
            args=_args(tmp_path, reward_weights=[1.0, 1.0]),
            train_dataset=_data(answer=["1"]),
            rewards=["math", "format.think:0.2"],
        )


def test_rows_without_a_gold_value_are_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, stop_at_the_model: None
) -> None:
    with pytest.raises(ReachedTheModel), caplog.at_level("WARNING", logger="grpo_rewards_trainer"):
        GRPOTrainer(
            model="tiny", args=_args(tmp_path), train_dataset=_data(answer=["1", None, "3", ""]), rewards="math"
        )
    assert "reward 'math': 2 of 4 rows (50.0%) have no 'answer'; they score bad_reference (no signal)" in caplog.text


def test_overlong_max_length_is_the_trainers_max_completion_length(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, stop_at_the_model: None
) -> None:
    built = []
    original = grpo_trainer.build_rewards

    def spy(*a: object, **k: object) -> object:
        built.append(original(*a, **k).reward_set)  # type: ignore[arg-type]
        return original(*a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(grpo_trainer, "build_rewards", spy)
    args = _args(tmp_path, max_completion_length=48)
    with pytest.raises(ReachedTheModel):
        GRPOTrainer(model="tiny", args=args, train_dataset=_data(answer=["1"]), rewards="length.overlong")
    overlong = built[-1].verifier("length.overlong")
    assert (overlong.max_length, overlong.cache_length) == (48, 12)
    with pytest.warns(SettingsMismatchWarning, match=r"max_length=100, but the trainer's max_completion_length is 48"):
        with pytest.raises(ReachedTheModel):
            GRPOTrainer(
                model="tiny",
                args=args,
                train_dataset=_data(answer=["1"]),
                rewards=[{"name": "length.overlong", "options": {"max_length": 100}}],
            )
    assert built[-1].verifier("length.overlong").max_length == 100  # the user's value stands, with the warning


def test_a_reward_model_id_among_the_rewards_says_how_to_pass_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        GRPOTrainer(
            model="tiny", args=_args(tmp_path), train_dataset=_data(answer=["1"]), rewards=["math", "org/rm-7b"]
        )
    assert "unknown verifier 'org/rm-7b'" in str(err.value)
    assert "if 'org/rm-7b' is a reward model, load it and pass the object: reward_model=" in str(err.value)


def test_a_heldout_reward_that_is_not_a_component_fails_before_the_model(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"heldout_reward 'exact' is not one of the rewards \(math\)"):
        GRPOTrainer(
            model="tiny",
            args=_args(tmp_path),
            train_dataset=_data(answer=["1"]),
            rewards="math",
            heldout_dataset=_data(answer=["2"]),
            heldout_reward="exact",
        )
    with pytest.raises(DatasetColumnError, match=r"reward 'math' needs column 'answer'.* columns: prompt, solution"):
        GRPOTrainer(
            model="tiny",
            args=_args(tmp_path),
            train_dataset=_data(answer=["1"]),
            rewards="math",
            heldout_dataset=_data(solution=["2"]),
        )
