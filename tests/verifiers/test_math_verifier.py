"""The ``math`` verifier end to end: every answer category in both directions, hedging, the
known math-verify false positives, every outcome, options, pickling and pool shutdown."""

from __future__ import annotations

import os
import pickle
from collections.abc import Iterator
from typing import Any

import pytest

from grpo_rewards import load_rewards
from grpo_rewards.contract import Outcome, Sample
from grpo_rewards.errors import MissingColumnError
from grpo_rewards.plugins import get_registry
from grpo_rewards.verifiers.math import MathVerifier


def make(**options: Any) -> MathVerifier:
    """A verifier with a generous timeout (CI machines are shared; timeouts are tested in
    test_math_safety.py). Verifiers with equal pool settings share one set of workers."""
    return MathVerifier(timeout=20, **options)


@pytest.fixture(scope="module")
def verifier() -> Iterator[MathVerifier]:
    v = make()
    yield v
    v.close()


def outcomes(v: MathVerifier, cases: list[tuple[str, str]], column: str = "answer") -> list[Outcome]:
    """Score ``(completion, gold)`` pairs as one batch (the way GRPO calls it)."""
    results = v.score_batch([Sample(c, {column: g}) for c, g in cases])
    out = []
    for r in results:
        assert not isinstance(r, BaseException), r
        out.append(r.outcome)
    return out


# (answer written in the completion's box, gold, equivalent?)
CATEGORIES: dict[str, list[tuple[str, str, bool]]] = {
    "integers and separators": [
        ("7,425,000", "7425000", True),
        ("1\\,000", "1000", True),
        ("10{,}000", "10000", True),
        ("7,425,001", "7425000", False),
    ],
    "decimals": [("1000.0", "1000", True), (".4", "0.4", True), ("0.41", "0.4", False)],
    "fractions": [
        ("\\dfrac{10}{9}", "10/9", True),
        ("\\frac{2}{4}", "\\frac{1}{2}", True),
        ("0.5", "\\frac{1}{2}", True),
        ("\\frac{1}{3}", "\\frac{1}{2}", False),
        ("0.333", "\\frac{1}{3}", False),
    ],
    "mixed numbers": [("1\\frac{1}{4}", "\\frac{5}{4}", True), ("1\\frac{1}{4}", "\\frac{1}{4}", False)],
    "scientific notation": [("1.5 \\times 10^{3}", "1500", True), ("1.5 \\times 10^{4}", "1500", False)],
    "percent": [
        ("28\\%", "28", True),
        ("0.28", "28\\%", True),
        ("(28\\%)", "28", True),  # not a plain number: the sympy path, same rule
        ("28", "0.28", False),
        ("(29\\%)", "28", False),
    ],
    "units, degrees, currency": [
        ("125 \\text{ miles}", "125", True),
        ("90^\\circ", "90", True),
        ("\\$37.50", "37.5", True),
        ("45^\\circ", "90", False),
    ],
    "radicals": [
        ("2\\sqrt{2}", "\\sqrt{8}", True),
        ("\\frac{\\sqrt{3}}{3}", "\\frac{1}{\\sqrt{3}}", True),
        ("2\\sqrt{3}", "\\sqrt{8}", False),
    ],
    "pi and e": [
        ("7\\pi", "\\pi \\cdot 7", True),
        ("\\mathrm{e}^{2}", "e^2", True),
        ("1 + \\frac{1}{\\mathrm{e}}", "1 - \\frac{1}{e}", False),
        ("6\\pi", "7\\pi", False),
    ],
    "expressions": [
        ("x^2+2x+1", "(x+1)^2", True),
        ("4a-2", "2(2a-1)", True),
        ("x^2-2x+1", "(x+1)^2", False),
    ],
    "equations": [
        ("y = 2x + 1", "y = 1 + 2x", True),
        ("x = 5", "5", True),
        ("x = 6", "x = 5", False),
    ],
    "sets": [("\\{2, 1\\}", "\\{1, 2\\}", True), ("\\{1, 3\\}", "\\{1, 2\\}", False)],
    "tuples": [("(1, 2)", "(1,2)", True), ("(2, 1)", "(1, 2)", False)],
    "intervals": [
        ("[0, 1)", "[0,1)", True),
        ("(-\\infty, 2] \\cup (3, \\infty)", "(-\\infty,2]\\cup(3,\\infty)", True),
        ("(0, 1)", "[0,1)", False),
    ],
    "matrices": [
        ("\\begin{bmatrix} 1 & 0 \\\\ 0 & 1 \\end{bmatrix}", "\\begin{pmatrix} 1 & 0 \\\\ 0 & 1 \\end{pmatrix}", True),
        ("\\begin{pmatrix} 1 & 2 \\\\ 3 & 5 \\end{pmatrix}", "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", False),
    ],
    "multiple choice": [("\\text{(C)}", "C", True), ("(B)", "C", False)],
    "text answers": [("\\text{Evelyn}", "\\text{Evelyn}", True), ("\\text{Briana}", "\\text{Evelyn}", False)],
}


