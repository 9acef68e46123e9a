"""``math``'s math-verify options, each checked against math-verify itself.

The options are math-verify's own settings (``targets``: its ``LatexExtractionConfig`` /
``ExprExtractionConfig`` / ``StringExtractionConfig``; ``boxed_match_priority``;
``float_rounding``, ``numeric_precision`` and ``strict`` of ``verify``). For each, the same
completion and gold go through ``math`` (in its worker processes, so the options cross the JSON
wire) and through math-verify's ``parse``/``verify`` in this process with the same config, and
the verdicts must agree, except where ``math``'s exact re-check deliberately refutes an "equal"
(documented in docs/verifiers/math.md). Bad values are a ConfigError naming the option.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from math_verify import parse, verify

import grpo_rewards
from grpo_rewards.contract import Outcome, Sample
from grpo_rewards.errors import ConfigError
from grpo_rewards.verifiers._math import wire
from grpo_rewards.verifiers._math.equivalence import JudgeOptions, extraction_configs
from grpo_rewards.verifiers.math import MathVerifier

_VERIFIERS: list[MathVerifier] = []


@pytest.fixture(scope="module", autouse=True)
def _close_pools() -> Iterator[None]:
    yield
    for v in _VERIFIERS:
        v.close()


def ours(completion: str, gold: str, **options: Any) -> Outcome:
    v = MathVerifier(workers=1, timeout=20, **options)
    _VERIFIERS.append(v)
    return v.score(Sample(completion, {"answer": gold})).outcome


def math_verify_says(completion: str, gold: str, **options: Any) -> bool:
    """math-verify's verdict with the config ``math`` builds from ``options``, on the texts
    ``math`` hands it: the gold wrapped in ``$\\boxed{}$`` (read plain if that finds nothing) and
    the completion (whole for the ``math_verify`` rule; the others below are one ``\\boxed{}``)."""
    v = MathVerifier(**options)
    cfg = extraction_configs(v.targets, v.boxed_match_priority, v.strings)
    gold_parsed = parse(f"$\\boxed{{{gold}}}$", cfg, parsing_timeout=None) or parse(gold, cfg, parsing_timeout=None)
    pred_parsed = parse(completion, cfg, parsing_timeout=None)  # the completions below are their answers
    return verify(
        gold_parsed,
        pred_parsed,
        float_rounding=v.float_rounding,
        numeric_precision=v.numeric_precision,
        strict=v.strict,
        timeout_seconds=None,
    )


# (completion, gold, options, our outcome); math-verify agrees on every one of these.
AGREEING = [
    # targets: which of math-verify's extraction configs read the answer
    pytest.param(
        "The answer is B.", "B", {"extract": ["math_verify"], "targets": ["string"]}, "correct", id="string-B"
    ),
    pytest.param("The answer is B.", "C", {"extract": ["math_verify"], "targets": ["string"]}, "wrong", id="string-C"),
    pytest.param(
        "The answer is U.",
        "U",
        {"extract": ["math_verify"], "targets": ["string"], "strings": ["U"]},
        "correct",
        id="string-custom-strings",
    ),
    pytest.param(
        "The answer is U.",
        "U",
        {"extract": ["math_verify"], "targets": ["string"]},
        "bad_reference",  # the gold is not one of the strings: nothing to compare with
        id="string-not-among-strings",
    ),
    pytest.param(
        "\\boxed{\\frac{1}{2}}", "0.5", {"extract": ["math_verify"], "targets": ["latex"]}, "correct", id="latex-only"
    ),
    pytest.param(
        "\\boxed{\\frac{1}{2}}",
        "0.5",
        {"extract": ["math_verify"], "targets": ["expr"]},
        "unparseable",
        id="expr-only-cannot-read-latex",
    ),
    pytest.param("so x is 1/2", "0.5", {"extract": ["math_verify"], "targets": ["expr"]}, "correct", id="expr-only"),
    # boxed_match_priority: a box before or after "final answer is"
    pytest.param(
        "final answer is $9999$, \\boxed{1}",
        "1",
        {"extract": ["math_verify"], "boxed_match_priority": 0},
        "correct",
        id="boxed-first",
    ),
    pytest.param(
        "final answer is $9999$, \\boxed{1}",
        "1",
        {"extract": ["math_verify"], "boxed_match_priority": 100},
        "wrong",
        id="final-answer-first",
    ),
    pytest.param(
        "final answer is $9999$, \\boxed{1}",
        "1",
        {"extract": ["math_verify"], "boxed_match_priority": -1},
        "wrong",
        id="boxes-ignored",
    ),
    # float_rounding: the decimals a decimal answer must agree to
    pytest.param("\\boxed{0.333}", "\\frac{1}{3}", {"float_rounding": 3}, "correct", id="float_rounding-3"),
    pytest.param("\\boxed{0.333}", "\\frac{1}{3}", {"float_rounding": 6}, "wrong", id="float_rounding-6"),
    # numeric_precision: at 50 digits math-verify itself sees the 1e-20
    pytest.param(
        "\\boxed{\\sqrt{2}+10^{-20}}", "\\sqrt{2}", {"numeric_precision": 50}, "wrong", id="numeric_precision-50"
    ),
    # strict: whether variable names matter
    pytest.param("\\boxed{f(y)=y}", "f(x)=x", {"strict": True}, "wrong", id="strict"),
    pytest.param("\\boxed{f(y)=y}", "f(x)=x", {"strict": False}, "correct", id="not-strict"),
]


@pytest.mark.parametrize(("completion", "gold", "options", "expected"), AGREEING)
def test_option_gives_math_verifys_verdict(completion: str, gold: str, options: dict[str, Any], expected: str) -> None:
    assert ours(completion, gold, **options) is Outcome(expected)
    # bad_reference, unparseable and wrong are all "not equal" to math-verify
    assert math_verify_says(completion, gold, **options) is (expected == "correct")


def test_numeric_precision_15_is_refuted_by_the_exact_recheck() -> None:
    # math-verify at its default 15 digits chops the 1e-20 and says equal (Math-Verify#14);
    # math re-checks every "equal" exactly, so it stays wrong whatever numeric_precision says.
    assert math_verify_says("\\boxed{\\sqrt{2}+10^{-20}}", "\\sqrt{2}", numeric_precision=15) is True
    assert ours("\\boxed{\\sqrt{2}+10^{-20}}", "\\sqrt{2}", numeric_precision=15) is Outcome.WRONG


def test_the_default_extraction_is_unchanged_by_targets() -> None:
    # our own extraction finds the box; the targets only say how math-verify reads it
    assert ours("I think \\boxed{\\frac{1}{2}}", "0.5") is Outcome.CORRECT
    assert ours("I think \\boxed{B}", "B", targets=["string"]) is Outcome.CORRECT
    assert ours("I think \\boxed{B}", "C", targets=["string"]) is Outcome.WRONG


def test_options_cross_the_wire() -> None:
    opts = JudgeOptions(3, 0.0, False, True, 40, ("string", "latex"), 100, ("X", "Y"), True)
    frame = wire.encode(list(opts))
    decoded = JudgeOptions(*wire._decode(frame[4:]))
    assert decoded == JudgeOptions(3, 0.0, False, True, 40, ["string", "latex"], 100, ["X", "Y"], True)


def test_the_options_are_set_from_a_composition() -> None:
    rs = grpo_rewards.load_rewards(
        [{"name": "math", "options": {"targets": "string", "extract": "math_verify", "boxed_match_priority": 50}}]
    )
    try:
        (v,) = rs._instantiate().values()
        assert isinstance(v, MathVerifier)
        assert v.targets == ("string",) and v.extract == ("math_verify",) and v.boxed_match_priority == 50
    finally:
        rs.close()


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"targets": ["latex", "sympy"]}, "targets"),
        ({"targets": []}, "targets"),
        ({"targets": ["latex", "latex"]}, "targets"),
        ({"boxed_match_priority": -2}, "boxed_match_priority"),
        ({"boxed_match_priority": "high"}, "boxed_match_priority"),
        ({"numeric_precision": 0}, "numeric_precision"),
        ({"numeric_precision": 2.5}, "numeric_precision"),
        ({"strings": []}, "strings"),
        ({"strings": ["A", ""]}, "strings"),
        ({"float_rounding": 31}, "float_rounding"),
        ({"extract": ["math-verify"]}, "extract"),
    ],
)
def test_bad_values_are_a_config_error_naming_the_option(options: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        grpo_rewards.load_rewards([{"name": "math", "options": options}])
