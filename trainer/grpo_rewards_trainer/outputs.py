"""What a run leaves in its output directory: ``run.json``, ``metrics.jsonl``, ``rewards.png``."""

from __future__ import annotations

import json
import math
import platform
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grpo_rewards.output_files import open_output

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "CompletionsWriter",
    "MetricsWriter",
    "read_metrics",
    "plot_rewards",
    "PANEL_TITLES",
    "TROUBLE_OUTCOMES",
    "versions",
    "plugins_info",
    "reward_trend",
    "write_json",
]

_PACKAGES = ("grpo-rewards", "trl", "transformers", "torch", "peft", "accelerate", "datasets", "unsloth", "vllm")


def versions() -> dict[str, str | None]:
    """Installed versions of the training stack (``None``: not installed)."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for dist in _PACKAGES:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    return out


def plugins_info() -> list[dict[str, Any]]:
    """Every loaded grpo-rewards plugin with its distribution and version, and load failures."""
    from grpo_rewards import get_registry

    reg = get_registry()
    plugins = [
        {"name": p.name, "distribution": p.distribution, "version": p.version, "builtin": p.builtin}
        for p in reg.plugins
    ]
    for f in reg.failures:
        plugins.append({"name": f.plugin.name, "distribution": f.plugin.distribution, "failed": f.describe()})
    return plugins


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    """Write ``data`` as indented JSON, replacing a regular file atomically (a symbolic link stays a
    link; ``/dev/null`` or a FIFO is written straight through: :func:`grpo_rewards.output_files.open_output`)."""
    with open_output(path) as f:
        f.write(json.dumps(data, indent=2, default=str) + "\n")


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class _JsonlWriter:
    """A JSON-lines file of rows with a ``step``; a resumed run drops the rows after its checkpoint."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def clear(self) -> None:
        """Start afresh (a new run in the same output directory): an old file is emptied."""
        self._rewrite([])

    def truncate_after(self, step: int) -> None:
        """Drop the rows of the steps after ``step`` (a run resumed from that step's checkpoint)."""
        if self.path.is_file():
            self._rewrite([r for r in read_metrics(self.path) if int(r.get("step", 0)) <= step])

    def _rewrite(self, rows: Sequence[Mapping[str, Any]]) -> None:
        # Only a regular file (or a symbolic link to one, which stays a link) holds rows to rewrite;
        # /dev/null or a FIFO is left alone. The new rows replace the old atomically.
        if not self.path.is_file():
            return
        with open_output(self.path) as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")


class MetricsWriter(_JsonlWriter):
    """Appends one JSON line per training log to
    ``metrics.jsonl``: ``step``, ``reward``, ``reward_std``, ``rewards/<name>/mean``,
    ``outcomes/<name>/<outcome>`` (from the reward library) and everything else TRL logs.

    On resume, rows of steps after the checkpoint are dropped first, so the file stays one row
    per step."""

    def write(self, step: int, logs: Mapping[str, Any]) -> None:
        """Append one row (called from the trainer callback's ``on_log``)."""
        if "reward" not in logs:
            return  # the end-of-training summary goes to run.json, not here
        row = {"step": int(step), **{k: _clean(v) for k, v in logs.items()}}
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")


class CompletionsWriter(_JsonlWriter):
    """Appends every scored completion to ``completions.jsonl``: ``step`` (the step whose metrics
    its rewards went into), ``mode`` (``train``/``eval``), ``prompt``, ``completion``, every
    dataset column, and ``rewards`` (each reward function's value, ``null`` for no signal).

    The rows are what ``grpo-rewards score`` reads, so a run's rewards can be re-scored offline
    with the same code path."""

    def write(
        self,
        *,
        step: int,
        mode: str,
        inputs: Sequence[Mapping[str, Any]],
        prompts: Sequence[Any],
        completions: Sequence[Any],
        names: Sequence[str],
        rewards: Sequence[Sequence[float]],
    ) -> None:
        with self.path.open("a", encoding="utf-8") as f:
            for example, prompt, completion, values in zip(inputs, prompts, completions, rewards, strict=True):
                row: dict[str, Any] = {"step": int(step), "mode": mode}
                row.update({k: v for k, v in example.items() if k not in ("prompt", "completion", "completion_ids")})
                row.update(
                    prompt=prompt,
                    completion=completion,
                    rewards={n: _clean(float(v)) for n, v in zip(names, values, strict=True)},
                )
                f.write(json.dumps(row, default=str) + "\n")


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """The rows of a ``metrics.jsonl``."""
    with Path(path).open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def reward_trend(rows: Sequence[Mapping[str, Any]], key: str = "reward") -> dict[str, float | int]:
    """Mean of ``key`` over the first and the last quarter of the logged steps."""
    values = [float(r[key]) for r in rows if r.get(key) is not None]
    if len(values) < 4:
        return {"steps": len(values)}
    q = len(values) // 4
    first, last = values[:q], values[-q:]
    return {
        "steps": len(values),
        "first_quarter_mean": sum(first) / len(first),
        "last_quarter_mean": sum(last) / len(last),
    }


# Outcomes that mean a component gave no usable signal, or that something went wrong in scoring:
# the rates worth watching over a run (correct, wrong, partial, scored and skipped are its normal course).
TROUBLE_OUTCOMES = ("no_answer", "unparseable", "bad_reference", "timeout", "error")
PANEL_TITLES = ("Rewards", "Outcome rates", "Held-out accuracy", "Signs of reward hacking")


