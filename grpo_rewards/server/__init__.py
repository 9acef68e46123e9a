"""``grpo-rewards serve``: a reward set over HTTP (the ``serve`` extra: FastAPI, uvicorn,
prometheus-client).

- :mod:`~grpo_rewards.server.security`: tokens, the bind check and request limits.
- :mod:`~grpo_rewards.server.app`: the endpoints (:func:`create_app`).
- :mod:`~grpo_rewards.server.metrics`: Prometheus metrics.

The client, :class:`grpo_rewards.remote.RemoteRewardSet`, needs none of these packages.
"""

from __future__ import annotations

import signal
import threading
from typing import TYPE_CHECKING, Any

from grpo_rewards.server.security import ServerLimits, check_bind, is_loopback, load_token

if TYPE_CHECKING:
    from fastapi import FastAPI

    from grpo_rewards.rewardset import RewardSet

__all__ = ["ServerLimits", "check_bind", "create_app", "is_loopback", "load_token", "serve"]


def create_app(
    reward_set: RewardSet,
    *,
    token: str | None = None,
    limits: ServerLimits | None = None,
    label_column: str | None = None,
) -> FastAPI:
    """See :func:`grpo_rewards.server.app.create_app`."""
    from grpo_rewards.server.app import create_app as create

    return create(reward_set, token=token, limits=limits, label_column=label_column)


def serve(
    reward_set: RewardSet,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    token: str | None = None,
    limits: ServerLimits | None = None,
    label_column: str | None = None,
    log_level: str = "info",
) -> None:
    """Serve ``reward_set`` until interrupted. Refuses a non-loopback ``host`` without a token.

    :raises ConfigError: a non-loopback ``host`` and no ``token``.
    """
    import uvicorn

    check_bind(host, token)
    app = create_app(reward_set, token=token, limits=limits, label_column=label_column)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        server_header=False,  # no host detail in responses
        date_header=False,
        access_log=log_level == "debug",
        timeout_graceful_shutdown=5,
    )

    class Server(uvicorn.Server):
        interrupted = False  # a Ctrl-C came

        def handle_exit(self, sig: int, frame: Any) -> None:
            self.interrupted = self.interrupted or sig == signal.SIGINT
            super().handle_exit(sig, frame)

    server = Server(config)
    if threading.current_thread() is threading.main_thread():
        # uvicorn restores the SIGINT handler it found and raises the signal again once it has
        # shut down; whatever Ray (or another library) had installed, Ctrl-C must end as a
        # KeyboardInterrupt (exit status 130), as everywhere else in the command line.
        signal.signal(signal.SIGINT, signal.default_int_handler)
    server.run()
    if server.interrupted:
        raise KeyboardInterrupt
