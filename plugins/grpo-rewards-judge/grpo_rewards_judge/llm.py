"""``judge.llm``: an LLM judge over any OpenAI-compatible chat completions endpoint."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import string
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from grpo_rewards import Outcome, Sample, Score, Verifier
from grpo_rewards_judge.parsing import ScoreParseError, parse_score

__all__ = ["LLMJudge", "DEFAULT_RUBRIC", "prompt_text"]

DEFAULT_RUBRIC = """You are grading a response to a task.

[Task]
{prompt}

[Response]
{completion}

Judge whether the response is correct, complete and helpful. Think briefly, then give your verdict on a \
scale from 0 (useless or wrong) to 10 (perfect) on the last line, exactly as: Score: <number>"""


def prompt_text(prompt: Any) -> str:
    """The text of a prompt as TRL passes it: a string as is; for a conversation, the messages'
    contents, each prefixed by its role when there are several."""
    if prompt is None:
        return ""
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, Sequence):
        msgs = [m for m in prompt if isinstance(m, Mapping)]
        parts = []
        for m in msgs:
            content = m.get("content", "")
            if not isinstance(content, str):
                content = "".join(p.get("text", "") for p in content or [] if isinstance(p, Mapping))
            parts.append(content if len(msgs) == 1 else f"{m.get('role', 'user')}: {content}")
        return "\n\n".join(parts)
    return str(prompt)


@dataclass(frozen=True)
class _Reply:
    text: str | None
    error: str | None = None
    timed_out: bool = False
    prompt_tokens: int | None = None


class _DiskCache:
    """A persistent cache of judge replies: one SQLite table, one connection per call (thread-safe)."""

    def __init__(self, path: str) -> None:
        self.path = path
        with self._connect() as db:
            db.execute("CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, reply TEXT NOT NULL)")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def get(self, key: str) -> _Reply | None:
        with self._connect() as db:
            row = db.execute("SELECT reply FROM replies WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        data = json.loads(row[0])
        return _Reply(data["text"], prompt_tokens=data.get("prompt_tokens"))

    def put(self, key: str, reply: _Reply) -> None:
        data = json.dumps({"text": reply.text, "prompt_tokens": reply.prompt_tokens})
        with self._connect() as db:
            db.execute("INSERT OR REPLACE INTO replies (key, reply) VALUES (?, ?)", (key, data))


class LLMJudge(Verifier):
    """Ask a judge model, served behind an OpenAI-compatible ``/v1/chat/completions`` endpoint (vLLM,
    TGI, ``transformers serve``, llama.cpp, hosted APIs), to grade each completion.

    The rubric is a ``str.format`` template with ``{prompt}`` (the prompt's text), ``{completion}``
    and any row column (``{answer}``, ``{reference}``). The reply's score (see
    :func:`~grpo_rewards_judge.parsing.parse_score`) is mapped from ``[scale_min, scale_max]`` to
    ``[0, 1]``: ``scored``.

    Endpoint failures are not the policy's fault, so they carry no reward (``None``) unless the
    reward set's outcome policy says otherwise: ``timeout`` when the request timed out on every
    try, ``error`` (with the HTTP status or connection error) when it failed, ``unparseable`` when
    the reply holds no score on the scale. Retries with exponential backoff on connection errors,
    timeouts, 408/409/429 and 5xx are the ``openai`` client's (``max_retries``). At most
    ``concurrency`` requests are in flight per batch. Successful replies are cached in memory per
    verifier and, with ``cache_path``, in an SQLite file shared across runs; the key covers the
    model name, messages and sampling settings (not the URL: a relaunched server keeps its cache).

    :param api_key_env: the environment variable holding the API key (keys do not belong in
        configs); local servers accept any key.
    """

    name = "judge.llm"
    description = "LLM judge over an OpenAI-compatible chat endpoint: rubric prompt, score mapped to [0, 1]"

    def __init__(
        self,
        *,
        model: str = "",
        base_url: str = "",
        api_key_env: str = "OPENAI_API_KEY",
        rubric: str = DEFAULT_RUBRIC,
        system_prompt: str = "",
        scale_min: float = 0.0,
        scale_max: float = 10.0,
        score_pattern: str = "",
        temperature: float = 0.0,
        max_tokens: int = 512,
        seed: int | None = None,
        timeout: float = 60.0,
        max_retries: int = 2,
        concurrency: int = 8,
        cache: bool = True,
        cache_path: str = "",
    ) -> None:
        if not model:
            raise ValueError("judge.llm needs 'model', the judge model's name on the endpoint")
        if scale_max <= scale_min:
            raise ValueError(f"scale_max ({scale_max}) must be above scale_min ({scale_min})")
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        fields = {f for _, f, _, _ in string.Formatter().parse(rubric) if f}
        if "completion" not in fields:
            raise ValueError("the rubric must contain {completion}")
        self.model = model
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL", "") or "http://127.0.0.1:8000/v1"
        self.api_key_env = api_key_env
        self.rubric = rubric
        self.rubric_fields = sorted(fields)
        self.system_prompt = system_prompt
        self.scale_min = float(scale_min)
        self.scale_max = float(scale_max)
        self.score_pattern = score_pattern or None
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.seed = seed
        self.timeout = timeout
        self.max_retries = max_retries
        self.concurrency = concurrency
        self.cache = cache
        self.cache_path = cache_path
        self._init_runtime()

    def _init_runtime(self) -> None:
        self._client: Any = None
        self._memory: OrderedDict[str, _Reply] = OrderedDict()
        self._disk: _DiskCache | None = None
        self._lock = threading.Lock()

    def __getstate__(self) -> dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if k not in ("_client", "_memory", "_disk", "_lock")}
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._init_runtime()

    def required_columns(self) -> list[str]:
        return [f for f in self.rubric_fields if f not in ("prompt", "completion")]

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # -- requests --------------------------------------------------------------------------------

    def _get_client(self) -> Any:
        with self._lock:
            if self._client is None:
                import openai

                self._client = openai.OpenAI(
                    base_url=self.base_url,
                    api_key=os.environ.get(self.api_key_env) or "EMPTY",
                    timeout=self.timeout,
                    max_retries=self.max_retries,
                )
            if self.cache_path and self._disk is None:
                self._disk = _DiskCache(self.cache_path)
            return self._client

    def messages(self, sample: Sample) -> list[dict[str, str]]:
        """The chat messages sent to the judge for ``sample``."""
        values = {k: v for k, v in sample.row.items()}
        values["prompt"] = prompt_text(sample.prompt)
        values["completion"] = sample.completion
        missing = [f for f in self.rubric_fields if f not in values]
        if missing:
            sample.column(missing[0])  # raises MissingColumnError naming the columns the row has
        content = self.rubric.format_map(values)
        msgs = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        msgs.append({"role": "user", "content": content})
        return msgs

    def _key(self, messages: list[dict[str, str]]) -> str:
        blob = json.dumps([self.model, messages, self.temperature, self.max_tokens, self.seed], sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()

    def _cached(self, key: str) -> _Reply | None:
        if not self.cache:
            return None
        with self._lock:
            hit = self._memory.get(key)
            if hit is not None:
                self._memory.move_to_end(key)
                return hit
        if self._disk is not None:
            hit = self._disk.get(key)
            if hit is not None:
                self._remember(key, hit, disk=False)
            return hit
        return None

    def _remember(self, key: str, reply: _Reply, disk: bool = True) -> None:
        if not self.cache or reply.text is None:
            return
        with self._lock:
            self._memory[key] = reply
            while len(self._memory) > 100_000:
                self._memory.popitem(last=False)
        if disk and self._disk is not None:
            self._disk.put(key, reply)

    def _ask(self, messages: list[dict[str, str]]) -> _Reply:
        import openai

        client = self._get_client()
        extra: dict[str, Any] = {}
        if self.seed is not None:
            extra["seed"] = self.seed
        try:
            resp = client.chat.completions.create(
                model=self.model,
                messages=messages,
                temperature=self.temperature,
                max_tokens=self.max_tokens,
                **extra,
            )
        except openai.APITimeoutError:
            return _Reply(None, f"no reply within {self.timeout:g}s ({self.max_retries + 1} tries)", timed_out=True)
        except openai.APIConnectionError as exc:
            cause = exc.__cause__ or exc
            return _Reply(None, f"cannot reach {self.base_url}: {type(cause).__name__}: {cause}")
        except openai.APIStatusError as exc:
            return _Reply(None, f"{self.base_url} answered HTTP {exc.status_code}: {str(exc.message)[:200]}")
        if not resp.choices:
            return _Reply(None, f"{self.base_url} returned no choices")
        text = resp.choices[0].message.content
        if text is None:
            return _Reply(None, f"{self.base_url} returned a reply without content")
        usage = getattr(resp, "usage", None)
        return _Reply(text, prompt_tokens=getattr(usage, "prompt_tokens", None))

    # -- scoring ---------------------------------------------------------------------------------

    def _verdict(self, reply: _Reply, cached: bool) -> Score:
        if reply.text is None:
            if reply.timed_out:
                return Score(None, Outcome.TIMEOUT, f"judge: {reply.error}")
            return Score.error(f"judge: {reply.error}")
        info = {"judge_reply": reply.text[-2000:], "cached": cached, "prompt_tokens": reply.prompt_tokens}
        try:
            raw = parse_score(reply.text, self.scale_min, self.scale_max, self.score_pattern)
        except ScoreParseError as exc:
            return Score(None, Outcome.UNPARSEABLE, f"judge: {exc}", info)
        value = (raw - self.scale_min) / (self.scale_max - self.scale_min)
        return Score.scored(value, f"judge gave {raw:g} on [{self.scale_min:g}, {self.scale_max:g}]", **info)

    def score_batch(self, samples: Sequence[Sample]) -> list[Score | BaseException]:
        self._get_client()
        results: list[Score | BaseException | None] = [None] * len(samples)
        todo: dict[str, list[int]] = {}
        requests: dict[str, list[dict[str, str]]] = {}
        for i, s in enumerate(samples):
            try:
                msgs = self.messages(s)
            except Exception as exc:  # noqa: BLE001 - e.g. a missing column: that sample's result
                results[i] = exc
                continue
            key = self._key(msgs)
            hit = self._cached(key)
            if hit is not None:
                results[i] = self._verdict(hit, cached=True)
            else:
                todo.setdefault(key, []).append(i)  # identical requests in a batch are sent once
                requests[key] = msgs
        if todo:
            with ThreadPoolExecutor(max_workers=min(self.concurrency, len(todo))) as pool:
                replies = dict(zip(todo, pool.map(self._ask, [requests[k] for k in todo]), strict=True))
            for key, idxs in todo.items():
                reply = replies[key]
                self._remember(key, reply)
                for i in idxs:
                    results[i] = self._verdict(reply, cached=False)
        return [r if r is not None else Score.error("judge: internal: no result") for r in results]
