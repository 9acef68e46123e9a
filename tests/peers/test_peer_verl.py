"""verl's published reward test cases, scored by our verifiers, asserting OUR value.
Source: volcengine/verl ``tests/utils/reward_score/test_sandbox_on_cpu.py`` at commit
b178a3cd56f58b2d502255daba591e92833930a7 (the file's last change: 77814f1d8368c72dd5acc88eaf1ca63b53cb1d8f),
Apache-2.0, Copyright 2024 Bytedance Ltd. and/or its affiliates. verl 0.9.0's sdist on PyPI ships
no tests; its ``verl/utils/reward_score/`` modules these tests exercise (``prime_math``,
``prime_code/__init__.py``, ``gsm8k``, ``math_reward``) are byte-identical to that commit's;
``prime_code/testing_util.py``, whose APPS reading ``code`` follows, differs only in how it loads
the program (no ``pyext``).
Cases copied, not code:

- ``test_prime_math``: three answer/gold pairs (``data_source = "numina_aops_forum"``, so
  ``prime_math.compute_score``), each 1.0. Ours: ``math``.
- ``prime_code_answers``/``prime_code_gts``/``prime_code_scores`` (in data/verl_prime_cases.json,
  with the three ``prime_math`` pairs, as the test module holds them): one stdio program against two
  APPS-style test sets (``{"inputs": [...], "outputs": [...]}``, JSON strings), scores 1.0 and 0.9
  (``continuous=True``). Ours: ``code``, which reads the APPS format as it is (no conversion). The
  program is published without a fence, which verl runs whole: ``code`` with ``extract = "full"``
  does the same; with the default extraction an unfenced completion is ``no_answer`` (0.0), and
  the program in a fence scores as verl's.

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
    "prime-code-partial": (
        10 / 11,
        "verl's continuous score runs only the first 10 cases (9 of them pass: 0.9); code runs all "
        "11 and pays the fraction passed (10/11)",
    ),
    "prime-code-partial-fenced": (10 / 11, "the same, with the program in a fence"),
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


@pytest.mark.parametrize(
    ("case", "tests", "peer"),
    [("prime-code-correct", CORRECT_TESTS, 1.0), ("prime-code-partial", PARTIAL_TESTS, 0.9)],
    ids=["prime-code-correct", "prime-code-partial"],
)
def test_prime_code_as_published(peer_score: Any, case: str, tests: str, peer: float) -> None:
    # the completion and the APPS tests exactly as verl's test passes them; extract = "full"
    # runs an unfenced completion whole, as verl does
    (value,) = peer_score([{"name": "code", "options": {"extract": "full"}}], [PROGRAM], {"tests": tests})
    assert value == pytest.approx(expected(case, peer))


@pytest.mark.parametrize(
    ("case", "tests", "peer"),
    [("prime-code-correct-fenced", CORRECT_TESTS, 1.0), ("prime-code-partial-fenced", PARTIAL_TESTS, 0.9)],
    ids=["prime-code-correct-fenced", "prime-code-partial-fenced"],
)
def test_prime_code_fenced(peer_score: Any, case: str, tests: str, peer: float) -> None:
    fenced = "```python\n" + PROGRAM + "```"
    (value,) = peer_score(CODE, [fenced], {"tests": tests})
    assert value == pytest.approx(expected(case, peer))


def test_apps_tests_as_a_json_object_score_the_same(peer_score: Any) -> None:
    # verl's compute_score takes the tests as a dict or a JSON string of one; so does code
    fenced = "```python\n" + PROGRAM + "```"
    (value,) = peer_score(CODE, [fenced], {"tests": json.loads(PARTIAL_TESTS)})
    assert value == pytest.approx(10 / 11)


def test_unfenced_program_is_no_answer_by_default(peer_score: Any) -> None:
    # verl takes a completion without a fence as all code; code's default extraction needs a fence
    assert peer_score(CODE, [PROGRAM], {"tests": CORRECT_TESTS}) == [0.0]
