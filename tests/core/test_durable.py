"""Durable writes: atomic replacement, private modes, no leftovers, appends that survive."""
import os
import stat
import subprocess
import sys

import pytest

from pli.core.durable import append_durably, sync_filesystem, write_atomic, write_new


def test_write_atomic_replaces_with_mode_0600_and_leaves_no_temp_file(tmp_path):
    path = tmp_path / "secret"
    write_atomic(path, b"one")
    write_atomic(path, [b"tw", b"o"])
    assert path.read_bytes() == b"two"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secret"]


def test_write_new_creates_a_private_file_but_never_replaces_one(tmp_path):
    path = tmp_path / "report.json"
    assert write_new(path, b"first") is True
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert write_new(path, b"second") is False
    assert path.read_bytes() == b"first"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_a_failure_while_writing_keeps_the_old_file_whole(tmp_path):
    path = tmp_path / "config"
    write_atomic(path, b"old contents")

    def chunks():
        yield b"new half"
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        write_atomic(path, chunks())
    assert path.read_bytes() == b"old contents"
    assert [p.name for p in tmp_path.iterdir()] == ["config"]


def test_a_process_killed_mid_write_leaves_the_old_file_or_the_new_one(tmp_path):
    """SIGKILL a writer that replaces a file in a loop: the file always reads as one whole version."""
    path = tmp_path / "state"
    write_atomic(path, b"A" * 300_000)
    writer = subprocess.Popen([sys.executable, "-c", (
        "import sys; from pli.core.durable import write_atomic\n"
        "p = sys.argv[1]\n"
        "while True:\n"
        "    write_atomic(p, b'B' * 300_000); write_atomic(p, b'A' * 300_000)\n"), str(path)])
    try:
        for _ in range(20):
            data = path.read_bytes()
            assert data in (b"A" * 300_000, b"B" * 300_000)
    finally:
        writer.kill()
        writer.wait()
    assert path.read_bytes() in (b"A" * 300_000, b"B" * 300_000)


def test_append_durably_creates_private_files_and_appends(tmp_path):
    path = tmp_path / "journal"
    append_durably(path, b"one\n")
    append_durably(path, memoryview(b"two\n"))
    assert path.read_bytes() == b"one\ntwo\n"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_sync_filesystem_takes_a_folder_and_refuses_a_file(tmp_path):
    (tmp_path / "a").write_bytes(b"x")
    sync_filesystem(tmp_path)  # returns once the file system's writes are on disk
    with pytest.raises(NotADirectoryError):
        sync_filesystem(tmp_path / "a")


def test_a_replace_that_fails_leaves_no_staged_copy_behind(tmp_path):
    """write_atomic onto a folder's name fails at the rename: the staged temp file (which may hold a secret or a
    message in clear) is removed, the error still raised."""
    target = tmp_path / "a-folder"
    target.mkdir()
    with pytest.raises(OSError):
        write_atomic(target, b"secret bytes")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-folder"]
