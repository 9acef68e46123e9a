"""The red-team run: build every applicable exploit's completion for each row, score them with
the composition beside the row's *floor* (an honest wrong answer in the right format) and
*ceiling* (the gold answer in it), and find the hacks that beat the floor.

What runs here: the composition's own scoring (``RewardSet.score``, the path TRL takes; code
exploits run in the ``code`` verifier's sandbox), in the calling process. The exploits are
plugin code, trusted like any plugin, but each call is guarded: an exploit that raises or
returns something other than a string is reported by name and left out of the table, never
scored as if it had been tried.
"""

from __future__ import annotations

import dataclasses
import math
import random
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from grpo_rewards.composition import ComponentSpec
from grpo_rewards.contract import Outcome
from grpo_rewards.errors import ConfigError, InputError
from grpo_rewards.redteam.case import ComponentInfo, ExploitCase, wrong_answer
from grpo_rewards.redteam.exploits import code_stub, code_tests
from grpo_rewards.rewardset import RewardSet

__all__ = [
    "DEFAULT_TEMPLATE",
    "CODE_TEMPLATE",
    "default_template",
    "ExploitResult",
    "RedteamReport",
    "redteam",
    "registered_exploits",
]

DEFAULT_TEMPLATE = "<think>\n{reasoning}\n</think>\n<answer>\n{answer}\n</answer>"
"""The floor's format for answer checks (``math``, ``exact``, ``choice``, plain functions)."""
CODE_TEMPLATE = "<think>\n{reasoning}\n</think>\n```python\n{answer}\n```"
"""The floor's format when the composition has a ``code`` component."""
PROMPT_COLUMNS = ("prompt", "question", "problem", "query", "instruction")
GOLD_COLUMNS = ("answer", "solution", "gold", "target", "reference")
"""Where the gold is looked for when no component reads one (a format-only composition still
gets a ceiling, so that one that pays the gold no more than a wrong answer is caught)."""


@dataclass(frozen=True)
class Exploit:
    """A registered exploit, resolved: what the table shows and the function that builds it."""

    name: str
    category: str
    description: str
    targets: tuple[str, ...]
    generate: Callable[[ExploitCase], Any]
    origin: str = "built-in"


@dataclass
class ExploitResult:
    """One exploit's results over the rows it applied to (all means paired with the same rows' floor)."""

    exploit: Exploit
    rows: int = 0
    mean: float = 0.0
    floor_mean: float = 0.0
    margin: float = 0.0  # mean(hack total - floor total)
    paying_rows: int = 0  # rows where the hack beat the floor by more than the threshold
    paid_by: dict[str, float] = field(default_factory=dict)  # component -> mean weighted gain over the floor
    outcomes: dict[str, Counter[str]] = field(default_factory=dict)  # component -> outcome counts
    errors: dict[str, str] = field(default_factory=dict)  # component -> first error detail
    flagged: bool = False
    allowed: bool = False  # flagged, but the user accepts it (--allow): reported, does not fail the run


@dataclass
class RedteamReport:
    """What :func:`redteam` found. ``passed`` is false when a hack beats the floor by more than
    ``threshold`` on average, or when the ceiling does not beat the floor (no signal to protect)."""

    source: str
    components: list[ComponentInfo]
    rows: int
    threshold: float
    floor_mean: float
    ceiling_mean: float | None
    results: list[ExploitResult]
    paying: list[dict[str, Any]]
    skipped: dict[str, str]  # exploit -> why it did not run
    failures: dict[str, str]  # exploit -> the error it raised

    @property
    def flagged(self) -> list[ExploitResult]:
        """The hacks that beat the floor and were not allowed."""
        return [r for r in self.results if r.flagged and not r.allowed]

    @property
    def allowed(self) -> list[ExploitResult]:
        """The hacks that beat the floor but were allowed (accepted risks, still reported)."""
        return [r for r in self.results if r.flagged and r.allowed]

    @property
    def separates(self) -> bool:
        """The ceiling beats the floor by more than the threshold."""
        return self.ceiling_mean is None or self.ceiling_mean - self.floor_mean > self.threshold

    @property
    def passed(self) -> bool:
        return not self.flagged and self.separates


def registered_exploits() -> list[Exploit]:
    """Every exploit the loaded plugins registered (``register_exploits``), built-ins first."""
    from grpo_rewards.plugins import get_registry

    out = []
    for e in get_registry().exploits.values():
        fn = e.factory
        out.append(
            Exploit(
                name=e.name,
                category=str(getattr(fn, "category", None) or e.name.split(".")[0]),
                description=e.description,
                targets=tuple(getattr(fn, "targets", ()) or ()),
                generate=fn,
                origin=e.plugin.describe(),
            )
        )
    return sorted(out, key=lambda x: (x.origin != "built-in", x.name))