def _series(rows: Sequence[Mapping[str, Any]], key: str) -> list[float]:
    return [float("nan") if r.get(key) is None else float(r[key]) for r in rows]


def _outcome_series(rows: Sequence[Mapping[str, Any]], name: str, outcome: str) -> list[float]:
    """A rate per row; 0 where the row has other outcome rates of the component but not this one
    (the reward library logs the outcomes it has seen so far)."""
    key, prefix = f"outcomes/{name}/{outcome}", f"outcomes/{name}/"
    out = []
    for r in rows:
        if r.get(key) is not None:
            out.append(float(r[key]))
        else:
            out.append(0.0 if any(k.startswith(prefix) for k in r) else float("nan"))
    return out


def _component_names(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    names = {
        k[len("rewards/") : -len("/mean")] for r in rows for k in r if k.startswith("rewards/") and k.endswith("/mean")
    }
    return sorted(names)


def _note(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=9, color="0.4", wrap=True)


def plot_rewards(
    rows: Sequence[Mapping[str, Any]],
    path: Path,
    title: str = "GRPO rewards",
    heldout: Sequence[Sequence[float]] | None = None,
) -> Figure:
    """Draw ``rewards.png`` from the rows of ``metrics.jsonl``, in four panels (:data:`PANEL_TITLES`):

    - **Rewards**: the total (``reward``, with its ``reward_std`` band) and each component's mean
      (``rewards/<name>/mean``);
    - **Outcome rates**: per component, the share of the batch with each outcome of
      :data:`TROUBLE_OUTCOMES` that occurs in the run (``outcomes/<name>/<outcome>``);
    - **Held-out accuracy**: ``heldout``, ``(step, accuracy)`` points, or a note that there was no
      held-out evaluation;
    - **Signs of reward hacking**: ``hacking/format_share`` and ``hacking/length_corr``
      (:mod:`grpo_rewards_trainer.reward_hacking`).

    :returns: the figure, closed (its axes keep their titles, lines and labels for inspection).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [r["step"] for r in rows]
    fig, axes = plt.subplots(2, 2, figsize=(12, 8), dpi=100)
    ax_rewards, ax_outcomes, ax_heldout, ax_hacking = axes.flat
    for ax, panel in zip(axes.flat, PANEL_TITLES, strict=True):
        ax.set_title(panel, fontsize=11)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    fig.suptitle(title)

    # Rewards
    total = _series(rows, "reward")
    ax_rewards.plot(steps, total, color="black", linewidth=2, label="reward (total)")
    std = _series(rows, "reward_std")
    if not any(math.isnan(v) for v in total + std):
        lo = [t - s for t, s in zip(total, std, strict=True)]
        hi = [t + s for t, s in zip(total, std, strict=True)]
        ax_rewards.fill_between(steps, lo, hi, color="black", alpha=0.08, label="± reward_std")
    for name in _component_names(rows):
        ax_rewards.plot(steps, _series(rows, f"rewards/{name}/mean"), linewidth=1.2, label=name)
    ax_rewards.set_ylabel("mean reward")
    ax_rewards.legend(loc="best", fontsize=8)

    # Outcome rates
    logged = any(k.startswith("outcomes/") for r in rows for k in r)
    drawn = 0
    for name in _component_names(rows):
        for outcome in TROUBLE_OUTCOMES:
            ys = _outcome_series(rows, name, outcome)
            if any(v > 0 for v in ys if not math.isnan(v)):
                ax_outcomes.plot(steps, ys, linewidth=1.2, label=f"{name}: {outcome}")
                drawn += 1
    ax_outcomes.set_ylabel("share of the batch")
    ax_outcomes.set_ylim(-0.02, 1.02)
    if drawn:
        ax_outcomes.legend(loc="best", fontsize=8)
    else:
        _note(
            ax_outcomes,
            f"no {', '.join(TROUBLE_OUTCOMES)} outcomes" if logged else "no outcome rates logged",
        )

    # Held-out accuracy
    points = [(float(p[0]), float(p[1])) for p in heldout or []]
    ax_heldout.set_ylabel("accuracy")
    ax_heldout.set_ylim(-0.02, 1.02)
    if points:
        ax_heldout.plot([p[0] for p in points], [p[1] for p in points], marker="o", label="held-out accuracy")
        ax_heldout.legend(loc="best", fontsize=8)
    else:
        _note(ax_heldout, "no held-out evaluation")

    # Signs of reward hacking
    from grpo_rewards_trainer.reward_hacking import FORMAT_SHARE, LENGTH_CORR

    hacking = {FORMAT_SHARE: "format-only share of the reward", LENGTH_CORR: "reward-length correlation"}
    drawn = 0
    for key, label in hacking.items():
        if any(key in r for r in rows):
            ax_hacking.plot(steps, _series(rows, key), linewidth=1.2, label=label)
            drawn += 1
    ax_hacking.axhline(0.0, color="0.5", linewidth=0.8)
    ax_hacking.set_ylim(-1.05, 1.05)
    if drawn:
        ax_hacking.legend(loc="best", fontsize=8)
    else:
        _note(ax_hacking, "no hacking signals logged")

    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return fig
