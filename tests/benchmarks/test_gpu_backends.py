"""The CPU-safe parts of benchmarks/gpu_backends.py: arguments, the overrides both backends train
with, the reward-timing wrapper, the JSON and table, and a ``--cpu-smoke`` run (2 real GRPO steps
of the transformers backend through grpo-train's code path)."""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "benchmarks" / "gpu_backends.py"

_spec = importlib.util.spec_from_file_location("gpu_backends", SCRIPT)
assert _spec and _spec.loader
gb = importlib.util.module_from_spec(_spec)
sys.modules["gpu_backends"] = gb  # dataclasses resolve their module through sys.modules
_spec.loader.exec_module(gb)


def test_defaults_gpu_and_smoke() -> None:
    gpu = gb.parse_args([])
    assert gpu.backends == ["transformers", "unsloth"]
    s = gpu.settings
    assert (s.warmup_steps, s.steps, s.max_steps) == (2, 8, 10)
    assert (s.batch_size, s.num_generations, s.max_completion_length, s.lora_r) == (64, 8, 128, 16)
    assert s.dtype == "bfloat16" and s.model_shape["num_hidden_layers"] == 24
    assert s.model_shape["vocab_size"] == 151_936
    assert gb.parse_args(["--vocab-size", "4096"]).settings.model_shape["vocab_size"] == 4096
    smoke = gb.parse_args(["--cpu-smoke", "--backends", "transformers"])
    assert smoke.backends == ["transformers"]
    assert (smoke.settings.warmup_steps, smoke.settings.steps, smoke.settings.dtype) == (0, 2, "float32")
    assert smoke.settings.model_shape == {}  # the tiny model
    assert gb.parse_args(["--steps", "3", "--warmup-steps", "0"]).settings.max_steps == 3


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--batch-size", "12", "--num-generations", "8"], "--batch-size 12 must be a multiple of --num-generations 8"),
        (["--backends", "vllm"], "--backends: unknown ['vllm']"),
        (["--steps", "0"], "--steps must be at least 1"),
        (["--num-generations", "1", "--batch-size", "4"], "--num-generations must be at least 2"),
    ],
)
def test_bad_arguments_are_named(argv, message, capsys) -> None:
    with pytest.raises(SystemExit):
        gb.parse_args(argv)
    assert message in capsys.readouterr().err


def test_both_backends_resolve_to_the_same_config_but_the_backend(tmp_path) -> None:
    from grpo_rewards_trainer.cli import build_parser
    from grpo_rewards_trainer.config import load_config, validate_grpo_keys

    s = gb.parse_args([]).settings
    configs = {}
    for backend in gb.BACKENDS:
        overrides = gb.train_overrides(s, backend, tmp_path / "model", tmp_path / "out")
        configs[backend] = load_config(None, overrides)
        validate_grpo_keys(configs[backend]["grpo"])
        # The printed grpo-train command line carries exactly these overrides.
        cmd = shlex.split(gb.grpo_train_command(overrides))
        assert cmd[0] == "grpo-train"
        assert build_parser().parse_args(cmd[1:]).overrides == overrides
    t, u = configs["transformers"], configs["unsloth"]
    assert (t["backend"], u["backend"]) == ("transformers", "unsloth")
    assert {**t, "backend": None} == {**u, "backend": None}
    assert t["model"]["name"] == str(tmp_path / "model")
    assert t["model"]["lora"]["r"] == 16 and t["model"]["lora"]["use_gradient_checkpointing"] is False
    assert t["grpo"]["num_generations"] == 8 and t["grpo"]["max_completion_length"] == 128
    assert [r["name"] for r in t["rewards"]] == ["math", "format.think", "length.overlong"]
    assert t["rewards"][2]["options"] == {"max_length": 128, "cache_length": 32}
    on = load_config(
        None, gb.train_overrides(gb.parse_args(["--gradient-checkpointing"]).settings, "unsloth", "m", "o")
    )
    assert on["model"]["lora"]["use_gradient_checkpointing"] == "unsloth" and on["grpo"]["gradient_checkpointing"]


