"""Every built-in verifier declares the outcomes it can return (``Verifier.outcomes``, shown by
``grpo-rewards list NAME``), and says in the detail what matched what when a verdict is correct,
not only when it is wrong."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from typing import Any

import pytest

from grpo_rewards.contract import Outcome, Sample, Verifier
from grpo_rewards.plugins import get_registry, reset_registry
from grpo_rewards.sandbox.local import LocalSandbox


@pytest.fixture(scope="module")
def builtins() -> Iterator[dict[str, type[Verifier]]]:
    """The built-in verifier classes by name (installed third-party plugins do not count)."""
    reset_registry()
    entries = {n: e.factory for n, e in get_registry().verifiers.items() if e.plugin.builtin}
    reset_registry()
    assert "exact" in entries and all(isinstance(f, type) and issubclass(f, Verifier) for f in entries.values())
    yield entries


def _score_calls(cls: type[Verifier]) -> set[Outcome]:
    """The outcomes of the ``Score.<outcome>(...)`` constructors that the class and its bases call."""
    found: set[Outcome] = set()
    for klass in cls.__mro__:
        if klass is Verifier or not klass.__module__.startswith("grpo_rewards.verifiers"):
            continue
        for name in re.findall(r"\bScore\.(\w+)\(", inspect.getsource(klass)):
            found.add(Outcome(name))
    return found


def test_every_builtin_declares_the_outcomes_its_code_returns(builtins: dict[str, type[Verifier]]) -> None:
    problems = []
    for name, cls in sorted(builtins.items()):
        declared = set(cls.outcomes)
        if not declared:
            problems.append(f"{name}: {cls.__name__}.outcomes is not declared")
            continue
        if len(declared) != len(cls.outcomes) or not all(isinstance(o, Outcome) for o in cls.outcomes):
            problems.append(f"{name}: outcomes must be distinct Outcome values, got {cls.outcomes!r}")
        called = _score_calls(cls)
        if declared != called:
            problems.append(
                f"{name}: declares {sorted(declared - called)} it never returns"
                f" and returns {sorted(called - declared)} it does not declare"
            )
    assert not problems, "\n".join(problems)


# One correct completion (and the options and row it needs) per verifier that can say correct.
CORRECT: dict[str, tuple[dict[str, Any], str, dict[str, Any]]] = {
    "exact": ({}, "<answer>**Paris.**</answer>", {"answer": "Paris"}),
    "choice": ({}, "The answer is (C).", {"answer": "C"}),
    "math": ({}, "So the total is \\boxed{72}.", {"answer": "72"}),
    "format.think": ({}, "<think>7 * 8 = 56</think><answer>56</answer>", {}),
    "format.tags": ({"mode": "soft"}, "<think>7 * 8 = 56</think><answer>56</answer>", {}),
    "format.regex": ({"pattern": r"\d+"}, "56", {}),
    "format.json": ({}, '<answer>{"a": 1}</answer>', {}),
    "code": (
        {"timeout": 2.0, "total_timeout": 8.0},
        "```python\ndef add(a, b):\n    return a + b\n```",
        {"tests": {"kind": "assert", "code": "assert add(1, 2) == 3"}},
    ),
}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[LocalSandbox]:
    sb = LocalSandbox(workers=1).start()
    yield sb
    sb.close()


def test_every_verifier_that_can_say_correct_has_a_sample_here(builtins: dict[str, type[Verifier]]) -> None:
    can_be_correct = {n for n, cls in builtins.items() if Outcome.CORRECT in cls.outcomes}
    assert can_be_correct == set(CORRECT), "add a correct sample to CORRECT for each verifier that can say correct"


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_a_correct_verdict_says_what_matched(
    name: str, builtins: dict[str, type[Verifier]], request: pytest.FixtureRequest
) -> None:
    options, completion, row = CORRECT[name]
    verifier = builtins[name](**options)
    if name == "code":
        verifier._sandbox = request.getfixturevalue("sandbox")  # type: ignore[attr-defined]
    try:
        score = verifier.score(Sample(completion=completion, row=row))
    finally:
        if name != "code":
            verifier.close()
    assert score.outcome is Outcome.CORRECT, score
    assert score.detail.strip(), f"{name}: a correct verdict has an empty detail"


def test_correct_details_name_both_sides() -> None:
    from grpo_rewards.verifiers.choice import MultipleChoice
    from grpo_rewards.verifiers.exact import ExactMatch
    from grpo_rewards.verifiers.math import MathVerifier

    exact = ExactMatch().score(Sample(completion="<answer>**Paris.**</answer>", row={"answer": ["Lyon", "Paris"]}))
    assert exact.detail == "expected 'Paris', got '**Paris.**'"
    m = MathVerifier()
    try:
        assert m.score(Sample(completion="\\boxed{72}", row={"answer": "72"})).detail == "72 == 72"
        assert m.score(Sample(completion="\\boxed{0.5}", row={"answer": "\\frac{1}{2}"})).detail.startswith("0.5 == ")
    finally:
        m.close()
    choice = MultipleChoice().score(Sample(completion="The answer is (C).", row={"answer": 2}))
    assert choice.detail == "expected C, got C (statement)"
