"""GRPO training speed and memory of ``grpo-train``'s ``unsloth`` backend against its ``transformers`` backend.

Both backends run the same GRPO training through the code path of ``grpo-train --set
backend=...``: the config is resolved by :func:`grpo_rewards_trainer.config.load_config` from the
same ``--set`` overrides the command line takes (printed as ``grpo_train_command`` in the JSON),
and :func:`grpo_rewards_trainer.run.train` loads the model (``FastLanguageModel`` + its LoRA, or
``AutoModelForCausalLM`` + a PEFT ``LoraConfig``) and runs ``trl.GRPOTrainer``. "The same
training" means, for both:

- one model directory, built once with random weights (nothing is downloaded): the shape of
  Qwen2.5-0.5B (24 layers, hidden 896, MLP 4864, 14 heads with 2 KV heads, tied embeddings, its
  padded vocabulary of 151,936 rows; 494 M parameters) over the locally trained tokenizer of
  :mod:`grpo_rewards_trainer.tiny` (459 tokens; ``decode`` skips the ids beyond them, so
  completions of the random model decode to little text, but every step generates, scores and
  trains on full-vocabulary logits as a real Qwen2.5-0.5B does: see docs/benchmarks/gpu.md);
- LoRA (r, alpha, all seven projection matrices), bf16 weights on a GPU;
- the bundled arithmetic prompts, the rewards ``math`` + ``format.think`` + ``length.overlong``,
  ``num_generations``, ``max_completion_length``, batch size, learning rate and seed;
- gradient checkpointing off for both (``--gradient-checkpointing`` turns it on for both: TRL's
  for transformers, Unsloth's offloaded ``"unsloth"`` mode for Unsloth);
- on the device machine, one TRL for both (1.15.0, the newest Unsloth accepts;
  ``benchmarks/gpu/prepare_wheels.sh`` pins it).

Each backend runs ``--warmup-steps`` steps, then ``--steps`` measured steps, in one ``train()``
call. Reported per backend, over the measured steps only:

- ``seconds_per_step``: mean wall time from ``on_step_begin`` to ``on_step_end`` of a
  ``TrainerCallback`` (after ``torch.cuda.synchronize()``), which spans generation, reward
  computation, the loss, backward and the optimizer step;
- ``generated_tokens_per_s``: completion tokens generated in those steps (the lengths of the
  ``completion_ids`` TRL passes to the reward functions: the EOS token included, padding not)
  divided by their total time;
- ``reward_share``: the wall time spent inside the reward functions (each wrapped by
  :class:`TimedRewardFunc`; overlapping calls are counted once) over the step time;
- ``peak_gpu_memory_bytes``: ``torch.cuda.max_memory_allocated()`` over the whole run (model
  load and warm-up included); ``None`` without a GPU.

**One process per backend.** The orchestrating process builds the model, then runs each backend in
a child process of its own (this file with ``--child``) and gathers their JSON. An in-process
comparison would not be fair, and for one order not possible: importing Unsloth patches
transformers (the Qwen2 attention and MLP forward, generation), PEFT and TRL (``GRPOTrainer`` is
replaced by Unsloth's compiled ``UnslothGRPOTrainer``) for the rest of the process and cannot be
undone, so a transformers run after it would measure Unsloth's patched code, and imported after
transformers and TRL Unsloth warns ("Unsloth should be imported before ...") that its patches
may not all apply. Separate processes also give each backend its own ``max_memory_allocated`` and CUDA
caches, and let the Unsloth child run another Python (``--unsloth-python``; the CI's Unsloth
environment is a separate venv). The transformers backend runs first; the JSON is rewritten after
each backend, so a timeout in the second keeps the first's figures, and a backend that fails is
recorded with the tail of its log (the exact error).

Usage::

    python benchmarks/gpu_backends.py --json gpu_backends.json           # on a GPU: both backends
    python benchmarks/gpu_backends.py --cpu-smoke --json smoke.json      # plumbing check on a CPU
    bash benchmarks/gpu/run_on_device.sh                                  # on the device machine

``--cpu-smoke``: the tiny model (2 layers, hidden 64), float32, 2 steps without warm-up, a small
batch; the transformers backend, and the Unsloth backend only when ``--unsloth-python`` (default:
``$GRPO_REWARDS_UNSLOTH_PYTHON``, else this Python) can import ``unsloth`` (else it is reported as
skipped, with the reason). The figures of a smoke run say nothing about speed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import math
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
for _p in (ROOT / "trainer", ROOT):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))

BACKENDS = ("transformers", "unsloth")
UNSLOTH_PYTHON_ENV = "GRPO_REWARDS_UNSLOTH_PYTHON"

# Qwen2.5-0.5B's shape (its config.json on the Hub); the tokenizer is the tiny one.
QWEN25_05B_SHAPE: dict[str, Any] = {
    "vocab_size": 151_936,
    "hidden_size": 896,
    "intermediate_size": 4864,
    "num_hidden_layers": 24,
    "num_attention_heads": 14,
    "num_key_value_heads": 2,
    "max_position_embeddings": 2048,
    "rope_theta": 1_000_000.0,
    "rms_norm_eps": 1e-6,
    "tie_word_embeddings": True,
}

# Environment of the children: nothing may be fetched (the device machine has no network).
CHILD_ENV = {
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "UNSLOTH_DISABLE_STATISTICS": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "PYTHONUNBUFFERED": "1",
}


@dataclass(frozen=True)
class Settings:
    """What both backends train with (one value each, shared)."""

    steps: int
    warmup_steps: int
    batch_size: int
    num_generations: int
    max_completion_length: int
    lora_r: int
    lora_alpha: int
    learning_rate: float
    dtype: str
    seed: int
    gradient_checkpointing: bool
    model_shape: dict[str, Any] = field(default_factory=dict)  # Qwen2Config overrides (empty: the tiny model)

    @property
    def max_steps(self) -> int:
        return self.warmup_steps + self.steps


def build_parser() -> argparse.ArgumentParser:
    """The command line (see the module docstring)."""
    p = argparse.ArgumentParser(
        prog="gpu_backends.py",
        description="GRPO seconds/step, generated tokens/s, reward share and peak GPU memory: "
        "grpo-train's unsloth backend against its transformers backend, same training.",
    )
    p.add_argument("--cpu-smoke", action="store_true", help="tiny model, 2 steps, no warm-up: checks the plumbing")
    p.add_argument("--backends", default=None, help="comma-separated subset of: " + ", ".join(BACKENDS))
    p.add_argument("--steps", type=int, default=None, help="measured steps (default 8; smoke 2)")
    p.add_argument("--warmup-steps", type=int, default=None, help="steps before measuring (default 2; smoke 0)")
    p.add_argument("--batch-size", type=int, default=None, help="completions per step (default 64; smoke 8)")
    p.add_argument("--num-generations", type=int, default=None, help="completions per prompt (default 8; smoke 4)")
    p.add_argument("--max-completion-length", type=int, default=None, help="tokens (default 128; smoke 16)")
    p.add_argument("--lora-r", type=int, default=None, help="LoRA rank (default 16; smoke 8)")
    p.add_argument(
        "--vocab-size",
        type=int,
        default=None,
        help="model vocabulary rows (default 151936, Qwen2.5's; smoke: the tokenizer's 459)",
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--gradient-checkpointing", action="store_true", help="on for both backends (default off)")
    p.add_argument("--json", type=Path, default=Path("gpu_backends.json"), help="output JSON file")
    p.add_argument("--work-dir", type=Path, default=None, help="model and run outputs (default: beside --json)")
    p.add_argument("--python", default=sys.executable, help="Python for the transformers child")
    p.add_argument(
        "--unsloth-python",
        default=os.environ.get(UNSLOTH_PYTHON_ENV) or sys.executable,
        help=f"Python for the unsloth child (default ${UNSLOTH_PYTHON_ENV}, else this Python)",
    )
    p.add_argument("--child-timeout", type=float, default=None, help="seconds per backend (default 150; smoke 600)")
    # Internal: one backend's run, in a child process.
    p.add_argument("--child", choices=BACKENDS, help=argparse.SUPPRESS)
    p.add_argument("--child-spec", type=Path, help=argparse.SUPPRESS)
    return p


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse and check the arguments; fills ``settings`` (:class:`Settings`) and ``backends``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    smoke = args.cpu_smoke

    def pick(value: int | None, gpu: int, cpu: int) -> int:
        return (cpu if smoke else gpu) if value is None else value

    shape: dict[str, Any] = {} if smoke else dict(QWEN25_05B_SHAPE)
    if args.vocab_size is not None:
        shape["vocab_size"] = args.vocab_size
    settings = Settings(
        steps=pick(args.steps, 8, 2),
        warmup_steps=pick(args.warmup_steps, 2, 0),
        batch_size=pick(args.batch_size, 64, 8),
        num_generations=pick(args.num_generations, 8, 4),
        max_completion_length=pick(args.max_completion_length, 128, 16),
        lora_r=pick(args.lora_r, 16, 8),
        lora_alpha=2 * pick(args.lora_r, 16, 8),
        learning_rate=1e-5,
        dtype="float32" if smoke else "bfloat16",
        seed=args.seed,
        gradient_checkpointing=args.gradient_checkpointing,
        model_shape=shape,
    )
    if settings.steps < 1:
        parser.error("--steps must be at least 1")
    if settings.warmup_steps < 0:
        parser.error("--warmup-steps must be 0 or more")
    for name in ("batch_size", "num_generations", "max_completion_length", "lora_r"):
        if getattr(settings, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if settings.num_generations < 2:
        parser.error("--num-generations must be at least 2 (GRPO compares completions within a group)")
    if settings.batch_size % settings.num_generations:
        parser.error(
            f"--batch-size {settings.batch_size} must be a multiple of --num-generations {settings.num_generations}"
        )
    if args.backends is None:
        backends = list(BACKENDS)
    else:
        backends = [b.strip() for b in args.backends.split(",") if b.strip()]
        unknown = [b for b in backends if b not in BACKENDS]
        if unknown or not backends:
            parser.error(f"--backends: unknown {unknown or args.backends!r}; choose from {', '.join(BACKENDS)}")
    args.settings = settings
    args.backends = backends
    args.child_timeout = args.child_timeout or (600.0 if smoke else 150.0)
    if args.work_dir is None:
        args.work_dir = args.json.resolve().parent / (args.json.stem + "-work")
    return args


def train_overrides(settings: Settings, backend: str, model_dir: Path, output_dir: Path) -> list[str]:
    """The ``grpo-train --set`` overrides of one backend's run; they differ only in ``backend``.
    (A value that is no TOML literal, like ``bfloat16``, is taken as a string by ``--set``.)"""
    n, cache = settings.max_completion_length, max(1, settings.max_completion_length // 4)
    checkpointing = "unsloth" if settings.gradient_checkpointing else "false"
    rewards = (
        '[{name="math", weight=1.0}, {name="format.think", weight=1.0, options={mode="soft"}}, '
        f'{{name="length.overlong", weight=0.5, options={{max_length={n}, cache_length={cache}}}}}]'
    )
    return [
        f"backend={backend}",
        f"seed={settings.seed}",
        f"model.name={json.dumps(str(model_dir))}",
        f"model.dtype={settings.dtype}",
        f"model.max_seq_length={256 + n}",
        f"model.lora.r={settings.lora_r}",
        f"model.lora.alpha={settings.lora_alpha}",
        # Unsloth's own checkpointing mode, or none; the transformers backend reads grpo.gradient_checkpointing.
        f"model.lora.use_gradient_checkpointing={checkpointing}",
        f"rewards={rewards}",
        f"grpo.max_steps={settings.max_steps}",
        f"grpo.learning_rate={settings.learning_rate}",
        f"grpo.per_device_train_batch_size={settings.batch_size}",
        f"grpo.num_generations={settings.num_generations}",
        f"grpo.max_completion_length={n}",
        f"grpo.gradient_checkpointing={'true' if settings.gradient_checkpointing else 'false'}",
        "grpo.save_strategy=no",
        "grpo.disable_tqdm=true",
        f"output.dir={json.dumps(str(output_dir))}",
        "output.plot=false",
        "output.save_model=false",
        "output.overwrite=true",
    ]


def grpo_train_command(overrides: Sequence[str]) -> str:
    """The ``grpo-train`` command line that resolves to the same config."""
    import shlex

    return "grpo-train " + " ".join(f"--set {shlex.quote(o)}" for o in overrides)


# --- measuring (used in the child) ----------------------------------------------------------------


@dataclass
class StepRecord:
    """One optimizer step: its wall time, the reward calls inside it, and the tokens generated."""

    step: int
    seconds: float = 0.0
    reward_intervals: list[tuple[float, float]] = field(default_factory=list)
    generated_tokens: int | None = None
    completions: int = 0

    @property
    def reward_seconds(self) -> float:
        """Wall time inside reward functions, overlapping calls counted once (union of intervals)."""
        total, end = 0.0, -math.inf
        for a, b in sorted(self.reward_intervals):
            if b <= end:
                continue
            total += b - max(a, end)
            end = b
        return total


class StepRecorder:
    """Collects :class:`StepRecord` s: a callback marks step boundaries, reward wrappers report calls.

    :param warmup_steps: the first steps, excluded from :meth:`summary`.
    :param synchronize: called before each timestamp (``torch.cuda.synchronize`` on a GPU), so
        that queued GPU work is counted in the step that queued it.
    :param clock: the time source (``time.perf_counter``).
    """

    def __init__(
        self,
        warmup_steps: int = 0,
        synchronize: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.warmup_steps = warmup_steps
        self.synchronize = synchronize or (lambda: None)
        self.clock = clock
        self.records: list[StepRecord] = []
        self._current: StepRecord | None = None
        self._started = 0.0
        self._wrapped = 0

    def begin_step(self) -> None:
        self.synchronize()
        self._current = StepRecord(step=len(self.records) + 1)
        self._started = self.clock()

    def end_step(self) -> None:
        if self._current is None:
            raise RuntimeError("StepRecorder.end_step() without begin_step()")
        self.synchronize()
        self._current.seconds = self.clock() - self._started
        self.records.append(self._current)
        self._current = None

    def reward_call(self, start: float, end: float, completion_ids: Sequence[Sequence[int]] | None) -> None:
        """Record one reward-function call; ``completion_ids`` only from the first function (the
        others score the same completions)."""
        rec = self._current
        if rec is None:  # outside a training step (e.g. evaluation): not part of any step's time
            return
        rec.reward_intervals.append((start, end))
        if completion_ids is not None:
            rec.generated_tokens = (rec.generated_tokens or 0) + sum(len(ids) for ids in completion_ids)
            rec.completions += len(completion_ids)

    def wrap(self, func: Callable[..., Any]) -> TimedRewardFunc:
        """The ``wrap_reward_func`` argument of :func:`grpo_rewards_trainer.run.train`."""
        self._wrapped += 1
        return TimedRewardFunc(func, self, count_tokens=self._wrapped == 1)

    def measured(self) -> list[StepRecord]:
        return self.records[self.warmup_steps :]

    def summary(self) -> dict[str, Any]:
        """The per-backend metrics over the measured steps (see the module docstring)."""
        steps = self.measured()
        if not steps:
            raise RuntimeError(
                f"no measured steps: {len(self.records)} step(s) ran, {self.warmup_steps} of them warm-up"
            )
        seconds = [r.seconds for r in steps]
        total = sum(seconds)
        tokens = [r.generated_tokens for r in steps]
        known = None if any(t is None for t in tokens) else sum(t for t in tokens if t is not None)
        reward = [r.reward_seconds for r in steps]
        return {
            "steps_measured": len(steps),
            "warmup_steps": self.warmup_steps,
            "seconds_per_step": total / len(steps),
            "seconds_per_step_median": statistics.median(seconds),
            "generated_tokens_per_s": None if known is None or total <= 0 else known / total,
            "reward_share": sum(reward) / total if total > 0 else None,
            "step_seconds": seconds,
            "reward_seconds": reward,
            "generated_tokens": tokens,
            "completions": [r.completions for r in steps],
            "warmup_step_seconds": [r.seconds for r in self.records[: self.warmup_steps]],
        }


class TimedRewardFunc:
    """A reward function that reports each call's wall time (and, for the first function of a
    reward set, the completion token counts) to a :class:`StepRecorder`. TRL sees the same
    ``__name__`` (so its ``rewards/<name>/mean`` logs keep their names) and a plain synchronous
    callable, as it gets from :class:`grpo_rewards.adapter.RewardFunction`."""

    def __init__(self, func: Callable[..., Any], recorder: StepRecorder, *, count_tokens: bool) -> None:
        self.func = func
        self.recorder = recorder
        self.count_tokens = count_tokens
        self.__name__ = getattr(func, "__name__", type(func).__name__)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        start = self.recorder.clock()
        try:
            return self.func(*args, **kwargs)
        finally:
            ids = kwargs.get("completion_ids") if self.count_tokens else None
            self.recorder.reward_call(start, self.recorder.clock(), ids)


def _child(backend: str, spec_path: Path) -> int:
    """One backend's training run (in its own process); writes ``spec["result"]``."""
    spec = json.loads(spec_path.read_text())
    result_path = Path(spec["result"])
    from grpo_rewards_trainer.backend import activate, choose_backend
    from grpo_rewards_trainer.config import load_config

    config = load_config(None, spec["overrides"])
    # Unsloth first (it patches transformers and TRL): before the callback class imports transformers.
    # train() makes the same choice again and finds it already imported.
    activate(choose_backend(config["backend"]))
    import torch
    from grpo_rewards_trainer.run import train
    from transformers import TrainerCallback

    cuda = torch.cuda.is_available()
    recorder = StepRecorder(spec["warmup_steps"], synchronize=torch.cuda.synchronize if cuda else None)

    class StepTimer(TrainerCallback):
        def on_step_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            recorder.begin_step()

        def on_step_end(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            recorder.end_step()

    if cuda:
        torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    run = train(config, callbacks=[StepTimer()], wrap_reward_func=recorder.wrap)
    wall = time.perf_counter() - started
    run_info = json.loads(run.run_json.read_text())
    try:
        summary: dict[str, Any] = {"status": "ok", **recorder.summary()}
    except RuntimeError as exc:  # e.g. a trainer loop that never called the step callbacks
        summary = {"status": "failed", "error": f"{exc} (TRL's own step_time is in trl_step_time)"}
    out: dict[str, Any] = {
        **summary,
        "peak_gpu_memory_bytes": int(torch.cuda.max_memory_allocated()) if cuda else None,
        "peak_gpu_memory_reserved_bytes": int(torch.cuda.max_memory_reserved()) if cuda else None,
        "device": torch.cuda.get_device_name(0) if cuda else "cpu",
        "backend_used": run_info["backend"],
        "model_class": run_info.get("model", {}).get("class"),
        "versions": run_info["versions"],
        "train_wall_seconds": wall,
        "mean_reward": [row.get("reward") for row in run.metrics],
        # TRL's own per-step timer (GRPOTrainer's "step_time" metric), all steps: a cross-check.
        "trl_step_time": [row.get("step_time") for row in run.metrics if "step_time" in row],
    }
    result_path.write_text(json.dumps(out, indent=2) + "\n")
    return 0 if out["status"] == "ok" else 1


# --- orchestrating ----------------------------------------------------------------------------------


_SHAPE_KEYS = ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads")


def build_model(settings: Settings, path: Path) -> dict[str, Any]:
    """Build the random-weight model (shared by both backends) once; returns its description."""
    from grpo_rewards_trainer.tiny import build_tiny_model
    from safetensors import safe_open

    build_tiny_model(path, seed=settings.seed, warm_start_steps=0, config_overrides=settings.model_shape or None)
    params = 0
    for f in sorted(path.glob("*.safetensors")):
        with safe_open(str(f), framework="pt") as st:
            for key in st.keys():
                params += math.prod(st.get_slice(key).get_shape())
    config = json.loads((path / "config.json").read_text())
    return {
        "path": str(path),
        "architecture": config.get("architectures"),
        "parameters": params,
        "vocab_size": config["vocab_size"],
        "shape": {k: config.get(k) for k in _SHAPE_KEYS},
        "weights": f"random (seed {settings.seed}), nothing downloaded",
    }


def unsloth_missing(python: str) -> str | None:
    """Why ``python`` cannot run the unsloth backend, or None when it can import ``unsloth``."""
    if python == sys.executable:
        return None if importlib.util.find_spec("unsloth") is not None else f"{python} cannot import unsloth"
    if not Path(python).exists():
        return f"{python} does not exist"
    probe = subprocess.run(
        [python, "-c", "import importlib.util as u, sys; sys.exit(u.find_spec('unsloth') is None)"],
        capture_output=True,
        text=True,
    )
    return None if probe.returncode == 0 else f"{python} cannot import unsloth"


def _tail(path: Path, chars: int = 6000) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return text[-chars:]


def run_child(backend: str, python: str, settings: Settings, model_dir: Path, work: Path, timeout: float) -> dict:
    """Run one backend in a child process; its result, or a failure with the end of its log."""
    out_dir = work / f"run-{backend}"
    overrides = train_overrides(settings, backend, model_dir, out_dir)
    spec = {"overrides": overrides, "warmup_steps": settings.warmup_steps, "result": str(work / f"{backend}.json")}
    spec_path = work / f"{backend}-spec.json"
    spec_path.write_text(json.dumps(spec, indent=2) + "\n")
    Path(spec["result"]).unlink(missing_ok=True)
    log = work / f"{backend}.log"
    env = dict(os.environ)
    env.update(CHILD_ENV)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), str(ROOT / "trainer"), env.get("PYTHONPATH")) if p)
    cmd = [python, str(Path(__file__).resolve()), "--child", backend, "--child-spec", str(spec_path)]
    base: dict[str, Any] = {"python": python, "grpo_train_command": grpo_train_command(overrides), "log": str(log)}
    started = time.perf_counter()
    with log.open("w") as fh:
        try:
            proc = subprocess.run(cmd, cwd=work, env=env, stdout=fh, stderr=subprocess.STDOUT, timeout=timeout)
            rc: int | None = proc.returncode
        except subprocess.TimeoutExpired:
            rc = None
    base["child_wall_seconds"] = time.perf_counter() - started
    if rc is None:
        return {"status": "failed", "error": f"timed out after {timeout:.0f} s", "log_tail": _tail(log), **base}
    if Path(spec["result"]).is_file():  # the child's own account, failed or not
        result = json.loads(Path(spec["result"]).read_text())
        if result.get("status") != "ok":
            result.setdefault("error", f"exit status {rc}")
            result["log_tail"] = _tail(log)
        return {**result, **base}
    return {"status": "failed", "error": f"exit status {rc}", "log_tail": _tail(log), **base}


