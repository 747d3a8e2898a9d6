"""The pad reservation ledger: no pad byte is ever used twice, whatever crashes and whoever sends.

Before any pad byte is used, its reservation (pad id, lane, offset, length) is
appended to home/pads/ledger and made durable (fsync of the file and of its
folder; F_FULLFSYNC where the OS has it).  The next reservation in a lane
starts after the highest one recorded, so the bytes a crashed run reserved are
skipped, never reused.  Several processes sending from one home take an
exclusive lock on the ledger while they reserve, so they never overlap.

Records are fixed-size (64 bytes, docs/FORMAT.md "Ledger"), each with a
CRC-32.  A torn or damaged record is read conservatively: if its fields are
legible its range counts as reserved even when its CRC fails, and a partial
record at the end is padded to the record size before the next append (the
bytes it may have named were never used: they are only used after the record
was made durable).
"""
from __future__ import annotations

import fcntl
import os
import struct
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

from pli.core.crypto.pads import PadExhausted, PadInfo
from pli.core.durable import fsync_dir, full_fsync

MAGIC = b"PLR1"
_BODY = struct.Struct(">4s16sIQQQ12x")   # magic, pad id, lane, offset, length, time (ns)
_CRC = struct.Struct(">I")
RECORD = _BODY.size + _CRC.size          # 64


@dataclass(frozen=True)
class Reservation:
    """Bytes [offset, offset+length) of a pad (absolute offsets), in `lane`."""

    pad_id: bytes
    lane: int
    offset: int
    length: int

    @property
    def end(self) -> int:
        return self.offset + self.length


def encode(reservation: Reservation, when_ns: int) -> bytes:
    body = _BODY.pack(MAGIC, reservation.pad_id, reservation.lane, reservation.offset,
                      reservation.length, when_ns)
    return body + _CRC.pack(zlib.crc32(body))


def decode(record: bytes) -> Reservation | None:
    """The reservation a record names; None if it names none legibly.

    A record whose CRC fails but whose magic is right still counts: reading it
    as reserved can only waste bytes, never reuse them.
    """
    if len(record) < 40 or record[:4] != MAGIC:  # 40: through the length field
        return None
    magic, pad_id, lane, offset, length, _ = _BODY.unpack(record[:_BODY.size].ljust(_BODY.size, b"\0"))
    if offset + length >= 1 << 63:
        return None
    return Reservation(pad_id, lane, offset, length)


class Ledger:
    """The reservations of one home's pads; `reserve` is the only way to get pad bytes to send with."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._high: dict[tuple[bytes, int], int] = {}   # (pad id, lane) -> end of highest reservation
        self._read_upto = 0                              # bytes of the file already folded into _high
        self._inode = None

    def __getstate__(self):
        return {"path": self.path, "_high": {}, "_read_upto": 0, "_inode": None}

    def reserve(self, requests: list[tuple[PadInfo, int, int]]) -> list[Reservation]:
        """Reserve `length` bytes in `lane` of each pad, durably, in one locked write and one fsync.

        Raises PadExhausted (nothing reserved) if a lane has not enough bytes left.
        """
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            size = self._catch_up(fd)
            granted = self._plan(requests)
            now = time.time_ns()
            data = b"\0" * (-size % RECORD) + b"".join(encode(r, now) for r in granted)
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            full_fsync(fd)
            if size == 0:
                fsync_dir(self.path.parent)  # a new file: its name must be durable too
            for r in granted:
                self._high[(r.pad_id, r.lane)] = max(self._high.get((r.pad_id, r.lane), 0), r.end)
            self._read_upto = size + len(data)
            return granted
        finally:
            os.close(fd)  # releases the lock

    def used(self, pad: PadInfo, lane: int) -> int:
        """Bytes of `lane` reserved so far (a snapshot: another process may reserve more)."""
        fd = self._open_read()
        if fd is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH)
                self._catch_up(fd)
            finally:
                os.close(fd)
        start, end = pad.lane_bounds(lane)
        return min(max(self._high.get((pad.id, lane), start), start), end) - start

    def left(self, pad: PadInfo, lane: int) -> int:
        return pad.lane_size - self.used(pad, lane)

    def reservations(self) -> list[Reservation]:
        """Every legible reservation, in file order (for `pli pad status` and the tests)."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        found = (decode(data[at:at + RECORD]) for at in range(0, len(data), RECORD))
        return [r for r in found if r is not None]

    def _plan(self, requests: list[tuple[PadInfo, int, int]]) -> list[Reservation]:
        high = dict(self._high)
        granted = []
        for pad, lane, length in requests:
            start, end = pad.lane_bounds(lane)
            offset = max(high.get((pad.id, lane), start), start)
            if length <= 0 or offset + length > end:
                raise PadExhausted(f"pad {pad.hex}: lane {lane} has {max(end - offset, 0):,} bytes left, "
                                   f"{length:,} needed; make a new pad with `pli pad new` or use --mode stream")
            granted.append(Reservation(pad.id, lane, offset, length))
            high[(pad.id, lane)] = offset + length
        return granted

    def _catch_up(self, fd: int) -> int:
        """Fold the records appended since our last look into the high-water marks; the file's size."""
        stat = os.fstat(fd)
        if stat.st_ino != self._inode or stat.st_size < self._read_upto:
            self._high, self._read_upto, self._inode = {}, 0, stat.st_ino
        start = self._read_upto - self._read_upto % RECORD
        data = os.pread(fd, stat.st_size - start, start)
        for at in range(0, len(data), RECORD):
            r = decode(data[at:at + RECORD])
            if r is not None:
                key = (r.pad_id, r.lane)
                self._high[key] = max(self._high.get(key, 0), r.end)
        self._read_upto = stat.st_size
        return stat.st_size

    def _open_read(self) -> int | None:
        try:
            return os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return None