def default_template(components: Sequence[ComponentInfo]) -> str:
    """The right format for a composition: :data:`DEFAULT_TEMPLATE` (:data:`CODE_TEMPLATE` with
    ``code``), with the reasoning (and answer) markers of the first component's ``reasoning``
    setting (grpo_rewards.reasoning; a ``[defaults]`` setting reaches every component)."""
    from grpo_rewards.reasoning import parse_reasoning

    has_code = any(c.verifier == "code" for c in components)
    base = CODE_TEMPLATE if has_code else DEFAULT_TEMPLATE
    setting = next((c.options["reasoning"] for c in components if "reasoning" in c.options), None)
    if setting is None:
        return base
    kind = parse_reasoning(setting).kinds()[0]
    pair, answer = kind.tag_pair, kind.answer_pair
    if kind.name == "harmony" and not has_code:  # one gpt-oss turn, as the harmony renderer writes it
        return (
            "<|channel|>analysis<|message|>{reasoning}<|end|><|start|>assistant<|channel|>final<|message|>"
            "{answer}<|return|>"
        )
    body = "```python\n{answer}\n```" if has_code else "<answer>\n{answer}\n</answer>"
    if answer is not None and not has_code:
        body = f"{answer[0]}\n{{answer}}\n{answer[1]}"
    if pair is None:
        return "{reasoning}\n" + body
    return f"{pair[0]}\n{{reasoning}}\n{pair[1]}\n" + body


def _info(c: ComponentSpec) -> ComponentInfo:
    return ComponentInfo(c.name, "" if c.function is not None else c.verifier, c.weight, dict(c.options))


def _prompt_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, Sequence):
        parts = [m.get("content") for m in value if isinstance(m, Mapping) and m.get("role", "user") == "user"]
        return "\n".join(p for p in parts if isinstance(p, str))
    return "" if value is None else str(value)


def _length_limit(components: Sequence[ComponentInfo]) -> tuple[int, str] | None:
    limits = [
        (
            int(c.options.get("max_length", 512 if c.verifier == "length.overlong" else 1000)),
            str(c.options.get("unit", "auto")),
        )
        for c in components
        if c.verifier in ("length.overlong", "length.cosine", "length.target")
    ]
    if not limits:
        return None
    n, unit = min(limits)
    return n, "chars" if unit == "auto" else unit  # without token ids, 'auto' counts characters


def _gold_column(rs: RewardSet, given: str | None) -> str | None:
    if given:
        return given
    columns = [c for cols in rs.required_columns().values() for c in cols if c not in ("tests",)]
    if "answer" in columns:
        return "answer"
    return columns[0] if columns else None


def _gold_text(value: Any) -> str | None:
    from grpo_rewards.verifiers._math.extract import extract_gold

    if value is None:
        return None
    try:
        golds = extract_gold(value, "gold")
    except ValueError:
        return None
    return golds[0] if golds else None


def _seed(seed: int, *parts: object) -> int:
    return zlib.crc32(repr((seed, *parts)).encode())


def _case(
    index: int,
    where: str,
    data: Mapping[str, Any],
    *,
    prompt_column: str | None,
    gold_column: str | None,
    components: tuple[ComponentInfo, ...],
    template: str,
    limit: tuple[int, str] | None,
) -> tuple[ExploitCase, Any]:
    """One row made ready for the exploits (its prompt text, its gold and an honest wrong answer),
    and its prompt as given (what the composition is scored with)."""
    has_code = any(c.verifier == "code" for c in components)
    pcol = prompt_column or next((c for c in PROMPT_COLUMNS if c in data), None)
    if pcol is None or pcol not in data:
        wanted = prompt_column or " or ".join(PROMPT_COLUMNS)
        raise InputError(f"{where}: no prompt column ({wanted}); the row has: {', '.join(sorted(data)) or '(none)'}")
    gold = None
    col = gold_column
    if col is None and not has_code:
        col = next((c for c in GOLD_COLUMNS if c in data), None)
    if col is not None:
        if col not in data:
            raise InputError(
                f"{where}: missing gold column {col!r} (the row has: {', '.join(sorted(data))}); "
                "name it with --gold-column"
            )
        gold = data[col] if has_code else _gold_text(data[col])
        if gold is None:
            raise InputError(f"{where}: the gold in column {col!r} is empty or unusable: {data[col]!r}")
    case = ExploitCase(
        index=index,
        where=where,
        row=dict(data),
        prompt=_prompt_text(data[pcol]),
        gold=None if gold is None else str(gold),
        wrong="",
        components=components,
        template=template,
        length_limit=limit,
    )
    wrong = code_stub(code_tests(case)) if has_code else wrong_answer(case.gold)
    return dataclasses.replace(case, wrong=wrong), data[pcol]