def ratios(backends: Mapping[str, Mapping[str, Any]]) -> dict[str, float | None] | None:
    """Unsloth's figures over transformers' (None unless both ran)."""
    u, t = backends.get("unsloth", {}), backends.get("transformers", {})
    if u.get("status") != "ok" or t.get("status") != "ok":
        return None
    out: dict[str, float | None] = {}
    for key in ("seconds_per_step", "generated_tokens_per_s", "peak_gpu_memory_bytes"):
        a, b = u.get(key), t.get(key)
        out[key] = a / b if isinstance(a, (int, float)) and isinstance(b, (int, float)) and b else None
    return out


def _fmt(value: Any, kind: str) -> str:
    if value is None:
        return "n/a"
    if kind == "s":
        return f"{value:.3f}"
    if kind == "tok":
        return f"{value:,.0f}"
    if kind == "pct":
        return f"{100 * value:.1f}%"
    if kind == "gib":
        return f"{value / 2**30:.2f} GiB"
    return str(value)


def format_table(report: Mapping[str, Any]) -> str:
    """The printed table: one row per backend, then Unsloth/transformers ratios when both ran."""
    head = ("backend", "status", "s/step", "generated tok/s", "reward share", "peak GPU memory")
    rows = [head]
    notes = []
    for name, res in report["backends"].items():
        if res.get("status") == "ok":
            rows.append(
                (
                    name,
                    "ok",
                    _fmt(res["seconds_per_step"], "s"),
                    _fmt(res["generated_tokens_per_s"], "tok"),
                    _fmt(res["reward_share"], "pct"),
                    _fmt(res["peak_gpu_memory_bytes"], "gib"),
                )
            )
        else:
            rows.append((name, str(res.get("status")), "", "", "", ""))
            notes.append(f"{name}: {res.get('status')}: {res.get('reason') or res.get('error')}")
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    lines += notes
    r = report.get("ratios")
    if r:
        lines.append(
            "unsloth / transformers: s/step {}, tokens/s {}, peak memory {}".format(
                *(f"x{r[k]:.2f}" if r[k] is not None else "n/a" for k in r)
            )
        )
    return "\n".join(lines)


