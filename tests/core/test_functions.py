"""Plain Python functions as reward components, next to the built-ins."""

from __future__ import annotations

import logging
import math
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

import grpo_rewards
from grpo_rewards import ConfigError, Outcome, load_rewards
from grpo_rewards.functions import calling_convention
from grpo_rewards.plugins import unregister_definition
from grpo_rewards.testing import FakeTrainerState, call_like_trl


def contains_answer(completions: list[Any], answer: list[str], **kwargs: Any) -> list[float]:
    return [float(a in c) for c, a in zip(completions, answer, strict=True)]


def seed_reward(responses, ground_truths):  # the seed's form, untyped as people write it
    return [1.0 if gt in r else 0.0 for r, gt in zip(responses, ground_truths, strict=True)]


def shouting(completions: list[Any], **kwargs: Any) -> list[float | None]:
    return [None if not c else float(c.isupper()) for c in completions]


def test_calling_conventions() -> None:
    assert calling_convention(contains_answer) == "trl"
    assert calling_convention(seed_reward) == "seed"
    assert calling_convention(lambda completions: []) == "trl"
    with pytest.raises(ConfigError, match=r"cannot tell how to call it.*def f\(completions, \*\*kwargs\)"):
        calling_convention(lambda x: [])


def test_functions_mix_with_built_ins_with_weights_and_names(no_installed_plugins: None) -> None:
    rs = load_rewards(
        ["exact", contains_answer, {"name": seed_reward, "weight": 0.5, "alias": "seed"}, "format.think:0.2"]
    )
    assert rs.names == ["exact", "contains_answer", "seed", "format.think"]
    assert rs.reward_weights == [1.0, 1.0, 0.5, 0.2]
    assert rs.required_columns() == {"exact": ["answer"], "contains_answer": ["answer"], "seed": [], "format.think": []}
    call = call_like_trl(rs.reward_funcs[0], [{"prompt": "2+2?", "answer": "4"}] * 2, ["<answer>4</answer>", "five"])
    assert call.values == [1.0, 0.0]  # the first function: exact
    res = rs.score(["<answer>4</answer>", "five"], prompts=["p", "p"], columns={"answer": ["4", "4"]})
    assert res.values["contains_answer"] == [1.0, 0.0]
    assert res.values["seed"] == [1.0, 0.0]
    assert res.totals[0] == pytest.approx(1.0 + 1.0 + 0.5 * 1.0 + 0.2 * res.values["format.think"][0])
    assert res.scores["contains_answer"][0].outcome is Outcome.SCORED


def test_none_is_no_signal_and_gates_apply(no_installed_plugins: None) -> None:
    rs = load_rewards(["exact", {"name": shouting, "gate": {"on": "exact", "otherwise": -1.0}}])
    res = rs.score(["HI", "HI", ""], columns={"answer": ["HI", "no", ""]})
    assert res.values["shouting"] == [1.0, -1.0, -1.0]
    rs = load_rewards([shouting])
    assert rs.score(["", "A", "a"]).values["shouting"] == [None, 1.0, 0.0]


