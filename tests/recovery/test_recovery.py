"""A component's ``recover`` setting (:mod:`grpo_rewards.recovery`): a second opinion on ``wrong``
verdicts only, within a budget, never paying more than ``correct``, failures counted and never
turned into ``correct``. The second opinions are real verifiers: ``math`` with another extraction
rule, and small verifiers registered here for what no built-in does on demand (a grade above 1,
an exception)."""

from __future__ import annotations

import json
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import grpo_rewards
from grpo_rewards import ConfigError, Sample, Score, Verifier, load_rewards
from grpo_rewards.plugins import registered_plugin, reset_registry
from grpo_rewards.recovery import RecoveringVerifier, Recovery, _RateLimit, recovery_counts
from grpo_rewards.testing import call_like_trl

GOLD = "12"
# default math takes the box; the second opinion (math, last_number) the last number
COMPLETIONS = [
    "\\boxed{12}",  # correct: never asked
    "\\boxed{5}, no wait: 12",  # wrong -> recovered
    "\\boxed{5} so 5",  # wrong -> confirmed
    "\\boxed{4}, hmm 12",  # wrong -> recovered (when within budget)
    "no number at all",  # no_answer: not asked by default
]
LAST_NUMBER = {"verifier": "math", "options": {"extract": ["last_number"]}}


class Generous(Verifier):
    """A grader whose scale goes above the correct value: 5.0 for everything."""

    name = "test.generous"
    description = "5.0 for any completion"
    calls = 0

    def score(self, sample: Sample) -> Score:
        type(self).calls += 1
        return Score.scored(5.0, "five")


class Broken(Verifier):
    """A second opinion that fails: raises for every batch."""

    name = "test.broken"
    description = "raises"

    def score_batch(self, samples: Any) -> list[Score | BaseException]:
        raise ConnectionError("judge unreachable")


class Plugin:
    @grpo_rewards.hookimpl
    def register_verifiers(self, register: Any) -> None:
        register(Generous)
        register(Broken)


