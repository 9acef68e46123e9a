"""The bundled arithmetic word-problem dataset: procedurally generated, seeded, no download.

``data/arithmetic.jsonl`` inside this package is exactly ``generate_problems(ARITHMETIC_SIZE,
seed=ARITHMETIC_SEED)`` written one JSON object per line (a test checks this), so its provenance
is this module. Each row has ``question`` (text), ``answer`` (the integer result as a string, the
column the ``math`` and ``exact`` verifiers read by default), ``expression`` and ``split``.

The problems are sums and differences of one-digit numbers, asked plainly ("What is 7 + 5?") or
as one-step word problems ("Ana has 7 pens and gets 5 more. ..."); every question is different.
``split`` is ``"heldout"`` for about 30 % of the questions, chosen by a hash of the question's
text, and ``"train"`` for the rest: the demo warm-starts and trains on ``train`` only and
measures task accuracy on ``heldout``, questions that neither phase saw (their arithmetic facts
are the same small table, asked in other words).
"""

from __future__ import annotations

import hashlib
import json
import random
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = [
    "ARITHMETIC_SEED",
    "ARITHMETIC_SIZE",
    "HELDOUT_PERCENT",
    "generate_problems",
    "bundled_dataset_path",
    "load_bundled_rows",
    "split_of",
]

ARITHMETIC_SEED = 1234
ARITHMETIC_SIZE = 1000
HELDOUT_PERCENT = 30

_NAMES = ("Ana", "Ben", "Chen", "Dara", "Eli", "Femi", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lea", "Mo", "Nia")
_ITEMS = ("apples", "pens", "coins", "books", "cards", "eggs", "shells", "stamps", "marbles", "cups")


def split_of(question: str) -> str:
    """``"heldout"`` or ``"train"``: a stable function of the question's text."""
    digest = int(hashlib.sha256(question.encode("utf-8")).hexdigest(), 16)
    return "heldout" if digest % 100 < HELDOUT_PERCENT else "train"


def _problem(rng: random.Random) -> dict[str, Any]:
    kind = rng.choice(("add", "sub", "word_add", "word_sub"))
    a, b = rng.randint(0, 9), rng.randint(0, 9)
    if kind.endswith("sub") and b > a:
        a, b = b, a
    op = "+" if kind.endswith("add") else "-"
    answer = a + b if op == "+" else a - b
    if kind == "word_add":
        name, item = rng.choice(_NAMES), rng.choice(_ITEMS)
        question = f"{name} has {a} {item} and gets {b} more. How many {item} does {name} have now?"
    elif kind == "word_sub":
        name, item = rng.choice(_NAMES), rng.choice(_ITEMS)
        question = f"{name} has {a} {item} and gives away {b}. How many {item} are left?"
    else:
        question = f"What is {a} {op} {b}?"
    return {"question": question, "answer": str(answer), "expression": f"{a} {op} {b}", "split": split_of(question)}


def generate_problems(n: int, *, seed: int = ARITHMETIC_SEED) -> list[dict[str, Any]]:
    """``n`` different arithmetic problems (sums and differences of one-digit numbers, plain or as
    one-step word problems), reproducible for a given ``seed``, each with its ``split``."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    while len(rows) < n:
        row = _problem(rng)
        if row["question"] not in seen:
            seen.add(row["question"])
            rows.append(row)
    return rows


def bundled_dataset_path() -> Path:
    """Path of the JSONL file shipped in the package."""
    return Path(str(resources.files("grpo_rewards_trainer") / "data" / "arithmetic.jsonl"))


def load_bundled_rows(split: str | None = None) -> list[dict[str, Any]]:
    """The rows of the bundled dataset (``split``: only those of ``"train"`` or ``"heldout"``)."""
    with bundled_dataset_path().open(encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return rows if split is None else [r for r in rows if r["split"] == split]


def write_bundled_dataset(path: Path | None = None) -> Path:
    """Regenerate ``data/arithmetic.jsonl`` (``python -m grpo_rewards_trainer.arithmetic``)."""
    path = path or bundled_dataset_path()
    with path.open("w", encoding="utf-8") as f:
        for row in generate_problems(ARITHMETIC_SIZE):
            f.write(json.dumps(row, sort_keys=True) + "\n")
    return path


if __name__ == "__main__":
    print(write_bundled_dataset())
