"""Backend choice: which one, and the reason given in the log line."""

from __future__ import annotations

import pytest
from grpo_rewards_trainer import backend

from grpo_rewards.errors import ConfigError


@pytest.fixture
def world(monkeypatch):
    def set_world(*, unsloth: bool, gpu: bool) -> None:
        real = backend.importlib.util.find_spec
        monkeypatch.setattr(
            backend.importlib.util,
            "find_spec",
            lambda name, *a: (object() if unsloth else None) if name == "unsloth" else real(name, *a),
        )
        monkeypatch.setattr(backend, "_cuda_available", lambda: gpu)

    return set_world


@pytest.mark.parametrize(
    ("unsloth", "gpu", "name", "reason"),
    [
        (True, True, "unsloth", "auto: unsloth is installed and a CUDA GPU is present"),
        (True, False, "transformers", "auto: unsloth is installed but there is no CUDA GPU"),
        (False, True, "transformers", "auto: unsloth is not installed"),
        (False, False, "transformers", "auto: unsloth is not installed"),
    ],
)
def test_auto(world, unsloth, gpu, name, reason) -> None:
    world(unsloth=unsloth, gpu=gpu)
    choice = backend.choose_backend("auto")
    assert choice.name == name
    assert choice.reason.startswith(reason)
    assert choice.describe() == f"backend: {name} ({choice.reason})"


def test_forced_backends(world) -> None:
    world(unsloth=True, gpu=False)
    assert backend.choose_backend("unsloth").reason.endswith("no CUDA GPU: Unsloth trains on CPU, slowly")
    assert backend.choose_backend("transformers").name == "transformers"
    world(unsloth=False, gpu=True)
    with pytest.raises(ConfigError, match="unsloth package is not installed"):
        backend.choose_backend("unsloth")


@pytest.mark.parametrize(
    ("name", "kind"),
    [("tiny", "tiny"), ("Qwen/Qwen2.5-0.5B-Instruct", "hub"), ("gpt2", "hub")],
)
def test_model_sources(name, kind) -> None:
    assert backend.check_model_source(name) == kind


@pytest.mark.parametrize("name", ["./models/x", "/nope/model", "runs/a/model", "~/m"])
def test_paths_that_do_not_exist(name) -> None:
    with pytest.raises(ConfigError, match="no such directory"):
        backend.check_model_source(name)
