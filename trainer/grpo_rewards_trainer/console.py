"""What a training run prints: a progress bar, one short line per logging step, and third-party
noise reduced to what a user can act on.

What runs here: transformers' callback contract (``transformers/trainer_callback.py``, 5.x:
``ProgressCallback`` draws the bar and ``PrinterCallback`` replaces it under ``disable_tqdm``;
both print every logs dict, about 1,500 characters a step for GRPO) and, for ``grpo-train`` only,
Python's warning machinery and transformers' logging and progress-bar hooks.
What it may trust: the logs dicts TRL 1.16's ``GRPOTrainer.log`` passes to ``on_log``.

:class:`ConsoleProgress` takes the place of both callbacks in
:class:`~grpo_rewards_trainer.GRPOTrainer`; every metric still goes to ``metrics.jsonl`` and the
``report_to`` trackers. Setting the ``grpo_rewards_trainer.progress`` logger above ``INFO``
(``grpo-train -q`` does) leaves only the bar.
"""

from __future__ import annotations

import logging
import re
import sys
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

__all__ = ["ConsoleProgress", "log_line", "quiet_third_party", "PROGRESS_LOGGER"]

PROGRESS_LOGGER = "grpo_rewards_trainer.progress"
_progress = logging.getLogger(PROGRESS_LOGGER)

# Outcomes shown on the step line when they occur: they mean no signal, or a verifier in trouble.
_FLAGGED_OUTCOMES = ("timeout", "error", "bad_reference", "unparseable")
_COMPONENT_MEAN = re.compile(r"^rewards/(.+)/mean$")
_OUTCOME = re.compile(r"^outcomes/(.+)/([a-z_]+)$")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def log_line(logs: Mapping[str, Any], step: int, max_steps: int) -> str:
    """One short line for one logs dict (a training or eval step, or the end-of-training summary), e.g.
    ``step 12/60  reward 0.830  math 0.410  format.think 0.920  length.overlong -0.120  format share 0.55  len corr -0.20``.
    """
    prefix = ""
    if any(k.startswith("eval_") for k in logs):
        prefix = "eval  "
        logs = {k.removeprefix("eval_"): v for k, v in logs.items()}
    where = f"{prefix}step {step}/{max_steps}" if max_steps else f"{prefix}step {step}"
    if "train_runtime" in logs:
        runtime, loss = _number(logs.get("train_runtime")), _number(logs.get("train_loss"))
        parts = [f"done: {step} steps"]
        if runtime is not None:
            parts.append(f"in {runtime:.1f} s")
        if loss is not None:
            parts.append(f"(mean loss {loss:.4g})")
        return " ".join(parts)
    reward = _number(logs.get("reward"))
    if reward is None:  # not a GRPO step: the numbers it has, briefly
        shown = [f"{k} {v:.4g}" for k, v in logs.items() if _number(v) is not None and k not in ("epoch", "step_time")]
        return "  ".join([where, *shown[:6], *(["..."] if len(shown) > 6 else [])])
    parts = [where, f"reward {reward:.3f}"]
    for key, value in logs.items():
        match, v = _COMPONENT_MEAN.match(key), _number(value)
        if match and v is not None:
            parts.append(f"{match.group(1)} {v:.3f}")
    from grpo_rewards_trainer.reward_hacking import FORMAT_SHARE, LENGTH_CORR

    for key, label in ((FORMAT_SHARE, "format share"), (LENGTH_CORR, "len corr")):
        v = _number(logs.get(key))
        if v is not None:
            parts.append(f"{label} {v:.2f}")
    for key, value in logs.items():
        match, v = _OUTCOME.match(key), _number(value)
        if match and match.group(2) in _FLAGGED_OUTCOMES and v:
            parts.append(f"{match.group(1)} {match.group(2)} {v:.0%}")
    return "  ".join(parts)


