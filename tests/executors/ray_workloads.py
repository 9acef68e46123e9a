"""Batches for the executor tests: math and code (HumanEval-style tests), in prompt groups."""

from __future__ import annotations

import time
from typing import Any

GROUP = 4  # completions per prompt, as GRPO's num_generations

CODE_PROBLEMS = [
    (
        "add",
        "def add(a, b):\n    return a + b\n",
        "def add(a, b):\n    return a - b\n",
        "assert add(1, 2) == 3\nassert add(-1, 1) == 0\nassert add(2, 2) == 4",
    ),
    (
        "rev",
        "def rev(s):\n    return s[::-1]\n",
        "def rev(s):\n    return s\n",
        "assert rev('ab') == 'ba'\nassert rev('') == ''",
    ),
    (
        "fact",
        "def fact(n):\n    return 1 if n < 2 else n * fact(n - 1)\n",
        "def fact(n):\n    return n\n",
        "assert fact(0) == 1\nassert fact(5) == 120\nassert fact(3) == 6",
    ),
]


def mixed_batch(groups: int = 8) -> tuple[list[str], list[str], dict[str, list[Any]]]:
    """``groups`` prompt groups of :data:`GROUP` completions, math and code alternating; a math
    row has ``answer`` (and ``tests`` None), a code row has ``tests`` (and ``answer`` None)."""
    completions: list[str] = []
    prompts: list[str] = []
    answers: list[Any] = []
    tests: list[Any] = []
    for g in range(groups):
        for k in range(GROUP):
            if g % 2 == 0:
                a, b = g + 2, k + 3
                prompts.append(f"What is {a} * {b}?")
                guess = a * b if k % 2 == 0 else a * b + 1
                completions.append(f"<think>{a} times {b}</think> The answer is $\\boxed{{{guess}}}$")
                answers.append(str(a * b))
                tests.append(None)
            else:
                name, good, bad, test = CODE_PROBLEMS[(g // 2) % len(CODE_PROBLEMS)]
                prompts.append(f"Write {name} (problem {g})")
                completions.append("```python\n" + (good if k % 2 == 0 else bad) + "```")
                answers.append(None)
                tests.append({"kind": "assert", "code": test})
    return completions, prompts, {"answer": answers, "tests": tests}


SPEC: list[Any] = [
    {"name": "math", "options": {"workers": 1}},
    {"name": "code", "weight": 1.0, "options": {"sandbox_options": {"workers": 1}}},
    {"name": "length.group", "weight": 0.1, "options": {"correctness": "math"}},
]


def slow_len(completions: list[Any], **kwargs: Any) -> list[float]:
    """A plain reward function slow enough (0.1 s per completion) to kill an actor mid-batch."""
    time.sleep(0.1 * len(completions))
    return [float(len(str(c)) % 7) for c in completions]
