"""The client of ``grpo-rewards serve``: :class:`RemoteRewardSet`, TRL reward functions that score
on a reward server.

What runs here: the trainer's process. Each TRL batch becomes one ``POST /v1/score`` (rows as
``grpo-rewards score`` reads them), shared by every component's reward function, so swapping
``load_rewards(spec)`` for ``RemoteRewardSet(url)`` changes one line and nothing else: the same
callables (:class:`grpo_rewards.adapter.RewardFunction`), the same names, weights, column
checks and outcome metrics.

What it may trust: nothing the network does. Every request has a timeout; a connection that
fails, a timeout, ``429`` (after its ``Retry-After``, capped) and ``502``/``503``/``504`` are
retried a bounded number of times, since scoring is idempotent; any other error status, or the
last failure, raises :class:`RemoteRewardError` naming the server, the status and the server's
message. It uses the standard library only: a trainer needs neither FastAPI nor the ``serve``
extra to score remotely.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import threading
import time
import urllib.error
import urllib.request
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from grpo_rewards.adapter import BATCH_KWARGS, CONTEXT_KWARGS, AsyncRewardFunction, RewardFunction
from grpo_rewards.contract import Score
from grpo_rewards.errors import DatasetColumnError, GrpoRewardsError

__all__ = ["RemoteRewardSet", "RemoteRewardError"]

log = logging.getLogger("grpo_rewards.remote")

_RETRY_STATUSES = frozenset({429, 502, 503, 504})
_MAX_RETRY_AFTER_S = 30.0
_CACHE_BATCHES = 8


class RemoteRewardError(GrpoRewardsError):
    """The reward server refused a request, or did not answer within the retries."""


def _jsonable(value: Any) -> Any:
    """``json.dumps`` ``default=``: numpy and torch scalars and arrays as plain lists and numbers."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    raise TypeError(f"a value of type {type(value).__name__} cannot be sent to the reward server")


def _is_column(value: Any, n: int) -> bool:
    if isinstance(value, str | bytes | Mapping):
        return False
    try:
        return hasattr(value, "__getitem__") and len(value) == n
    except TypeError:
        return False


