"""The bundled arithmetic word-problem dataset: procedurally generated, seeded, no download.

``data/arithmetic.jsonl`` inside this package is exactly ``generate_problems(ARITHMETIC_SIZE,
seed=ARITHMETIC_SEED)`` written one JSON object per line (a test checks this), so its provenance
is this module. Each row has ``question`` (text), ``answer`` (the integer result as a string, the
column the ``math`` and ``exact`` verifiers read by default) and ``expression``.
"""

from __future__ import annotations

import json
import random
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["ARITHMETIC_SEED", "ARITHMETIC_SIZE", "generate_problems", "bundled_dataset_path", "load_bundled_rows"]

ARITHMETIC_SEED = 1234
ARITHMETIC_SIZE = 1000

_NAMES = ("Ana", "Ben", "Chen", "Dara", "Eli", "Femi", "Gus", "Hana", "Ivo", "Jun", "Kai", "Lea", "Mo", "Nia")
_ITEMS = ("apples", "pens", "coins", "books", "cards", "eggs", "shells", "stamps", "marbles", "cups")


def _problem(rng: random.Random) -> dict[str, Any]:
    kind = rng.choice(("add", "sub", "mul", "word_add", "word_sub"))
    if kind == "add":
        a, b = rng.randint(0, 20), rng.randint(0, 20)
        return {"question": f"What is {a} + {b}?", "answer": str(a + b), "expression": f"{a} + {b}"}
    if kind == "sub":
        a = rng.randint(0, 20)
        b = rng.randint(0, a)
        return {"question": f"What is {a} - {b}?", "answer": str(a - b), "expression": f"{a} - {b}"}
    if kind == "mul":
        a, b = rng.randint(0, 9), rng.randint(0, 9)
        return {"question": f"What is {a} * {b}?", "answer": str(a * b), "expression": f"{a} * {b}"}
    name, item = rng.choice(_NAMES), rng.choice(_ITEMS)
    if kind == "word_add":
        a, b = rng.randint(1, 15), rng.randint(1, 15)
        q = f"{name} has {a} {item} and gets {b} more. How many {item} does {name} have now?"
        return {"question": q, "answer": str(a + b), "expression": f"{a} + {b}"}
    a = rng.randint(2, 20)
    b = rng.randint(1, a)
    q = f"{name} has {a} {item} and gives away {b}. How many {item} are left?"
    return {"question": q, "answer": str(a - b), "expression": f"{a} - {b}"}


def generate_problems(n: int, *, seed: int = ARITHMETIC_SEED) -> list[dict[str, Any]]:
    """``n`` arithmetic problems (sums and differences up to 20, products of digits, one-step word
    problems), reproducible for a given ``seed``."""
    rng = random.Random(seed)
    return [_problem(rng) for _ in range(n)]


def bundled_dataset_path() -> Path:
    """Path of the JSONL file shipped in the package."""
    return Path(str(resources.files("grpo_rewards_trainer") / "data" / "arithmetic.jsonl"))


def load_bundled_rows() -> list[dict[str, Any]]:
    """The rows of the bundled dataset."""
    with bundled_dataset_path().open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write_bundled_dataset(path: Path | None = None) -> Path:
    """Regenerate ``data/arithmetic.jsonl`` (``python -m grpo_rewards_trainer.arithmetic``)."""
    path = path or bundled_dataset_path()
    with path.open("w", encoding="utf-8") as f:
        for row in generate_problems(ARITHMETIC_SIZE):
            f.write(json.dumps(row, sort_keys=True) + "\n")
    return path


if __name__ == "__main__":
    print(write_bundled_dataset())