def test_a_function_that_raises_is_the_error_outcome_logged_once(
    no_installed_plugins: None, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(completions: list[Any], **kwargs: Any) -> list[float]:
        raise ZeroDivisionError("division by zero in my reward")

    rs = load_rewards([broken])
    with caplog.at_level(logging.WARNING, logger="grpo_rewards"):
        assert rs.reward_funcs[0](completions=["a", "b"]) == [None, None]
        assert rs.reward_funcs[0](completions=["c"]) == [None]
    res = rs.score(["a"])
    assert res.scores["broken"][0].outcome is Outcome.ERROR
    assert res.scores["broken"][0].detail == "ZeroDivisionError: division by zero in my reward"
    logged = [r for r in caplog.records if "division by zero in my reward" in r.getMessage()]
    assert len(logged) == 1 and logged[0].exc_info is not None  # the traceback, once


@pytest.mark.parametrize(
    ("returned", "message"),
    [
        ([1.0, math.nan], "the function returned nan for completion 1; rewards must be finite numbers"),
        ([math.inf, 0.0], "the function returned inf for completion 0; rewards must be finite numbers"),
        ([1.0, "high"], "the function returned str 'high' for completion 1, not a number"),
    ],
)
def test_nan_inf_and_non_numbers_are_errors_for_that_completion(returned: list[Any], message: str) -> None:
    def fn(completions: list[Any], **kwargs: Any) -> list[Any]:
        return returned

    res = load_rewards([fn]).score(["a", "b"])
    bad = next(s for s in res.scores["fn"] if s.outcome is Outcome.ERROR)
    assert bad.detail == message
    assert [v for v in res.values["fn"] if v is not None] == [
        v for v in returned if isinstance(v, float) and math.isfinite(v)
    ]


def test_a_wrong_length_is_an_error_for_the_batch() -> None:
    def fn(completions: list[Any], **kwargs: Any) -> list[float]:
        return [1.0]

    res = load_rewards([fn]).score(["a", "b", "c"])
    assert [s.outcome for s in res.scores["fn"]] == [Outcome.ERROR] * 3
    assert res.scores["fn"][0].detail.endswith("fn returned 1 values for 3 completions")


def test_trl_context_reaches_the_function() -> None:
    seen: dict[str, Any] = {}

    def curriculum(completions: list[Any], trainer_state: Any, log_metric: Any, **kwargs: Any) -> list[float]:
        seen["step"] = trainer_state.global_step
        log_metric("curriculum/step", float(trainer_state.global_step))
        return [0.0] * len(completions)

    rs = load_rewards([curriculum])
    call = call_like_trl(rs.reward_funcs[0], [{"prompt": "p"}], ["x"], trainer_state=FakeTrainerState(global_step=7))
    assert seen == {"step": 7}
    assert call.metric("curriculum/step") == 7.0


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (["no_such_pkg.rewards:fn"], "module 'no_such_pkg.rewards' could not be imported: ModuleNotFoundError"),
        (["os.path:no_such_function"], "reward 'os.path:no_such_function': module 'os.path' has no attribute"),
        (["os:sep"], "reward 'os:sep' is a str, not a function"),
        ([{"name": "no_such_pkg:fn", "weight": 0.5}], "module 'no_such_pkg' could not be imported"),
        ([lambda completions: []], "a lambda has no name to log its reward under"),
    ],
)
def test_import_paths_and_names_that_do_not_resolve(spec: list[Any], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_rewards(spec)
    assert err.value.args[0].startswith("<spec>: rewards[0]: ")
    assert message in str(err.value)


def test_import_paths_in_toml_with_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "toml_rewards_under_test", raising=False)  # imported here, forgotten after
    (tmp_path / "toml_rewards_under_test.py").write_text(
        "def long_enough(completions, **kw):\n    return [float(len(c) > 3) for c in completions]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "r.toml").write_text(
        '[[rewards]]\nname = "toml_rewards_under_test:long_enough"\nweight = 0.5\noutcomes = { error = 0.0 }\n'
    )
    rs = load_rewards(tmp_path / "r.toml")
    assert rs.names == ["long_enough"] and rs.reward_weights == [0.5]
    assert rs.score(["abcd", "ab"]).values["long_enough"] == [1.0, 0.0]
    assert load_rewards(["toml_rewards_under_test:long_enough:0.25"]).reward_weights == [0.25]
    with pytest.raises(ConfigError, match="weight must be a number, got 'abc'"):
        load_rewards(["exact:abc"])
    missing = tmp_path / "bad.toml"
    missing.write_text('[[rewards]]\nname = "toml_rewards_under_test:nope"\n')
    with pytest.raises(
        ConfigError,
        match=rf"^{missing}: rewards\[0\]: reward 'toml_rewards_under_test:nope': module 'toml_rewards_under_test' has no",
    ):
        load_rewards(missing)


