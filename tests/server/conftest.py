"""The server fixture (tests/server/server_harness.py)."""

from server_harness import server

__all__ = ["server"]
