"""Train the embedded demo twice, with the seed's substring reward and with the demo's
composition, then plot both runs in one figure and print a table of figures.

    python examples/hacking/run.py --out /tmp/hacking --plot examples/hacking/hacking.png

Each run is ``grpo-train`` on one of this folder's configs (everything but the rewards is the
embedded demo's default: seed 0, 60 steps, the bundled arithmetic data, held-out evaluation every
20 steps), one after the other, in ``<out>/seed`` and ``<out>/demo``. ``--plot-only`` redraws the
figure and the table from runs already there. ``--set KEY=VALUE`` goes to both runs (the tests
use ``--set grpo.max_steps=2``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from substring_reward import reward_fn  # noqa: E402  (this folder, as the configs find it)

RUNS = {
    "seed": ("the seed's `gt in resp`", HERE / "seed_reward.toml", "tab:red"),
    "demo": ("the demo's composition", HERE / "demo_reward.toml", "tab:blue"),
}
TAIL_STEPS = 10  # the completions of the last steps that the table describes


def train(name: str, out: Path, overrides: list[str]) -> None:
    """One ``grpo-train`` run of ``RUNS[name]``'s config, with this folder on ``PYTHONPATH``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(HERE), env.get("PYTHONPATH", "")) if p)
    cmd = [sys.executable, "-m", "grpo_rewards_trainer.cli", str(RUNS[name][1]), "-o", str(out / name)]
    cmd += ["--set", "output.overwrite=true"]
    for item in overrides:
        cmd += ["--set", item]
    print("+", " ".join(cmd), flush=True)
    subprocess.run(cmd, env=env, check=True)


def _text(completion: Any) -> str:
    return completion if isinstance(completion, str) else str(completion[-1]["content"])


