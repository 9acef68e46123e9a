"""Red-team a composition before a run burns GPU hours (``grpo-rewards redteam``).

For each row of the user's data, every registered exploit (the built-ins in
:mod:`grpo_rewards.redteam.exploits`, and those plugins add through the ``register_exploits``
hook) builds a known reward hack; the composition scores each beside the row's *floor* (an
honest wrong answer in the right format) and *ceiling* (the gold answer). A hack whose mean
reward beats the floor by more than a threshold is flagged, with the components that paid it.

Modules: :mod:`~grpo_rewards.redteam.case` (what an exploit sees, the ``exploit`` decorator),
:mod:`~grpo_rewards.redteam.exploits` (the built-in hacks), :mod:`~grpo_rewards.redteam.run`
(scoring and the verdict), :mod:`~grpo_rewards.redteam.report` (the table and the files).
"""

from grpo_rewards.redteam.case import HONEST_REASONING, ComponentInfo, ExploitCase, exploit
from grpo_rewards.redteam.report import format_report, summary, write_report
from grpo_rewards.redteam.run import (
    CODE_TEMPLATE,
    DEFAULT_TEMPLATE,
    Exploit,
    ExploitResult,
    RedteamReport,
    redteam,
    registered_exploits,
)

__all__ = [
    "CODE_TEMPLATE",
    "DEFAULT_TEMPLATE",
    "HONEST_REASONING",
    "ComponentInfo",
    "Exploit",
    "ExploitCase",
    "ExploitResult",
    "RedteamReport",
    "exploit",
    "format_report",
    "redteam",
    "registered_exploits",
    "summary",
    "write_report",
]
