"""``open_output``: a regular file is replaced atomically, everything else is left as what it is."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest
from private_dev import assert_host_dev_null_intact, python_in_private_dev, require_private_dev

from grpo_rewards.output_files import open_output


def leftovers(*dirs: Path) -> list[Path]:
    return [p for d in dirs for p in d.iterdir() if p.name.endswith(".partial")]


def test_a_new_file_gets_the_bits_open_would_give_it(tmp_path: Path) -> None:
    target = tmp_path / "new.jsonl"
    old_umask = os.umask(0o027)
    try:
        with open_output(target) as f:
            f.write("héllo\n")
    finally:
        os.umask(old_umask)
    assert target.read_text(encoding="utf-8") == "héllo\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert not leftovers(tmp_path)


def test_a_regular_file_is_replaced_atomically_and_keeps_its_mode(tmp_path: Path) -> None:
    target = tmp_path / "scored.jsonl"
    target.write_text("old\n")
    target.chmod(0o604)
    inode = target.stat().st_ino
    with open_output(target) as f:
        f.write("new, first half\n")
        assert target.read_text() == "old\n"  # readers see the old file until the writer is done
        f.write("new, second half\n")
    assert target.read_text() == "new, first half\nnew, second half\n"
    assert target.stat().st_ino != inode  # a new file renamed over the old one, not rewritten in place
    assert stat.S_IMODE(target.stat().st_mode) == 0o604
    assert not leftovers(tmp_path)


def test_a_failing_writer_leaves_the_old_content_and_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "run.json"
    target.write_text('{"finished": true}\n')
    with pytest.raises(RuntimeError, match="midway"), open_output(target) as f:
        f.write('{"finish')
        raise RuntimeError("midway")
    assert target.read_text() == '{"finished": true}\n'
    assert not leftovers(tmp_path)


def test_a_failing_writer_creates_nothing_where_there_was_nothing(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt), open_output(tmp_path / "out.jsonl") as f:
        f.write("x")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_a_symbolic_link_stays_a_link_and_its_target_gets_the_content(tmp_path: Path) -> None:
    (tmp_path / "runs").mkdir()
    (tmp_path / "links").mkdir()
    target = tmp_path / "runs" / "scored.jsonl"
    target.write_text("old\n")
    target.chmod(0o640)
    link = tmp_path / "links" / "latest.jsonl"
    link.symlink_to(Path("..") / "runs" / "scored.jsonl")
    with open_output(link) as f:
        f.write("new\n")
        # the temporary file lies beside the target (the rename stays in its directory)
        assert [p.parent for p in leftovers(tmp_path / "runs", tmp_path / "links")] == [tmp_path / "runs"]
    assert link.is_symlink() and os.readlink(link) == str(Path("..") / "runs" / "scored.jsonl")
    assert target.read_text() == "new\n" and not target.is_symlink()
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert not leftovers(tmp_path / "runs", tmp_path / "links")


def test_a_dangling_link_gets_its_target_created(tmp_path: Path) -> None:
    link = tmp_path / "latest.jsonl"
    link.symlink_to("scored.jsonl")
    with open_output(link) as f:
        f.write("{}\n")
    assert link.is_symlink() and (tmp_path / "scored.jsonl").read_text() == "{}\n"


def test_a_fifo_is_written_straight_through_and_stays_a_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "rows.fifo"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()), daemon=True)
    reader.start()
    with open_output(fifo) as f:
        f.write('{"reward": 1.0}\n')
    reader.join(timeout=30)
    assert received == ['{"reward": 1.0}\n']
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert not leftovers(tmp_path)


def test_a_directory_is_refused_and_left_alone(tmp_path: Path) -> None:
    with pytest.raises(IsADirectoryError), open_output(tmp_path) as f:
        f.write("x")
    assert tmp_path.is_dir() and not leftovers(tmp_path)


def test_dev_null_stays_a_character_device() -> None:
    """As root, renaming over /dev/null would replace the machine's null device with a regular file.
    This runs in a private mount namespace with a /dev of its own, then checks the host's too."""
    require_private_dev()
    code = (
        "import json, os, stat\n"
        "from grpo_rewards.output_files import open_output\n"
        "with open_output('/dev/null') as f:\n"
        "    f.write('discarded\\n')\n"
        "st = os.stat('/dev/null')\n"
        "print(json.dumps({'chr': stat.S_ISCHR(st.st_mode), 'rdev': [os.major(st.st_rdev), os.minor(st.st_rdev)],\n"
        "                  'dev': os.listdir('/dev')}))\n"
    )
    r = python_in_private_dev(code)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {"chr": True, "rdev": [1, 3], "dev": ["null"]}  # no temp file either
    assert_host_dev_null_intact()