@pytest.mark.parametrize("category", sorted(CATEGORIES))
def test_category_both_directions(verifier: MathVerifier, category: str) -> None:
    cases = CATEGORIES[category]
    got = outcomes(verifier, [(f"So the answer is $\\boxed{{{a}}}$.", g) for a, g, _ in cases])
    want = [Outcome.CORRECT if ok else Outcome.WRONG for _, _, ok in cases]
    assert got == want, [(a, g) for (a, g, _), o, w in zip(cases, got, want, strict=True) if o != w]


def test_known_math_verify_false_positives_are_fixed(verifier: MathVerifier) -> None:
    # huggingface/Math-Verify#14: evalf(chop=True) declares tiny/huge magnitudes equal, and
    # \mathrm{e} truncates the parsed answer.
    pairs = [
        ("\\frac{1}{2006!}", "\\frac{1}{2004!}"),
        ("\\frac{1}{2^{98}}", "\\frac{1}{2^{99}}"),
        ("\\frac{1}{3 \\cdot 2^{2006}}", "\\frac{2^{2005}+1}{3 \\cdot 2^{2006}}"),
        ("10^{-21}", "10^{-20}"),
        ("\\pi \\cdot 10^{-30}", "\\pi \\cdot 10^{-31}"),
        ("1 + \\frac{1}{\\mathrm{e}}", "1 - \\frac{1}{\\mathrm{e}}"),
    ]
    assert outcomes(verifier, [(f"\\boxed{{{p}}}", g) for p, g in pairs]) == [Outcome.WRONG] * len(pairs)
    same = [(g, g) for _, g in pairs] + [("\\frac{1}{2004!}", "\\frac{2005}{2005!}")]
    assert outcomes(verifier, [(f"\\boxed{{{p}}}", g) for p, g in same]) == [Outcome.CORRECT] * len(same)


# Reports from math-verify's issue tracker (huggingface/Math-Verify), each checked against
# ``math``: the comparison ones already score wrong here (math-verify's own verdict or our exact
# re-check), the extraction and hang ones were ours to fix.
MATH_VERIFY_REPORTS = {
    "sign only": [("-5", "5"), ("5", "-5"), ("-x", "x"), ("-\\frac{1}{2}", "\\frac{1}{2}")],
    "factorial only": [("5!", "5"), ("5", "5!"), ("n!", "n"), ("(n+1)!", "n+1")],
    "part of a find-all answer": [("2", "2, 3"), ("2", "x = 2, x = 3"), ("x=2", "x=2 \\text{ or } x=3")],
    "two equations that both move to 0": [("x+y=0", "x-y=0"), ("x^2-1=0", "x^2+1=0"), ("2x=2", "x=1")],
}


@pytest.mark.parametrize("report", sorted(MATH_VERIFY_REPORTS))
def test_math_verify_reports_score_wrong(verifier: MathVerifier, report: str) -> None:
    pairs = MATH_VERIFY_REPORTS[report]
    assert outcomes(verifier, [(f"\\boxed{{{p}}}", g) for p, g in pairs]) == [Outcome.WRONG] * len(pairs)
    assert outcomes(verifier, [(f"\\boxed{{{g}}}", g) for _, g in pairs]) == [Outcome.CORRECT] * len(pairs)


