"""Shared fixtures: one warm local sandbox and one ``code`` verifier for the module, and host
checks (files, processes, environment) around the attack battery."""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Iterator

import pytest

from grpo_rewards.sandbox.local import LocalSandbox
from grpo_rewards.verifiers.code import CodeVerifier

# A secret in the host's environment before any worker starts: no candidate may ever see it.
SECRET = "grpo-secret-" + secrets.token_hex(8)
os.environ["GRPO_TEST_API_KEY"] = SECRET
TOKEN = "pwned" + secrets.token_hex(6)


def userns_available() -> bool:
    """Whether this kernel lets us create a user namespace (the main isolation layer)."""
    try:
        return subprocess.run(["unshare", "-U", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="session")
def sandbox() -> Iterator[LocalSandbox]:
    sb = LocalSandbox(workers=2).start()
    yield sb
    sb.close()


@pytest.fixture(scope="session")
def verifier(sandbox: LocalSandbox) -> Iterator[CodeVerifier]:
    v = CodeVerifier(timeout=1.5, total_timeout=6.0, memory_mb=512, processes=16)
    v._sandbox = sandbox  # share the session's warm pool
    yield v


def sandbox_processes(sandbox: LocalSandbox) -> set[int]:
    """Every host process descended from the sandbox's workers."""
    roots = {w.proc.pid for w in sandbox._all}
    parent: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            parent[int(name)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    out = set()
    for pid in parent:
        p = pid
        for _ in range(64):
            if p in roots:
                out.add(pid)
                break
            p = parent.get(p, 0)
            if p <= 1:
                break
    return out


def processes_with(text: str) -> list[int]:
    """Host processes whose command line contains ``text``."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                if text.encode() in f.read():
                    found.append(int(name))
        except OSError:
            continue
    return found
