"""The ``grpo-train`` configuration: sections, defaults, loading, ``--set`` overrides, validation.

A config is a TOML or YAML file with these sections (every key optional; see ``docs/training.md``)::

    seed = 0
    backend = "auto"          # "auto" | "unsloth" | "transformers"
    cpu_threads = "auto"      # torch threads on CPU

    [model]                   # what to train
    [model.lora]              # LoRA adapter (r = 0: train all weights)
    [dataset]                 # where the prompts come from and how they are formatted
    [[rewards]]               # the reward components, exactly as grpo_rewards.load_rewards takes them
    [reward_defaults]         # optional: the ``defaults`` table of a reward spec (outcome policies)
    [grpo]                    # passed through to trl.GRPOConfig
    [output]                  # where results go

Without a config the embedded default (:data:`DEFAULT_CONFIG`) trains the tiny locally built
model on the bundled arithmetic data. A user config is merged over the default section by
section, except ``rewards`` which replaces the default list as a whole. Unknown keys are errors
naming the key and the nearest valid one; ``grpo`` keys are checked against ``trl.GRPOConfig``.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from grpo_rewards.composition import parse_set_value
from grpo_rewards.errors import ConfigError
from grpo_rewards_trainer.tiny import SYSTEM_PROMPT

__all__ = [
    "DEFAULT_CONFIG",
    "BACKENDS",
    "load_config",
    "apply_overrides",
    "resolve_config",
    "validate_grpo_keys",
]

BACKENDS = ("auto", "unsloth", "transformers")


def _checkpointing_key() -> str:
    """The ``TrainingArguments`` name of activation (gradient) checkpointing: transformers 5.23
    renamed ``gradient_checkpointing`` to ``activation_checkpointing`` (the old name warns with a
    FutureWarning until v6); older versions know only the old name. Read from the installed
    version, so that loading a config does not import transformers."""
    try:
        found = re.match(r"(\d+)\.(\d+)", metadata.version("transformers"))
    except metadata.PackageNotFoundError:
        found = None
    new = found is not None and (int(found[1]), int(found[2])) >= (5, 23)
    return "activation_checkpointing" if new else "gradient_checkpointing"


CHECKPOINTING_KEY = _checkpointing_key()
_CHECKPOINTING_NAMES = {"activation_checkpointing", "gradient_checkpointing"}

# fmt: off
DEFAULT_CONFIG: dict[str, Any] = {
    "seed": 0,
    "backend": "auto",
    # torch intra-op threads: "auto" = 1 for the tiny model on CPU (its matrices are too small to
    # gain from threads, and one core stays free for the reward workers), else torch's default.
    "cpu_threads": "auto",
    "model": {
        # "tiny" builds the tiny Qwen2-style model and tokenizer locally (grpo_rewards_trainer.tiny);
        # anything else is a local directory or a Hugging Face Hub model id.
        "name": "tiny",
        "tiny_warm_start_steps": 400,    # sloppy demonstrations (60 % off by one) of the train split
        "dtype": "auto",                 # "auto" | "float32" | "bfloat16" | "float16"
        "max_seq_length": 512,
        "load_in_4bit": False,
        "fast_inference": False,         # Unsloth: generate with vLLM inside the trainer (GPU)
        "gpu_memory_utilization": 0.6,   # Unsloth fast_inference only
        "trust_remote_code": False,
        "attn_implementation": None,
        "lora": {
            "r": 0,                      # 0: train all weights (the tiny model); 8-64 for real models
            "alpha": 16,
            "dropout": 0.0,
            "target_modules": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],
            "use_gradient_checkpointing": "unsloth",  # Unsloth backend only
        },
    },
    "dataset": {
        # "bundled:arithmetic", a local .jsonl/.json/.parquet/.csv file, a Hub dataset name, or
        # "source:<name>" for a dataset source registered by a plugin (grpo-rewards list).
        "name": "bundled:arithmetic",
        "source_options": {},            # keyword options of a "source:<name>" dataset source
        "subset": None,                  # Hub config name (e.g. "main" for openai/gsm8k)
        "split": "train",                # a Hub split; for files with a "split" column, the rows to keep
        "rename": {},                    # {old_column = "new_column"}, applied first
        "prompt_column": "question",     # used when there is no "prompt" column and no template
        "prompt_template": None,         # e.g. "Question: {question}" (str.format over the row)
        "system_prompt": SYSTEM_PROMPT,  # None: no system message
        "chat": True,                    # conversational prompts (the tokenizer's chat template)
        "max_samples": None,
        "shuffle": True,
        "eval_size": 0,                  # rows held out as eval_dataset (int, or a fraction < 1)
    },
    "rewards": [
        {"name": "math", "weight": 1.0},
        {"name": "format.think", "weight": 0.1, "options": {"mode": "soft"}},
        {"name": "length.overlong", "weight": 0.1},  # max_length: the trainer's max_completion_length
    ],
    "reward_defaults": None,
    # Task accuracy with greedy decoding on questions training never saw, before, during and
    # after GRPO ("auto": the bundled dataset's "heldout" split; otherwise a split name, or none).
    "heldout": {
        "split": "auto",
        "reward": "auto",                # the component whose "correct" outcome counts ("auto": math, else
                                         # the first that judges against a reference column)
        "max_samples": 300,
        "every": 20,                     # steps between evaluations (0: before and after only)
    },
    "grpo": {
        "max_steps": 60,
        "learning_rate": 2e-4,
        "lr_scheduler_type": "constant",
        "per_device_train_batch_size": 64,
        "num_generations": 8,
        "max_completion_length": 32,
        "temperature": 1.0,
        "beta": 0.0,
        CHECKPOINTING_KEY: False,         # TRL's default is True; the tiny model does not need it
        "logging_steps": 1,
        "save_strategy": "steps",
        "save_steps": 20,
        "save_total_limit": 2,
        "report_to": "none",
        "disable_tqdm": False,
    },
    "output": {
        "dir": "grpo-train-output",
        "plot": True,                    # rewards.png
        "save_model": True,              # final model/adapter + tokenizer in <dir>/model
        "overwrite": False,              # allow a fresh run in a directory that has checkpoints
    },
}
# fmt: on

_TOP_KEYS = tuple(DEFAULT_CONFIG)
# Sections whose contents are open-ended tables (checked elsewhere or free-form).
_FREE_TABLES = {("dataset", "rename"), ("dataset", "source_options"), ("grpo",)}


def _near(key: str, allowed: Sequence[str]) -> str:
    hint = difflib.get_close_matches(key, list(allowed), n=1, cutoff=0.6)
    if hint:
        return f"; did you mean {hint[0]!r}?"
    return f"; valid keys: {', '.join(sorted(allowed))}"


def _check(user: Mapping[str, Any], schema: Mapping[str, Any], path: tuple[str, ...], source: str) -> None:
    for key, value in user.items():
        where = ".".join((*path, str(key)))
        if key not in schema:
            raise ConfigError(f"{source}: unknown key {where!r}{_near(str(key), list(schema))}")
        sub = schema[key]
        if (*path, key) in _FREE_TABLES or key == "rewards" or key == "reward_defaults":
            continue
        if isinstance(sub, dict):
            if not isinstance(value, Mapping):
                raise ConfigError(f"{source}: {where!r} must be a table, got {type(value).__name__}")
            _check(value, sub, (*path, str(key)), source)


def _merge(base: dict[str, Any], user: Mapping[str, Any], path: tuple[str, ...] = ()) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in user.items():
        if (
            isinstance(value, Mapping)
            and isinstance(out.get(key), dict)
            and (*path, key) not in {("dataset", "rename"), ("dataset", "source_options")}
            and key not in ("rewards", "reward_defaults")
        ):
            out[key] = _merge(out[key], value, (*path, key))
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_config_file(path: str | Path) -> dict[str, Any]:
    """Read a TOML (``.toml``) or YAML (``.yaml``/``.yml``) config file into a dict."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file {str(p)!r} does not exist")
    text = p.read_text(encoding="utf-8")
    if p.suffix == ".toml":
        try:
            data: Any = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{p}: invalid TOML: {exc}") from exc
    elif p.suffix in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{p}: invalid YAML: {exc}") from exc
        data = {} if data is None else data
    else:
        raise ConfigError(f"{p}: config files must end in .toml, .yaml or .yml")
    if not isinstance(data, Mapping):
        raise ConfigError(f"{p}: the top level must be a table of sections, got {type(data).__name__}")
    return dict(data)


