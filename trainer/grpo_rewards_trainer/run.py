"""One training run: config -> backend -> rewards -> dataset -> model -> ``trl.GRPOTrainer``.

Everything that can be checked without the model is checked first (config keys, reward names and
options, model path, dataset rows and columns, ``GRPOConfig`` arguments), so a mistake costs
seconds, not a model load.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grpo_rewards.errors import ConfigError
from grpo_rewards_trainer.backend import activate, check_model_source, choose_backend, load_model
from grpo_rewards_trainer.config import reward_spec, validate_grpo_keys
from grpo_rewards_trainer.outputs import (
    MetricsWriter,
    plot_rewards,
    plugins_info,
    read_metrics,
    reward_trend,
    versions,
    write_json,
)

__all__ = ["RunResult", "train"]

log = logging.getLogger("grpo_rewards_trainer")


@dataclass
class RunResult:
    """Where a run's outputs are, and its reward trend (first vs last quarter of steps)."""

    output_dir: Path
    backend: str
    metrics: list[dict[str, Any]] = field(default_factory=list)
    trend: dict[str, Any] = field(default_factory=dict)

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


def _tiny_model(out: Path, mcfg: Mapping[str, Any], seed: int) -> str:
    """Build (or reuse, e.g. on --resume) the tiny model in ``<out>/tiny-model``."""
    from grpo_rewards_trainer.tiny import build_tiny_model

    path = out / "tiny-model"
    steps = int(mcfg.get("tiny_warm_start_steps") or 0)
    want = {"builder": "grpo_rewards_trainer.tiny", "seed": seed, "warm_start_steps": steps}
    marker = path / "tiny_build.json"
    if marker.is_file() and json.loads(marker.read_text()) == want:
        log.info("reusing the tiny model in %s", path)
    else:
        log.info("building the tiny model in %s (seed %d, %d warm-start steps)", path, seed, steps)
        build_tiny_model(path, seed=seed, warm_start_steps=steps)
    return str(path)


def _set_threads(config: Mapping[str, Any], source: str) -> None:
    import torch

    threads = config["cpu_threads"]
    if threads == "auto":
        if source != "tiny" or torch.cuda.is_available():
            return
        threads = 1
    torch.set_num_threads(int(threads))
    log.info("torch CPU threads: %d", threads)


def _grpo_args(config: Mapping[str, Any], out: Path, weights: list[float]) -> Any:
    import torch
    from trl import GRPOConfig

    kwargs = dict(config["grpo"])
    if not torch.cuda.is_available():
        # TRL defaults to bf16 mixed precision, which needs a GPU; on CPU train in float32.
        kwargs.setdefault("use_cpu", True)
        kwargs.setdefault("bf16", False)
    try:
        return GRPOConfig(output_dir=str(out), seed=int(config["seed"]), reward_weights=weights, **kwargs)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"[grpo] section rejected by trl.GRPOConfig: {exc}") from exc