class RemoteRewardSet:
    """A reward set served by ``grpo-rewards serve`` at ``url``, with the local set's TRL contract.

    :param url: the server's base URL, e.g. ``http://127.0.0.1:8000``.
    :param token: the bearer token; default ``$GRPO_REWARDS_TOKEN`` (none if unset).
    :param timeout: seconds one request may take (connecting, scoring, answering).
    :param retries: further tries after a failure that may pass (no connection, a timeout,
        ``429``, ``502``, ``503``, ``504``); ``0``: one try only.
    :param backoff: seconds before the first retry, doubled for each next one (a ``429``'s
        ``Retry-After`` is used instead, up to 30 s).
    :raises RemoteRewardError: when the server cannot be reached to describe its rewards.

    :ivar reward_funcs: one callable per component, for ``GRPOTrainer(reward_funcs=)``.
    :ivar async_reward_funcs: the same as ``async`` callables.
    :ivar reward_weights: one weight per component, for ``GRPOConfig(reward_weights=)``.
    """

    def __init__(
        self,
        url: str,
        token: str | None = None,
        *,
        timeout: float = 120.0,
        retries: int = 3,
        backoff: float = 0.5,
    ) -> None:
        if retries < 0:
            raise ValueError(f"retries must be 0 or more, got {retries}")
        self.url = url.rstrip("/")
        self.token = token if token is not None else (os.environ.get("GRPO_REWARDS_TOKEN") or None)
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.description: dict[str, Any] = self._request("GET", "/v1/rewards")
        self._init_runtime()

    def _init_runtime(self) -> None:
        self._lock = threading.Lock()
        self._key_locks: dict[str, threading.Lock] = {}
        self._cache: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
        self.reward_funcs = [RewardFunction(self, n) for n in self.names]
        self.async_reward_funcs = [AsyncRewardFunction(self, n) for n in self.names]

    def __getstate__(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("url", "token", "timeout", "retries", "backoff", "description")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._init_runtime()

    def __repr__(self) -> str:
        parts = ", ".join(f"{n}:{w:g}" for n, w in zip(self.names, self.reward_weights, strict=True))
        return f"RemoteRewardSet({self.url!r}, [{parts}])"

    # -- what the server serves -----------------------------------------------------------------

    @property
    def names(self) -> list[str]:
        return list(self.description["names"])

    @property
    def reward_weights(self) -> list[float]:
        return [float(w) for w in self.description["weights"]]

    def required_columns(self) -> dict[str, list[str]]:
        """Dataset columns each component reads (as the server reports them)."""
        return {c["name"]: list(c["required_columns"]) for c in self.description["components"]}

    def check_columns(self, columns: Sequence[str], names: Sequence[str] | None = None) -> None:
        """Raise :class:`~grpo_rewards.errors.DatasetColumnError` for the first component (of
        ``names``) that reads a column absent from ``columns``, before any request is sent."""
        needed = self.required_columns()
        for name in names if names is not None else self.names:
            missing = [c for c in needed[name] if c not in columns]
            if missing:
                raise DatasetColumnError(
                    f"reward {name!r} (served by {self.url}) needs column {missing[0]!r}, which the data does not have",
                    columns,
                )

    def close(self) -> None:
        """Nothing to release here (the server owns the verifiers); for symmetry with ``RewardSet``."""

    # -- scoring ----------------------------------------------------------------------------------

    def score_rows(
        self, rows: Sequence[Mapping[str, Any]], *, details: bool = True, echo: bool = True
    ) -> list[dict[str, Any]]:
        """Rows as ``grpo-rewards score`` reads them, scored by the server: rows as it writes them
        (with ``echo=False``, only ``reward``, ``rewards``, ``outcomes`` and ``details``)."""
        body = json.dumps({"rows": list(rows), "details": details, "echo": echo}, default=_jsonable).encode("utf-8")
        return self._post_rows(body, len(rows))

    def _post_rows(self, body: bytes, n: int) -> list[dict[str, Any]]:
        answer = self._request("POST", "/v1/score", body)
        out = answer.get("rows") if isinstance(answer, dict) else None
        if not isinstance(out, list) or len(out) != n:
            raise RemoteRewardError(f"reward server {self.url}: answered {len(out or [])} rows for {n}")
        return out

    def score_component(
        self,
        name: str,
        completions: Sequence[Any],
        *,
        prompts: Sequence[Any] | None = None,
        completion_ids: Sequence[Sequence[int]] | None = None,
        columns: Mapping[str, Any] | None = None,
    ) -> tuple[list[Score], list[float | None]]:
        """One component's scores and values for a TRL batch. The batch is sent once and the
        answer kept, so the other components' functions read it without another request."""
        scored = self._scored_batch(completions, prompts, completion_ids, columns or {})
        scores = [
            Score(r["rewards"][name], r["outcomes"][name], (r.get("details") or {}).get(name, "")) for r in scored
        ]
        return scores, [s.value for s in scores]

    def _scored_batch(
        self,
        completions: Sequence[Any],
        prompts: Sequence[Any] | None,
        completion_ids: Sequence[Sequence[int]] | None,
        columns: Mapping[str, Any],
    ) -> list[dict[str, Any]]:
        n = len(completions)
        cols = {k: list(v) for k, v in columns.items() if k not in BATCH_KWARGS | CONTEXT_KWARGS and _is_column(v, n)}
        rows: list[dict[str, Any]] = []
        for i in range(n):
            row: dict[str, Any] = {k: v[i] for k, v in cols.items()}
            row["completion"] = completions[i]
            if prompts is not None:
                row["prompt"] = prompts[i]
            if completion_ids is not None:
                row["completion_ids"] = list(completion_ids[i])
            rows.append(row)
        # Only what TRL needs back (values and outcomes): no echo of the columns, no details.
        body = json.dumps({"rows": rows, "details": False, "echo": False}, default=_jsonable).encode("utf-8")
        key = hashlib.blake2b(body, digest_size=16).hexdigest()
        with self._lock:
            klock = self._key_locks.setdefault(key, threading.Lock())
        with klock:  # concurrent reward functions of one batch (TRL's async path): one request
            with self._lock:
                if key in self._cache:
                    self._cache.move_to_end(key)
                    return self._cache[key]
            scored = self._post_rows(body, n)
            with self._lock:
                self._cache[key] = scored
                self._key_locks.pop(key, None)
                while len(self._cache) > _CACHE_BATCHES:
                    self._cache.popitem(last=False)
        return scored

    # -- HTTP -------------------------------------------------------------------------------------

    def _request(self, method: str, path: str, body: bytes | None = None) -> Any:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        url = self.url + path
        last = ""
        for attempt in range(self.retries + 1):
            wait = self.backoff * (2**attempt)
            try:
                req = urllib.request.Request(url, data=body, headers=headers, method=method)
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    return json.loads(resp.read())
            except urllib.error.HTTPError as exc:
                message = _server_message(exc)
                if exc.code not in _RETRY_STATUSES:
                    hint = " (give the server's token: token= or $GRPO_REWARDS_TOKEN)" if exc.code == 401 else ""
                    raise RemoteRewardError(f"reward server {url} answered {exc.code}: {message}{hint}") from None
                last = f"{exc.code}: {message}"
                retry_after = exc.headers.get("Retry-After") if exc.headers else None
                if retry_after is not None and retry_after.strip().isdigit():
                    wait = min(float(retry_after), _MAX_RETRY_AFTER_S)
            except (urllib.error.URLError, http.client.HTTPException, OSError, TimeoutError) as exc:
                reason = getattr(exc, "reason", None) or exc
                last = f"{type(exc).__name__}: {reason}"
            except json.JSONDecodeError as exc:
                raise RemoteRewardError(f"reward server {url}: the answer is not JSON ({exc.msg})") from None
            if attempt < self.retries:
                log.warning("reward server %s: %s; retrying in %.1f s", url, last, wait)
                time.sleep(wait)
        raise RemoteRewardError(
            f"reward server {url}: no answer after {self.retries + 1} tries (timeout {self.timeout:g} s each); "
            f"last: {last}"
        )


def _server_message(exc: urllib.error.HTTPError) -> str:
    try:
        data = json.loads(exc.read())
    except (ValueError, OSError):
        return exc.reason if isinstance(exc.reason, str) else str(exc.code)
    if isinstance(data, dict) and "error" in data:
        field = f" (field {data['field']})" if data.get("field") else ""
        return f"{data['error']}{field}"
    return str(data)[:200]
