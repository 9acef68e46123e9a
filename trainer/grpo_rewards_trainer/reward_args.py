"""What a trainer's reward arguments may hold, turned into one reward set and TRL's lists.

What runs here: the user's reward arguments (``rewards=``, ``reward_funcs=``, ``reward_fn=``,
``reward_model=``), resolved against the training data's columns and the trainer's settings
before any model loads. It may trust nothing in them: every item is checked, and a mistake is a
:class:`~grpo_rewards.ConfigError` naming the item.

An item is a :class:`~grpo_rewards.RewardSet`, a spec (``"math:1.0"``, a table, a TOML path),
a plain function (TRL's form or the seed's ``(responses, ground_truths)``), or a reward model
(a ``torch.nn.Module`` such as a ``PreTrainedModel``, which TRL scores itself, weight 1.0).
"""

from __future__ import annotations

import dataclasses
import logging
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from grpo_rewards import RewardSet
from grpo_rewards.composition import ComponentSpec, RewardSpec, parse_reward_spec
from grpo_rewards.errors import ConfigError, UnknownVerifierError
from grpo_rewards.functions import GOLD_COLUMNS, calling_convention
from grpo_rewards.plugins import get_registry

__all__ = ["SettingsMismatchWarning", "TrainerRewards", "build_rewards"]

log = logging.getLogger("grpo_rewards_trainer")


class SettingsMismatchWarning(UserWarning):
    """A verifier option that mirrors a trainer setting disagrees with the trainer's value."""


@dataclasses.dataclass
class TrainerRewards:
    """The reward set (``None`` when only reward models were given), the reward models, and the
    ``reward_funcs`` / ``reward_weights`` that go to TRL, in that order."""

    reward_set: RewardSet | None
    models: list[Any]
    reward_funcs: list[Any]
    reward_weights: list[float]


def _is_model(item: Any) -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover - the trainer needs torch
        return False
    return isinstance(item, torch.nn.Module)


def _items(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str | Path | Mapping | RewardSet | RewardSpec) or callable(value):
        return [value]
    if isinstance(value, Sequence):
        return list(value)
    raise ConfigError(
        f"rewards must be a reward set, a spec, a function, a reward model or a list of these; got {type(value).__name__}"
    )


def _with_gold_column(c: ComponentSpec, gold_column: str | None, columns: Sequence[str] | None) -> ComponentSpec:
    """A seed-form function component with its gold column fixed now, from the data's columns."""
    if c.function is None or "gold_column" in c.options or calling_convention(c.function) != "seed":
        return c
    chosen = gold_column or next((g for g in GOLD_COLUMNS if columns is not None and g in columns), None)
    if chosen is None:
        return c  # RewardSet.check_columns names the candidates
    return dataclasses.replace(c, options={**c.options, "gold_column": chosen})


def _mirrored(c: ComponentSpec, settings: Any) -> ComponentSpec:
    """Options that mirror a trainer setting: unset ones take the trainer's value, differing ones warn."""
    if c.function is not None or settings is None or c.verifier not in get_registry().verifiers:
        return c
    factory = get_registry().verifiers[c.verifier].factory
    mirrored = getattr(factory, "mirrored_options", None)
    if mirrored is None:
        return c
    options = dict(c.options)
    for option, setting in mirrored(options).items():
        value = getattr(settings, setting, None)
        if value is None:
            continue
        if option not in options:
            options[option] = value
        elif options[option] != value:
            warnings.warn(
                f"reward {c.name!r}: {option}={options[option]!r}, but the trainer's {setting} is {value!r}; "
                f"the reward and the trainer disagree on one length (leave {option} unset to take the trainer's)",
                SettingsMismatchWarning,
                stacklevel=4,
            )
    return dataclasses.replace(c, options=options) if options != dict(c.options) else c


def build_rewards(
    value: Any,
    reward_model: Any = None,
    *,
    columns: Sequence[str] | None = None,
    settings: Any = None,
    gold_column: str | None = None,
    user_weights: Sequence[float] | None = None,
) -> TrainerRewards:
    """Resolve a trainer's reward arguments (see the module docstring).

    :param columns: the training data's columns (``None``: unknown, e.g. an iterable dataset).
        A component that needs a column absent from them is an error here.
    :param settings: the trainer's ``GRPOConfig``, for options that mirror its settings
        (``length.overlong``'s ``max_length`` is ``max_completion_length``).
    :param gold_column: where a seed-form function's ``ground_truths`` come from.
    :param user_weights: ``args.reward_weights`` as the user set it; weights come from the
        composition, so a different list is an error.
    """
    items = _items(value) + _items(reward_model)
    models = [i for i in items if _is_model(i)]
    others = [i for i in items if not _is_model(i)]
    if not others and not models:
        raise ConfigError(
            "GRPOTrainer needs rewards: pass rewards=[...] (e.g. ['math', my_fn, 'format.think:0.2']), "
            "reward_funcs=, reward_fn= or reward_model="
        )
    rs = None
    if others:
        try:
            spec = parse_reward_spec(others, source="rewards")
            comps = [_mirrored(_with_gold_column(c, gold_column, columns), settings) for c in spec.components]
            rs = RewardSet(RewardSpec(tuple(comps), spec.source))
        except UnknownVerifierError as exc:
            ids = [i for i in others if isinstance(i, str) and "/" in i and not i.endswith(".toml")]
            if not ids:
                raise
            raise UnknownVerifierError(
                f"{exc} A string in rewards is a reward spec; if {ids[0]!r} is a reward model, load it and pass "
                "the object: reward_model=AutoModelForSequenceClassification.from_pretrained(..., num_labels=1)"
            ) from None
        if columns is not None:
            rs.check_columns(list(columns))
    funcs = [*(rs.reward_funcs if rs else []), *models]
    weights = [*(rs.reward_weights if rs else []), *([1.0] * len(models))]
    if user_weights is not None and [float(w) for w in user_weights] != weights:
        names = [*(rs.names if rs else []), *(type(m).__name__ for m in models)]
        raise ConfigError(
            f"args.reward_weights={list(user_weights)} disagrees with the rewards' own weights {weights} "
            f"(for {', '.join(names)}); give each weight in the composition (e.g. 'format.think:0.2') "
            "and leave reward_weights unset"
        )
    return TrainerRewards(rs, models, funcs, weights)