def train(
    config: Mapping[str, Any],
    *,
    resume: bool = False,
    callbacks: Sequence[Any] = (),
    wrap_reward_func: Callable[[Any], Any] | None = None,
) -> RunResult:
    """Run GRPO as ``config`` (a resolved config, see :func:`grpo_rewards_trainer.config.load_config`) says.

    :param resume: continue from the last checkpoint in the output directory.
    :param callbacks: extra ``transformers.TrainerCallback`` objects for the trainer (tools that
        measure a run, e.g. ``benchmarks/gpu_backends.py`` times each step with one).
    :param wrap_reward_func: applied to each reward function before it goes to ``GRPOTrainer``
        (the same benchmark times reward computation with it); None: the functions as they are.
    :raises ConfigError: for anything wrong in the config or the data, before the model loads.
    """
    started = time.time()
    seed = int(config["seed"])
    out = Path(config["output"]["dir"]).expanduser()

    # Backend first: Unsloth must be imported before TRL, transformers and PEFT.
    choice = choose_backend(config["backend"])
    log.info("%s", choice.describe())
    activate(choice)
    validate_grpo_keys(config["grpo"])

    from grpo_rewards import load_rewards

    rewards = load_rewards(reward_spec(config))
    source = check_model_source(str(config["model"]["name"]))

    from grpo_rewards_trainer.data import prepare_datasets

    train_ds, eval_ds = prepare_datasets(config["dataset"], rewards.required_columns(), seed)
    log.info("dataset: %d training rows%s", len(train_ds), f", {len(eval_ds)} eval rows" if eval_ds else "")

    metrics = MetricsWriter(out / "metrics.jsonl")
    checkpoint: str | None = None
    existing = _checkpoints(out) if out.is_dir() else []
    if resume:
        if not existing:
            raise ConfigError(f"--resume: no checkpoint-* directory in {str(out)!r} to resume from")
        checkpoint = str(existing[-1])
        if _is_main_process():
            metrics.truncate_after(int(existing[-1].name.split("-")[-1]))
        log.info("resuming from %s", checkpoint)
    elif existing and _is_main_process():
        if not config["output"]["overwrite"]:
            raise ConfigError(
                f"output directory {str(out)!r} already has checkpoints ({existing[-1].name}); "
                "pass --resume to continue that run, or --set output.overwrite=true to start over"
            )
        for p in existing:
            shutil.rmtree(p)
    out.mkdir(parents=True, exist_ok=True)
    if not resume and metrics.path.exists() and _is_main_process():
        metrics.path.unlink()

    args = _grpo_args(config, out, rewards.reward_weights)

    run_info: dict[str, Any] = {
        "command": "grpo-train",
        "config": config,
        "backend": {"name": choice.name, "reason": choice.reason},
        "versions": versions(),
        "plugins": plugins_info(),
        "rewards": {
            "components": [
                {"name": c.name, "verifier": c.verifier, "weight": c.weight, "options": dict(c.options)}
                for c in rewards.components
            ],
            "required_columns": rewards.required_columns(),
        },
        "dataset": {"train_rows": len(train_ds), "eval_rows": len(eval_ds) if eval_ds is not None else 0},
        "resumed_from": checkpoint,
        "finished": False,
    }
    main_process = _is_main_process()
    if main_process:
        write_json(out / "run.json", run_info)

    import transformers
    from transformers import TrainerCallback
    from trl import GRPOTrainer

    transformers.set_seed(seed)
    _set_threads(config, source)
    model_path = _tiny_model(out, config["model"], seed) if source == "tiny" else str(config["model"]["name"])
    model, tokenizer, peft_config = load_model(choice, model_path, config["model"], seed)
    run_info["model"] = {"path": model_path, "source": source, "class": type(model).__name__}

    class _MetricsCallback(TrainerCallback):
        def on_log(self, args: Any, state: Any, control: Any, logs: Mapping[str, Any] | None = None, **kw: Any) -> None:
            if logs and state.is_world_process_zero:
                metrics.write(state.global_step, logs)

    trainer = GRPOTrainer(
        model=model,
        reward_funcs=[wrap_reward_func(f) if wrap_reward_func else f for f in rewards.reward_funcs],
        args=args,
        train_dataset=train_ds,
        eval_dataset=eval_ds,
        processing_class=tokenizer,
        peft_config=peft_config,
        callbacks=[_MetricsCallback(), *callbacks],
    )
    result = trainer.train(resume_from_checkpoint=checkpoint)
    if config["output"]["save_model"]:
        trainer.save_model(str(out / "model"))
        run_info["saved_model"] = str(out / "model")

    rewards.close()
    if not main_process:
        return RunResult(output_dir=out, backend=choice.name)
    rows = read_metrics(metrics.path) if metrics.path.exists() else []
    if config["output"]["plot"] and rows:
        plot_rewards(rows, out / "rewards.png", title=f"GRPO rewards ({choice.name} backend)")
    trend = reward_trend(rows)
    run_info.update(
        finished=True,
        train_metrics=dict(result.metrics),
        reward_trend=trend,
        wall_seconds=round(time.time() - started, 1),
    )
    write_json(out / "run.json", run_info)
    return RunResult(output_dir=out, backend=choice.name, metrics=rows, trend=trend)