def test_tiny_model_config_takes_a_larger_shape() -> None:
    from grpo_rewards_trainer.tiny import tiny_model_config

    tiny = tiny_model_config(100, pad_token_id=0, eos_token_id=1)
    big = tiny_model_config(100, pad_token_id=0, eos_token_id=1, overrides=gb.QWEN25_05B_SHAPE)
    assert (tiny.num_hidden_layers, tiny.hidden_size) == (2, 128)
    assert (big.num_hidden_layers, big.hidden_size, big.intermediate_size) == (24, 896, 4864)
    # Qwen2.5's padded vocabulary; the special tokens stay the tokenizer's.
    assert (big.vocab_size, big.pad_token_id, big.eos_token_id) == (151_936, 0, 1)
    with pytest.raises(ValueError, match="vocab_size 50 is smaller than the tokenizer's 100 tokens"):
        tiny_model_config(100, pad_token_id=0, eos_token_id=1, overrides={"vocab_size": 50})


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_reward_timing_wrapper_times_calls_and_counts_tokens_once() -> None:
    clock = FakeClock()
    synced = []
    rec = gb.StepRecorder(warmup_steps=1, synchronize=lambda: synced.append(clock.now), clock=clock)

    def math_reward(prompts=None, completions=None, completion_ids=None, **kw):
        clock.now += 0.5
        return [1.0] * len(completions)

    def format_reward(prompts=None, completions=None, completion_ids=None, **kw):
        clock.now += 0.25
        return [0.0] * len(completions)

    first, second = rec.wrap(math_reward), rec.wrap(format_reward)
    assert (first.__name__, second.__name__) == ("math_reward", "format_reward")  # TRL's metric names
    ids = [[1, 2, 3], [4, 5]]
    for step_seconds in (10.0, 4.0):  # one warm-up step, one measured
        rec.begin_step()
        assert first(prompts=["p", "p"], completions=["a", "b"], completion_ids=ids) == [1.0, 1.0]
        assert second(prompts=["p", "p"], completions=["a", "b"], completion_ids=ids) == [0.0, 0.0]
        clock.now += step_seconds - 0.75
        rec.end_step()
    assert len(synced) == 4  # before each timestamp: GPU work is counted in its step
    warm, measured = rec.records
    assert (warm.seconds, measured.seconds) == (10.0, 4.0)
    assert measured.reward_seconds == 0.75
    assert measured.generated_tokens == 5 and measured.completions == 2  # the first function only
    summary = rec.summary()
    assert summary["steps_measured"] == 1 and summary["warmup_step_seconds"] == [10.0]
    assert summary["seconds_per_step"] == 4.0
    assert summary["generated_tokens_per_s"] == 5 / 4.0
    assert summary["reward_share"] == 0.75 / 4.0


def test_a_failing_reward_function_is_still_timed_and_its_error_propagates() -> None:
    clock = FakeClock()
    rec = gb.StepRecorder(clock=clock)

    def broken(**kw):
        clock.now += 1.0
        raise ValueError("verifier crashed")

    wrapped = rec.wrap(broken)
    rec.begin_step()
    with pytest.raises(ValueError, match="verifier crashed"):
        wrapped(completions=["a"], completion_ids=[[1]])
    clock.now += 1.0
    rec.end_step()
    assert rec.records[0].reward_seconds == 1.0 and rec.records[0].seconds == 2.0
    # Outside a step (evaluation) calls are not attributed to any step.
    wrapped2 = gb.StepRecorder().wrap(lambda **kw: [0.0])
    assert wrapped2(completions=["x"]) == [0.0]


def test_overlapping_reward_calls_count_once() -> None:
    rec = gb.StepRecord(step=1, reward_intervals=[(5.0, 6.0), (0.0, 2.0), (1.0, 3.0), (1.5, 2.5)])
    assert rec.reward_seconds == 4.0


def test_tokens_unknown_when_trl_passes_no_completion_ids() -> None:
    clock = FakeClock()
    rec = gb.StepRecorder(clock=clock)
    f = rec.wrap(lambda completions=None, **kw: [0.0] * len(completions))
    rec.begin_step()
    f(completions=["a"])
    clock.now += 1.0
    rec.end_step()
    assert rec.summary()["generated_tokens_per_s"] is None


def test_summary_without_measured_steps_says_why() -> None:
    rec = gb.StepRecorder(warmup_steps=2, clock=FakeClock())
    rec.begin_step()
    rec.end_step()
    with pytest.raises(RuntimeError, match=r"1 step\(s\) ran, 2 of them warm-up"):
        rec.summary()
    with pytest.raises(RuntimeError, match="without begin_step"):
        rec.end_step()


def _ok(seconds, tokens, share, memory):
    return {
        "status": "ok",
        "seconds_per_step": seconds,
        "generated_tokens_per_s": tokens,
        "reward_share": share,
        "peak_gpu_memory_bytes": memory,
    }


def test_table_and_ratios() -> None:
    backends = {"transformers": _ok(2.0, 4096.0, 0.05, 8 * 2**30), "unsloth": _ok(1.0, 8192.0, 0.1, 4 * 2**30)}
    report = {"backends": backends, "ratios": gb.ratios(backends)}
    assert report["ratios"] == {"seconds_per_step": 0.5, "generated_tokens_per_s": 2.0, "peak_gpu_memory_bytes": 0.5}
    lines = gb.format_table(report).splitlines()
    assert lines[0].split(" | ") == [
        "backend     ",
        "status",
        "s/step",
        "generated tok/s",
        "reward share",
        "peak GPU memory",
    ]
    assert [c.strip() for c in lines[2].split("|")] == ["transformers", "ok", "2.000", "4,096", "5.0%", "8.00 GiB"]
    assert [c.strip() for c in lines[3].split("|")] == ["unsloth", "ok", "1.000", "8,192", "10.0%", "4.00 GiB"]
    assert lines[4] == "unsloth / transformers: s/step x0.50, tokens/s x2.00, peak memory x0.50"


