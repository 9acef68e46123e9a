"""Datasets for ``grpo-train``: load, rename columns, build prompts, split, and check them
against what the rewards read, all before any model is loaded."""

from __future__ import annotations

import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from grpo_rewards.errors import ConfigError

__all__ = ["load_dataset_rows", "prepare_datasets", "prepare_heldout", "heldout_split", "check_columns", "DataError"]

_LOCAL_FORMATS = {".jsonl": "json", ".json": "json", ".parquet": "parquet", ".csv": "csv"}


class DataError(ConfigError):
    """The dataset cannot be used with this config (empty, missing columns, bad template)."""


def _load_raw(cfg: Mapping[str, Any]) -> Any:
    """A ``datasets.Dataset`` for ``cfg['name']`` (bundled, local file or Hub)."""
    import datasets

    name = cfg["name"]
    if not isinstance(name, str) or not name:
        raise DataError("dataset.name must be 'bundled:arithmetic', a local file or a Hub dataset name")
    if name.startswith("bundled:"):
        which = name.split(":", 1)[1]
        if which != "arithmetic":
            raise DataError(f"dataset.name {name!r}: the only bundled dataset is 'bundled:arithmetic'")
        from grpo_rewards_trainer.arithmetic import load_bundled_rows

        return datasets.Dataset.from_list(load_bundled_rows())
    if name.startswith("source:"):
        return _from_source(name.split(":", 1)[1], cfg.get("source_options") or {})
    path = Path(name).expanduser()
    if path.suffix in _LOCAL_FORMATS or path.exists() or name.startswith((".", "/", "~")):
        if not path.is_file():
            raise DataError(f"dataset.name {name!r}: no such file")
        if path.suffix not in _LOCAL_FORMATS:
            raise DataError(f"dataset.name {name!r}: local files must be {', '.join(_LOCAL_FORMATS)}")
        try:
            return datasets.load_dataset(_LOCAL_FORMATS[path.suffix], data_files=str(path), split="train")
        except Exception as exc:
            if "corresponds to no data" in str(exc) or path.stat().st_size == 0:
                # datasets refuses files without rows (e.g. a CSV with only a header).
                raise DataError(f"dataset {name!r} is empty (0 rows); nothing to train on") from exc
            raise DataError(f"dataset {name!r} could not be read: {type(exc).__name__}: {exc}") from exc
    try:
        return datasets.load_dataset(name, cfg.get("subset"), split=cfg.get("split") or "train")
    except Exception as exc:
        raise DataError(
            f"dataset.name {name!r}: not a local file, and loading it from the Hugging Face Hub failed: "
            f"{type(exc).__name__}: {exc}"
        ) from exc


def _from_source(source: str, options: Mapping[str, Any]) -> Any:
    """Rows from a dataset source registered by a plugin (hook ``register_dataset_sources``)."""
    import datasets

    from grpo_rewards.plugins import get_registry

    entry = get_registry().get("dataset source", source)  # unknown names: near-miss suggestions
    try:
        rows = entry.factory(**dict(options))
    except (TypeError, ValueError) as exc:
        raise DataError(
            f"dataset source {source!r} ({entry.plugin.describe()}) rejected dataset.source_options: {exc}"
        ) from exc
    if isinstance(rows, datasets.Dataset):
        return rows
    rows = list(rows)
    if not all(isinstance(r, Mapping) for r in rows):
        raise DataError(f"dataset source {source!r} ({entry.plugin.describe()}) must return row dicts or a Dataset")
    return datasets.Dataset.from_list([dict(r) for r in rows])


def _fields(template: str) -> list[str]:
    return [f for _, f, _, _ in string.Formatter().parse(template) if f]


def _prompt_builder(cfg: Mapping[str, Any], columns: list[str]) -> Any:
    """A function row -> prompt (a string, or a list of chat messages when ``chat``)."""
    template = cfg.get("prompt_template")
    system = cfg.get("system_prompt")
    chat = bool(cfg.get("chat", True))
    if template is None and "prompt" in columns:
        return None  # the dataset already has prompts; TRL takes them as they are
    if template is None:
        col = cfg.get("prompt_column")
        if col not in columns:
            raise DataError(
                f"dataset has no 'prompt' column and dataset.prompt_column {col!r} is not one of its columns "
                f"({', '.join(columns)}); set dataset.prompt_column or dataset.prompt_template"
            )
        template = "{" + str(col) + "}"
    missing = [f for f in _fields(template) if f not in columns]
    if missing:
        raise DataError(
            f"dataset.prompt_template uses column(s) {', '.join(map(repr, missing))}, "
            f"which the dataset does not have (columns: {', '.join(columns)})"
        )

    def build(row: Mapping[str, Any]) -> dict[str, Any]:
        text = template.format(**row)
        if chat:
            messages = [{"role": "system", "content": system}] if system else []
            return {"prompt": [*messages, {"role": "user", "content": text}]}
        return {"prompt": f"{system}\n\n{text}" if system else text}

    return build


