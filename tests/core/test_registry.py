"""The plugin registry: built-ins as plugins, entry points, env-var control, failures, conflicts."""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pluggy
import pytest
from core_test_plugin import Length

import grpo_rewards
from grpo_rewards import ConfigError, UnknownVerifierError, VerifierConflictError, load_rewards
from grpo_rewards.plugins import BUILTIN_PLUGINS, get_registry, registered_plugin, reset_registry


def make_dist(site: Path, dist: str, module: str, body: str, ep_name: str | None = None) -> None:
    """Install a plugin distribution the way pip lays it out: a module plus a .dist-info with an
    entry point in the ``grpo_rewards`` group."""
    (site / f"{module}.py").write_text(textwrap.dedent(body))
    info = site / f"{dist.replace('-', '_')}-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text(f"[grpo_rewards]\n{ep_name or module} = {module}\n")


GOOD = """
import grpo_rewards
from grpo_rewards import Score, Verifier

class Shout(Verifier):
    name = "shout"
    description = "1.0 when the completion is upper case"
    def score(self, sample):
        return Score.correct() if sample.completion.isupper() else Score.wrong("not upper case")

@grpo_rewards.hookimpl
def register_verifiers(register):
    register(Shout)
"""

BROKEN = """
raise ImportError("this plugin needs a library that is not installed")
"""

CLASHING = """
import grpo_rewards
from grpo_rewards import Score, Verifier

class Exact2(Verifier):
    name = "shout"
    description = "another shout"
    def score(self, sample):
        return Score.correct()

@grpo_rewards.hookimpl
def register_verifiers(register):
    register(Exact2)
"""


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delenv("GRPO_REWARDS_LOAD_PLUGINS", raising=False)
    monkeypatch.delenv("GRPO_REWARDS_DISABLE_PLUGINS", raising=False)
    reset_registry()
    yield site
    for mod in ("grpo_rewards_shout", "grpo_rewards_broken", "grpo_rewards_clash"):
        sys.modules.pop(mod, None)
    reset_registry()


def run_cli(site: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("GRPO_REWARDS_")}
    e["PYTHONPATH"] = os.pathsep.join([str(site), e.get("PYTHONPATH", "")])
    e.update(env)
    return subprocess.run(
        [sys.executable, "-m", "grpo_rewards.cli", *args], capture_output=True, text=True, env=e, timeout=120
    )


def test_builtins_are_registered_through_the_hooks(no_installed_plugins: None) -> None:
    reg = get_registry()
    entry = reg.verifiers["exact"]
    assert entry.plugin.builtin and entry.plugin.name == "grpo_rewards.verifiers.exact"
    assert entry.plugin.distribution == "grpo-rewards"
    assert "grpo_rewards.verifiers.exact" in grpo_rewards.plugins.plugin_manager().list_name_plugin()[0][0] or any(
        name == "grpo_rewards.verifiers.exact" for name, _ in grpo_rewards.plugins.plugin_manager().list_name_plugin()
    )


def test_registry_loads_once(no_installed_plugins: None) -> None:
    assert get_registry() is get_registry()


def test_entry_point_plugin_shows_up_and_can_be_used(site: Path) -> None:
    make_dist(site, "grpo-rewards-shout", "grpo_rewards_shout", GOOD)
    reg = get_registry()
    e = reg.verifiers["shout"]
    assert (e.plugin.name, e.plugin.distribution, e.plugin.version) == (
        "grpo_rewards_shout",
        "grpo-rewards-shout",
        "1.2.3",
    )
    rs = load_rewards(["shout"])
    assert rs.reward_funcs[0](completions=["HELLO", "hello"]) == [1.0, 0.0]


def test_cli_list_shows_entry_point_plugin_and_env_var_hides_it(site: Path) -> None:
    make_dist(site, "grpo-rewards-shout", "grpo_rewards_shout", GOOD)
    shown = run_cli(site, "list")
    assert shown.returncode == 0, shown.stderr
    line = next(ln for ln in shown.stdout.splitlines() if ln.strip().startswith("shout"))
    assert "1.0 when the completion is upper case" in line
    assert "grpo-rewards-shout 1.2.3" in line
    assert "exact" in shown.stdout

    hidden = run_cli(site, "list", GRPO_REWARDS_LOAD_PLUGINS="")
    assert hidden.returncode == 0
    assert "shout" not in hidden.stdout and "exact" in hidden.stdout

    only = run_cli(site, "list", "--json", GRPO_REWARDS_LOAD_PLUGINS="grpo-rewards-shout")
    assert "shout" in [v["name"] for v in json.loads(only.stdout)["verifiers"]]

    disabled = run_cli(site, "list", GRPO_REWARDS_DISABLE_PLUGINS="grpo_rewards_shout")
    assert "shout" not in disabled.stdout