def test_table_on_cpu_and_with_a_failed_backend() -> None:
    backends = {
        "transformers": _ok(2.0, 64.0, 0.01, None),
        "unsloth": {"status": "failed", "error": "exit status 1", "log_tail": "ImportError: ..."},
    }
    assert gb.ratios(backends) is None
    table = gb.format_table({"backends": backends, "ratios": None})
    assert [c.strip() for c in table.splitlines()[2].split("|")][-1] == "n/a"
    assert table.splitlines()[-1] == "unsloth: failed: exit status 1"


@pytest.mark.slow
def test_cpu_smoke_run_of_the_transformers_backend(tmp_path) -> None:
    out = tmp_path / "smoke.json"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "trainer")])}
    cmd = [sys.executable, str(SCRIPT), "--cpu-smoke", "--backends", "transformers", "--json", str(out)]
    proc = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    report = json.loads(out.read_text())
    assert report["mode"] == "cpu-smoke" and report["device"]["cuda"] is False
    assert report["model"]["parameters"] > 0 and report["model"]["shape"]["num_hidden_layers"] == 2
    res = report["backends"]["transformers"]
    assert res["status"] == "ok", res
    assert res["backend_used"]["name"] == "transformers"
    assert res["steps_measured"] == 2 and len(res["step_seconds"]) == 2
    # The four metrics.
    assert res["seconds_per_step"] > 0
    assert res["generated_tokens_per_s"] > 0
    assert 0 < res["reward_share"] < 1
    assert res["peak_gpu_memory_bytes"] is None
    # 8 completions per step, each at most 16 tokens.
    assert res["completions"] == [8, 8]
    assert all(0 < t <= 8 * 16 for t in res["generated_tokens"])
    assert res["grpo_train_command"].startswith("grpo-train --set backend=transformers ")
    assert "transformers | ok" in proc.stdout and "n/a" in proc.stdout


@pytest.mark.slow
@pytest.mark.unsloth
def test_cpu_smoke_run_of_the_unsloth_backend(tmp_path) -> None:
    python = os.environ.get(gb.UNSLOTH_PYTHON_ENV)
    if not python or gb.unsloth_missing(python):
        pytest.skip(f"{gb.UNSLOTH_PYTHON_ENV} is not set to a python that imports unsloth (see docs/training.md)")
    out = tmp_path / "smoke.json"
    cmd = [sys.executable, str(SCRIPT), "--cpu-smoke", "--backends", "unsloth", "--unsloth-python", python]
    proc = subprocess.run([*cmd, "--json", str(out)], cwd=tmp_path, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    res = json.loads(out.read_text())["backends"]["unsloth"]
    assert res["status"] == "ok", res
    assert res["backend_used"]["name"] == "unsloth" and res["versions"]["unsloth"]
    assert res["completions"] == [8, 8] and res["generated_tokens_per_s"] > 0 and 0 < res["reward_share"] < 1


def test_a_backend_that_cannot_start_or_hangs_is_recorded_with_its_log(tmp_path) -> None:
    settings = gb.parse_args(["--cpu-smoke"]).settings
    res = gb.run_child("transformers", "/bin/false", settings, tmp_path / "model", tmp_path, timeout=60)
    assert res["status"] == "failed" and res["error"] == "exit status 1"
    assert res["grpo_train_command"].startswith("grpo-train --set backend=transformers")
    hang = tmp_path / "hang.sh"
    hang.write_text("#!/bin/sh\necho started; sleep 30\n")
    hang.chmod(0o755)
    res = gb.run_child("unsloth", str(hang), settings, tmp_path / "model", tmp_path, timeout=1)
    assert res["status"] == "failed" and res["error"] == "timed out after 1 s"
    assert "started" in res["log_tail"]


def test_smoke_skips_unsloth_where_it_cannot_be_imported_and_gpu_mode_needs_a_gpu(tmp_path, capsys) -> None:
    out = tmp_path / "skip.json"
    missing = tmp_path / "no-such-python"
    argv = ["--cpu-smoke", "--backends", "unsloth", "--unsloth-python", str(missing), "--json", str(out)]
    assert gb.main(argv) == 0
    report = json.loads(out.read_text())
    assert report["backends"] == {"unsloth": {"status": "skipped", "reason": f"{missing} does not exist"}}
    assert f"unsloth: skipped: {missing} does not exist" in capsys.readouterr().out
    import torch

    if not torch.cuda.is_available():
        assert gb.main(["--json", str(tmp_path / "gpu.json")]) == 2
        assert "no CUDA GPU here; use --cpu-smoke" in capsys.readouterr().err