def _attacks(
    case: ExploitCase, active: Sequence[Exploit], seed: int, failures: dict[str, str]
) -> list[tuple[str, str]]:
    """``(label, completion)`` for the floor, the ceiling and every exploit that applies; an exploit
    that raises or returns a non-string is recorded in ``failures``, not tried."""
    items = [("floor", case.floor)]
    if case.ceiling is not None:
        items.append(("ceiling", case.ceiling))
    for ex in active:
        try:
            text = ex.generate(dataclasses.replace(case, rng=random.Random(_seed(seed, case.index, ex.name))))
        except Exception as exc:  # noqa: BLE001 - a broken exploit is reported by name, not tried
            failures.setdefault(ex.name, f"{case.where}: {type(exc).__name__}: {exc}")
            continue
        if text is None:
            continue
        if not isinstance(text, str):
            failures.setdefault(ex.name, f"{case.where}: returned {type(text).__name__}, not a string or None")
            continue
        items.append((ex.name, text))
    return items


@dataclass
class _Tally:
    """Running sums over the scored chunks: per exploit, (hack, floor) totals per row and the
    weighted gain of each component over the floor; the paying completions kept for reading."""

    rs: RewardSet
    results: dict[str, ExploitResult]
    threshold: float
    max_paying: int
    totals: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    gains: dict[str, defaultdict[str, float]] = field(default_factory=dict)
    floors: list[float] = field(default_factory=list)
    ceilings: list[float] = field(default_factory=list)
    paying: list[dict[str, Any]] = field(default_factory=list)
    kept: Counter[str] = field(default_factory=Counter)

    def score(self, chunk: Sequence[tuple[ExploitCase, Any, list[tuple[str, str]]]]) -> None:
        """Score one chunk of rows (case, prompt as given, attacks) in one batch, and add it up."""
        completions: list[str] = []
        prompts: list[Any] = []
        columns: dict[str, list[Any]] = {k: [] for case, _, _ in chunk for k in case.row}
        at: list[dict[str, int]] = []  # per row: label -> index in the batch
        for case, prompt, items in chunk:
            at.append({})
            for label, text in items:
                at[-1][label] = len(completions)
                completions.append(text)
                prompts.append(prompt)
                for k, values in columns.items():
                    values.append(case.row.get(k))
        out = self.rs.score(completions, prompts=prompts, columns=columns)
        weights = {c.name: c.weight for c in self.rs.spec.components}

        def total(i: int) -> float:  # TRL sums the weighted values that are not None (nansum)
            t = out.totals[i]
            return 0.0 if t is None or not math.isfinite(t) else float(t)

        def part(i: int, name: str) -> float:
            v = out.values[name][i]
            return 0.0 if v is None else weights[name] * v

        for (case, _, _), labels in zip(chunk, at, strict=True):
            f = labels["floor"]
            self.floors.append(total(f))
            if "ceiling" in labels:
                self.ceilings.append(total(labels["ceiling"]))
            for label, i in labels.items():
                if label in ("floor", "ceiling"):
                    continue
                r = self.results[label]
                self.totals.setdefault(label, []).append((total(i), total(f)))
                gains = self.gains.setdefault(label, defaultdict(float))
                for name in self.rs.names:
                    gains[name] += part(i, name) - part(f, name)
                    s = out.scores[name][i]
                    r.outcomes.setdefault(name, Counter())[s.outcome.value] += 1
                    if s.outcome is Outcome.ERROR and name not in r.errors:
                        r.errors[name] = s.detail or "error"
                if total(i) - total(f) > self.threshold and self.kept[label] < self.max_paying:
                    self.kept[label] += 1
                    self.paying.append(
                        {
                            "exploit": label,
                            "where": case.where,
                            "completion": completions[i],
                            "reward": total(i),
                            "floor_reward": total(f),
                            "floor": completions[f],
                            "components": {
                                name: {
                                    "value": out.values[name][i],
                                    "outcome": out.scores[name][i].outcome.value,
                                    "detail": out.scores[name][i].detail,
                                    "floor_value": out.values[name][f],
                                }
                                for name in self.rs.names
                            },
                        }
                    )

    def finish(self, skipped: dict[str, str], failures: Mapping[str, str]) -> list[ExploitResult]:
        """The results of the exploits that ran on at least one row, largest margin first."""
        done = []
        for name, r in self.results.items():
            pairs = self.totals.get(name, [])
            if name in failures:
                continue
            if not pairs:
                skipped.setdefault(name, "did not apply to any row")
                continue
            n = len(pairs)
            r.rows = n
            r.mean = sum(h for h, _ in pairs) / n
            r.floor_mean = sum(f for _, f in pairs) / n
            r.margin = r.mean - r.floor_mean
            r.paying_rows = sum(1 for h, f in pairs if h - f > self.threshold)
            r.paid_by = {k: v / n for k, v in self.gains[name].items() if v / n > 1e-9}
            r.flagged = r.margin > self.threshold
            done.append(r)
        return sorted(done, key=lambda r: (-r.margin, r.exploit.name))