class ConsoleProgress(TrainerCallback):
    """A progress bar (unless ``disable_tqdm``) and one :func:`log_line` per log, on stderr, from
    the main process only.

    :param bar: draw the tqdm bar (transformers' ``ProgressCallback``); ``False`` for
        ``disable_tqdm=True`` (its ``PrinterCallback``).
    """

    def __init__(self, bar: bool = True) -> None:
        self.bar = bar
        self.training_bar: Any = None
        self.prediction_bar: Any = None
        self._current = 0

    def _write(self, line: str) -> None:
        if _progress.level > logging.INFO:
            return
        from tqdm.auto import tqdm

        tqdm.write(line, file=sys.stderr)  # above the bar, which tqdm redraws below it

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.bar and state.is_world_process_zero:
            from tqdm.auto import tqdm

            self.training_bar = tqdm(total=state.max_steps, dynamic_ncols=True, desc="training", unit="step")
        self._current = state.global_step
        if self.training_bar is not None and self._current:
            self.training_bar.update(self._current)  # a resumed run starts where it left off

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.training_bar is not None:
            self.training_bar.update(state.global_step - self._current)
        self._current = state.global_step

    def on_prediction_step(self, args: Any, state: Any, control: Any, eval_dataloader: Any = None, **kw: Any) -> None:
        if not (self.bar and state.is_world_process_zero) or eval_dataloader is None:
            return
        try:
            total = len(eval_dataloader)
        except TypeError:
            return
        if self.prediction_bar is None:
            from tqdm.auto import tqdm

            self.prediction_bar = tqdm(total=total, leave=False, dynamic_ncols=True, desc="evaluating")
        self.prediction_bar.update(1)

    def _close_prediction_bar(self) -> None:
        if self.prediction_bar is not None:
            self.prediction_bar.close()
            self.prediction_bar = None

    def on_evaluate(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._close_prediction_bar()

    def on_predict(self, args: Any, state: Any, control: Any, metrics: Any = None, **kwargs: Any) -> None:
        self._close_prediction_bar()

    def on_log(self, args: Any, state: Any, control: Any, logs: Mapping[str, Any] | None = None, **kw: Any) -> None:
        if logs and state.is_world_process_zero:
            self._write(log_line(logs, state.global_step, state.max_steps))

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.training_bar is not None:
            self.training_bar.close()
            self.training_bar = None


# -- grpo-train only: third-party noise --------------------------------------------------------

# Warnings dropped: each comes from third-party code, says nothing the user can change, and
# repeats. (message regex, category)
_DROPPED_WARNINGS: tuple[tuple[str, type[Warning]], ...] = (
    # torch's DataLoader on a machine without an accelerator: pinning is skipped, which is right.
    (r"'pin_memory' argument is set as true but no accelerator is found", UserWarning),
    # TRL 1.16 (trl/models/utils.py) calls model.is_gradient_checkpointing and
    # gradient_checkpointing_enable/_disable, which transformers 5.23+ deprecates; fixed by
    # upgrading TRL, not by anything in a config.
    (
        r"`(is_gradient_checkpointing|gradient_checkpointing_enable|gradient_checkpointing_disable)` is deprecated",
        FutureWarning,
    ),
)
# Progress bars dropped: instantaneous for the models this runs on a CPU, and "Writing model
# shards" cuts through the training bar at every checkpoint. Downloads keep their bars.
_SILENT_BARS = frozenset({"Loading weights", "Writing model shards"})
# transformers log records dropped: (logger, message start). Checkpoints here are named
# checkpoint-<step>, so the numerical order transformers falls back to is the right one.
_DROPPED_LOGS = (("transformers.trainer_utils", "mtime may not be reliable"),)


class _DropMessages(logging.Filter):
    def __init__(self, starts: tuple[str, ...]) -> None:
        super().__init__()
        self.starts = starts

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.getMessage()).startswith(self.starts)


def _where(filename: str, lineno: int) -> str:
    parts = Path(filename).parts
    for anchor in ("site-packages", "dist-packages"):
        if anchor in parts:
            return f"{'/'.join(parts[parts.index(anchor) + 1 :])}:{lineno}"
    return f"{Path(filename).name}:{lineno}"


@contextmanager
def quiet_third_party(prog: str = "grpo-train") -> Iterator[None]:
    """Within the block: the warnings and bars above are dropped, and every other warning is shown
    once, as one line (``grpo-train: FutureWarning: ... (transformers/training_args.py:1541)``);
    everything is restored on leaving it."""
    seen: set[tuple[type[Warning], str]] = set()

    def show(
        message: Any, category: type[Warning], filename: str, lineno: int, file: Any = None, line: Any = None
    ) -> None:
        text = " ".join(str(message).split())
        if (category, text) in seen:
            return
        seen.add((category, text))
        from tqdm.auto import tqdm

        tqdm.write(f"{prog}: {category.__name__}: {text} ({_where(filename, lineno)})", file=sys.stderr)

    filters = [(logging.getLogger(name), _DropMessages((start,))) for name, start in _DROPPED_LOGS]
    from transformers.utils import logging as hf_logging

    set_hook = getattr(hf_logging, "set_tqdm_hook", None)  # transformers 5.x

    def hook(factory: Any, args: Any, kwargs: Any) -> Any:
        if kwargs.get("desc") in _SILENT_BARS:
            kwargs = {**kwargs, "disable": True}
        return factory(*args, **kwargs)

    with warnings.catch_warnings():
        for message, category in _DROPPED_WARNINGS:
            warnings.filterwarnings("ignore", message=message, category=category)
        warnings.showwarning = show
        previous = set_hook(hook) if set_hook is not None else None
        for logger, f in filters:
            logger.addFilter(f)
        try:
            yield
        finally:
            for logger, f in filters:
                logger.removeFilter(f)
            if set_hook is not None:
                set_hook(previous)
