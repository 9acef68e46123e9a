"""``GRPOTrainer``: TRL's trainer, taking the API people learned and grpo-rewards compositions.

What runs here: the user's arguments, checked before any model loads, then TRL 1.16's
``GRPOTrainer`` (``trl/trainer/grpo_trainer.py``) unchanged, plus the artifacts of a run
(``run.json``, ``metrics.jsonl``, ``completions.jsonl``, ``rewards.png``, the model).
What it may trust: nothing in the arguments (each mistake is one clear
:class:`~grpo_rewards.ConfigError`), TRL's calls into the reward functions.

It accepts, by keyword or by position:

- the seed's signature (``../shared/seed/GRPOTrainer.md``, the widely copied description):
  ``GRPOTrainer(model, args, train_dataset, eval_dataset, tokenizer, reward_model, reward_fn,
  num_generations, **kwargs)``;
- TRL 1.x's: ``GRPOTrainer(model, reward_funcs, args, train_dataset, eval_dataset,
  processing_class, reward_processing_classes, callbacks, optimizers, peft_config, ...)``.
  A second positional argument that is not a ``GRPOConfig`` selects TRL's order.

``tokenizer`` is ``processing_class``; ``reward_fn``, ``reward_funcs`` and ``rewards`` are one
argument under three names. Giving two names of one argument is an error.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import trl
from transformers import TrainerCallback, TrainingArguments

from grpo_rewards.errors import ConfigError
from grpo_rewards_trainer.backend import activate, check_model_source, choose_backend, load_model
from grpo_rewards_trainer.grpo_config import GRPOConfig, adapt_to_machine, check_num_generations
from grpo_rewards_trainer.outputs import (
    CompletionsWriter,
    MetricsWriter,
    plot_rewards,
    plugins_info,
    read_metrics,
    reward_trend,
    versions,
    write_json,
)
from grpo_rewards_trainer.reward_args import TrainerRewards, build_rewards
from grpo_rewards_trainer.reward_hacking import (
    FORMAT_SHARE,
    LENGTH_CORR,
    format_components,
    format_share,
    length_correlation,
)

__all__ = ["GRPOTrainer"]

log = logging.getLogger("grpo_rewards_trainer")

SEED_ORDER = (
    "model",
    "args",
    "train_dataset",
    "eval_dataset",
    "tokenizer",
    "reward_model",
    "reward_fn",
    "num_generations",
)
TRL_ORDER = (
    "model",
    "reward_funcs",
    "args",
    "train_dataset",
    "eval_dataset",
    "processing_class",
    "reward_processing_classes",
    "callbacks",
    "optimizers",
    "quantization_config",
    "peft_config",
)
# One argument, several names: the first is the name TRL 1.x takes.
ALIASES: dict[str, tuple[str, ...]] = {
    "processing_class": ("processing_class", "tokenizer"),
    "reward_funcs": ("reward_funcs", "reward_fn", "rewards"),
}


def bind_arguments(args: Sequence[Any], kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Map positional and keyword arguments (seed or TRL order) to TRL's names.

    :raises TypeError: an argument given twice, as Python itself would say.
    :raises ConfigError: two names of one argument (``tokenizer`` and ``processing_class``).
    """
    order: tuple[str, ...] = SEED_ORDER
    if len(args) >= 2 and args[1] is not None and not isinstance(args[1], TrainingArguments):
        order = TRL_ORDER
    if len(args) > len(order):
        raise TypeError(f"GRPOTrainer takes at most {len(order)} positional arguments in this order, got {len(args)}")
    bound = dict(zip(order, args, strict=False))
    for key, value in kwargs.items():
        if key in bound:
            raise TypeError(f"GRPOTrainer got multiple values for argument {key!r}")
        bound[key] = value
    for canonical, names in ALIASES.items():
        given = [n for n in names if bound.get(n) is not None]
        if len(given) > 1:
            raise ConfigError(
                f"GRPOTrainer got both {given[0]}= and {given[1]}=, which are one argument under two names "
                f"({', '.join(names)}); pass only one"
            )
        values = [bound.pop(n) for n in names if n in bound]
        value = next((v for v in values if v is not None), None)
        if value is not None:
            bound[canonical] = value
    return bound


def _columns(dataset: Any) -> list[str] | None:
    names = getattr(dataset, "column_names", None)
    if isinstance(names, Mapping):  # a DatasetDict: the columns every split has
        sets = [set(v) for v in names.values()]
        return sorted(set.intersection(*sets)) if sets else None
    return list(names) if names is not None else None