@pytest.fixture(autouse=True)
def registry(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("GRPO_REWARDS_LOAD_PLUGINS", "")
    reset_registry()
    Generous.calls = 0
    with registered_plugin(Plugin(), name="recovery-tests"):
        yield
    reset_registry()


def math_with(recover: Any, **extra: Any) -> Any:
    return load_rewards({"rewards": [{"name": "math", "recover": recover, **extra}]})


def scores(rs: Any, completions: list[str] = COMPLETIONS) -> list[Score]:
    return rs.score(completions, columns={"answer": [GOLD] * len(completions)}).scores["math"]


def test_only_wrong_verdicts_are_asked_and_a_recovered_one_is_exactly_correct() -> None:
    rs = math_with(LAST_NUMBER)
    got = scores(rs)
    assert [(s.outcome.value, s.value) for s in got] == [
        ("correct", 1.0),
        ("correct", 1.0),
        ("wrong", 0.0),
        ("correct", 1.0),
        ("no_answer", 0.0),
    ]
    assert [s.info.get("recovery") for s in got] == [None, "recovered", "confirmed", "recovered", None]
    assert got[1].info["first_outcome"] == "wrong" and got[1].detail.startswith("recovered by math (correct 1)")
    assert recovery_counts(got) == {"calls": 3, "recovered": 2, "confirmed": 1, "failed": 0, "skipped": 0}
    # without recover, the same batch
    plain = scores(load_rewards(["math"]))
    assert [s.outcome.value for s in plain] == ["correct", "wrong", "wrong", "wrong", "no_answer"]


def test_no_answer_is_asked_only_when_listed() -> None:
    got = scores(math_with({**LAST_NUMBER, "outcomes": ["wrong", "no_answer"]}))
    assert got[4].info["recovery"] == "failed"  # asked; last_number finds no number either: no verdict
    assert (got[4].outcome.value, got[4].value) == ("no_answer", 0.0)


def test_a_recovered_sample_never_gets_more_than_a_correct_one() -> None:
    got = scores(math_with({"verifier": "test.generous"}))
    assert Generous.calls == 3  # the three wrong verdicts only
    assert [s.value for s in got] == [1.0, 1.0, 1.0, 1.0, 0.0]  # never the judge's 5.0
    assert all(s.outcome.value == "correct" for s in got[:4])
    # the component's policy for correct applies to recovered samples too
    rs = math_with({"verifier": "test.generous"}, outcomes={"correct": 0.8})
    values = rs.score(COMPLETIONS, columns={"answer": [GOLD] * 5}).values["math"]
    assert values == [0.8, 0.8, 0.8, 0.8, 0.0]


def test_a_graded_second_opinion_recovers_at_the_threshold_only() -> None:
    assert all(
        s.outcome.value == "correct" for s in scores(math_with({"verifier": "test.generous", "threshold": 5}))[:4]
    )
    got = scores(math_with({"verifier": "test.generous", "threshold": 5.5}))
    assert [s.info.get("recovery") for s in got] == [None, "confirmed", "confirmed", "confirmed", None]
    assert [s.value for s in got] == [1.0, 0.0, 0.0, 0.0, 0.0]


def test_the_budget_caps_calls_per_batch_and_the_rest_are_counted_skipped() -> None:
    rs = math_with({"verifier": "test.generous", "budget": 2})
    got = scores(rs)
    assert Generous.calls == 2
    assert [s.info.get("recovery") for s in got] == [None, "recovered", "recovered", "skipped", None]
    assert (got[3].outcome.value, got[3].value) == ("wrong", 0.0)
    assert got[3].detail.endswith("(no second opinion: the batch's budget)")
    assert recovery_counts(got) == {"calls": 2, "recovered": 2, "confirmed": 0, "failed": 0, "skipped": 1}
    assert [s.info.get("recovery") for s in scores(math_with({"verifier": "test.generous", "budget": 0}))][1:4] == [
        "skipped"
    ] * 3


def test_the_rate_limit_holds_across_batches() -> None:
    rs = math_with({"verifier": "test.generous", "per_minute": 4})
    first = scores(rs)  # 3 calls of 4
    second = scores(rs, [c + " " for c in COMPLETIONS])  # another batch (not the cache): 1 call left
    assert Generous.calls == 4
    assert [s.info.get("recovery") for s in first] == [None, "recovered", "recovered", "recovered", None]
    assert [s.info.get("recovery") for s in second] == [None, "recovered", "skipped", "skipped", None]
    assert second[2].detail.endswith("(no second opinion: the rate limit)")


def test_rate_limit_window_slides() -> None:
    now = [0.0]
    limit = _RateLimit(3, clock=lambda: now[0])
    assert limit.take(2) == 2
    now[0] = 30.0
    assert limit.take(5) == 1
    now[0] = 59.9
    assert limit.take(1) == 0
    now[0] = 60.0  # the first two calls left the window
    assert limit.take(5) == 2
    assert _RateLimit(0).take(1000) == 1000  # 0: no limit


def test_a_failing_second_opinion_leaves_the_wrong_verdict_and_is_counted() -> None:
    got = scores(math_with({"verifier": "test.broken"}))
    assert [(s.outcome.value, s.value) for s in got] == [
        ("correct", 1.0),
        ("wrong", 0.0),
        ("wrong", 0.0),
        ("wrong", 0.0),
        ("no_answer", 0.0),
    ]
    assert [s.info.get("recovery") for s in got] == [None, "failed", "failed", "failed", None]
    assert "second opinion test.broken failed: ConnectionError: judge unreachable" in got[1].detail
    # a second opinion that cannot judge the row (it reads a column the data lacks): no verdict, failed
    got = scores(math_with({"verifier": "math", "options": {"column": "gold"}}))
    assert [s.info.get("recovery") for s in got][1:4] == ["failed"] * 3
    assert all(s.outcome.value == "wrong" for s in got[1:4])
    assert "second opinion math failed: MissingColumnError: missing column 'gold'" in got[1].detail


def test_trl_metrics_count_calls_recoveries_failures_and_skips() -> None:
    rs = math_with({**LAST_NUMBER, "budget": 2})
    rows = [{"prompt": "q", "answer": GOLD}] * 5
    call = call_like_trl(rs.reward_funcs[0], rows, COMPLETIONS)
    assert call.values == [1.0, 1.0, 0.0, 0.0, 0.0]
    assert {k: v for k, v in call.metrics if k.startswith("recovery/")} == {
        "recovery/math/calls": 2.0,
        "recovery/math/recovered": 1.0,
        "recovery/math/confirmed": 1.0,
        "recovery/math/failed": 0.0,
        "recovery/math/skipped": 1.0,
    }
    assert call.metric("outcomes/math/correct") == 0.4  # the outcome rates see the recovered sample as correct
    # once seen, logged every step: a batch with nothing to ask logs zeros
    again = call_like_trl(rs.reward_funcs[0], rows[:1], ["\\boxed{12}"])
    assert again.metric("recovery/math/calls") == 0.0 and again.metric("recovery/math/recovered") == 0.0
    # a component without recover logs none
    plain = call_like_trl(load_rewards(["math"]).reward_funcs[0], rows, COMPLETIONS)
    assert not [k for k, _ in plain.metrics if k.startswith("recovery/")]


def test_a_gate_on_the_component_opens_for_a_recovered_sample() -> None:
    rs = load_rewards(
        {
            "rewards": [
                {"name": "math", "recover": LAST_NUMBER},
                {"name": "test.generous", "weight": 0.0, "gate": {"on": "math"}},
            ]
        }
    )
    got = rs.score(COMPLETIONS[:3], columns={"answer": [GOLD] * 3}).scores["test.generous"]
    assert [s.outcome.value for s in got] == ["scored", "scored", "skipped"]  # open for the recovered one


def test_toml_config_and_pickling(tmp_path: Path) -> None:
    cfg = tmp_path / "rewards.toml"
    cfg.write_text(
        '[[rewards]]\nname = "math"\n'
        'recover = { verifier = "math", options = { extract = ["last_number"] }, budget = 8, per_minute = 100 }\n'
    )
    rs = load_rewards(str(cfg))
    assert rs.component("math").recover == Recovery("math", {"extract": ["last_number"]}, budget=8, per_minute=100)
    copy = pickle.loads(pickle.dumps(rs))
    assert isinstance(copy.verifier("math"), RecoveringVerifier)
    assert [s.value for s in scores(copy)] == [1.0, 1.0, 0.0, 1.0, 0.0]


@pytest.mark.parametrize(
    ("recover", "message"),
    [
        ({"verifier": "math", "budjet": 3}, "rewards[0].recover: unknown key 'budjet'; did you mean 'budget'?"),
        ({"options": {}}, "rewards[0].recover: 'verifier' (the second opinion's name, e.g. 'judge.llm') is required"),
        ({"verifier": "math", "budget": -1}, "rewards[0].recover.budget must be a whole number of at least 0"),
        ({"verifier": "math", "per_minute": 1.5}, "rewards[0].recover.per_minute must be a whole number"),
        ({"verifier": "math", "outcomes": ["correct"]}, "'correct' cannot be recovered"),
        ({"verifier": "nope"}, "nope"),
        ({"verifier": "math", "options": {"colum": "x"}}, "rewards[0].recover: verifier 'math' has no option 'colum'"),
        (3, "'recover' must be a table"),
    ],
)
def test_config_errors_name_the_setting(recover: Any, message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        math_with(recover)
    assert message in str(exc.value)


def test_recover_needs_a_verifier_with_right_and_wrong_verdicts() -> None:
    with pytest.raises(ConfigError, match="'recover' needs a verifier whose verdicts are correct or wrong"):
        load_rewards({"rewards": [{"name": "length.overlong", "recover": "math"}]})


def test_grpo_rewards_score_reports_what_the_second_opinion_did(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from grpo_rewards.cli import main

    cfg = tmp_path / "rewards.toml"
    cfg.write_text(
        '[[rewards]]\nname = "math"\n'
        'recover = { verifier = "math", options = { extract = ["last_number"] }, budget = 2 }\n'
    )
    src = tmp_path / "rows.jsonl"
    src.write_text("".join(json.dumps({"answer": GOLD, "completion": c}) + "\n" for c in COMPLETIONS))
    out = tmp_path / "scored.jsonl"
    assert main(["score", str(src), "-c", str(cfg), "-o", str(out), "--no-progress"]) == 0
    summary = capsys.readouterr().out
    assert "math: second opinion asked on 2 rows: recovered 1, confirmed 1, failed 0; 1 not asked" in summary
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["outcomes"]["math"] for r in rows] == ["correct", "correct", "wrong", "wrong", "no_answer"]
    assert rows[1]["details"]["math"].startswith("recovered by math (correct 1); first verdict wrong")