def summarize(run_dir: Path) -> dict[str, Any]:
    """The figures of one run: its reward per step, held-out curve, and what its last completions look like."""
    metrics = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]
    info = json.loads((run_dir / "run.json").read_text())
    rows = [json.loads(line) for line in (run_dir / "completions.jsonl").read_text().splitlines() if line.strip()]
    rows = [r for r in rows if r.get("mode", "train") == "train"]
    last = max(r["step"] for r in rows)
    rewards = [m["reward"] for m in metrics]
    q = max(1, len(rewards) // 4)
    final = [r for r in rows if r["step"] == last]
    return {
        "steps": [m["step"] for m in metrics],
        "reward": rewards,
        "math": [m.get("rewards/math/mean") for m in metrics],
        "reward_first": rewards[0],
        "reward_last": rewards[-1],
        "reward_first_quarter": sum(rewards[:q]) / q,
        "reward_last_quarter": sum(rewards[-q:]) / q,
        "heldout": info["heldout"],
        "head": shape([r for r in rows if r["step"] <= min(TAIL_STEPS, last)]),
        "tail": shape([r for r in rows if r["step"] > max(0, last - TAIL_STEPS)]),
        # the first completion of each of the last step's first four prompts (num_generations apart)
        "samples": [
            {
                "step": r["step"],
                "question": r["question"],
                "answer": r["answer"],
                "completion": _text(r["completion"]),
                "substring": reward_fn([_text(r["completion"])], [str(r["answer"])])[0],
                "math": r["rewards"].get("math"),
            }
            for r in final[:: max(1, len(final) // 8)][:4]
        ],
    }


def shape(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """What a run's completions look like: who pays them, their tags, how many numbers they write."""
    texts = [_text(r["completion"]) for r in rows]
    paid = reward_fn(texts, [str(r["answer"]) for r in rows])
    correct = [r["rewards"].get("math") == 1.0 for r in rows]
    n = max(1, len(rows))
    return {
        "steps": f"{min(r['step'] for r in rows)}-{max(r['step'] for r in rows)}" if rows else "",
        "n": len(rows),
        "substring_paid": sum(paid) / n,
        "math_correct": sum(correct) / n,
        "paid_not_correct": sum(p == 1.0 and not c for p, c in zip(paid, correct, strict=True)) / n,
        "closed_answer_tag": sum("<answer>" in t and "</answer>" in t for t in texts) / n,
        "numbers": sum(len(re.findall(r"\d+", t)) for t in texts) / n,
        "mean_chars": sum(map(len, texts)) / n,
    }


def plot(runs: dict[str, dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4.6))
    for name, s in runs.items():
        label, _, color = RUNS[name]
        left.plot(s["steps"], s["reward"], color=color, label=f"{label}: the reward it trains on")
        left.plot(s["steps"], s["math"], color=color, ls=":", label=f"{label}: math correct, same samples")
        curve = s["heldout"].get("curve") or []
        right.plot([c[0] for c in curve], [100 * c[1] for c in curve], "o-", color=color, label=label)
    left.set(title="Mean reward of the sampled completions", xlabel="step", ylabel="reward")
    right.set(title="Held-out accuracy (greedy, math correct)", xlabel="step", ylabel="% of 300 unseen questions")
    right.set_ylim(0, 100)
    right.legend(fontsize=8)
    fig.legend(*left.get_legend_handles_labels(), loc="lower center", ncol=2, fontsize=8, frameon=False)
    fig.tight_layout(rect=(0, 0.13, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def table(runs: dict[str, dict[str, Any]]) -> str:
    """Two Markdown tables: the rewards and held-out accuracy, then what the completions look like."""
    lines = [
        "| run | mean reward, step 1 -> last | first -> last quarter of steps "
        "| held-out accuracy before -> after | held-out curve (step: accuracy) | most common held-out answer after |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, s in runs.items():
        h = s["heldout"]
        curve = ", ".join(f"{c[0]}: {_pct(c[1])}" for c in h.get("curve") or [])
        lines.append(
            f"| {RUNS[name][0]} | {s['reward_first']:.3f} -> {s['reward_last']:.3f} "
            f"| {s['reward_first_quarter']:.3f} -> {s['reward_last_quarter']:.3f} "
            f"| {_pct(h['before'])} -> {_pct(h['after'])} | {curve} "
            f"| {h['top_answer']!r} ({_pct(h['top_answer_share'])}) |"
        )
    lines += [
        "",
        "| run | steps | completions | substring pays | math correct | substring pays, math not correct "
        "| closed `<answer>` | numbers written | characters |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, s in runs.items():
        for t in (s["head"], s["tail"]):
            lines.append(
                f"| {RUNS[name][0]} | {t['steps']} | {t['n']} | {_pct(t['substring_paid'])} | {_pct(t['math_correct'])} "
                f"| {_pct(t['paid_not_correct'])} | {_pct(t['closed_answer_tag'])} | {t['numbers']:.1f} "
                f"| {t['mean_chars']:.1f} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, default=Path("hacking-output"), help="where the two runs go")
    p.add_argument("--plot", type=Path, help="the figure (default: <out>/hacking.png)")
    p.add_argument("--plot-only", action="store_true", help="do not train; redraw from the runs in --out")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    args = p.parse_args(argv)
    if not args.plot_only:
        for name in RUNS:
            train(name, args.out, args.overrides)
    runs = {name: summarize(args.out / name) for name in RUNS}
    plot(runs, args.plot or args.out / "hacking.png")
    text = table(runs)
    samples = "\n".join(
        f"- {RUNS[name][0]}, step {x['step']}: {x['question']!r} (gold {x['answer']}): {x['completion']!r} "
        f"-> substring {x['substring']}, math {x['math']}"
        for name, s in runs.items()
        for x in s["samples"]
    )
    (args.out / "figures.md").write_text(f"{text}\n\nLast completions:\n\n{samples}\n", encoding="utf-8")
    (args.out / "figures.json").write_text(json.dumps(runs, indent=1), encoding="utf-8")
    print(f"{text}\n\n{samples}\n\nfigure: {args.plot or args.out / 'hacking.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
