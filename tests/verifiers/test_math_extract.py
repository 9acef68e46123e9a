"""Answer extraction, gold handling, normalization, the fast path and the prescreen of ``math``.

These run in-process (no worker pool, no sympy) and document the rules of docs/verifiers/math.md.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from grpo_rewards.verifiers._math.extract import extract_answer, extract_gold
from grpo_rewards.verifiers._math.normalize import canonical, numbers_equal, parse_number
from grpo_rewards.verifiers._math.prescreen import prescreen

# -- extraction order --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("completion", "answer", "method"),
    [
        ("<think>maybe \\boxed{5}</think> <answer>7</answer>", "7", "tag"),
        ("<answer>so \\boxed{\\frac{1}{2}}</answer>", "\\frac{1}{2}", "tag+boxed"),
        ("<think>long thought, \\boxed{3}</think> so the result is \\boxed{4}.", "4", "boxed"),
        ("First \\boxed{\\frac{\\sqrt{3}}{2}} is it.", "\\frac{\\sqrt{3}}{2}", "boxed"),
        ("\\fbox{12}", "12", "boxed"),
        ("\\boxed 5 is it", "5", "boxed"),
        ("So the final answer is $\\frac{3}{4}$. I hope it is correct.", "\\frac{3}{4}", "final_answer"),
        ("The answer is 42 apples.\nDone", "42 apples", "final_answer"),
        ("Natalia sold 48+24 = 72 clips.\n#### 72", "72", "hashes"),
        ("Work...\nAnswer: 18", "18", "answer_line"),
        ("**Answer:** $x=3$", "x=3", "answer_line"),
        ("Hence $x \\geq 5$ is the solution.", "x \\geq 5", "last_math"),
        ("\\frac{10}{9}", "\\frac{10}{9}", "last_math"),
        ("She has 3 cats and 4 dogs, so 7 pets", "7", "last_number"),
        ("It costs $5 and $7 in total 12", "12", "last_number"),
    ],
)
def test_extraction_rules(completion: str, answer: str, method: str) -> None:
    got = extract_answer(completion)
    assert (got.answer, got.method) == (answer, method)


def test_nested_braces_are_matched() -> None:
    got = extract_answer("\\boxed{\\begin{pmatrix} \\frac{1}{2} & 0 \\\\ 0 & 1 \\end{pmatrix}}")
    assert got.answer == "\\begin{pmatrix} \\frac{1}{2} & 0 \\\\ 0 & 1 \\end{pmatrix}"


def test_self_correction_takes_the_last_box() -> None:
    got = extract_answer("So \\boxed{3}, wait no, recounting gives \\boxed{2}.")
    assert got.answer == "2" and not got.parts


def test_several_boxes_without_correction_are_one_listed_answer() -> None:
    got = extract_answer("\\boxed{1}\\boxed{2}\\boxed{3}")
    assert got.parts == ("1", "2", "3") and got.answer == "1, 2, 3"


def test_repeated_identical_boxes_are_one_answer() -> None:
    got = extract_answer("\\boxed{5}. Again: \\boxed{ 5 }")
    assert got.answer == " 5 " and not got.parts


def test_final_statement_after_intermediate_boxes_wins() -> None:
    text = "interest \\boxed{200}, then \\boxed{255}. Final Answer: The final answer is $10,455$. I hope it is correct."
    assert extract_answer(text).answer == "10,455"


def test_phantom_boxes_are_ignored() -> None:
    assert extract_answer("\\boxed{\\phantom{2}} ... \\boxed{4}").answer == "4"


def test_different_answer_blocks_are_a_hedge() -> None:
    got = extract_answer("<answer>3</answer> or <answer>4</answer>")
    assert got.hedge


def test_unclosed_think_hides_everything() -> None:
    assert extract_answer("<think> the answer is \\boxed{4} and I keep thinking").answer is None


def test_extraction_order_is_configurable() -> None:
    text = "The value is 12"
    assert extract_answer(text).answer == "12"
    assert extract_answer(text, ("tag", "boxed")).answer is None


def test_extraction_is_linear_on_adversarial_input() -> None:
    # Unclosed boxes and a megabyte of dollar signs: must return, not backtrack for minutes.
    assert extract_answer("\\boxed{" * 50_000 + "x " * 500_000 + " 7").answer == "7"
    assert extract_answer("$" * 1_000_000 + "\\(" * 100_000).method in ("last_math", "last_number", "")
    assert extract_answer("<answer>" * 200_000 + "the answer is 5").answer == "5"


# -- gold column shapes ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "golds"),
    [
        ("72", ["72"]),
        (72, ["72"]),
        (0.5, ["0.5"]),
        ("\\frac{1}{2}", ["\\frac{1}{2}"]),
        ("Natalia sold 48/2 = 24 clips in May.\n#### 72", ["72"]),
        ("We get $x=2$, so the answer is $\\boxed{\\frac{\\pi}{2}}$.", ["\\frac{\\pi}{2}"]),
        ("The roots are \\boxed{2} and \\boxed{3}", ["2, 3"]),
        (["4", "four"], ["4", "four"]),
    ],
)
def test_gold_shapes(cell: object, golds: list[str]) -> None:
    assert extract_gold(cell, "answer") == golds


@pytest.mark.parametrize("cell", [None, "", "   ", True, [], {"a": 1}, "#### "])
def test_unusable_gold_names_the_column(cell: object) -> None:
    with pytest.raises(ValueError, match="solution"):
        extract_gold(cell, "solution")


# -- normalization and the fast path -------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "norm"),
    [
        ("$\\dfrac{1}{2}$", "\\frac{1}{2}"),
        ("\\( 3 \\).", "3"),
        ("\\boxed{\\left( 1, 2 \\right)}", "( 1, 2 )"),
        ("11,\\! 111,\\! 100", "11,111,100"),
        ("10{,}000", "10000"),
        ("1 - \\frac{1}{\\mathrm{e}}", "1 - \\frac{1}{e}"),
    ],
)
def test_canonical(raw: str, norm: str) -> None:
    assert canonical(raw) == norm


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("72", Fraction(72)),
        ("-5", Fraction(-5)),
        ("7,425,000", Fraction(7425000)),
        ("1 000", Fraction(1000)),
        ("1000.0", Fraction(1000)),
        (".4", Fraction(2, 5)),
        ("\\frac{1}{2}", Fraction(1, 2)),
        ("-\\frac{40}{153}", Fraction(-40, 153)),
        ("\\frac13", Fraction(1, 3)),
        ("10/9", Fraction(10, 9)),
        ("12\\frac{3}{5}", Fraction(63, 5)),
        ("1.5\\times 10^{3}", Fraction(1500)),
        ("2e-3", Fraction(1, 500)),
        ("10^{-20}", Fraction(1, 10**20)),
        ("\\$37.50", Fraction(75, 2)),
        ("90^\\circ", Fraction(90)),
        ("125 \\text{ miles}", Fraction(125)),
        ("15 cm", Fraction(15)),
        ("x = 5", Fraction(5)),
    ],
)
def test_fast_path_reads_plain_numbers(text: str, value: Fraction) -> None:
    got = parse_number(canonical(text))
    assert got is not None and got.value == value


@pytest.mark.parametrize(
    "text", ["3 or 4", "1,22", "0,111", "2\\sqrt{2}", "\\pi", "x+1", "(1, 2)", "4 or more", "1, 2, 3", "e^{2}"]
)
def test_fast_path_leaves_everything_else_to_sympy(text: str) -> None:
    assert parse_number(canonical(text)) is None


def _eq(a: str, b: str, **kw: object) -> bool:
    pa, pb = parse_number(canonical(a)), parse_number(canonical(b))
    assert pa is not None and pb is not None
    return numbers_equal(pa, pb, **kw)  # type: ignore[arg-type]


def test_fast_path_equalities() -> None:
    assert _eq("0.5", "\\frac{1}{2}")
    assert _eq("28\\%", "28") and _eq("28%", "0.28") and _eq("28 percent", "\\frac{7}{25}")
    assert _eq("0.0833333333", "\\frac{1}{12}")  # a decimal agrees to 6 places
    assert _eq("37.50", "\\$37.5")


def test_fast_path_inequalities() -> None:
    assert not _eq("0.333", "\\frac{1}{3}")  # three decimals are not the exact third
    assert not _eq("10^{-21}", "10^{-20}")  # exact, unlike evalf with chop
    assert not _eq("0.0000001", "0.0000002")  # both round to 0 at 6 places, yet differ by 2x
    assert not _eq("28", "0.28")
    assert not _eq("1.000002", "1")
    assert _eq("1.0000001", "1")  # agrees to 6 decimal places


def test_tolerance_options() -> None:
    assert _eq("0.33", "\\frac{1}{3}", float_rounding=2)
    assert _eq("101", "100", rel_tol=0.01)
    assert not _eq("102", "100", rel_tol=0.01)


# -- prescreen -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "9^{9^{9^9}}",
        "9^{9^9}",
        "x^{9^{9^9}}",
        "10^{10^{10}}",
        "2^{10000000}",
        "100000!",
        "(10!)!",
        "(10^{10})!",
        "{2^{100}}!",
        "3\\uparrow\\uparrow 4",
        "1" * 3000,
        "x" * 5000,
        "{" * 100 + "}" * 100,
    ],
)
def test_prescreen_rejects_absurd_inputs(text: str) -> None:
    assert prescreen(text, 1000) is not None


@pytest.mark.parametrize(
    "text",
    [
        "2^{2006}",
        "\\frac{1}{2004!}",
        "2^{2^{10}}",
        "e^{x^2}",
        "x^{100}",
        "10^{-20}",
        "(3!)^2",
        "1000000",
        "\\frac{(n+1)!}{n^2}",
        "e^{x^{2}+y^{2}}",
        "2^{3^{4}}",
        "(2^3)!",
    ],
)
def test_prescreen_accepts_real_answers(text: str) -> None:
    assert prescreen(text, 1000) is None
