"""Composition: weighted, gated components with per-outcome value policies.

A *reward set* is a list of components. Each component is one verifier with options, a weight
(passed to TRL as ``reward_weights``, so TRL logs every component separately), an optional
*gate* (score this component only when another component's outcome is in a given set,
otherwise give a fixed value) and an optional per-outcome *value policy* (e.g. give
``timeout`` 0.0 and skip ``bad_reference`` with ``None``).

Specifications come as a list of strings (``"math"``, ``"format.think:0.2"``), a list of
dicts, a dict with a ``rewards`` list, or a path to a TOML file with ``[[rewards]]`` tables.
A list may also hold plain Python functions (``my_fn``, or ``{"name": my_fn, "weight": 0.5}``),
functions named by import path (``"my_pkg.rewards:my_fn"``, ``"my_pkg.rewards:my_fn:0.5"``;
in TOML ``name = "my_pkg.rewards:my_fn"``) and other reward sets, whose components are added
(see :mod:`grpo_rewards.functions` for how functions are called)::

    [defaults]                   # applies to every component unless it overrides
    reasoning = "think"          # reasoning delimiters (grpo_rewards.reasoning): think, harmony, ...
    outcomes = { error = "skip" }

    [[rewards]]
    name = "math"
    weight = 1.0
    options = { column = "answer" }
    outcomes = { timeout = 0.0, bad_reference = "skip" }

    [[rewards]]
    name = "length.overlong"
    alias = "overlong"
    weight = 0.5
    gate = { on = "math", outcomes = ["correct"], otherwise = 0.0 }
"""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grpo_rewards.contract import Outcome
from grpo_rewards.errors import ConfigError
from grpo_rewards.recovery import Recovery, parse_recovery

__all__ = ["Gate", "ComponentSpec", "RewardSpec", "parse_reward_spec", "parse_set_value", "DEFAULT_OUTCOME_POLICY"]

SKIP = "skip"

DEFAULT_OUTCOME_POLICY: Mapping[Outcome, float | None] = {
    Outcome.ERROR: None,
    Outcome.BAD_REFERENCE: None,
}
"""Unless configured otherwise, a verifier failure or an unusable reference gives no signal
(``None``, which TRL turns into NaN and leaves out of the group baseline) rather than 0.0,
which would punish the policy for something it did not do. Every other outcome keeps the
value the verifier gave."""

_COMPONENT_KEYS = ("name", "weight", "alias", "options", "outcomes", "gate", "recover")
_GATE_KEYS = ("on", "outcomes", "otherwise")
_TOP_KEYS = ("rewards", "defaults")
_DEFAULTS_KEYS = ("outcomes", "reasoning")


@dataclass(frozen=True)
class Gate:
    """Score the component only when component ``on`` has one of ``outcomes``; otherwise give
    ``otherwise`` (a float, or ``None`` for no signal) with the ``skipped`` outcome."""

    on: str
    outcomes: tuple[Outcome, ...] = (Outcome.CORRECT,)
    otherwise: float | None = 0.0


@dataclass(frozen=True)
class ComponentSpec:
    """One component of a reward set, fully resolved from its specification."""

    verifier: str
    name: str
    weight: float = 1.0
    options: Mapping[str, Any] = field(default_factory=dict)
    outcomes: Mapping[Outcome, float | None] = field(default_factory=dict)
    gate: Gate | None = None
    where: str = ""
    function: Callable[..., Any] | None = None
    """A plain Python function (:mod:`grpo_rewards.functions`) instead of a registered verifier;
    ``verifier`` then holds its import path. Pickled by reference, like any function."""
    recover: Recovery | None = None
    """A second opinion on this component's ``wrong`` verdicts (:mod:`grpo_rewards.recovery`)."""

    def policy_value(self, outcome: Outcome, value: float | None) -> float | None:
        """The value this component gives for ``outcome`` when the verifier said ``value``."""
        if outcome in self.outcomes:
            return self.outcomes[outcome]
        return value