@pytest.mark.parametrize(
    "completion",
    ["The answer is **73**.", "So the final answer is **73**", "**Answer:** **73**", "Answer: __73__"],
)
def test_a_bold_answer_is_read_without_its_asterisks(verifier: MathVerifier, completion: str) -> None:
    score = verifier.score(Sample(completion, {"answer": "73"}))
    assert (score.outcome, score.info["answer"]) == (Outcome.CORRECT, "73")


@pytest.mark.parametrize(
    "tower", ["2^{2^{2^{2^{2^{2}}}}}", "10^{10^{10}}", "{2}^{{2}^{{2}^{{2}^{{2}^{2}}}}}", "9^{9^{9^9}}"]
)
def test_a_power_tower_is_rejected_before_it_can_hang_a_worker(verifier: MathVerifier, tower: str) -> None:
    # 2^(2^65536) has no timeout-free evaluation in sympy; it used to run until the worker was
    # killed (outcome timeout, after `timeout` seconds of a worker).
    score = verifier.score(Sample(f"\\boxed{{{tower}}}", {"answer": "4"}))
    assert score.outcome is Outcome.UNPARSEABLE and "tower" in score.detail
    assert verifier.score(Sample("\\boxed{2^{2^{2^{2^{2}}}}}", {"answer": "4"})).outcome is Outcome.WRONG  # 2^65536


class TestGoldThatIsNotMath:
    """A gold answer written in words cannot be compared: the row is bad_reference (reward None),
    as TRL 1.16's accuracy_reward returns None for a gold that math-verify cannot parse
    (trl/rewards/accuracy_rewards.py, ``reward = None`` when ``gold_parsed`` is empty)."""

    GOLDS = ["forty two", "Forty-two", "Answer is forty two.", "one hundred", "two thirds"]

    @pytest.mark.parametrize("gold", GOLDS)
    def test_bad_reference_whatever_the_completion(self, verifier: MathVerifier, gold: str) -> None:
        completions = ["\\boxed{42}", f"\\boxed{{{gold}}}", "\\boxed{x}", "I do not know.", "\\boxed{9^{9^{9^9}}}"]
        results = verifier.score_batch([Sample(c, {"answer": gold}) for c in completions])
        for r in results:
            assert not isinstance(r, BaseException)
            assert (r.outcome, r.value) == (Outcome.BAD_REFERENCE, None), r
        assert "written in words" in results[0].detail and "'answer'" in results[0].detail

    def test_symbolic_and_text_golds_are_still_compared(self, verifier: MathVerifier) -> None:
        golds = [
            "x^2+1",
            "\\frac{\\pi}{2}",
            "(-\\infty, 3]",
            "\\text{(A)}",
            "5 cm",
            "\\{1, 2\\}",
            "odd",
            "no solution",
            "x y",
        ]
        assert outcomes(verifier, [(f"\\boxed{{{g}}}", g) for g in golds]) == [Outcome.CORRECT] * len(golds)

    def test_a_list_keeps_its_usable_golds(self, verifier: MathVerifier) -> None:
        assert outcomes(verifier, [("\\boxed{42}", ["forty two", "42"])]) == [Outcome.CORRECT]  # type: ignore[list-item]


