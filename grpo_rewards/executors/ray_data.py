"""``grpo-rewards score --ray``: a file streamed through Ray Data, scored by a pool of actors.

Runs in the command line's process (the driver) and, for :class:`_ChunkScorer`, in Ray Data's
actors on any node of the cluster. The input must be readable at the same path on every node
that runs an actor (one machine, or shared storage), as for Ray Data's own file readers.

How the rows stay the local path's rows: the driver reads the file once, a row at a time, with
the local reader (:func:`~grpo_rewards.inputs.read_positioned_rows`), runs the same checks on
it (malformed rows, missing columns) and cuts it into the same chunks as
:func:`~grpo_rewards.scoring.score_rows` (about ``--batch-size`` rows, never splitting a run of
one prompt), keeping only where each chunk starts. Ray Data then maps those chunk descriptors
(``map_batches`` with an actor pool): each actor reads its chunk from the file
(:func:`~grpo_rewards.inputs.read_rows_at`), scores it with the same :func:`score_rows`, and
sends back the output lines and a summary. Ray Data keeps the order (``preserve_order``) and
bounds what is in flight; the driver writes the lines as they come, so the command line's atomic
output and its progress bar work as on the local path. Nothing holds the whole file.
"""

from __future__ import annotations

import logging
import pickle
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ray

from grpo_rewards.errors import GrpoRewardsError
from grpo_rewards.executors.ray import RayExecutor
from grpo_rewards.inputs import InputRow, read_rows_at
from grpo_rewards.scoring import ScoreSummary, _chunks, format_row, score_rows

if TYPE_CHECKING:
    from grpo_rewards.rewardset import RewardSet

__all__ = ["Chunk", "plan_chunks", "score_chunks"]


@dataclass(frozen=True)
class Chunk:
    """Where a chunk of the input starts (a position from
    :func:`~grpo_rewards.inputs.read_positioned_rows`) and how many rows it has."""

    position: tuple[int, int]
    rows: int


def plan_chunks(
    rows: Iterable[InputRow], positions: dict[int, tuple[int, int]], batch_size: int, prompt_column: str
) -> list[Chunk]:
    """The chunks :func:`~grpo_rewards.scoring.score_rows` would score, as positions.

    :param rows: the rows, after the command line's checks.
    :param positions: each row's position by ``id(row)``, filled as ``rows`` is read; emptied
        here as chunks are made, so it never holds more than one chunk.
    """
    out: list[Chunk] = []
    for chunk in _chunks(rows, batch_size, prompt_column):
        out.append(Chunk(positions[id(chunk[0])], len(chunk)))
        for r in chunk:
            positions.pop(id(r), None)
    return out


class _ChunkScorer:
    """One Ray Data actor: the reward set, built once, scoring the chunks it is given."""

    def __init__(self, state: dict[str, Any], path: str, label: str, options: Mapping[str, Any]) -> None:
        from grpo_rewards.rewardset import RewardSet

        self.rs = RewardSet.__new__(RewardSet)
        self.rs.__setstate__({**state, "executor": None})
        self.rs._instantiate()
        self.path = path
        self.label = label
        self.options = dict(options)

    def __call__(self, batch: Mapping[str, Any]) -> dict[str, list[Any]]:
        out: dict[str, list[Any]] = {"text": [], "rows": [], "summary": [], "error": []}
        for offset, lineno, count in zip(batch["offset"], batch["lineno"], batch["count"], strict=True):
            summary = ScoreSummary(self.rs.names, self.rs.reward_weights)
            try:
                rows = read_rows_at(
                    self.path,
                    (int(offset), int(lineno)),
                    int(count),
                    completion_column=self.options["completion_column"],
                    label=self.label,
                )
                text = "".join(
                    format_row(r)
                    for r in score_rows(self.rs, rows, batch_size=max(1, len(rows)), summary=summary, **self.options)
                )
                error = b""
            except GrpoRewardsError as exc:
                # The library's own errors (a strict sandbox that cannot run, an unreadable file)
                # reach the command line as themselves, as on the local path; Ray Data would
                # pass on only their text.
                text, rows, error = "", [], _pickled(exc)
            out["text"].append(text)
            out["rows"].append(len(rows))
            out["summary"].append(pickle.dumps(summary))
            out["error"].append(error)
        return out


def _pickled(exc: GrpoRewardsError) -> bytes:
    try:
        pickle.loads(data := pickle.dumps(exc))
        return data
    except Exception:  # noqa: BLE001 - one that does not survive pickling: its type name and its text
        return pickle.dumps(GrpoRewardsError(f"{type(exc).__name__}: {exc}"))


def _error(data: bytes) -> GrpoRewardsError:
    exc = pickle.loads(data)
    return exc if isinstance(exc, GrpoRewardsError) else GrpoRewardsError(str(exc))


def score_chunks(
    reward_set: RewardSet,
    path: str | Path,
    chunks: list[Chunk],
    *,
    executor: RayExecutor,
    completion_column: str = "completion",
    prompt_column: str = "prompt",
    completion_ids_column: str = "completion_ids",
    details: bool = True,
) -> Iterator[tuple[str, int, ScoreSummary]]:
    """Score ``chunks`` of ``path`` on Ray; yield, in the file's order, each chunk's output lines
    (as the local path writes them), its row count and its summary.

    Ray is connected to (or started) as ``executor`` says, and shut down at the end when this
    call started it. Of the executor, the address, ``actors`` and ``cpus_per_actor`` count here;
    Ray Data places its actors itself (it spreads them across nodes) and restarts those that die.
    """
    if not chunks:
        return
    owns = executor.connect()
    try:
        from ray.data import DataContext

        ctx = DataContext.get_current()
        ctx.execution_options.preserve_order = True  # the output keeps the input's order
        ctx.enable_progress_bars = False  # the command line shows its own
        logging.getLogger("ray.data").setLevel(logging.WARNING)
        state = reward_set.__getstate__()
        options = {
            "completion_column": completion_column,
            "prompt_column": prompt_column,
            "completion_ids_column": completion_ids_column,
            "details": details,
        }
        items = [{"offset": c.position[0], "lineno": c.position[1], "count": c.rows} for c in chunks]
        actors = min(executor.actor_count(), len(chunks))
        ds = ray.data.from_items(items).map_batches(
            _ChunkScorer,
            batch_size=1,
            compute=ray.data.ActorPoolStrategy(size=actors),
            num_cpus=executor.cpus_per_actor,
            fn_constructor_kwargs={
                "state": state,
                "path": str(Path(path).resolve()),  # the actors' working directory is not ours
                "label": str(path),
                "options": options,
            },
        )
        for row in ds.iter_rows():
            if row["error"]:
                raise _error(row["error"])
            yield str(row["text"]), int(row["rows"]), pickle.loads(row["summary"])
    finally:
        if owns:
            executor.disconnect()
