"""Writing an output file without harming what is at its path.

Runs in whichever process writes a result: ``grpo-rewards score -o PATH``, the trainer's
``run.json`` and its ``metrics.jsonl``/``completions.jsonl`` rewrites, the benchmarks' reports.
That process may run as root, so nothing about PATH is trusted: it may name a regular file,
nothing yet, a symbolic link, a directory, or a special file such as ``/dev/null``, a FIFO or a
terminal. What is trusted: nobody else renames things in the target's directory while we write
(the check of what PATH is and the final rename are not one step).

- A regular file, or nothing yet: the text goes to a temporary file beside it, which is renamed
  over it only when the writer finishes, so a failed write leaves the old content (or no file).
  A replaced file keeps its permission bits (and its owner, where we may set it); a new file
  gets the ones ``open()`` would give it.
- A symbolic link is followed: the temporary file goes beside the link's *target* and the
  rename replaces the target, so the link stays a link.
- Anything else (``/dev/null``, a FIFO, a terminal) is opened and written straight through:
  renaming over it would replace a device node with a regular file.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

__all__ = ["open_output"]


@contextlib.contextmanager
def open_output(path: str | os.PathLike[str]) -> Iterator[TextIO]:
    """Open ``path`` for writing UTF-8 text, as a context manager.

    A regular file (or a path with nothing there yet, or a symbolic link to either) is replaced
    atomically when the ``with`` block ends without an exception; if the block raises, the target
    is left as it was and the temporary file is removed. A special file is written straight
    through.

    :param path: the file to write.
    :returns: a context manager giving the open text file.
    """
    target = Path(os.path.realpath(path))  # the file a symbolic link points to; the link stays
    try:
        st: os.stat_result | None = os.stat(target)
    except FileNotFoundError:
        st = None
    if st is not None and not stat.S_ISREG(st.st_mode):
        # /dev/null, a FIFO, a terminal (or a directory, which open() refuses with a clear error).
        with open(path, "w", encoding="utf-8") as f:
            yield f
        return
    fd, tmp = _create_beside(target)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            if st is not None:
                _copy_owner_and_mode(f.fileno(), st)
            yield f
            f.flush()
            os.fsync(f.fileno())  # the content is on disk before the name points to it
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _create_beside(target: Path) -> tuple[int, str]:
    """A new file in the target's directory (so the rename stays on one filesystem). ``O_EXCL``
    never opens an existing file or follows a link planted at the name; mode 0o666 lets the
    umask decide the bits of a new output, as ``open()`` does."""
    while True:
        tmp = str(target.with_name(f"{target.name}.{secrets.token_hex(4)}.partial"))
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666), tmp
        except FileExistsError:
            continue


def _copy_owner_and_mode(fd: int, st: os.stat_result) -> None:
    if (st.st_uid, st.st_gid) != (os.getuid(), os.getgid()):
        with contextlib.suppress(PermissionError):  # only root may give a file away
            os.fchown(fd, st.st_uid, st.st_gid)
    os.fchmod(fd, stat.S_IMODE(st.st_mode))  # after chown, which clears set-id bits
