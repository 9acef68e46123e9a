"""The ``rg`` / ``rg.<task>`` verifiers: reasoning-gym's own scorers behind grpo-rewards' answer rules."""

from __future__ import annotations

import json
import threading
from typing import Any, ClassVar

from grpo_rewards import Sample, Score, Verifier, extract_answer
from grpo_rewards_reasoning_gym._tasks import TASKS
from grpo_rewards_reasoning_gym.entries import EntryError, load_entry

__all__ = ["ReasoningGymVerifier", "TaskVerifier", "TASK_VERIFIERS", "CONFIG_KEY"]

CONFIG_KEY = "rg_config"
"""Top-level key of a stored entry holding the task config it was generated with (scorers of some
tasks read their config, e.g. ``arc_agi``'s board format)."""


def _norm(text: str) -> str:
    return " ".join(text.split())


class ReasoningGymVerifier(Verifier):
    """Score a completion with the reasoning-gym task's own ``score_answer``.

    The row's ``column`` (default ``rg_entry``) holds the reasoning-gym entry as JSON (see
    :func:`~grpo_rewards_reasoning_gym.entries.dump_entry`; the ``reasoning_gym`` dataset source
    writes it). The answer is the last ``<answer>`` block outside ``<think>`` sections; with
    ``extract="auto"`` (the default) a completion without one is scored whole, less its
    ``<think>`` sections, as the core ``exact`` verifier does.

    On top of reasoning-gym's scorer, which gives partial credit (``len(gold)/len(answer)``)
    or even full credit (tasks that parse the first number or phrase they find) to an answer that
    merely contains the gold one:

    * several ``<answer>`` blocks with different contents are a hedge: ``wrong``, 0.0;
    * with ``strict=True`` (default), an answer that contains the gold answer string inside a
      longer text ("292 or 293", "maybe 292") is ``wrong``, 0.0, whatever the scorer says. This
      also refuses "292." for "292": reasoning-gym prompts ask for the bare answer;
    * a scorer that raises on the answer gives ``unparseable``, 0.0;
    * 1.0 is ``correct``; 0 is ``wrong``; anything between is ``partial`` (reasoning-gym's own
      partial credit, e.g. 0.01 or 0.05 for a well-formed but wrong answer in some tasks), or
      ``wrong`` with 0.0 when ``partial_credit=False``.

    :param task: the reasoning-gym task; ``None`` takes it from the entry's
        ``metadata.source_dataset`` (for mixes of tasks). ``rg.<task>`` verifiers fix it, and a row
        whose entry comes from another task is a ``bad_reference``.
    """

    name = "rg"
    description = "reasoning-gym: the entry's task scores the <answer>; task from the row (mixes)"

    def __init__(
        self,
        *,
        task: str | None = None,
        column: str = "rg_entry",
        extract: str = "auto",
        tag: str = "answer",
        strict: bool = True,
        partial_credit: bool = True,
        reasoning: Any = "think",
    ) -> None:
        from grpo_rewards.reasoning import parse_reasoning

        self.reasoning = parse_reasoning(reasoning)
        if extract not in ("auto", "tag"):
            raise ValueError(f"extract must be 'auto' or 'tag', got {extract!r}")
        self.task = task
        self.column = column
        self.extract = extract
        self.tag = tag
        self.strict = strict
        self.partial_credit = partial_credit
        self._datasets: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_datasets"] = {}
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ReasoningGymVerifier(task={self.task!r}, column={self.column!r})"

    def required_columns(self) -> list[str]:
        return [self.column]

    def _scorer(self, task: str, config: dict[str, Any]) -> Any:
        """A reasoning-gym dataset of ``task`` built with ``config``, for its ``score_answer``; cached."""
        key = task + json.dumps(config, sort_keys=True, default=repr)
        with self._lock:
            ds = self._datasets.get(key)
            if ds is None:
                from reasoning_gym.factory import DATASETS

                if task not in DATASETS:
                    raise KeyError(task)
                dataset_cls, config_cls = DATASETS[task]
                ds = dataset_cls(config=config_cls(**config))
                self._datasets[key] = ds
        return ds

    def _answer(self, completion: str, prompt: Any = None) -> tuple[str | None, Score | None]:
        # The core's extraction, so rg.* reads answers exactly as exact/choice do, with the same
        # reasoning delimiters (the ``reasoning`` option, usually from the composition's [defaults]).
        from grpo_rewards.reasoning import prefilled_for

        found = extract_answer(
            completion,
            tag=self.tag,
            extract=self.extract,
            same=_norm,
            reasoning=self.reasoning,
            prefilled=prefilled_for(self.reasoning, prompt),
        )
        if found.hedged:
            return None, Score.wrong(f"{found.blocks} different <{self.tag}> blocks (hedging)")
        if self.extract == "tag" and not found.blocks:
            return None, Score.no_answer(f"no <{self.tag}> block")
        return (found.text or "").strip(), None

    def score(self, sample: Sample) -> Score:
        try:
            entry = load_entry(sample.column(self.column))
        except EntryError as exc:
            return Score.bad_reference(f"column {self.column!r}: {exc}")
        metadata = entry.get("metadata") or {}
        source = metadata.get("source_dataset") if isinstance(metadata, dict) else None
        task = self.task or source
        if not task:
            return Score.bad_reference(f"column {self.column!r}: the entry names no task (metadata.source_dataset)")
        if self.task and source and source != self.task:
            return Score.bad_reference(f"the row's entry is from reasoning-gym task {source!r}, not {self.task!r}")
        config = entry.pop(CONFIG_KEY, None) or {}
        try:
            scorer = self._scorer(task, config)
        except KeyError:
            return Score.bad_reference(f"reasoning-gym has no task {task!r} (installed version too old?)")
        except (TypeError, ValueError, AssertionError) as exc:
            return Score.bad_reference(f"cannot build reasoning-gym task {task!r} with config {config}: {exc}")

        answer, early = self._answer(sample.completion, sample.prompt)
        if early is not None:
            return early
        assert answer is not None
        if not answer:
            return Score.no_answer("empty answer")
        gold = entry.get("answer")
        if self.strict and isinstance(gold, str) and _norm(gold):
            g, a = _norm(gold), _norm(answer)
            if a != g and g in a:
                return Score.wrong(
                    f"the gold answer is only part of a longer answer ({len(a)} vs {len(g)} chars): hedged or padded",
                    answer=answer[:200],
                )
        try:
            value = scorer.score_answer(answer, entry)
        except Exception as exc:  # noqa: BLE001 - reasoning-gym scorers raise on malformed answers
            return Score.unparseable(
                f"{task} scorer rejected the answer: {type(exc).__name__}: {exc}", answer=answer[:200]
            )
        value = float(value)
        if value >= 1.0:
            return Score.correct(answer=answer[:200])
        if value <= 0.0:
            return Score.wrong(f"{task}: reasoning-gym scored 0", answer=answer[:200])
        if self.partial_credit:
            return Score.partial(value, f"{task}: reasoning-gym partial credit", answer=answer[:200])
        return Score.wrong(f"{task}: reasoning-gym gave {value:.3g} (partial_credit=False)", answer=answer[:200])