def apply_overrides(config: Mapping[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Apply ``key.path=value`` overrides (``grpo.max_steps=10``, ``model.lora.r=16``)."""
    out = copy.deepcopy(dict(config))
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--set {item!r}: expected KEY=VALUE, e.g. grpo.max_steps=10")
        parts = key.split(".")
        node: dict[str, Any] = out
        for i, part in enumerate(parts[:-1]):
            nxt = node.get(part)
            if nxt is None:
                nxt = node[part] = {}
            if not isinstance(nxt, dict):
                raise ConfigError(f"--set {item!r}: {'.'.join(parts[: i + 1])!r} is not a table")
            node = nxt
        node[parts[-1]] = parse_set_value(raw.strip())
    return out


def validate_grpo_keys(grpo: Mapping[str, Any], source: str = "config") -> None:
    """Check that every ``grpo`` key is a field of ``trl.GRPOConfig`` (imports TRL)."""
    from trl import GRPOConfig

    fields = [f.name for f in dataclasses.fields(GRPOConfig) if f.init]
    reserved = {"output_dir": "output.dir", "seed": "the top-level 'seed'", "reward_weights": "each reward's 'weight'"}
    for key in grpo:
        if key in reserved:
            raise ConfigError(f"{source}: 'grpo.{key}' is set by grpo-train; use {reserved[key]} instead")
        if key not in fields:
            raise ConfigError(f"{source}: unknown key 'grpo.{key}' (not a trl.GRPOConfig field){_near(key, fields)}")


def resolve_config(
    user: Mapping[str, Any] | None = None, overrides: Sequence[str] = (), source: str = "config"
) -> dict[str, Any]:
    """Merge ``user`` and ``overrides`` over :data:`DEFAULT_CONFIG` and check every key except
    ``grpo`` ones (those need TRL imported, see :func:`validate_grpo_keys`)."""
    user = dict(user or {})
    _check(user, DEFAULT_CONFIG, (), source)
    merged = _merge(DEFAULT_CONFIG, user)
    over: dict[str, Any] = {}
    if overrides:
        over = apply_overrides({}, overrides)
        _check(over, DEFAULT_CONFIG, (), "--set")
        merged = _merge(merged, over)
    threads = merged["cpu_threads"]
    if threads != "auto" and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ConfigError(f"{source}: cpu_threads must be 'auto' or a positive integer, got {threads!r}")
    backend = merged["backend"]
    if backend not in BACKENDS:
        raise ConfigError(f"{source}: backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
    if not isinstance(merged["grpo"], Mapping):
        raise ConfigError(f"{source}: 'grpo' must be a table")
    # Checkpointing has two names (CHECKPOINTING_KEY): one the user gave wins over the default's.
    given = {k for d in (user, over) if isinstance(d.get("grpo"), Mapping) for k in d["grpo"]}
    if given & _CHECKPOINTING_NAMES and CHECKPOINTING_KEY not in given:
        merged["grpo"] = {k: v for k, v in merged["grpo"].items() if k != CHECKPOINTING_KEY}
    for key in ("rename", "source_options"):
        if not isinstance(merged["dataset"][key], Mapping):
            raise ConfigError(f"{source}: 'dataset.{key}' must be a table")
    return merged


def load_config(path: str | Path | None = None, overrides: Sequence[str] = ()) -> dict[str, Any]:
    """Load a config file (or the embedded default when ``path`` is None) and apply overrides."""
    if path is None:
        # The embedded demo starts afresh each time, so README line 1 runs twice in a row; a
        # config file keeps its checkpoints unless it says otherwise.
        return resolve_config({"output": {"overwrite": True}}, overrides, source="default config")
    user = load_config_file(path)
    rewards = user.get("rewards")
    if isinstance(rewards, str) and not Path(rewards).is_absolute():
        # A reward file named in a config is relative to that config, wherever grpo-train runs.
        user["rewards"] = str(Path(path).parent / rewards)
    return resolve_config(user, overrides, source=str(path))


def reward_spec(config: Mapping[str, Any]) -> Any:
    """The ``load_rewards`` argument for this config: the ``rewards`` list (with
    ``reward_defaults``), or a path to a reward TOML when ``rewards`` is a string."""
    rewards = config["rewards"]
    if isinstance(rewards, str):
        return Path(rewards)
    spec: dict[str, Any] = {"rewards": rewards}
    if config.get("reward_defaults"):
        spec["defaults"] = config["reward_defaults"]
    return spec


def dumps(config: Mapping[str, Any]) -> str:
    """The config as JSON (for ``run.json`` and ``--print-config``)."""
    return json.dumps(config, indent=2, sort_keys=False, default=str)