class TestHedging:
    """Listing several candidates never earns credit (docs/verifiers/math.md, "Hedging")."""

    def test_several_boxes_against_one_gold(self, verifier: MathVerifier) -> None:
        got = verifier.score(Sample("\\boxed{1}\\boxed{2}\\boxed{3}", {"answer": "3"}))
        assert got.outcome is Outcome.WRONG and "hedging" in got.detail

    def test_or_inside_one_answer(self, verifier: MathVerifier) -> None:
        assert outcomes(verifier, [("\\boxed{3 \\text{ or } 4}", "3"), ("\\boxed{3 or 4}", "4")]) == [Outcome.WRONG] * 2

    def test_superset_of_the_gold_set(self, verifier: MathVerifier) -> None:
        assert outcomes(verifier, [("\\boxed{\\{1,2,3,4\\}}", "\\{1,2\\}")]) == [Outcome.WRONG]

    def test_plus_minus_against_one_value(self, verifier: MathVerifier) -> None:
        assert outcomes(verifier, [("\\boxed{\\pm 2}", "2")]) == [Outcome.WRONG]

    def test_different_answer_blocks(self, verifier: MathVerifier) -> None:
        got = verifier.score(Sample("<answer>3</answer><answer>4</answer>", {"answer": "4"}))
        assert got.outcome is Outcome.WRONG and "hedging" in got.detail

    def test_listing_every_part_of_a_multi_part_gold_is_not_a_hedge(self, verifier: MathVerifier) -> None:
        cases = [("\\boxed{2} and \\boxed{3}", "\\{2, 3\\}"), ("\\boxed{(2, 2)} and \\boxed{(6, 2)}", "(2, 2), (6, 2)")]
        assert outcomes(verifier, cases) == [Outcome.CORRECT] * 2

    def test_one_number_written_twice_is_not_a_hedge(self, verifier: MathVerifier) -> None:
        assert outcomes(verifier, [("\\boxed{3}, that is \\boxed{3.0}", "3")]) == [Outcome.CORRECT]

    def test_self_correction_is_not_a_hedge(self, verifier: MathVerifier) -> None:
        cases = [("\\boxed{3}, wait, no: \\boxed{2}", "2"), ("\\boxed{3}, wait, no: \\boxed{2}", "3")]
        assert outcomes(verifier, cases) == [Outcome.CORRECT, Outcome.WRONG]


class TestGoldColumn:
    def test_gsm8k_solution(self, verifier: MathVerifier) -> None:
        gold = "She sold 48/2 = <<48/2=24>>24 clips in May.\nAltogether 48+24 = <<48+24=72>>72 clips.\n#### 72"
        assert outcomes(verifier, [("#### 72", gold), ("The answer is 70.", gold)]) == [Outcome.CORRECT, Outcome.WRONG]

    def test_full_solution_with_box_in_another_column(self) -> None:
        v = make(column="solution")
        try:
            sol = "Completing the square gives $(x-3)^2 = 4$, so the larger root is $\\boxed{5}$."
            assert outcomes(v, [("\\boxed{5}", sol), ("\\boxed{1}", sol)], column="solution") == [
                Outcome.CORRECT,
                Outcome.WRONG,
            ]
            assert v.required_columns() == ["solution"]
        finally:
            v.close()

    def test_list_of_acceptable_golds(self, verifier: MathVerifier) -> None:
        results = verifier.score_batch([Sample("\\boxed{0.5}", {"answer": ["\\frac{1}{3}", "\\frac{1}{2}"]})])
        assert [r.outcome for r in results if not isinstance(r, BaseException)] == [Outcome.CORRECT]


class TestOutcomes:
    def test_no_answer(self, verifier: MathVerifier) -> None:
        got = outcomes(verifier, [("I am not sure how to solve this.", "4"), ("<think>\\boxed{4}", "4")])
        assert got == [Outcome.NO_ANSWER] * 2

    def test_unparseable(self, verifier: MathVerifier) -> None:
        got = verifier.score(Sample("\\boxed{9^{9^{9^{9}}}}", {"answer": "4"}))
        assert got.outcome is Outcome.UNPARSEABLE and "power tower" in got.detail
        assert outcomes(verifier, [("\\boxed{" + "1" * 5000 + "}", "4")]) == [Outcome.UNPARSEABLE]

    def test_bad_reference(self, verifier: MathVerifier) -> None:
        got = outcomes(verifier, [("\\boxed{4}", ""), ("\\boxed{4}", "#### "), ("\\boxed{4}", "9^{9^{9^9}}")])
        assert got == [Outcome.BAD_REFERENCE] * 3
        score = verifier.score(Sample("\\boxed{4}", {"answer": "\\frac{}{"}))
        assert score.outcome is Outcome.BAD_REFERENCE and score.value is None

    def test_missing_column_is_reported_not_scored(self, verifier: MathVerifier) -> None:
        (res,) = verifier.score_batch([Sample("\\boxed{4}", {"solution": "4"})])
        assert isinstance(res, MissingColumnError) and "answer" in str(res)
        rs = load_rewards([{"name": "math", "options": {"timeout": 20}}])
        try:
            result = rs.score(["\\boxed{4}"], columns={"solution": ["4"]})
            assert result.scores["math"][0].outcome is Outcome.BAD_REFERENCE
        finally:
            rs.close()

    def test_fast_path_never_starts_the_pool(self) -> None:
        v = make()
        got = outcomes(v, [("#### 72", "72"), ("\\boxed{\\frac{1}{2}}", "0.5"), ("\\boxed{3}", "4")])
        assert got == [Outcome.CORRECT, Outcome.CORRECT, Outcome.WRONG]
        assert v._pool is None
        v.close()

    def test_cache_hits_for_repeated_answers(self, verifier: MathVerifier) -> None:
        group = [("\\boxed{x^2+1}", "1+x^2")] * 8
        assert outcomes(verifier, group) == [Outcome.CORRECT] * 8
        (again,) = verifier.score_batch([Sample("\\boxed{x^2 + 1}", {"answer": "1+x^2"})])
        assert not isinstance(again, BaseException) and again.info["path"] == "cache"