def write_report(path: Path, report: Mapping[str, Any]) -> None:
    from grpo_rewards.output_files import open_output

    path.parent.mkdir(parents=True, exist_ok=True)
    with open_output(path) as f:  # atomic for a file; /dev/null or a FIFO is written straight through
        f.write(json.dumps(report, indent=2) + "\n")


def _device() -> dict[str, Any]:
    import torch

    if torch.cuda.is_available():
        return {"name": torch.cuda.get_device_name(0), "cuda": True, "torch": torch.__version__}
    return {"name": "cpu", "cuda": False, "torch": torch.__version__}


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        return _child(args.child, args.child_spec)
    settings: Settings = args.settings
    device = _device()
    if not args.cpu_smoke and not device["cuda"]:
        print("gpu_backends: no CUDA GPU here; use --cpu-smoke for a plumbing check", file=sys.stderr)
        return 2
    work: Path = args.work_dir.resolve()
    work.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {
        "benchmark": "benchmarks/gpu_backends.py",
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "mode": "cpu-smoke" if args.cpu_smoke else "gpu",
        "command": [Path(sys.argv[0]).name, *(sys.argv[1:] if argv is None else argv)],
        "device": device,
        "settings": asdict(settings),
        "backends": {},
        "ratios": None,
    }
    print(f"gpu_backends: building the model in {work / 'model'}", file=sys.stderr)
    report["model"] = build_model(settings, work / "model")
    write_report(args.json, report)
    failed = False
    for backend in args.backends:
        python = args.unsloth_python if backend == "unsloth" else args.python
        if backend == "unsloth":
            missing = unsloth_missing(python)
            if missing:
                report["backends"][backend] = {"status": "skipped" if args.cpu_smoke else "failed", "reason": missing}
                failed = failed or not args.cpu_smoke
                write_report(args.json, report)
                continue
        print(f"gpu_backends: {backend} backend ({python}) ...", file=sys.stderr)
        res = run_child(backend, python, settings, work / "model", work, args.child_timeout)
        report["backends"][backend] = res
        failed = failed or res["status"] != "ok"
        if res["status"] != "ok":
            print(
                f"gpu_backends: {backend} failed ({res['error']}); log {res['log']}:\n{res['log_tail']}",
                file=sys.stderr,
            )
        report["ratios"] = ratios(report["backends"])
        write_report(args.json, report)
    print(format_table(report))
    print(f"\nJSON: {args.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
