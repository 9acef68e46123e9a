"""One ``grpo-train`` run: config -> backend -> rewards -> dataset -> ``GRPOTrainer``.

Everything that can be checked without the model is checked first (config keys, reward names and
options, model path, dataset rows and columns, ``GRPOConfig`` arguments), so a mistake costs
seconds, not a model load.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grpo_rewards.errors import ConfigError
from grpo_rewards_trainer.backend import activate, check_model_source, choose_backend
from grpo_rewards_trainer.config import reward_spec, validate_grpo_keys
from grpo_rewards_trainer.outputs import read_metrics, reward_trend

__all__ = ["TrainResult", "train"]

log = logging.getLogger("grpo_rewards_trainer")


@dataclass
class TrainResult:
    """Where a run's outputs are, and its reward trend (first vs last quarter of steps)."""

    output_dir: Path
    backend: str
    metrics: list[dict[str, Any]] = field(default_factory=list)
    trend: dict[str, Any] = field(default_factory=dict)
    heldout: dict[str, Any] = field(default_factory=dict)

    @property
    def run_json(self) -> Path:
        return self.output_dir / "run.json"

    @property
    def metrics_path(self) -> Path:
        return self.output_dir / "metrics.jsonl"


def _is_main_process() -> bool:
    """True in the process that writes outputs (rank 0 under ``accelerate launch``)."""
    return int(os.environ.get("RANK", "0")) == 0


def _checkpoints(out: Path) -> list[Path]:
    return sorted(
        (p for p in out.glob("checkpoint-*") if p.is_dir() and p.name.split("-")[-1].isdigit()),
        key=lambda p: int(p.name.split("-")[-1]),
    )


def _set_threads(config: Mapping[str, Any], source: str) -> None:
    import torch

    threads = config["cpu_threads"]
    if threads == "auto":
        if source != "tiny" or torch.cuda.is_available():
            return
        threads = 1
    torch.set_num_threads(int(threads))
    log.info("torch CPU threads: %d", threads)


def _heldout_reward(name: str, rewards: Any) -> str | None:
    """``heldout.reward``: a component's name, or ``"auto"``: ``math`` if it is a component,
    else the first component that judges against a reference column and can say ``correct``
    (None: there is none)."""
    from grpo_rewards import Outcome

    if name != "auto":
        if name not in rewards.names:
            raise ConfigError(f"heldout.reward {name!r} is not one of the rewards ({', '.join(rewards.names)})")
        return name
    if "math" in rewards.names:
        return "math"
    # A task verdict compares with a reference: the verifier reads a column and can say correct
    # (format.* can say correct too, about the format only).
    return next(
        (
            n
            for n in rewards.names
            if Outcome.CORRECT in type(rewards.verifier(n)).outcomes and rewards.verifier(n).required_columns()
        ),
        None,
    )


def _grpo_args(config: Mapping[str, Any], out: Path) -> Any:
    from grpo_rewards_trainer.grpo_config import GRPOConfig

    kwargs = dict(config["grpo"])
    try:
        return GRPOConfig(output_dir=str(out), seed=int(config["seed"]), **kwargs)
    except ConfigError as exc:
        raise ConfigError(f"[grpo] {exc}") from None
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"[grpo] section rejected by trl.GRPOConfig: {exc}") from exc


def train(
    config: Mapping[str, Any],
    *,
    resume: bool = False,
    callbacks: Sequence[Any] = (),
    wrap_reward_func: Callable[[Any], Any] | None = None,
) -> TrainResult:
    """Run GRPO as ``config`` (a resolved config, see :func:`grpo_rewards_trainer.config.load_config`) says.

    A front end over :class:`grpo_rewards_trainer.GRPOTrainer`: this function turns the config
    into the trainer's arguments (a dataset with prompts, a ``GRPOConfig``, the reward spec, the
    model's name and ``[model]`` options); the trainer checks them, loads the model and writes
    the artifacts, exactly as it does for a Python caller.

    :param resume: continue from the last checkpoint in the output directory.
    :param callbacks: extra ``transformers.TrainerCallback`` objects for the trainer (tools that
        measure a run, e.g. ``benchmarks/gpu_backends.py`` times each step with one).
    :param wrap_reward_func: applied to each reward function before training starts (the same
        benchmark times reward computation with it); None: the functions as they are.
    :raises ConfigError: for anything wrong in the config or the data, before the model loads.
    """
    seed = int(config["seed"])
    out = Path(config["output"]["dir"]).expanduser()

    # Backend first: Unsloth must be imported before TRL, transformers and PEFT.
    activate(choose_backend(config["backend"]))
    validate_grpo_keys(config["grpo"])

    from grpo_rewards import load_rewards

    rewards = load_rewards(reward_spec(config))
    source = check_model_source(str(config["model"]["name"]))

    from grpo_rewards_trainer.data import prepare_datasets, prepare_heldout

    train_ds, eval_ds = prepare_datasets(config["dataset"], rewards.required_columns(), seed)
    heldout_cfg = config["heldout"]
    heldout_ds = prepare_heldout(config["dataset"], heldout_cfg)
    heldout_reward = _heldout_reward(heldout_cfg["reward"], rewards) if heldout_ds is not None else None
    if heldout_ds is not None and heldout_reward is None:
        log.info("no held-out evaluation: no reward component can say an answer is correct")
        heldout_ds = None
    log.info("dataset: %d training rows%s", len(train_ds), f", {len(eval_ds)} eval rows" if eval_ds else "")

    checkpoint: str | None = None
    existing = _checkpoints(out) if out.is_dir() else []
    if resume:
        if not existing:
            raise ConfigError(f"--resume: no checkpoint-* directory in {str(out)!r} to resume from")
        checkpoint = str(existing[-1])
        log.info("resuming from %s", checkpoint)
    elif existing and _is_main_process():
        if not config["output"]["overwrite"]:
            raise ConfigError(
                f"output directory {str(out)!r} already has checkpoints ({existing[-1].name}); "
                "pass --resume to continue that run, or --set output.overwrite=true to start over"
            )
        for p in existing:
            shutil.rmtree(p)

    args = _grpo_args(config, out)

    import transformers

    from grpo_rewards_trainer.grpo_trainer import GRPOTrainer

    transformers.set_seed(seed)
    _set_threads(config, source)
    trainer = GRPOTrainer(
        model=str(config["model"]["name"]),
        args=args,
        train_dataset=train_ds,
        eval_dataset=eval_ds,
        rewards=rewards,
        backend=config["backend"],
        model_options=config["model"],
        callbacks=list(callbacks),
        save_model=bool(config["output"]["save_model"]),
        plot=bool(config["output"]["plot"]),
        heldout_dataset=heldout_ds,
        heldout_reward=heldout_reward,
        heldout_every=int(heldout_cfg["every"] or 0),
    )
    if wrap_reward_func is not None:
        trainer.reward_funcs = [wrap_reward_func(f) for f in trainer.reward_funcs]
    trainer.run_info.update(command="grpo-train", config=config)
    trainer.train(resume_from_checkpoint=checkpoint)
    if not _is_main_process():
        return TrainResult(output_dir=out, backend=trainer.backend["name"])
    rows = read_metrics(out / "metrics.jsonl") if (out / "metrics.jsonl").exists() else []
    return TrainResult(
        output_dir=out,
        backend=trainer.backend["name"],
        metrics=rows,
        trend=reward_trend(rows),
        heldout=dict(trainer.run_info.get("heldout") or {}),
    )
