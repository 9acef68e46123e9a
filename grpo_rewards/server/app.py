"""The HTTP app of ``grpo-rewards serve``: ``POST /v1/score``, ``GET /v1/rewards``, ``GET /health``,
``GET /metrics``, and the trainers' own contracts: OpenRLHF's ``POST /get_reward`` and NeMo Gym's
``POST /verify`` (translated by :mod:`grpo_rewards.integrations`).

What runs here: the server process's event loop (uvicorn), which checks each request
(:mod:`grpo_rewards.server.security`), parses and checks its rows as ``grpo-rewards score``
reads a file's (:func:`grpo_rewards.inputs.row_from_data`), and hands them to a thread that
scores them with :func:`grpo_rewards.scoring.score_rows`, the command line's own path, so that
a row scored here and a line of ``grpo-rewards score`` are the same bytes.

What it may trust: the reward set the operator configured. Not the request: every field is
checked before scoring, and an error names the field and never carries a traceback, a path or a
host name. A verifier that raises scores ``error`` (the reward set's contract); anything else
that escapes scoring answers ``500`` and is logged here, and the server keeps serving.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from grpo_rewards import __version__
from grpo_rewards.errors import DatasetColumnError, FatalRewardError
from grpo_rewards.inputs import InputRow, row_from_data
from grpo_rewards.rewardset import RewardSet
from grpo_rewards.scoring import format_row, score_rows
from grpo_rewards.server.metrics import CONTENT_TYPE_LATEST, ServerMetrics
from grpo_rewards.server.security import ServerLimits, WorkGate, token_matches

__all__ = ["create_app", "Refusal", "describe_rewards"]

log = logging.getLogger("grpo_rewards.server")

SCORE_FIELDS = ("rows", "details", "echo")
SCORED_FIELDS = ("reward", "rewards", "outcomes", "details")
"""What ``"echo": false`` keeps of an output row (the client's choice: it holds the input already)."""


class Refusal(Exception):
    """A request answered with a 4xx/5xx status: ``message`` says what is wrong, ``field`` where."""

    def __init__(self, status: int, message: str, field: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field
        self.headers = headers or {}

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {"error": self.message}
        if self.field is not None:
            body["field"] = self.field
        return JSONResponse(body, status_code=self.status, headers=self.headers)


def describe_rewards(reward_set: RewardSet) -> dict[str, Any]:
    """What ``GET /v1/rewards`` answers: the components in order, with weights and columns."""
    columns = reward_set.required_columns()
    return {
        "components": [
            {
                "name": c.name,
                "verifier": c.verifier,
                "weight": c.weight,
                "required_columns": columns[c.name],
            }
            for c in reward_set.components
        ],
        "names": reward_set.names,
        "weights": reward_set.reward_weights,
        "required_columns": sorted({col for cols in columns.values() for col in cols}),
        "version": __version__,
    }


def redact_error(detail: str) -> str:
    """An ``error`` outcome's detail as a client sees it: the exception's type, not its message
    (which the reward set logged on the server)."""
    head = detail.split(":", 1)[0].strip()
    kind = head if head.isidentifier() else "error"
    return f"{kind} (the message is in the server's log)"


def parse_json_body(body: bytes) -> Any:
    """The body as JSON, or a ``400`` naming where it stops being JSON."""
    try:
        return json.loads(body)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise Refusal(400, f"the body is not valid JSON: {exc.msg} ({where})", "body") from None
    except (ValueError, RecursionError) as exc:  # bad UTF-8, an integer too long, nesting too deep
        raise Refusal(400, f"the body is not valid JSON: {type(exc).__name__}", "body") from None


def check_rows(reward_set: RewardSet, rows: Any, limits: ServerLimits, field: str = "rows") -> list[InputRow]:
    """Rows as ``grpo-rewards score`` reads them, or a ``4xx`` naming the first bad field."""
    if not isinstance(rows, list):
        raise Refusal(422, f"{field!r} must be a list of row objects, got {type(rows).__name__}", field)
    if len(rows) > limits.max_samples:
        raise Refusal(413, f"{len(rows)} rows in one request; this server takes at most {limits.max_samples}", field)
    out = []
    for i, data in enumerate(rows):
        where = f"{field}[{i}]"
        row = row_from_data(data, where)
        if row.error is not None:
            raise Refusal(422, row.error, where if not isinstance(data, dict) else f"{where}.completion")
        prompt = data.get("prompt")
        if prompt is not None and not isinstance(prompt, str | list):
            raise Refusal(
                422,
                f"{where}: 'prompt' must be a string or a list of messages, got {type(prompt).__name__}",
                f"{where}.prompt",
            )
        ids = data.get("completion_ids")
        if ids is not None and not (
            isinstance(ids, list) and all(isinstance(t, int) and not isinstance(t, bool) for t in ids)
        ):
            raise Refusal(422, f"{where}: 'completion_ids' must be a list of integers", f"{where}.completion_ids")
        out.append(row)
    present = {k for r in out for k in r.data}
    try:
        reward_set.check_columns(sorted(present))
    except DatasetColumnError as exc:
        needed = reward_set.required_columns()
        missing = next((c for cols in needed.values() for c in cols if c not in present), None)
        where = f"{field}[*].{missing}" if missing else field
        raise Refusal(422, f"no row has a column a reward needs: {exc}", where) from None
    return out


def create_app(
    reward_set: RewardSet,
    *,
    token: str | None = None,
    limits: ServerLimits | None = None,
    label_column: str | None = None,
) -> FastAPI:
    """The server's app, scoring with ``reward_set`` (which the caller owns and closes).

    :param token: the bearer token every endpoint but ``/health`` requires; ``None``: none
        required (bind loopback only; :func:`grpo_rewards.server.security.check_bind`).
    :param limits: request size, rows per request, concurrent work and deadline.
    :param label_column: the column OpenRLHF's ``labels`` fill on ``POST /get_reward``
        (default: the one column the composition reads, else ``answer``).
    """
    limits = limits or ServerLimits()
    metrics = ServerMetrics()
    gate = WorkGate(limits.max_concurrent)
    pool = ThreadPoolExecutor(max_workers=limits.max_concurrent, thread_name_prefix="grpo-rewards-score")

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    app = FastAPI(
        title="grpo-rewards", version=__version__, docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    app.state.reward_set = reward_set
    app.state.limits = limits
    app.state.metrics = metrics

    @app.exception_handler(Refusal)
    async def _refused(_request: Request, exc: Refusal) -> JSONResponse:
        return exc.response()

    @app.exception_handler(Exception)
    async def _internal(_request: Request, exc: Exception) -> JSONResponse:
        log.error("internal error answering a request", exc_info=exc)
        return JSONResponse({"error": "internal error; see the server's log"}, status_code=500)

    def authorize(request: Request) -> None:
        if token is not None and not token_matches(request.headers.get("authorization"), token):
            raise Refusal(
                401,
                "a valid bearer token is required (Authorization: Bearer TOKEN)",
                "authorization",
                {"WWW-Authenticate": 'Bearer realm="grpo-rewards"'},
            )

    async def read_body(request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limits.max_body_bytes:
            raise Refusal(
                413, f"the body is {declared} bytes; this server takes at most {limits.max_body_bytes}", "body"
            )
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limits.max_body_bytes:
                raise Refusal(
                    413, f"the body is over {limits.max_body_bytes} bytes, the most this server takes", "body"
                )
            chunks.append(chunk)
        return b"".join(chunks)

    async def guarded(request: Request, endpoint: str, work: Callable[[Any], Any]) -> Response:
        """Authorize, take a work slot (or ``429``), read and parse the body, run ``work`` on it
        in a scoring thread within the deadline; count the request in the metrics."""
        start = time.perf_counter()
        status = 500

        def release(_future: object = None) -> None:
            gate.leave()
            metrics.in_flight.dec()

        entered = False
        future: asyncio.Future[Any] | None = None
        try:
            authorize(request)
            if not gate.try_enter():
                raise Refusal(
                    429,
                    f"the server is scoring {limits.max_concurrent} requests already; retry later",
                    None,
                    {"Retry-After": str(limits.retry_after_s)},
                )
            entered = True
            metrics.in_flight.inc()
            try:
                async with asyncio.timeout(limits.deadline_s):
                    payload = parse_json_body(await read_body(request))
                    prepare = work(payload)
                    future = asyncio.get_running_loop().run_in_executor(pool, prepare)
                    future.add_done_callback(release)
                    response: Response = await asyncio.shield(future)
            except TimeoutError:
                raise Refusal(
                    504, f"not scored within this server's deadline of {limits.deadline_s:g} s", None
                ) from None
            status = response.status_code
            return response
        except Refusal as exc:
            status = exc.status
            return exc.response()
        finally:
            if entered and future is None:
                release()
            metrics.request(endpoint, status, time.perf_counter() - start)

    def scoring_job(
        rows: list[InputRow],
        details: bool,
        render: Callable[[list[dict[str, Any]]], Response],
        endpoint: str = "score",
    ) -> Callable[[], Response]:
        def job() -> Response:
            try:
                out = list(score_rows(reward_set, rows, details=details))
            except FatalRewardError as exc:
                log.error("a reward could not score a batch: %s", exc)
                return Refusal(503, "a reward could not score this batch; see the server's log").response()
            except BaseException:  # even SystemExit from a verifier must not stop the server
                # Logged here; the client gets no detail of this host.
                log.exception("scoring a request failed")
                return Refusal(500, "internal error while scoring; see the server's log").response()
            metrics.scored(endpoint, (r["outcomes"] for r in out))
            return render(out)

        return job

    def render_rows(out: list[dict[str, Any]], echo: bool = True) -> Response:
        # Each row exactly as a line of `grpo-rewards score` output (scoring.format_row), except
        # the detail of an `error` outcome: an exception's message may hold paths or host names.
        if not echo:
            out = [{k: row[k] for k in SCORED_FIELDS if k in row} for row in out]
        for row in out:
            details = row.get("details")
            if details:
                for name, outcome in row["outcomes"].items():
                    if outcome == "error" and details.get(name):
                        details[name] = redact_error(details[name])
        text = '{"rows": [' + ", ".join(format_row(r)[:-1] for r in out) + "]}"
        return Response(text.encode("utf-8"), media_type="application/json")

    def score_work(payload: Any) -> Callable[[], Response]:
        if not isinstance(payload, dict):
            raise Refusal(422, f"the body must be a JSON object with 'rows', got {type(payload).__name__}", "body")
        unknown = sorted(set(payload) - set(SCORE_FIELDS))
        if unknown:
            raise Refusal(422, f"unknown field {unknown[0]!r}; expected {', '.join(SCORE_FIELDS)}", unknown[0])
        if "rows" not in payload:
            raise Refusal(422, "missing field 'rows' (a list of row objects, each as grpo-rewards score reads)", "rows")
        flags = {}
        for name in ("details", "echo"):
            flags[name] = payload.get(name, True)
            if not isinstance(flags[name], bool):
                raise Refusal(422, f"{name!r} must be true or false, got {type(flags[name]).__name__}", name)
        rows = check_rows(reward_set, payload["rows"], limits)
        return scoring_job(rows, flags["details"], partial(render_rows, echo=flags["echo"]))

    def openrlhf_work(payload: Any) -> Callable[[], Response]:
        # OpenRLHF 0.11's remote reward contract (grpo_rewards.integrations.openrlhf).
        from grpo_rewards.integrations import label_column_for, openrlhf

        if not isinstance(payload, dict):
            raise Refusal(422, f"the body must be a JSON object with 'query', got {type(payload).__name__}", "body")
        fields: dict[str, list[Any]] = {}
        for name in ("query", "prompts", "labels"):
            value = payload.get(name)
            if not isinstance(value, list):
                raise Refusal(422, f"{name!r} must be a list, got {type(value).__name__}", name)
            fields[name] = value
        for name in ("query", "prompts"):
            bad = next((i for i, v in enumerate(fields[name]) if not isinstance(v, str)), None)
            if bad is not None:
                raise Refusal(422, f"{name}[{bad}] must be a string", f"{name}[{bad}]")
        n = len(fields["query"])
        for name in ("prompts", "labels"):
            if len(fields[name]) != n:
                raise Refusal(422, f"{name!r} has {len(fields[name])} items for {n} queries", name)
        data = openrlhf.request_rows(
            fields["query"], fields["prompts"], fields["labels"], label_column_for(reward_set, label_column)
        )
        rows = check_rows(reward_set, data, limits, field="query")

        def render(out: list[dict[str, Any]]) -> Response:
            return JSONResponse(openrlhf.answer(reward_set, out))

        return scoring_job(rows, False, render, "get_reward")

    @app.post("/get_reward")
    async def get_reward(request: Request) -> Response:
        """OpenRLHF's ``--reward.remote_url`` contract: ``{"query", "prompts", "labels"}`` in,
        ``{"rewards", "scores", "extra_logs"}`` out."""
        return await guarded(request, "get_reward", openrlhf_work)

    def nemo_gym_work(payload: Any) -> Callable[[], Response]:
        # NeMo Gym's resources-server verify contract (grpo_rewards.integrations.nemo_gym).
        from grpo_rewards.integrations import nemo_gym

        try:
            data = nemo_gym.verify_row(payload)
        except nemo_gym.VerifyRequestError as exc:
            raise Refusal(422, str(exc), exc.field) from None
        rows = check_rows(reward_set, [data], limits, field="verify")

        def render(out: list[dict[str, Any]]) -> Response:
            return JSONResponse(nemo_gym.verify_answer(reward_set.names, payload, out[0]))

        return scoring_job(rows, False, render, "verify")

    @app.post("/verify")
    async def verify(request: Request) -> Response:
        """NeMo Gym's resources-server ``/verify``: the verify request in, with ``reward`` and
        ``reward_components`` added, out."""
        return await guarded(request, "verify", nemo_gym_work)

    @app.post("/seed_session")
    async def seed_session(request: Request) -> JSONResponse:
        """NeMo Gym's agents seed a session before they verify; scoring keeps no session state."""
        authorize(request)
        return JSONResponse({})

    @app.post("/v1/score")
    async def score(request: Request) -> Response:
        """Rows in, scored rows out, in order, each as ``grpo-rewards score`` writes it."""
        return await guarded(request, "score", score_work)

    @app.get("/v1/rewards")
    async def rewards(request: Request) -> JSONResponse:
        authorize(request)
        return JSONResponse(describe_rewards(reward_set))

    @app.get("/health")
    async def health() -> JSONResponse:
        return JSONResponse({"status": "ok"})

    @app.get("/metrics")
    async def prometheus(request: Request) -> Response:
        authorize(request)
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    app.state.guarded = guarded
    app.state.scoring_job = scoring_job
    return app
