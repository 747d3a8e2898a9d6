"""Append-only files of fixed 64-byte records: the pad ledger and the seen-ranges file are both one.

Both must survive a crash at any byte and be shared by several processes, so
they follow the same rules (docs/FORMAT.md "Ledger", "Seen ranges"):
- each record is 60 bytes of fields and a CRC-32 of them;
- writers append under an exclusive flock, readers read under a shared one;
- a torn record left at the end by a crash is padded with zeros to the record
  size before the next append, so later records stay aligned;
- appends are fsync'd (and the folder, when the file is new) before the
  caller goes on to use what the records say;
- a reader keeps what it has folded in and reads only what was appended since,
  starting over if the file was replaced (a new inode) or shrank.
What a record's fields mean, and how a damaged one is read, is the caller's.
"""
from __future__ import annotations

import fcntl
import os
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pli.core.durable import fsync_dir, full_fsync, write_all

RECORD = 64
BODY = RECORD - 4
_CRC = struct.Struct(">I")


def seal(body: bytes) -> bytes:
    """A record: its 60-byte body and the CRC-32 of it."""
    assert len(body) == BODY, "a record body is 60 bytes"
    return body + _CRC.pack(zlib.crc32(body))


class RecordFile:
    """One record file, and how far this process has read it."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._read_upto = 0
        self._inode: int | None = None

    def __getstate__(self):  # a copy sent to a worker process reads the file afresh
        return {"path": self.path, "_read_upto": 0, "_inode": None}

    @contextmanager
    def locked(self, exclusive: bool) -> Iterator[int | None]:
        """The file's descriptor with the lock held; None when only reading a file that does not exist yet."""
        if exclusive:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        else:
            try:
                fd = os.open(self.path, os.O_RDONLY)
            except FileNotFoundError:
                yield None
                return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield fd
        finally:
            os.close(fd)  # releases the lock

    def read_new(self, fd: int) -> tuple[bool, list[bytes], int]:
        """(started over, the records appended since the last look, the file's size).

        When `started over` is true the caller must forget what it folded in
        before: the list then holds every record of the file.  The last item
        may be shorter than RECORD (a torn append); it is read again, whole,
        once the next append has padded it.
        """
        stat = os.fstat(fd)
        restart = stat.st_ino != self._inode or stat.st_size < self._read_upto
        if restart:
            self._read_upto, self._inode = 0, stat.st_ino
        start = self._read_upto - self._read_upto % RECORD
        data = os.pread(fd, stat.st_size - start, start)
        self._read_upto = stat.st_size
        return restart, [data[at:at + RECORD] for at in range(0, len(data), RECORD)], stat.st_size

    def append(self, fd: int, size: int, records: list[bytes]) -> None:
        """Append `records` after a file of `size` bytes (read under the same exclusive lock), durably."""
        if not records:
            return
        data = b"\0" * (-size % RECORD) + b"".join(records)
        write_all(fd, data)
        full_fsync(fd)
        if size == 0:
            fsync_dir(self.path.parent)  # a new file: its name must be durable too
        self._read_upto = size + len(data)

    def all_records(self) -> list[bytes]:
        """Every record of the file, unlocked (for status displays and tests)."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        return [data[at:at + RECORD] for at in range(0, len(data), RECORD)]
