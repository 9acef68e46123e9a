"""``RemoteRewardSet``: the local reward set's TRL contract, over HTTP, with timeouts and retries."""

from __future__ import annotations

import asyncio
import pickle
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from server_harness import CONFIG, HERE, TOKEN, Server, free_port, start_server

from grpo_rewards import DatasetColumnError, RemoteRewardError, RemoteRewardSet, load_rewards

BATCH: dict[str, Any] = {
    "prompts": ["2+2=", "2+2=", "1+1=", "1+1="],
    "completions": ["4", "5", [{"role": "assistant", "content": "2"}], "two"],
    "completion_ids": [[1], [2, 3], [4], [5, 6, 7]],
    "answer": ["4", "4", "2", "2"],
    "trainer_state": None,
}


@pytest.fixture
def local(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    monkeypatch.syspath_prepend(str(HERE))
    monkeypatch.setenv("GRPO_REWARDS_LOAD_PLUGINS", "")
    (tmp_path / "rewards.toml").write_text(CONFIG)
    rs = load_rewards(str(tmp_path / "rewards.toml"))
    yield rs
    rs.close()


def _calls(funcs: list[Any], batch: dict[str, Any]) -> tuple[list[list[float | None]], list[tuple[str, float]]]:
    metrics: list[tuple[str, float]] = []
    values = [f(**batch, log_metric=lambda k, v: metrics.append((k, v))) for f in funcs]
    return values, metrics


def test_the_reward_functions_give_what_the_local_ones_give(server: Server, local: Any) -> None:
    remote = RemoteRewardSet(server.url, token=TOKEN)
    assert remote.names == local.names and remote.reward_weights == local.reward_weights
    assert [f.__name__ for f in remote.reward_funcs] == [f.__name__ for f in local.reward_funcs]
    assert _calls(remote.reward_funcs, BATCH) == _calls(local.reward_funcs, BATCH)
    assert _calls(remote.reward_funcs, BATCH)[0][0] == [1.0, 0.0, 1.0, 0.0]


def test_async_functions_share_one_request_per_batch(server: Server, local: Any) -> None:
    remote = RemoteRewardSet(server.url, token=TOKEN)
    before = _samples(server)

    async def gather() -> list[list[float | None]]:
        return list(await asyncio.gather(*(f(**BATCH) for f in remote.async_reward_funcs)))

    assert asyncio.run(gather()) == [f(**BATCH) for f in local.reward_funcs]
    assert _samples(server) - before == len(BATCH["completions"])  # three functions, one request


def _samples(server: Server) -> float:
    for line in server.request("GET", "/metrics").body.decode().splitlines():
        if line.startswith('grpo_rewards_samples_total{endpoint="score"}'):
            return float(line.split()[-1])
    return 0.0


def test_it_pickles_and_checks_columns_before_sending(server: Server) -> None:
    remote = pickle.loads(pickle.dumps(RemoteRewardSet(server.url, token=TOKEN)))
    assert remote.reward_funcs[0](**BATCH) == [1.0, 0.0, 1.0, 0.0]
    batch = {k: v for k, v in BATCH.items() if k != "answer"}
    with pytest.raises(DatasetColumnError, match="reward 'exact' .* needs column 'answer'"):
        remote.reward_funcs[0](**batch)


def test_a_wrong_token_or_no_server_is_a_clear_error(server: Server) -> None:
    with pytest.raises(RemoteRewardError, match=r"answered 401: a valid bearer token is required.*token="):
        RemoteRewardSet(server.url, token="wrong-token-0123456789")
    started = time.monotonic()
    with pytest.raises(RemoteRewardError, match=r"no answer after 3 tries .*last: URLError"):
        RemoteRewardSet(f"http://127.0.0.1:{free_port()}", retries=2, backoff=0.05, timeout=2)  # nobody listens
    assert time.monotonic() - started < 10


def test_a_full_server_is_retried_after_retry_after(server: Server) -> None:
    remote = RemoteRewardSet(server.url, token=TOKEN, retries=5, backoff=0.05)
    slow = [{"completion": "4", "answer": "4", "nap": 2}]
    threads = [threading.Thread(target=server.score, args=(slow,)) for _ in range(2)]
    for t in threads:
        t.start()
    server.wait_in_flight(2)
    rows = remote.score_rows([{"completion": "4", "answer": "4"}])  # 429 first, then scored
    for t in threads:
        t.join()
    assert rows[0]["reward"] == 1.0
    assert 'status="429"' in server.request("GET", "/metrics").body.decode()


def test_a_server_killed_mid_request_fails_clearly_or_is_retried(tmp_path: Path) -> None:
    (tmp_path / "rewards.toml").write_text(CONFIG)
    args = ["--config", str(tmp_path / "rewards.toml")]
    s = start_server(tmp_path, args)
    port = s.port
    try:
        once = RemoteRewardSet(s.url, token=TOKEN, retries=0)
        patient = RemoteRewardSet(s.url, token=TOKEN, retries=6, backoff=0.5)
        threading.Timer(1.0, s.process.kill).start()
        with pytest.raises(RemoteRewardError, match=r"no answer after 1 tries"):
            once.score_rows([{"completion": "4", "answer": "4", "nap": 5}])
        s.process.wait()

        # Killed mid-request again; a new server comes up on the same port while the client retries.
        s = start_server(tmp_path, args, port=port)
        replacement: list[Server] = []

        def restart() -> None:
            s.process.kill()
            s.process.wait()
            replacement.append(start_server(tmp_path, args, port=port))

        threading.Timer(1.0, restart).start()
        rows = patient.score_rows([{"completion": "4", "answer": "4", "nap": 2}])
        assert rows[0]["reward"] == 1.0 and rows[0]["outcomes"]["exact"] == "correct"
    finally:
        s.stop()
        for r in replacement:
            r.stop()