class TaskVerifier(ReasoningGymVerifier):
    """Base of the generated ``rg.<task>`` classes: the task is fixed by the class, not an option."""

    task_name: ClassVar[str] = ""

    def __init__(
        self,
        *,
        column: str = "rg_entry",
        extract: str = "auto",
        tag: str = "answer",
        strict: bool = True,
        partial_credit: bool = True,
        reasoning: Any = "think",
    ) -> None:
        super().__init__(
            task=self.task_name,
            column=column,
            extract=extract,
            tag=tag,
            strict=strict,
            partial_credit=partial_credit,
            reasoning=reasoning,
        )


def _class_name(task: str) -> str:
    return "RG" + "".join(part.title() for part in task.split("_"))


def _make_task_verifiers() -> dict[str, type[TaskVerifier]]:
    # Real module-level classes (not functools.partial) so that each rg.<task> has its own name and
    # description, the core checks its options with near-miss hints, and instances pickle by reference.
    classes: dict[str, type[TaskVerifier]] = {}
    for task in TASKS:
        cls_name = _class_name(task)
        cls = type(
            cls_name,
            (TaskVerifier,),
            {
                "name": f"rg.{task}",
                "description": f"reasoning-gym task {task!r}: its own scorer on the <answer>; no substring credit",
                "task_name": task,
                "__module__": __name__,
                "__qualname__": cls_name,
                "__doc__": f"``rg.{task}``: :class:`ReasoningGymVerifier` fixed to the reasoning-gym task ``{task}``.",
            },
        )
        globals()[cls_name] = cls
        classes[task] = cls
    return classes


TASK_VERIFIERS: dict[str, type[TaskVerifier]] = _make_task_verifiers()
"""The ``rg.<task>`` verifier class of each bundled task, by task name."""
