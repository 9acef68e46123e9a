"""math-verify's published test cases, scored by ``math``, asserting OUR value.

Sources (MIT License, Copyright (c) 2024 The HuggingFace Team), cases copied, not code:

- ``data/math_verify_regression.jsonl``: 254 gold/pred/expected triples from huggingface/Math-Verify
  ``tests/`` at commit 5d148cfaaf99214c2e4ffb4bc497ab042c592a7a (``test_all.py``, ``test_boxed.py``,
  ``test_numina_cases.py``, ``test_open_thoughts.py``, ``test_strict.py``; each row names its test),
  with the test's ``precision``/``strict``/``allow_set_relation_comp``. Copied from
  ../shared/data (see data/README.md); this used to run in tests/verifiers/test_math_corpus.py.
- ``tests/test_yujianll.py`` (14 cases), ``tests/test_string_extraction.py`` (7),
  ``tests/test_configs.py::test_boxed_match_priority`` (3) and ``tests/test_gamma_func.py`` (2),
  inline below, from the math-verify 0.9.0 sdist on PyPI (identical to commit 5d148cf for these files).

The triples are scored with ``pred`` as the completion and ``gold`` as the answer column, with
math-verify's options mapped to ours (``precision`` -> ``float_rounding``). Where math-verify's
test parses with other configs (``StringExtractionConfig``, ``boxed_match_priority``), ``math``
gets the same settings through its ``targets``/``boxed_match_priority`` options and the
``math_verify`` extraction rule. Disagreements are in ``DISAGREEMENTS`` and docs/verifiers/peers.md.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).parent / "data" / "math_verify_regression.jsonl"

# (gold, pred) -> (our verdict as 1/0, why we deliberately differ)
DISAGREEMENTS: dict[tuple[str, str], tuple[int, str]] = {
    ("1000.99", "1000,99"): (
        0,
        "a decimal comma is ambiguous with a list of two numbers (1,2 as two roots); not guessed",
    ),
    ("1,22", "1.22"): (0, "the same decimal-comma ambiguity, from the gold side"),
    ("$9$", "Answer $ \n 9 \n $"): (1, "math-verify ignores inline math that spans lines; the answer is plainly 9"),
    ("$9$", "Answer \\( \n 9 \n \\)"): (1, "the same, with \\( \\)"),
    ("$1 - \\frac{1}{\\mathrm{e}}$", "$1 + \\frac{1}{\\mathrm{e}}$"): (
        0,
        "math-verify truncates at \\mathrm{e} and reads both as 1 (Math-Verify#14); the signs differ",
    ),
}


def _rows() -> list[dict[str, Any]]:
    with open(DATA, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _spec(options: dict[str, Any], **more: Any) -> list[Any]:
    o = dict(options)
    if "precision" in o:
        o["float_rounding"] = o.pop("precision")
    return [{"name": "math", "options": {"timeout": 20, **o, **more}}]


def test_every_disagreement_is_a_case() -> None:
    cases = {(r["gold"], r["pred"]) for r in _rows()} | {(g, p) for g, p, _ in YUJIANLL}
    assert set(DISAGREEMENTS) <= cases


@pytest.mark.slow  # 254 comparisons, most through sympy in the workers
def test_math_verify_regression_triples(peer_score: Any) -> None:
    rows = _rows()
    assert len(rows) == 254
    groups: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        groups.setdefault(json.dumps(r["options"], sort_keys=True), []).append(i)
    ours: dict[int, int] = {}
    for key, idxs in groups.items():
        values = peer_score(
            _spec(json.loads(key)), [rows[i]["pred"] for i in idxs], [{"answer": rows[i]["gold"]} for i in idxs]
        )
        ours.update({i: int(v == 1.0) for i, v in zip(idxs, values, strict=True)})
    for i, r in enumerate(rows):
        case = (r["gold"], r["pred"])
        want = DISAGREEMENTS[case][0] if case in DISAGREEMENTS else int(r["expected"])
        assert ours[i] == want, (r["source"], case, "math-verify:", r["expected"], "ours:", ours[i])
    # Both directions are covered: math-verify's tests hold equal and unequal pairs.
    assert sum(r["expected"] for r in rows) > 200 and sum(not r["expected"] for r in rows) > 30


# tests/test_yujianll.py: verify(parse(gold), parse(pred)) with math-verify's default parse
YUJIANLL = [
    ("$n=1, 2, 3$", "$n=1, 2, 3$", 1),
    ("$n=2, 3, 4$", "$n=1, 2, 3$", 0),
    ("$D = (0, 1)$", "$D = (0, 1)$", 1),
    ("$D = (0, 1)$", "$D = (0, 1.5)$", 0),
    ("$F_n = \\sum_{k=0}^{n-1} F_k F_{n-k-1}$", "$F_n = \\sum_{k=0}^{n-2} F_k F_{n-k-2}$", 0),
    ("$F_n = \\sum_{k=0}^{n-1} F_k F_{n-k-1}$", "$F_n = \\sum_{k=0}^{n-1} F_{n-k-1} F_k$", 1),
    ("$19, 46, and 82$", "$19, 46, \\text{ and } 82$", 1),
    ("$19, 46, and 82$", "$21, 36, and 82$", 0),
    ("$1 - \\frac{1}{\\mathrm{e}}$", "$1 - \\frac{1}{\\mathrm{e}}$", 1),
    ("$1 - \\frac{1}{\\mathrm{e}}$", "$1 + \\frac{1}{\\mathrm{e}}$", 1),
    ("$\\pm 2021$", "$2021$", 0),
    ("$\\pm 2021$", "${-2021, 2021}$", 1),
    ("$12:00$", "$1:00$", 0),
    ("$12:00$", "$12:00$", 1),
]


@pytest.mark.parametrize(("gold", "pred", "peer"), YUJIANLL, ids=[f"yujianll-{i}" for i in range(len(YUJIANLL))])
def test_yujianll(peer_score: Any, gold: str, pred: str, peer: int) -> None:
    (value,) = peer_score(_spec({}), [pred], {"answer": gold})
    want = DISAGREEMENTS[(gold, pred)][0] if (gold, pred) in DISAGREEMENTS else peer
    assert int(value == 1.0) == want


# tests/test_string_extraction.py: parse(pred, [StringExtractionConfig(...)]) == expected. We score
# the completion with targets = ["string"] against the string math-verify extracts (the gold),
# and a case math-verify extracts nothing from is no answer to match.
STRINGS = [
    ("string-basic", "The answer is A.", "A", {"strings": ["A", "B", "C", "D"]}, 1.0),
    ("string-final-answer", "Final answer is B", "B", {}, 1.0),
    ("string-no-match", "No valid answer here", "A", {}, 0.0),
    ("string-start", "A. Because B is not valid", "A", {}, 1.0),
    ("string-custom-strings", "The answer is U.", "U", {"strings": ["U"]}, 1.0),
    ("string-any-plain", "Because B is valid", "B", {}, 1.0),
]


@pytest.mark.parametrize(("case", "completion", "gold", "options", "peer"), STRINGS, ids=[c[0] for c in STRINGS])
def test_string_extraction(
    peer_score: Any, case: str, completion: str, gold: str, options: dict[str, Any], peer: float
) -> None:
    spec = _spec(options, targets=["string"], extract=["math_verify"])
    assert peer_score(spec, [completion], {"answer": gold}) == [peer]


# tests/test_configs.py::test_boxed_match_priority (parse with fallback_mode="no_fallback")
@pytest.mark.parametrize(
    ("completion", "priority", "gold", "peer"),
    [
        ("\\boxed{1}", 50, "1", 1.0),  # one match at the default priority
        ("\\boxed{1}", -1, "1", 0.0),  # boxes disabled: no extraction
        ("final answer is $9999$, \\boxed{1}", 100, "9999", 1.0),  # "final answer is" first
    ],
    ids=["boxed-default", "boxed-disabled", "final-answer-first"],
)
def test_boxed_match_priority(peer_score: Any, completion: str, priority: int, gold: str, peer: float) -> None:
    spec = _spec({}, targets=["latex"], boxed_match_priority=priority, extract=["math_verify"])
    assert peer_score(spec, [completion], {"answer": gold}) == [peer]


# tests/test_gamma_func.py: \Gamma(x) is the gamma function, \Gamma * (x) the Euler constant times x
@pytest.mark.parametrize(
    ("completion", "gold"),
    [
        ("\\(\\Gamma(\\frac{\\pi}{12})\\)", "\\Gamma(\\frac{\\pi}{12})"),
        ("\\(\\Gamma * (\\frac{\\pi}{12})\\)", "\\Gamma \\cdot \\frac{\\pi}{12}"),
    ],
    ids=["gamma-function", "gamma-constant"],
)
def test_gamma(peer_score: Any, completion: str, gold: str) -> None:
    assert peer_score(_spec({}), [completion], {"answer": gold}) == [1.0]