def test_broken_plugin_is_named_and_others_keep_working(site: Path, caplog: pytest.LogCaptureFixture) -> None:
    make_dist(site, "grpo-rewards-broken", "grpo_rewards_broken", BROKEN, ep_name="broken")
    make_dist(site, "grpo-rewards-shout", "grpo_rewards_shout", GOOD)
    reg = get_registry()
    assert "shout" in reg.verifiers and "exact" in reg.verifiers
    (failure,) = reg.failures
    assert failure.plugin.name == "broken" and failure.plugin.distribution == "grpo-rewards-broken"
    assert "needs a library that is not installed" in failure.error
    assert "grpo-rewards-broken" in caplog.text
    with pytest.raises(UnknownVerifierError) as ei:
        load_rewards(["broken.thing"])
    msg = str(ei.value)
    assert "unknown verifier 'broken.thing'" in msg and "broken (grpo-rewards-broken 1.2.3) failed at import" in msg

    out = run_cli(site, "list")
    assert out.returncode == 0
    assert "Plugins that failed to load" in out.stdout and "grpo-rewards-broken" in out.stdout


def test_two_plugins_registering_one_name_is_an_error_naming_both(site: Path) -> None:
    make_dist(site, "grpo-rewards-shout", "grpo_rewards_shout", GOOD)
    make_dist(site, "grpo-rewards-clash", "grpo_rewards_clash", CLASHING)
    with pytest.raises(VerifierConflictError) as ei:
        load_rewards(["shout"])
    assert "grpo-rewards-shout" in str(ei.value) and "grpo-rewards-clash" in str(ei.value)
    assert load_rewards(["exact"]).names == ["exact"]  # unrelated rewards unaffected


def test_hookimpl_that_raises_is_attributed(no_installed_plugins: None) -> None:
    class Raises:
        @grpo_rewards.hookimpl
        def register_verifiers(self, register: object) -> None:
            raise RuntimeError("bad registration")

    with registered_plugin(Raises(), name="raiser") as reg:
        assert any(f.plugin.name == "raiser" and "bad registration" in f.error for f in reg.failures)
        assert "exact" in reg.verifiers


def test_invalid_names_are_rejected(no_installed_plugins: None) -> None:
    class BadName:
        @grpo_rewards.hookimpl
        def register_verifiers(self, register: object) -> None:
            register(Length, name="Has Spaces")  # type: ignore[operator]

    with registered_plugin(BadName(), name="badname") as reg:
        assert any("invalid name 'Has Spaces'" in f.error for f in reg.failures)


def test_unknown_name_suggests_near_miss(test_registry: object) -> None:
    with pytest.raises(UnknownVerifierError, match="did you mean 'exact'"):
        load_rewards(["exakt"])


def test_unknown_option_suggests_near_miss(test_registry: object) -> None:
    with pytest.raises(ConfigError, match="has no option 'scal'; did you mean 'scale'"):
        load_rewards([{"name": "test.length", "options": {"scal": 2}}])
    with pytest.raises(ConfigError, match="invalid options for verifier 'test.length'.*positive"):
        load_rewards([{"name": "test.length", "options": {"scale": -1}}])


def _modules_with_hookimpls(package: str) -> set[str]:
    pm = pluggy.PluginManager("grpo_rewards")
    pkg = importlib.import_module(package)
    found = set()
    for mod in pkgutil.walk_packages(pkg.__path__, prefix=package + "."):
        module = importlib.import_module(mod.name)
        if any(pm.parse_hookimpl_opts(module, attr) for attr in dir(module)):
            found.add(mod.name)
    return found


def test_every_builtin_module_with_a_hookimpl_is_listed() -> None:
    found = (
        _modules_with_hookimpls("grpo_rewards.verifiers")
        | _modules_with_hookimpls("grpo_rewards.sandbox")
        | _modules_with_hookimpls("grpo_rewards.redteam")
    )
    assert "grpo_rewards.sandbox.local" in found and "grpo_rewards.verifiers.math" in found
    assert found == set(BUILTIN_PLUGINS)
    assert len(BUILTIN_PLUGINS) == len(set(BUILTIN_PLUGINS))


def test_registry_lists_exactly_the_builtin_plugins(no_installed_plugins: None) -> None:
    reg = get_registry()
    assert tuple(p.name for p in reg.plugins if p.builtin) == BUILTIN_PLUGINS
    assert not reg.failures


def test_load_plugins_name_that_matches_nothing_is_a_recorded_failure(
    site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_dist(site, "grpo-rewards-shout", "grpo_rewards_shout", GOOD)
    monkeypatch.setenv("GRPO_REWARDS_LOAD_PLUGINS", "grpo-rewards-shout,shuot")
    reg = get_registry()
    assert "shout" in reg.verifiers  # the name that matches still loads
    (failure,) = reg.failures
    assert (failure.plugin.name, failure.stage) == ("shuot", "load")
    assert "GRPO_REWARDS_LOAD_PLUGINS names 'shuot'" in failure.error
    assert "grpo_rewards_shout (grpo-rewards-shout)" in failure.error  # the installed names, to pick from
    with pytest.raises(UnknownVerifierError, match="plugin shuot failed at load: GRPO_REWARDS_LOAD_PLUGINS names"):
        load_rewards(["shuot.thing"])

    out = run_cli(site, "list", GRPO_REWARDS_LOAD_PLUGINS="shuot")
    assert out.returncode == 0, out.stderr
    assert "Plugins that failed to load" in out.stdout and "GRPO_REWARDS_LOAD_PLUGINS names 'shuot'" in out.stdout
    assert "shout" not in out.stdout.split("Plugins that failed to load")[0]
