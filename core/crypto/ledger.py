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

import os
import struct
import time
from dataclasses import dataclass

from pli.core.crypto import record_file
from pli.core.crypto.pads import PadExhausted, PadInfo
from pli.core.crypto.record_file import RecordFile
from pli.core.plural import counted

MAGIC = b"PLR1"
_BODY = struct.Struct(">4s16sIQQQ12x")   # magic, pad id, lane, offset, length, time (ns): 60 bytes


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
    return record_file.seal(_BODY.pack(MAGIC, reservation.pad_id, reservation.lane, reservation.offset,
                                       reservation.length, when_ns))


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
        self._file = RecordFile(path)
        self._high: dict[tuple[bytes, int], int] = {}   # (pad id, lane) -> end of highest reservation

    def __getstate__(self):
        return {"_file": RecordFile(self.path), "_high": {}}

    @property
    def path(self):
        return self._file.path

    def reserve(self, requests: list[tuple[PadInfo, int, int]]) -> list[Reservation]:
        """Reserve `length` bytes in `lane` of each pad, durably, in one locked write and one fsync.

        Raises PadExhausted (nothing reserved) if a lane has not enough bytes left.
        """
        with self._file.locked(exclusive=True) as fd:
            size = self._catch_up(fd)
            granted = self._plan(requests)
            self._file.append(fd, size, [encode(r, time.time_ns()) for r in granted])
            for r in granted:
                self._high[(r.pad_id, r.lane)] = max(self._high.get((r.pad_id, r.lane), 0), r.end)
            return granted

    def used(self, pad: PadInfo, lane: int) -> int:
        """Bytes of `lane` reserved so far (a snapshot: another process may reserve more)."""
        with self._file.locked(exclusive=False) as fd:
            if fd is not None:
                self._catch_up(fd)
        start, end = pad.lane_bounds(lane)
        return min(max(self._high.get((pad.id, lane), start), start), end) - start

    def left(self, pad: PadInfo, lane: int) -> int:
        return pad.lane_size - self.used(pad, lane)

    def reservations(self) -> list[Reservation]:
        """Every legible reservation, in file order (for `pli pad status` and the tests)."""
        found = (decode(record) for record in self._file.all_records())
        return [r for r in found if r is not None]

    def _plan(self, requests: list[tuple[PadInfo, int, int]]) -> list[Reservation]:
        high = dict(self._high)
        granted = []
        for pad, lane, length in requests:
            start, end = pad.lane_bounds(lane)
            offset = max(high.get((pad.id, lane), start), start)
            if length <= 0 or offset + length > end:
                left = counted(max(end - offset, 0), "byte")
                raise PadExhausted(f"pad {pad.hex}: lane {lane} has {left} left, "
                                   f"{length:,} needed; make a new pad with `pli pad new` or use --mode stream")
            granted.append(Reservation(pad.id, lane, offset, length))
            high[(pad.id, lane)] = offset + length
        return granted

    def _catch_up(self, fd: int) -> int:
        """Fold the records appended since our last look into the high-water marks; the file's size."""
        restart, records, size = self._file.read_new(fd)
        if restart:
            self._high = {}
        for r in filter(None, map(decode, records)):
            key = (r.pad_id, r.lane)
            self._high[key] = max(self._high.get(key, 0), r.end)
        return size
