"""Run a command as root in a private mount namespace with a /dev of its own (a tmpfs holding only
``null``, character device 1:3), so a test can write to ``/dev/null`` without risking the
machine's. Tests that use it skip when that cannot be set up."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Sequence

import pytest

# The command runs only once /dev is the new tmpfs: every step is chained with &&, and the Python
# check below refuses to go on unless /dev is another filesystem than the host's.
_SETUP = 'mount -t tmpfs none /dev && mknod -m 666 /dev/null c 1 3 && exec "$@"'
GUARD = (
    "import os, sys\n"
    "if os.stat('/dev').st_dev == int(os.environ['HOST_DEV_ST_DEV']):\n"
    "    sys.exit('private_dev: /dev is the host /dev, refusing to write to it')\n"
)


def require_private_dev() -> None:
    """Skip the calling test unless a private mount namespace can be made here."""
    if os.geteuid() != 0:
        pytest.skip("needs root: mounting a private /dev in a new mount namespace (unshare --mount)")
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare(1) (util-linux) for a private mount namespace")
    probe = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", "mount -t tmpfs none /dev"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if probe.returncode != 0:
        pytest.skip(f"unshare --mount cannot mount a private /dev here: {probe.stderr.strip()}")


def run_with_private_dev(argv: Sequence[str], *, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``argv`` run in a new mount namespace whose /dev is a tmpfs holding only ``/dev/null``."""
    e = dict(env if env is not None else os.environ)
    e["HOST_DEV_ST_DEV"] = str(os.stat("/dev").st_dev)
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", _SETUP, "sh", *argv],
        capture_output=True,
        text=True,
        env=e,
        timeout=300,
    )


def python_in_private_dev(code: str, *, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Python ``code`` run with a private /dev, after a check that /dev really is private."""
    return run_with_private_dev([sys.executable, "-c", GUARD + code], env=env)


def assert_host_dev_null_intact() -> None:
    """The machine's own /dev/null is still the character device 1:3."""
    st = os.stat("/dev/null")
    assert stat.S_ISCHR(st.st_mode), f"the host's /dev/null is no longer a character device: {st}"
    assert (os.major(st.st_rdev), os.minor(st.st_rdev)) == (1, 3), st
