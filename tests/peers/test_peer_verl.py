"""verl's published reward test cases, scored by our verifiers, asserting OUR value.
Source: volcengine/verl ``tests/utils/reward_score/test_sandbox_on_cpu.py`` at commit
b178a3cd56f58b2d502255daba591e92833930a7 (the file's last change: 77814f1d8368c72dd5acc88eaf1ca63b53cb1d8f),
Apache-2.0, Copyright 2024 Bytedance Ltd. and/or its affiliates. verl 0.9.0's sdist on PyPI ships
no tests; its ``verl/utils/reward_score/`` modules these tests exercise (``prime_math``,
``prime_code/__init__.py``, ``gsm8k``, ``math_reward``) are byte-identical to that commit's.
Cases copied, not code:

- ``test_prime_math``: three answer/gold pairs (``data_source = "numina_aops_forum"``, so
  ``prime_math.compute_score``), each 1.0. Ours: ``math``.
- ``prime_code_answers``/``prime_code_gts``/``prime_code_scores`` (in data/verl_prime_cases.json,
  with the three ``prime_math`` pairs, as the test module holds them): one stdio program against two
  APPS-style test sets (``{"inputs": [...], "outputs": [...]}``), scores 1.0 and 0.9
  (``continuous=True``). Ours: ``code``. We do not read the APPS/PRIME test format, nor code that
  is not in a fenced block (both "not covered" in docs/verifiers/peers.md); the cases are also
  run with the tests converted to our ``stdio`` format and the program fenced.

verl's other reward tests are not case tests: ``tests/interactions/test_gsm8k_interaction.py``
mocks ``gsm8k.compute_score`` (its values are the mock's), the sandbox-fusion tests need a
service, and ``tests/experimental/reward_loop/`` trains a model on GPUs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

DISAGREEMENTS: dict[str, tuple[Any, str]] = {
    "prime-code-partial-fenced": (
        10 / 11,
        "verl's continuous score runs only the first 10 cases (9 of them pass: 0.9); code runs all "
        "11 and pays the fraction passed (10/11)",
    ),
}
NOT_COVERED: dict[str, tuple[Any, str]] = {
    "prime-code-correct": (None, "APPS/PRIME {inputs, outputs} test format not read: bad_reference"),
    "prime-code-partial": (None, "APPS/PRIME {inputs, outputs} test format not read: bad_reference"),
}


def expected(case: str, peer_value: Any) -> Any:
    return DISAGREEMENTS[case][0] if case in DISAGREEMENTS else peer_value


CASES = json.loads((Path(__file__).parent / "data" / "verl_prime_cases.json").read_text(encoding="utf-8"))
# test_prime_math asserts 1.0 for each pair: a matrix (bmatrix vs pmatrix), a fraction, a polynomial
PRIME_MATH = [
    (name, answer, gold, 1.0)
    for name, answer, gold in zip(
        ("prime-math-matrix", "prime-math-frac", "prime-math-symbolic"),
        CASES["prime_math_answers"],
        CASES["prime_math_gts"],
        strict=True,
    )
]


@pytest.mark.parametrize(("case", "answer", "gold", "peer"), PRIME_MATH, ids=[c[0] for c in PRIME_MATH])
def test_prime_math(peer_score: Any, case: str, answer: str, gold: str, peer: float) -> None:
    # verl scores the bare answer string; so do we (our extraction takes a short text whole)
    assert peer_score([{"name": "math"}], [answer], {"answer": gold}) == [expected(case, peer)]


PROGRAM = CASES["prime_code_answers"][0]
CORRECT_TESTS, PARTIAL_TESTS = CASES["prime_code_gts"]
assert CASES["prime_code_scores"] == [1.0, 0.9]
CODE = [{"name": "code"}]


def _stdio(apps: str) -> str:
    t = json.loads(apps)
    return json.dumps(
        {"kind": "stdio", "cases": [{"input": i, "output": o} for i, o in zip(t["inputs"], t["outputs"], strict=True)]}
    )


@pytest.mark.parametrize(
    ("case", "tests", "peer"),
    [("prime-code-correct", CORRECT_TESTS, 1.0), ("prime-code-partial", PARTIAL_TESTS, 0.9)],
    ids=["prime-code-correct", "prime-code-partial"],
)
def test_prime_code_as_published(peer_score: Any, case: str, tests: str, peer: float) -> None:
    assert peer_score(CODE, [PROGRAM], {"tests": tests}) == [NOT_COVERED[case][0]]


@pytest.mark.parametrize(
    ("case", "tests", "peer"),
    [("prime-code-correct-fenced", CORRECT_TESTS, 1.0), ("prime-code-partial-fenced", PARTIAL_TESTS, 0.9)],
    ids=["prime-code-correct-fenced", "prime-code-partial-fenced"],
)
def test_prime_code_converted(peer_score: Any, case: str, tests: str, peer: float) -> None:
    fenced = "```python\n" + PROGRAM + "```"
    (value,) = peer_score(CODE, [fenced], {"tests": _stdio(tests)})
    assert value == pytest.approx(expected(case, peer))


def test_unfenced_program_is_no_answer(peer_score: Any) -> None:
    # verl takes a completion without a fence as all code; code needs a fenced block
    assert peer_score(CODE, [PROGRAM], {"tests": _stdio(CORRECT_TESTS)}) == [0.0]