def test_compositions_with_functions_pickle_and_score_the_same() -> None:
    rs = load_rewards(["exact", contains_answer, seed_reward])
    again = pickle.loads(pickle.dumps(rs))
    cols = {"answer": ["4", "4"]}
    assert again.score(["4", "x"], columns=cols).values == rs.score(["4", "x"], columns=cols).values
    f = pickle.loads(pickle.dumps(rs.reward_funcs[1]))
    assert f(completions=["4", "x"], answer=["4", "4"]) == [1.0, 0.0]


def test_reward_sets_combine(no_installed_plugins: None) -> None:
    base = load_rewards(["exact", "format.think:0.2"])
    rs = load_rewards([base, contains_answer])
    assert rs.names == ["exact", "format.think", "contains_answer"]
    assert rs.reward_weights == [1.0, 0.2, 1.0]


MODULE = '''
import grpo_rewards
from grpo_rewards import Score


@grpo_rewards.reward(name="mine.starts_with_answer", columns=["answer"])
def starts_with_answer(completion: str, answer: str, *, strip: bool = True) -> Score | bool:
    """1.0 when the completion starts with the gold answer."""
    text = completion.strip() if strip else completion
    if not text:
        return Score.no_answer()
    return text.startswith(str(answer))
'''


def test_the_reward_decorator_registers_a_verifier_that_survives_a_fresh_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest, no_installed_plugins: None
) -> None:
    (tmp_path / "my_decorated.py").write_text(textwrap.dedent(MODULE))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "my_decorated", raising=False)
    import my_decorated  # registers mine.starts_with_answer, until the finalizer below

    request.addfinalizer(lambda: unregister_definition(my_decorated.starts_with_answer))
    reg = grpo_rewards.get_registry()
    entry = reg.verifiers["mine.starts_with_answer"]
    assert entry.description == "1.0 when the completion starts with the gold answer."
    assert my_decorated.starts_with_answer("4 apples", "4") is True  # still callable as the function

    rs = load_rewards(
        ["mine.starts_with_answer", {"name": "mine.starts_with_answer", "alias": "raw", "options": {"strip": False}}]
    )
    assert rs.required_columns() == {"mine.starts_with_answer": ["answer"], "raw": ["answer"]}
    res = rs.score([" 4 apples", "5", ""], columns={"answer": ["4", "4", "4"]})
    assert [s.outcome for s in res.scores["mine.starts_with_answer"]] == [
        Outcome.CORRECT,
        Outcome.WRONG,
        Outcome.NO_ANSWER,
    ]
    assert res.values["raw"] == [0.0, 0.0, 0.0]
    with pytest.raises(ConfigError, match=r"has no option 'stripp'; its options: strip"):
        load_rewards([{"name": "mine.starts_with_answer", "options": {"stripp": True}}])

    # A fresh interpreter that never imported my_decorated: unpickling imports it and registers it.
    blob = tmp_path / "rs.pickle"
    blob.write_bytes(pickle.dumps(rs))
    code = (
        "import pickle, sys; rs = pickle.loads(open(sys.argv[1], 'rb').read()); "
        "print(rs.score(['4 x', '5'], columns={'answer': ['4', '4']}).values)"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "GRPO_REWARDS_LOAD_PLUGINS": ""}
    proc = subprocess.run([sys.executable, "-c", code, str(blob)], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "{'mine.starts_with_answer': [1.0, 0.0], 'raw': [1.0, 0.0]}"


def test_unregistering_a_definition_forgets_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "short_lived.py").write_text(textwrap.dedent(MODULE).replace("mine.", "short."))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "short_lived", raising=False)
    import short_lived  # registers short.starts_with_answer

    assert "short.starts_with_answer" in grpo_rewards.get_registry().verifiers
    unregister_definition(short_lived.starts_with_answer)
    assert "short.starts_with_answer" not in grpo_rewards.get_registry().verifiers