def check_columns(columns: list[str], required: Mapping[str, list[str]], source: str) -> None:
    """Raise :class:`DataError` naming each reward whose required column is missing."""
    problems = [
        f"reward {comp!r} needs column {col!r}" for comp, cols in required.items() for col in cols if col not in columns
    ]
    if problems:
        raise DataError(
            f"dataset {source}: " + "; ".join(problems) + f". The dataset has columns: {', '.join(columns)}. "
            "Rename a column with dataset.rename = {old = \"new\"} or set the reward's 'column' option."
        )


def load_dataset_rows(cfg: Mapping[str, Any]) -> Any:
    """Load and rename (no prompts yet): the dataset as the rewards will see its columns."""
    ds = _load_raw(cfg)
    rename = dict(cfg.get("rename") or {})
    unknown = [old for old in rename if old not in ds.column_names]
    if unknown:
        raise DataError(
            f"dataset.rename: column(s) {', '.join(map(repr, unknown))} not in the dataset "
            f"(columns: {', '.join(ds.column_names)})"
        )
    if rename:
        ds = ds.rename_columns(rename)
    split = cfg.get("split")
    if "split" in ds.column_names and split and not _is_hub(cfg):
        # A file (or the bundled data) that carries its own split column: keep that split's rows.
        names = sorted(set(ds["split"]))
        if split not in names:
            raise DataError(f"dataset.split {split!r}: the dataset's 'split' column has only {', '.join(names)}")
        ds = ds.filter(lambda row: row["split"] == split, desc=f"{split} split")
    elif split and split != "train" and not _is_hub(cfg):
        raise DataError(
            f"dataset.split {split!r}: {cfg['name']!r} has no 'split' column to choose rows by "
            "(a local file or a dataset source is one split; add a 'split' column or use the whole file)"
        )
    return ds


def _is_hub(cfg: Mapping[str, Any]) -> bool:
    name = str(cfg["name"])
    return not (name.startswith(("bundled:", "source:", ".", "/", "~")) or Path(name).suffix in _LOCAL_FORMATS)


def heldout_split(cfg: Mapping[str, Any], heldout: Mapping[str, Any]) -> str | None:
    """The split held-out accuracy is measured on: ``heldout.split``, where ``"auto"`` means the
    bundled dataset's ``"heldout"`` split and no evaluation for other datasets."""
    split = heldout.get("split")
    if split == "auto":
        return "heldout" if cfg["name"] == "bundled:arithmetic" else None
    return str(split) if split else None


def prepare_heldout(cfg: Mapping[str, Any], heldout: Mapping[str, Any]) -> Any:
    """The held-out rows with their prompts (built as the training prompts are), or ``None``.

    :raises DataError: the split does not exist, is the training split, or is empty.
    """
    split = heldout_split(cfg, heldout)
    if split is None:
        return None
    if split == cfg.get("split"):
        raise DataError(f"heldout.split {split!r} is the training split (dataset.split); name another split")
    ds = load_dataset_rows({**cfg, "split": split})
    if len(ds) == 0:
        raise DataError(f"heldout.split {split!r} of dataset {cfg['name']!r} has no rows")
    build = _prompt_builder(cfg, list(ds.column_names))
    if build is not None:
        ds = ds.map(build, desc="building held-out prompts")
    if heldout.get("max_samples"):
        ds = ds.select(range(min(len(ds), int(heldout["max_samples"]))))
    return ds


def prepare_datasets(cfg: Mapping[str, Any], required: Mapping[str, list[str]], seed: int) -> tuple[Any, Any]:
    """``(train_dataset, eval_dataset or None)`` ready for ``GRPOTrainer``.

    :param cfg: the ``dataset`` section.
    :param required: :meth:`grpo_rewards.RewardSet.required_columns`.
    :raises DataError: empty dataset, missing columns, bad template or split.
    """
    source = repr(cfg["name"])
    ds = load_dataset_rows(cfg)
    if len(ds) == 0:
        raise DataError(f"dataset {source} is empty (0 rows); nothing to train on")
    columns = list(ds.column_names)
    check_columns(columns, required, source)
    build = _prompt_builder(cfg, columns)
    if build is not None:
        ds = ds.map(build, desc="building prompts")
    if cfg.get("shuffle", True):
        ds = ds.shuffle(seed=seed)
    if cfg.get("max_samples"):
        ds = ds.select(range(min(len(ds), int(cfg["max_samples"]))))
    eval_ds = None
    eval_size = cfg.get("eval_size") or 0
    if eval_size:
        n = int(round(eval_size * len(ds))) if isinstance(eval_size, float) and eval_size < 1 else int(eval_size)
        if not 0 < n < len(ds):
            raise DataError(f"dataset.eval_size {eval_size!r} leaves no training rows ({len(ds)} rows in total)")
        split = ds.train_test_split(test_size=n, seed=seed, shuffle=False)
        ds, eval_ds = split["train"], split["test"]
    return ds, eval_ds