class TestOptions:
    def test_registered_as_math(self) -> None:
        entry = get_registry().verifiers["math"]
        assert entry.factory is MathVerifier and entry.plugin.builtin

    def test_option_defaults_are_listed(self) -> None:
        opts = MathVerifier.option_defaults()
        for name in ("column", "extract", "float_rounding", "rel_tol", "timeout", "workers", "memory_mb"):
            assert name in opts

    def test_bad_options_name_the_problem(self) -> None:
        with pytest.raises(ValueError, match="extract"):
            MathVerifier(extract=["boxed", "magic"])
        with pytest.raises(ValueError, match="timeout"):
            MathVerifier(timeout=0)

    def test_strict_extraction(self) -> None:
        v = make(extract=["tag", "boxed"])
        assert outcomes(v, [("The answer is 4", "4"), ("\\boxed{4}", "4")]) == [Outcome.NO_ANSWER, Outcome.CORRECT]

    def test_extract_accepts_a_comma_separated_string(self) -> None:
        assert MathVerifier(extract="boxed, hashes").extract == ("boxed", "hashes")

    def test_equation_form(self) -> None:
        strict = make(equation_form=False)
        assert outcomes(strict, [("\\boxed{x = 5}", "5"), ("\\boxed{5}", "5")]) == [Outcome.WRONG, Outcome.CORRECT]

    def test_options_from_a_reward_config(self) -> None:
        options = {"column": "solution", "float_rounding": 2, "timeout": 20}
        rs = load_rewards({"rewards": [{"name": "math", "options": options}]})
        try:
            result = rs.score(["\\boxed{0.33}"], columns={"solution": ["\\frac{1}{3}"]})
            assert result.scores["math"][0].outcome is Outcome.CORRECT
        finally:
            rs.close()


class TestLifecycle:
    def test_picklable_before_and_after_use(self, verifier: MathVerifier) -> None:
        clone = pickle.loads(pickle.dumps(verifier))
        try:
            assert clone._pool is None and clone.timeout == verifier.timeout
            assert outcomes(clone, [("\\boxed{(x+1)^2}", "x^2+2x+1")]) == [Outcome.CORRECT]
        finally:
            clone.close()

    def test_close_stops_every_worker(self) -> None:
        v = MathVerifier(workers=2, timeout=7)  # settings no other test uses: its own workers
        assert outcomes(v, [("\\boxed{x+1}", "1+x")]) == [Outcome.CORRECT]
        pids = v.pool().pids()
        assert len(pids) == 2
        v.close()
        for pid in pids:
            assert not _alive(pid), f"worker {pid} still running after close()"
        # and it can be used again afterwards
        assert outcomes(v, [("\\boxed{x+2}", "2+x")]) == [Outcome.CORRECT]
        v.close()

    def test_reward_set_close_stops_workers(self) -> None:
        rs = load_rewards([{"name": "math", "options": {"timeout": 9}}])  # its own workers
        assert rs.reward_funcs[0](completions=["\\boxed{\\sqrt{4}}"], answer=["2"]) == [1.0]
        v = rs.verifier("math")
        assert isinstance(v, MathVerifier)
        pids = v.pool().pids()
        rs.close()
        assert pids and not any(_alive(p) for p in pids)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes, but Popen.wait() in close() reaps it, so it should be gone.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False
