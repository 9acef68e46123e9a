"""grpo_rewards.server.security on its own: the bind check, tokens, limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from grpo_rewards.errors import ConfigError
from grpo_rewards.server.security import ServerLimits, check_bind, is_loopback, load_token, token_matches

TOKEN = "s3cret-token-0123456789"


@pytest.mark.parametrize("host", ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost"])
def test_loopback_addresses_need_no_token(host: str) -> None:
    assert is_loopback(host)
    check_bind(host, None)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "10.0.0.1", "192.0.2.7", "example.com", "localhost.example.com"])
def test_anything_else_needs_a_token(host: str) -> None:
    assert not is_loopback(host)
    with pytest.raises(ConfigError, match="reachable from other machines"):
        check_bind(host, None)
    check_bind(host, TOKEN)


def test_tokens_from_a_file_or_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GRPO_REWARDS_TOKEN", raising=False)
    assert load_token(None) is None
    monkeypatch.setenv("GRPO_REWARDS_TOKEN", TOKEN)
    assert load_token(None) == TOKEN
    f = tmp_path / "token"
    f.write_text("file-token-0123456789abc\n")
    assert load_token(f) == "file-token-0123456789abc"  # the file wins, its line break dropped
    f.write_text("short\n")
    with pytest.raises(ConfigError, match="at least 16 characters"):
        load_token(f)
    with pytest.raises(ConfigError, match="cannot read it"):
        load_token(tmp_path / "missing")


@pytest.mark.parametrize(
    ("header", "ok"),
    [
        (f"Bearer {TOKEN}", True),
        (f"bearer {TOKEN}", True),
        (f"Bearer {TOKEN} ", True),
        (None, False),
        ("", False),
        (TOKEN, False),
        (f"Basic {TOKEN}", False),
        (f"Bearer {TOKEN[:-1]}", False),
        (f"Bearer {TOKEN}x", False),
        ("Bearer \udcff", False),
    ],
)
def test_token_matches(header: str | None, ok: bool) -> None:
    assert token_matches(header, TOKEN) is ok


def test_limits_are_checked() -> None:
    with pytest.raises(ConfigError, match="max_concurrent must be at least 1"):
        ServerLimits(max_concurrent=0)
    with pytest.raises(ConfigError, match="deadline_s must be positive"):
        ServerLimits(deadline_s=0)