def _log_missing_shares(dataset: Any, required: Mapping[str, list[str]]) -> None:
    """Rows that lack a needed value here and there score ``bad_reference``: say how many."""
    if not hasattr(dataset, "__len__") or not hasattr(dataset, "column_names") or len(dataset) == 0:
        return
    for comp, cols in required.items():
        for col in cols:
            if col not in dataset.column_names:
                continue
            missing = sum(1 for v in dataset[col] if v is None or v == "")
            if missing:
                log.warning(
                    "reward %r: %d of %d rows (%.1f%%) have no %r; they score bad_reference (no signal)",
                    comp,
                    missing,
                    len(dataset),
                    100.0 * missing / len(dataset),
                    col,
                )


class _MetricsCallback(TrainerCallback):
    def __init__(self, writer: MetricsWriter) -> None:
        self.writer = writer

    def on_log(self, args: Any, state: Any, control: Any, logs: Mapping[str, Any] | None = None, **kw: Any) -> None:
        if logs and state.is_world_process_zero:
            self.writer.write(state.global_step, logs)


class GRPOTrainer(trl.GRPOTrainer):
    """``trl.GRPOTrainer`` that takes grpo-rewards compositions and the seed's signature.

    :param model: a model object (Unsloth-patched or transformers, with or without PEFT), or a
        model id or directory: then ``backend`` picks Unsloth's ``FastLanguageModel`` or
        transformers + PEFT, as ``grpo-train`` does, and one log line names it.
    :param args: a :class:`~grpo_rewards_trainer.GRPOConfig` (or TRL's); ``None``: defaults.
    :param train_dataset: needs the columns the rewards read (checked before the model loads).
    :param rewards: any mix of reward sets, specs (``"math:1.0"``, a table, a TOML path), plain
        functions (TRL's form or ``(responses, ground_truths)``) and reward models. Also
        accepted as ``reward_funcs=`` (TRL) or ``reward_fn=`` (the seed), not together.
    :param reward_model: a reward model (``PreTrainedModel``), scored by TRL, weight 1.0.
    :param tokenizer: the seed's name for ``processing_class``.
    :param num_generations: sets ``args.num_generations`` (the seed passes it here).
    :param gold_column: the column a ``(responses, ground_truths)`` function's ``ground_truths``
        come from (default: ``answer``, then ``ground_truth``, then ``solution``).
    :param backend: for a model id or path: ``"auto"``, ``"unsloth"`` or ``"transformers"``.
    :param model_options: for a model id or path: ``grpo-train``'s ``[model]`` keys (``lora``,
        ``dtype``, ``max_seq_length``, ``load_in_4bit``, ...).
    :param record_completions: write every scored completion with its rewards to
        ``completions.jsonl`` (what ``grpo-rewards score`` re-scores offline).
    :param save_artifacts: write ``run.json``, ``metrics.jsonl``, ``completions.jsonl``,
        ``rewards.png`` and, after :meth:`train`, the model to ``args.output_dir/model``;
        ``save_model=False`` and ``plot=False`` leave out the last two.
    :param heldout_dataset: rows (a ``prompt`` and the columns ``heldout_reward`` reads) whose
        task accuracy with greedy decoding is measured before training, every ``heldout_every``
        steps and after it (:mod:`grpo_rewards_trainer.heldout`); the result goes to
        ``run_info["heldout"]``, ``run.json`` and ``rewards.png``.
    :param heldout_reward: the reward component whose ``correct`` outcome counts (default: the
        first component).
    """

    def __init__(self, model: Any = None, *args: Any, **kwargs: Any) -> None:
        started = time.time()
        a = bind_arguments((model, *args), kwargs)
        gold_column = a.pop("gold_column", None)
        backend = a.pop("backend", "auto")
        model_options = a.pop("model_options", None)
        self._record = bool(a.pop("record_completions", True))
        self._save_artifacts = bool(a.pop("save_artifacts", True))
        self._save_model = bool(a.pop("save_model", True))
        self._plot = bool(a.pop("plot", True))
        heldout_dataset = a.pop("heldout_dataset", None)
        heldout_reward = a.pop("heldout_reward", None)
        heldout_every = int(a.pop("heldout_every", 0) or 0)
        reward_value = a.pop("reward_funcs", None)
        reward_model = a.pop("reward_model", None)
        num_generations = a.pop("num_generations", None)
        model = a.pop("model", None)
        if model is None:
            raise ConfigError("GRPOTrainer needs model= (a model object, a model id or a local directory)")

        # 1. Settings, on this machine, before anything loads.
        args_obj = a.pop("args", None)
        if args_obj is None:
            name = str(model).rstrip("/").split("/")[-1] if isinstance(model, str | os.PathLike) else "model"
            args_obj = GRPOConfig(output_dir=f"{name}-GRPO")
        elif not isinstance(args_obj, trl.GRPOConfig):
            raise ConfigError(f"args must be a GRPOConfig, got {type(args_obj).__name__}")
        elif not isinstance(args_obj, GRPOConfig):
            adapt_to_machine(args_obj)  # TRL's own config: bf16 was checked by TRL already
        if num_generations is not None:
            args_obj.num_generations = int(num_generations)
        check_num_generations(args_obj)

        # 2. Rewards, against the data's columns and the trainer's settings.
        train_dataset = a.get("train_dataset")
        columns = _columns(train_dataset)
        rewards: TrainerRewards = build_rewards(
            reward_value,
            reward_model,
            columns=columns,
            settings=args_obj,
            gold_column=gold_column,
            user_weights=args_obj.reward_weights,
        )
        eval_columns = _columns(a.get("eval_dataset"))
        if rewards.reward_set is not None and eval_columns is not None:
            rewards.reward_set.check_columns(eval_columns)
        if rewards.reward_set is not None:
            _log_missing_shares(train_dataset, rewards.reward_set.required_columns())
        args_obj.reward_weights = rewards.reward_weights
        self.rewards = rewards.reward_set
        if heldout_dataset is not None:
            heldout_component = self._heldout_component(self.rewards, heldout_dataset, heldout_reward)

        # 3. The model, last.
        if isinstance(model, str | os.PathLike):
            model, backend_info = self._load(str(model), backend, model_options, args_obj, a)
        else:
            cls = type(model)
            backend_info = {"name": "model object", "reason": f"{cls.__module__}.{cls.__qualname__}"}
            log.info("backend: a model object of class %s (loaded by the caller)", cls.__qualname__)
        model_info = {
            k.removeprefix("model_"): backend_info.pop(k) for k in list(backend_info) if k.startswith("model_")
        }
        self.backend = backend_info

        out = Path(args_obj.output_dir)
        self._metrics_writer = MetricsWriter(out / "metrics.jsonl")
        self._completions_writer = CompletionsWriter(out / "completions.jsonl")
        callbacks = list(a.pop("callbacks", None) or [])
        if self._save_artifacts:
            callbacks.insert(0, _MetricsCallback(self._metrics_writer))
        super().__init__(model=model, reward_funcs=rewards.reward_funcs, args=args_obj, callbacks=callbacks, **a)
        self._use_console_progress()
        self.run_info: dict[str, Any] = {
            "command": "GRPOTrainer",
            "backend": backend_info,
            "versions": versions(),
            "plugins": plugins_info(),
            "rewards": self._rewards_info(rewards),
            "dataset": {
                "train_rows": _len(train_dataset),
                "eval_rows": _len(a.get("eval_dataset")),
                "columns": columns,
            },
            "model": {**model_info, "class": type(self.model).__name__},
            "finished": False,
        }
        self._started = started
        if heldout_dataset is not None:
            from grpo_rewards_trainer.heldout import HeldoutCallback

            rows = heldout_dataset.to_list() if hasattr(heldout_dataset, "to_list") else list(heldout_dataset)
            self.add_callback(
                HeldoutCallback(
                    rows,
                    self.rewards,
                    heldout_component,
                    sink=self.run_info.setdefault("heldout", {}),
                    every=heldout_every,
                    max_new_tokens=int(getattr(self.args, "max_completion_length", 256)),
                )
            )

    # -- construction helpers -------------------------------------------------------------------

    @staticmethod
    def _heldout_component(rewards: Any, dataset: Any, component: str | None) -> str:
        """The component judging held-out answers, checked (with the rows' columns) before the
        model loads."""
        if rewards is None:
            raise ConfigError("heldout_dataset needs a reward component to judge answers; rewards= has none")
        component = component or rewards.names[0]
        if component not in rewards.names:
            raise ConfigError(f"heldout_reward {component!r} is not one of the rewards ({', '.join(rewards.names)})")
        columns = _columns(dataset)
        if columns is not None:
            rewards.check_columns([*columns], [component])
        return str(component)

    @staticmethod
    def _load(
        name: str, backend: str, options: Mapping[str, Any] | None, args: Any, a: dict[str, Any]
    ) -> tuple[Any, dict[str, str]]:
        from grpo_rewards_trainer.config import DEFAULT_CONFIG, _check, _merge

        mcfg = _merge(DEFAULT_CONFIG["model"], dict(options or {}))
        _check(dict(options or {}), DEFAULT_CONFIG["model"], ("model",), "model_options")
        choice = choose_backend(backend)
        log.info("%s", choice.describe())
        activate(choice)
        source = check_model_source(name)
        if source == "tiny":
            from grpo_rewards_trainer.tiny import tiny_model_dir

            name = str(
                tiny_model_dir(args.output_dir, seed=args.seed, warm_start_steps=int(mcfg["tiny_warm_start_steps"]))
            )
        model, tokenizer, peft_config = load_model(choice, name, mcfg, int(args.seed))
        if a.get("processing_class") is None:
            a["processing_class"] = tokenizer
        if a.get("peft_config") is None and peft_config is not None:
            a["peft_config"] = peft_config
        return model, {"name": choice.name, "reason": choice.reason, "model_path": name, "model_source": source}

    @staticmethod
    def _rewards_info(rewards: TrainerRewards) -> dict[str, Any]:
        rs = rewards.reward_set
        comps = [
            {"name": c.name, "verifier": c.verifier, "weight": c.weight, "options": dict(c.options)}
            for c in (rs.components if rs else [])
        ]
        comps += [{"name": type(m).__name__, "reward_model": True, "weight": 1.0} for m in rewards.models]
        return {"components": comps, "required_columns": rs.required_columns() if rs else {}}

    def _use_console_progress(self) -> None:
        """transformers' ProgressCallback (or PrinterCallback under disable_tqdm) prints every logs
        dict, ~1,500 characters a step for GRPO; ConsoleProgress keeps the bar and prints one short
        line. A user's own subclass of either is left alone."""
        from transformers import PrinterCallback, ProgressCallback

        from grpo_rewards_trainer.console import ConsoleProgress

        handler = self.callback_handler
        found = [cb for cb in handler.callbacks if type(cb) in (ProgressCallback, PrinterCallback)]
        for cb in found:
            handler.remove_callback(cb)
        if found:
            self.add_callback(ConsoleProgress(bar=not any(type(cb) is PrinterCallback for cb in found)))

    def create_model_card(self, *args: Any, **kwargs: Any) -> None:
        """TRL's model card, without its ``[None]`` fields: TRL 1.16 (``trl/trainer/base_trainer.py``)
        links the base model to the Hub and names ``hub_model_id`` in its example, both ``None`` for
        a local model that is not pushed; they become the local path and the saved model's path."""
        super().create_model_card(*args, **kwargs)
        card = Path(str(self.args.output_dir)) / "README.md"
        if not self.is_world_process_zero() or not card.is_file():
            return
        base = getattr(getattr(self.accelerator.unwrap_model(self.model), "config", None), "_name_or_path", "") or ""
        saved = Path(str(self.args.output_dir)) / "model" if self._save_artifacts and self._save_model else None
        text = fill_model_card(card.read_text(encoding="utf-8"), base=str(base), model_path=str(saved or ""))
        card.write_text(text, encoding="utf-8")

    # -- TRL hooks ------------------------------------------------------------------------------

    def _calculate_rewards(self, inputs: Any, prompts: Any, completions: Any, completion_ids_list: Any) -> Any:
        # TRL 1.16: returns the rewards of every process's completions (gathered); this process's
        # rows are its slice of them, in order.
        rewards = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        self._log_hacking_signals(rewards, completion_ids_list)
        if self._record and self.accelerator.is_main_process and self._save_artifacts:
            start = self.accelerator.process_index * len(prompts)
            local = rewards[start : start + len(prompts)].detach().cpu().tolist()
            self._completions_writer.write(
                step=self.state.global_step + 1,
                mode="train" if self.model is not None and self.model.training else "eval",
                inputs=inputs,
                prompts=prompts,
                completions=completions,
                names=list(self.reward_func_names),
                rewards=local,
            )
        return rewards

    def _log_hacking_signals(self, rewards_per_func: Any, completion_ids_list: Sequence[Sequence[int]]) -> None:
        """Log ``hacking/format_share`` and ``hacking/length_corr`` for this batch
        (:mod:`grpo_rewards_trainer.reward_hacking`)."""
        import torch

        mode = "train" if self.model is not None and self.model.training else "eval"
        # The rewards are gathered (every process's completions); the lengths are this process's,
        # so they are gathered too, in the same order. Every process calls this (gather is collective).
        lengths = torch.tensor([len(ids) for ids in completion_ids_list], dtype=torch.float32)
        lengths = self.accelerator.gather(lengths.to(rewards_per_func.device)).cpu().tolist()
        rows = rewards_per_func.detach().float().cpu().tolist()
        weights = self.reward_weights.detach().cpu().tolist()
        names = list(self.reward_func_names)
        formats = set(format_components(self.rewards.components)) if self.rewards is not None else set()
        values = {
            FORMAT_SHARE: format_share(rows, weights, [n in formats for n in names]),
            LENGTH_CORR: length_correlation(rows, weights, lengths) if len(lengths) == len(rows) else None,
        }
        # TRL 1.16 (trl/trainer/grpo_trainer.py): `self._metrics[mode][name]` holds one value per batch;
        # `log()` averages each list over the logging step (NaN left out) and passes it to every
        # `report_to` tracker and on_log callback (metrics.jsonl). `_log_metric`, the `log_metric`
        # kwarg of reward functions, feeds the same lists after averaging across processes; these
        # values are computed from gathered data, identical on every process, so they go in directly.
        for name, value in values.items():
            if value is not None:
                self._metrics[mode][name].append(value)

    def train(self, resume_from_checkpoint: str | bool | None = None, **kwargs: Any) -> Any:  # type: ignore[override]
        """Train (TRL's ``train``), then write the model and the run's artifacts."""
        out = Path(str(self.args.output_dir))
        main = self.is_world_process_zero()
        if self._save_artifacts and main:
            out.mkdir(parents=True, exist_ok=True)
            step = _checkpoint_step(resume_from_checkpoint, out)
            for writer in (self._metrics_writer, self._completions_writer):
                if step is None:
                    writer.clear()
                else:
                    writer.truncate_after(step)
            self.run_info["resumed_from"] = str(resume_from_checkpoint) if resume_from_checkpoint else None
            write_json(out / "run.json", self.run_info)
        result = super().train(resume_from_checkpoint=resume_from_checkpoint, **kwargs)
        if self._save_artifacts:
            if self._save_model:
                self.save_model(str(out / "model"))
                self.run_info["saved_model"] = str(out / "model")
            if main:
                self._finish(result, out)
        if self.rewards is not None:
            self.rewards.close()
        return result

    def _finish(self, result: Any, out: Path) -> None:
        rows = read_metrics(self._metrics_writer.path) if self._metrics_writer.path.exists() else []
        if rows and self._plot:
            heldout = (self.run_info.get("heldout") or {}).get("curve")
            plot_rewards(rows, out / "rewards.png", title=f"GRPO rewards ({self.backend['name']})", heldout=heldout)
        self.run_info.update(
            finished=True,
            train_metrics=dict(result.metrics),
            reward_trend=reward_trend(rows),
            wall_seconds=round(time.time() - self._started, 1),
        )
        write_json(out / "run.json", self.run_info)


def fill_model_card(text: str, *, base: str, model_path: str) -> str:
    """Replace the ``None`` that TRL's model card template (``trl/templates/lm_model_card.md``)
    prints for a base model that is not on the Hub and for a model that is not pushed."""
    what = f"the local model `{base}`" if base else "a model built in code"
    text = text.replace("[None](https://huggingface.co/None)", what)
    if model_path:
        return text.replace('model="None"', f"model={json.dumps(model_path)}")
    return text.replace('model="None"', 'model="path/to/this/model"')


def _len(dataset: Any) -> int | None:
    try:
        return len(dataset) if dataset is not None else None
    except TypeError:  # an iterable dataset
        return None


def _checkpoint_step(resume: str | bool | None, out: Path) -> int | None:
    """The step a resumed run continues from (``None``: a fresh run)."""
    if not resume:
        return None
    if resume is True:
        from transformers.trainer_utils import get_last_checkpoint

        last = get_last_checkpoint(str(out))
        if last is None:
            raise ConfigError(f"resume_from_checkpoint=True, but {str(out)!r} has no checkpoint-* directory")
        resume = last
    tail = Path(str(resume)).name.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else None
