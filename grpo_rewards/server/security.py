"""The server's trust boundary: who may call it, and how much work one caller may ask for.

What runs here: checks made in the server's event loop (``grpo-rewards serve``) on every request
before any of it is parsed or scored, and once at start-up on the address to bind.

What it may trust: nothing the client sends. The token is compared in constant time
(:func:`hmac.compare_digest`); a body is read only up to the byte limit, whatever its
``Content-Length`` says; the concurrency gate never waits, so a flood is answered ``429`` at once
instead of queueing work. It trusts the operator's settings (:class:`ServerLimits`) and the
token file, which it reads once.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from grpo_rewards.errors import ConfigError

__all__ = ["ServerLimits", "is_loopback", "load_token", "check_bind", "token_matches", "WorkGate", "MIN_TOKEN_CHARS"]

MIN_TOKEN_CHARS = 16
TOKEN_ENV = "GRPO_REWARDS_TOKEN"


@dataclass(frozen=True)
class ServerLimits:
    """What one request may ask of the server.

    :param max_body_bytes: the largest request body read (larger: ``413``).
    :param max_samples: the most rows in one request (more: ``413``).
    :param max_concurrent: requests scored at once; one more is answered ``429`` with
        ``Retry-After`` (never queued).
    :param deadline_s: the longest a request waits for its scores (longer: ``504``).
    :param retry_after_s: the ``Retry-After`` a full server answers.
    """

    max_body_bytes: int = 16 * 1024 * 1024
    max_samples: int = 4096
    max_concurrent: int = 4
    deadline_s: float = 300.0
    retry_after_s: int = 1

    def __post_init__(self) -> None:
        for name in ("max_body_bytes", "max_samples", "max_concurrent", "retry_after_s"):
            if getattr(self, name) < 1:
                raise ConfigError(f"server limit {name} must be at least 1, got {getattr(self, name)}")
        if not self.deadline_s > 0:
            raise ConfigError(f"server limit deadline_s must be positive, got {self.deadline_s}")


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps the server reachable from this machine only. Names other
    than ``localhost`` are not resolved: they count as reachable from elsewhere."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def load_token(token_file: str | Path | None = None) -> str | None:
    """The bearer token: the first line of ``token_file``, else ``$GRPO_REWARDS_TOKEN``, else
    ``None``. A token shorter than :data:`MIN_TOKEN_CHARS` characters is refused."""
    if token_file is not None:
        try:
            token = Path(token_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"--token-file {token_file}: cannot read it ({exc.strerror or exc})") from None
        source = f"--token-file {token_file}"
    else:
        token = os.environ.get(TOKEN_ENV, "").strip()
        source = f"${TOKEN_ENV}"
        if not token:
            return None
    if len(token) < MIN_TOKEN_CHARS or any(c.isspace() for c in token):
        raise ConfigError(
            f"{source}: the token must be at least {MIN_TOKEN_CHARS} characters without spaces; "
            'make one with: python -c "import secrets; print(secrets.token_urlsafe(32))"'
        )
    return token


def check_bind(host: str, token: str | None) -> None:
    """Refuse to serve on an address reachable from other machines without a token."""
    if token is None and not is_loopback(host):
        raise ConfigError(
            f"--host {host} is reachable from other machines: give a bearer token with --token-file FILE or "
            f"${TOKEN_ENV} (or bind 127.0.0.1)"
        )


def token_matches(header: str | None, token: str) -> bool:
    """Whether an ``Authorization`` header carries ``token`` as a bearer token (constant time)."""
    if not header:
        return False
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode("utf-8", "surrogatepass"), token.encode("utf-8"))


class WorkGate:
    """At most ``limit`` requests in flight; :meth:`try_enter` never waits. Used from the event
    loop's thread only; :meth:`leave` may be called from any thread through the loop."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight = 0

    def try_enter(self) -> bool:
        if self.in_flight >= self.limit:
            return False
        self.in_flight += 1
        return True

    def leave(self) -> None:
        self.in_flight -= 1