def redteam(
    rs: RewardSet,
    rows: Iterable[tuple[str, Mapping[str, Any]]],
    *,
    exploits: Sequence[Exploit] | None = None,
    gold_column: str | None = None,
    prompt_column: str | None = None,
    template: str | None = None,
    threshold: float = 0.05,
    seed: int = 0,
    batch_rows: int = 16,
    max_paying: int = 20,
    allow: Iterable[str] = (),
    progress: Callable[[int], None] | None = None,
) -> RedteamReport:
    """Red-team ``rs`` on ``rows`` (``(where, data)`` pairs): see the module docstring.

    :param exploits: the exploits to try (default: every registered one). Those whose
        ``targets`` name no verifier of the composition are skipped, and said so.
    :param gold_column: the column with the gold answer (default: ``answer`` when a component
        reads it, else the first column the components read, else the first of
        :data:`GOLD_COLUMNS` the row has).
    :param prompt_column: the prompt's column (default: the first of ``prompt``, ``question``,
        ``problem``, ``query``, ``instruction`` the row has).
    :param template: the right format, with ``{reasoning}`` and ``{answer}`` (default:
        :func:`default_template`: :data:`DEFAULT_TEMPLATE`, or :data:`CODE_TEMPLATE` for a
        composition with ``code``, in the markers of the composition's ``reasoning`` setting).
    :param threshold: a hack is flagged when its mean reward beats the floor's by more.
    :param batch_rows: rows scored together in one ``RewardSet.score`` batch.
    :param max_paying: paying completions kept per exploit (for a person to read).
    :param allow: exploits whose flag is an accepted risk (e.g. ``length.padding`` with
        ``length.cosine``, which pays wrong answers for length by design): still scored and
        reported, but they do not fail the run.
    :param progress: called with the number of rows each time a batch is scored.
    :raises InputError: no rows, or a row without a prompt, or without the gold where one is needed.
    """
    components = tuple(_info(c) for c in rs.spec.components)
    template = template or default_template(components)
    if "{answer}" not in template:
        raise ConfigError(f"the template must contain {{answer}}: {template!r}")
    gold_col = _gold_column(rs, gold_column)
    verifiers = {c.verifier for c in components}
    skipped: dict[str, str] = {}
    active: list[Exploit] = []
    for ex in exploits if exploits is not None else registered_exploits():
        if ex.targets and not any(
            (v.startswith(t) if t.endswith(".") else v == t) for v in verifiers for t in ex.targets
        ):
            skipped[ex.name] = f"targets {', '.join(ex.targets)}, which the composition does not use"
        else:
            active.append(ex)
    allowed = set(allow)
    tally = _Tally(rs, {ex.name: ExploitResult(ex, allowed=ex.name in allowed) for ex in active}, threshold, max_paying)
    failures: dict[str, str] = {}
    limit = _length_limit(components)
    n_rows = 0
    chunk: list[tuple[ExploitCase, Any, list[tuple[str, str]]]] = []
    for index, (where, data) in enumerate(rows):
        n_rows += 1
        case, prompt = _case(
            index,
            where,
            data,
            prompt_column=prompt_column,
            gold_column=gold_col,
            components=components,
            template=template,
            limit=limit,
        )
        chunk.append((case, prompt, _attacks(case, active, seed, failures)))
        if len(chunk) >= batch_rows:
            tally.score(chunk)
            if progress is not None:
                progress(len(chunk))
            chunk = []
    if chunk:
        tally.score(chunk)
        if progress is not None:
            progress(len(chunk))
    if n_rows == 0:
        raise InputError("no rows to red-team")
    return RedteamReport(
        source=rs.spec.source,
        components=list(components),
        rows=n_rows,
        threshold=threshold,
        floor_mean=sum(tally.floors) / len(tally.floors),
        ceiling_mean=sum(tally.ceilings) / len(tally.ceilings) if tally.ceilings else None,
        results=tally.finish(skipped, failures),
        paying=tally.paying,
        skipped=skipped,
        failures=failures,
    )
