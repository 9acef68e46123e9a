"""``grpo-rewards serve``: a composition over HTTP (the serve extra); see grpo_rewards.server."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, TextIO

from grpo_rewards.cli.common import add_composition_args, require_spec, with_options
from grpo_rewards.errors import ConfigError
from grpo_rewards.exitcodes import ExitCode


def add_parser(sub: Any) -> None:
    vp = sub.add_parser(
        "serve",
        help="serve a reward set over HTTP (POST /v1/score; needs the serve extra)",
        description=(
            "Serve the composition over HTTP: POST /v1/score takes {'rows': [...]}, each row as 'score' reads it, and "
            "answers the rows as 'score' writes them; GET /v1/rewards, /health, /metrics. A bearer token "
            "(--token-file or GRPO_REWARDS_TOKEN) is required to bind anything but loopback."
        ),
    )
    add_composition_args(vp, verb="serve")
    vp.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    vp.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    vp.add_argument(
        "--token-file",
        type=Path,
        help="file whose first line is the bearer token clients must send (default: $GRPO_REWARDS_TOKEN)",
    )
    vp.add_argument("--max-body-bytes", type=int, default=16 * 1024 * 1024, help="largest request body (413 past it)")
    vp.add_argument("--max-samples", type=int, default=4096, help="most rows in one request (413 past it)")
    vp.add_argument(
        "--max-concurrent", type=int, default=4, help="requests scored at once; more get 429 with Retry-After"
    )
    vp.add_argument("--deadline", type=float, default=300.0, help="seconds a request may take (504 past it)")
    vp.add_argument(
        "--executor",
        choices=["local", "ray"],
        default="local",
        help="score here (default) or on the Ray cluster that ray.init() finds (the ray extra)",
    )
    vp.add_argument(
        "--label-column",
        default=None,
        help="the column OpenRLHF's labels fill on POST /get_reward (default: the one column the rewards read, "
        "else answer)",
    )
    vp.set_defaults(run=run)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from grpo_rewards.executors import resolve_executor
    from grpo_rewards.rewardset import RewardSet

    try:
        from grpo_rewards.server import ServerLimits, check_bind, load_token, serve
    except ImportError as exc:
        raise ConfigError(
            f"grpo-rewards serve needs the serve extra: pip install 'grpo-rewards[serve]' ({exc})"
        ) from exc
    spec = require_spec(args)
    token = load_token(args.token_file)
    check_bind(args.host, token)  # before anything starts: refuse an open server at once
    limits = ServerLimits(
        max_body_bytes=args.max_body_bytes,
        max_samples=args.max_samples,
        max_concurrent=args.max_concurrent,
        deadline_s=args.deadline,
    )
    rs = RewardSet(with_options(spec, args.sets), resolve_executor(args.executor))
    try:
        if args.executor == "ray":
            rs.start_executor()
        serve(
            rs, host=args.host, port=args.port, token=token, limits=limits, log_level="debug" if args.debug else "info"
        )
    finally:
        rs.close()
    return ExitCode.OK