@dataclass(frozen=True)
class RewardSpec:
    """A parsed reward specification: the components, in the order the user gave them."""

    components: tuple[ComponentSpec, ...]
    source: str = "<spec>"

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.components]


def parse_set_value(text: str) -> Any:
    """A ``--set`` value (``grpo-rewards score --set``, ``grpo-train --set``): a TOML literal
    (``3``, ``1e-4``, ``true``, ``"x"``, ``[1, 2]``, ``{a = 1}``), else the text itself."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _near(key: str, allowed: Sequence[str]) -> str:
    hint = difflib.get_close_matches(key, list(allowed), n=1)
    return f"; did you mean {hint[0]!r}?" if hint else f"; allowed: {', '.join(allowed)}"


def _check_keys(d: Mapping[str, Any], allowed: Sequence[str], where: str) -> None:
    for key in d:
        if key not in allowed:
            raise ConfigError(f"{where}: unknown key {key!r}{_near(str(key), allowed)}")


def _policy_value(v: Any, where: str) -> float | None:
    if v is None or (isinstance(v, str) and v.lower() in (SKIP, "none", "null")):
        return None
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        raise ConfigError(f"{where}: outcome values must be a finite number or 'skip', got {v!r}")
    return float(v)


def _parse_outcomes(d: Any, where: str) -> dict[Outcome, float | None]:
    if not isinstance(d, Mapping):
        raise ConfigError(f"{where}: 'outcomes' must be a table of outcome = value, got {type(d).__name__}")
    out: dict[Outcome, float | None] = {}
    valid = [o.value for o in Outcome]
    for k, v in d.items():
        if k not in valid:
            raise ConfigError(f"{where}: unknown outcome {k!r}{_near(str(k), valid)}")
        out[Outcome(k)] = _policy_value(v, f"{where}.outcomes.{k}")
    return out


def _parse_gate(d: Any, where: str) -> Gate:
    if isinstance(d, str):
        d = {"on": d}
    if not isinstance(d, Mapping):
        raise ConfigError(f"{where}: 'gate' must be a table like {{ on = \"math\" }}, got {d!r}")
    _check_keys(d, _GATE_KEYS, f"{where}.gate")
    if "on" not in d or not isinstance(d["on"], str):
        raise ConfigError(f"{where}.gate: 'on' (the component to gate on) is required")
    outs = d.get("outcomes", ["correct"])
    if isinstance(outs, str):
        outs = [outs]
    valid = [o.value for o in Outcome]
    for o in outs:
        if o not in valid:
            raise ConfigError(f"{where}.gate.outcomes: unknown outcome {o!r}{_near(str(o), valid)}")
    otherwise = _policy_value(d.get("otherwise", 0.0), f"{where}.gate.otherwise")
    return Gate(on=d["on"], outcomes=tuple(Outcome(o) for o in outs), otherwise=otherwise)


def _parse_weight(w: Any, where: str) -> float:
    if isinstance(w, str):
        try:
            w = float(w)
        except ValueError:
            raise ConfigError(f"{where}: weight must be a number, got {w!r}") from None
    if isinstance(w, bool) or not isinstance(w, int | float) or not math.isfinite(w):
        raise ConfigError(f"{where}: weight must be a finite number, got {w!r}")
    return float(w)


def _function_component(
    fn: Any, where: str, defaults: Mapping[Outcome, float | None], path: str | None = None, **fields: Any
) -> ComponentSpec:
    from grpo_rewards.functions import RewardDefinition, calling_convention, function_name

    if isinstance(fn, RewardDefinition):  # a @grpo_rewards.reward function: use its registered verifier
        return ComponentSpec(verifier=fn.name, name=fields.pop("name", None) or fn.name, where=where, **fields)
    if not callable(fn):
        raise ConfigError(f"{where}: {fn!r} is not a function")
    try:
        calling_convention(fn)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    name = fields.pop("name", None) or function_name(fn)
    if name == "<lambda>":
        raise ConfigError(f"{where}: a lambda has no name to log its reward under; use {{'name': fn, 'alias': '...'}}")
    module = getattr(fn, "__module__", None) or "?"
    qualname = getattr(fn, "__qualname__", None) or function_name(fn)
    fields.setdefault("outcomes", dict(defaults))
    return ComponentSpec(verifier=path or f"{module}:{qualname}", name=name, function=fn, where=where, **fields)


def _split_weight(item: str, where: str) -> tuple[str, float]:
    """``"name"``, ``"name:0.5"``, ``"pkg.mod:fn"`` or ``"pkg.mod:fn:0.5"`` -> (name, weight)."""
    head, sep, tail = item.rpartition(":")
    if not sep:
        return item.strip(), 1.0
    try:
        weight = float(tail.strip())
    except ValueError:
        if ":" in head:
            raise ConfigError(f"{where}: weight must be a number, got {tail.strip()!r} in {item!r}") from None
        from grpo_rewards.plugins import get_registry

        if head.strip() in get_registry().verifiers:
            raise ConfigError(f"{where}: weight must be a number, got {tail.strip()!r} in {item!r}") from None
        return item.strip(), 1.0  # "pkg.module:function"
    return head.strip(), _parse_weight(weight, where)


def _parse_component(item: Any, where: str, defaults: Mapping[Outcome, float | None]) -> ComponentSpec:
    if isinstance(item, str):
        name, weight = _split_weight(item, where)
        if not name:
            raise ConfigError(f"{where}: empty reward name in {item!r}")
        if ":" in name:
            from grpo_rewards.functions import import_function

            fn = import_function(name, where)
            return _function_component(fn, where, defaults, path=name, weight=weight)
        return ComponentSpec(verifier=name, name=name, weight=weight, outcomes=dict(defaults), where=where)
    if callable(item) and not isinstance(item, Mapping):
        return _function_component(item, where, defaults)
    if not isinstance(item, Mapping):
        raise ConfigError(
            f"{where}: a reward is a string like 'math:1.0', a function, or a table with 'name', got {item!r}"
        )
    _check_keys(item, _COMPONENT_KEYS, where)
    if "name" not in item or not (isinstance(item["name"], str) or callable(item["name"])):
        raise ConfigError(f"{where}: 'name' (a registered verifier, an import path or a function) is required")
    options = item.get("options", {})
    if not isinstance(options, Mapping):
        raise ConfigError(f"{where}: 'options' must be a table, got {type(options).__name__}")
    outcomes = dict(defaults)
    if "outcomes" in item:
        outcomes.update(_parse_outcomes(item["outcomes"], where))
    alias = item.get("alias")
    if alias is not None and (not isinstance(alias, str) or not alias):
        raise ConfigError(f"{where}: 'alias' must be a non-empty string")
    fields: dict[str, Any] = {
        "weight": _parse_weight(item.get("weight", 1.0), where),
        "options": dict(options),
        "outcomes": outcomes,
        "gate": _parse_gate(item["gate"], where) if "gate" in item else None,
    }
    if "recover" in item:
        fields["recover"] = parse_recovery(item["recover"], where)
    target = item["name"]
    if callable(target) or ":" in target:
        path = None
        if isinstance(target, str):
            from grpo_rewards.functions import import_function

            path, target = target, import_function(target, where)
        return _function_component(target, where, defaults, path=path, name=alias, **fields)
    return ComponentSpec(verifier=target, name=alias or target, where=where, **fields)


def _with_option_defaults(c: ComponentSpec, option_defaults: Mapping[str, Any]) -> ComponentSpec:
    """``c`` with the ``[defaults]`` options (``reasoning``) that its verifier accepts and its
    own ``options`` do not set. Plain functions, and verifiers without such an option (a
    plugin's), are left alone; an unknown verifier name is reported later, when it is built."""
    if c.function is not None:
        return c
    from grpo_rewards.contract import Verifier
    from grpo_rewards.plugins import get_registry

    try:
        factory = get_registry().get_verifier(c.verifier).factory
    except ConfigError:
        return c
    if not (isinstance(factory, type) and issubclass(factory, Verifier)):
        return c
    accepted = factory.option_defaults()
    extra = {k: v for k, v in option_defaults.items() if k in accepted and k not in c.options}
    return dataclasses.replace(c, options={**c.options, **extra}) if extra else c


def _flatten(items: Sequence[Any]) -> list[tuple[Any, str | None]]:
    """Items of a reward list, with reward sets and specs among them opened into their components."""
    out: list[tuple[Any, str | None]] = []
    for item in items:
        spec = getattr(item, "spec", item)  # a RewardSet carries its RewardSpec
        if isinstance(spec, Path) or (isinstance(spec, str) and spec.endswith(".toml")):
            spec = parse_reward_spec(spec)
        if isinstance(spec, RewardSpec):
            out.extend((c, spec.source) for c in spec.components)
        else:
            out.append((item, None))
    return out


def parse_reward_spec(spec: Any, *, source: str | None = None) -> RewardSpec:
    """Parse any accepted form of reward specification into a :class:`RewardSpec`.

    Accepts a :class:`RewardSpec`, a TOML path (``str`` ending in ``.toml`` or ``Path``), a
    single reward string, a list of strings/dicts, or a dict with ``rewards`` (and optional
    ``defaults.outcomes``, ``defaults.reasoning``). Errors name the file and the offending entry.
    """
    if isinstance(spec, RewardSpec):
        return spec
    if isinstance(getattr(spec, "spec", None), RewardSpec):  # a RewardSet
        return spec.spec
    if isinstance(spec, Path) or (isinstance(spec, str) and spec.endswith(".toml")):
        path = Path(spec)
        if not path.is_file():
            raise ConfigError(f"reward config {os.fspath(path)!r} does not exist")
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML: {exc}") from exc
        return parse_reward_spec(data, source=str(path))
    src = source or "<spec>"
    defaults: dict[Outcome, float | None] = dict(DEFAULT_OUTCOME_POLICY)
    option_defaults: dict[str, Any] = {}
    if isinstance(spec, str) or (callable(spec) and not isinstance(spec, Mapping)):
        items: Any = [spec]
    elif isinstance(spec, Mapping):
        _check_keys(spec, _TOP_KEYS, src)
        if "defaults" in spec:
            d = spec["defaults"]
            if not isinstance(d, Mapping):
                raise ConfigError(f"{src}: 'defaults' must be a table")
            _check_keys(d, _DEFAULTS_KEYS, f"{src}: defaults")
            defaults.update(_parse_outcomes(d.get("outcomes", {}), f"{src}: defaults"))
            if "reasoning" in d:
                from grpo_rewards.reasoning import parse_reasoning

                parse_reasoning(d["reasoning"], f"{src}: defaults.reasoning")  # a typo fails here, named
                option_defaults["reasoning"] = d["reasoning"]
        if "rewards" not in spec:
            raise ConfigError(f"{src}: no 'rewards' list (add [[rewards]] tables)")
        items = spec["rewards"]
    else:
        items = spec
    if not isinstance(items, Sequence) or isinstance(items, str | bytes):
        raise ConfigError(f"{src}: rewards must be a list, got {type(items).__name__}")
    if not items:
        raise ConfigError(f"{src}: the reward list is empty")
    comps = [
        it if isinstance(it, ComponentSpec) else _parse_component(it, f"{src}: rewards[{i}]", defaults)
        for i, (it, _) in enumerate(_flatten(items))
    ]
    if option_defaults:
        comps = [_with_option_defaults(c, option_defaults) for c in comps]
    seen: dict[str, str] = {}
    for c in comps:
        if c.name in seen:
            raise ConfigError(
                f"{c.where}: component name {c.name!r} is used twice (also at {seen[c.name]}); give one an 'alias'"
            )
        seen[c.name] = c.where
    for c in comps:
        if c.gate is not None and c.gate.on not in seen:
            raise ConfigError(
                f"{c.where}: gate on {c.gate.on!r}, which is not a component of this reward set"
                f"{_near(c.gate.on, list(seen))}"
            )
        if c.gate is not None and c.gate.on == c.name:
            raise ConfigError(f"{c.where}: a component cannot gate on itself")
    return RewardSpec(tuple(comps), src)
