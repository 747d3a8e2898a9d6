"""The receiver's memory of pad ranges: a range seen again in a different message is a security alert.

Every opened message's pad ranges (on pads this home holds) are recorded in
home/pads/seen with the message's digest.  A later message whose ranges
overlap a recorded range is a replay, or a sender who reused pad bytes: both
are raised as ReplayAlert naming the sender and the pad.  The very same
message opened again (same digest) is not an alert.

Only the single writer (the store's importer, `pli open`) calls
`check_and_record`; worker processes only open.  Records are fixed-size
(64 bytes, docs/FORMAT.md "Seen ranges"), appended under an exclusive lock and
fsync'd before the message is stored, so a crash never forgets a range that a
stored message used.
"""
from __future__ import annotations

import bisect
import os
import struct
from dataclasses import dataclass
from pathlib import Path

from pli.core.crypto import record_file
from pli.core.crypto.record_file import RECORD, RecordFile
from pli.core.crypto.refusals import ReplayAlert
from pli.core.home import Home

MAGIC = b"PLS1"
_BODY = struct.Struct(">4s16sIQQ16s4x")   # magic, pad id, lane, offset, length, digest (16 bytes): 60 bytes


@dataclass(frozen=True)
class PadRange:
    """Pad bytes a message used: [offset, offset+length) of `lane` of pad `pad_id` (hex), sent by `sender`."""

    pad_id: str
    lane: int
    offset: int
    length: int
    sender: str = ""

    @property
    def end(self) -> int:
        return self.offset + self.length


class SeenRanges:
    """The seen-ranges ledger of one home."""

    def __init__(self, home: Home | str | os.PathLike):
        root = home.root if isinstance(home, Home) else Path(home)
        self._file = RecordFile(root / "pads" / "seen")
        self._seen: dict[bytes, list[tuple[int, int, bytes]]] = {}   # pad id -> sorted (start, end, digest)

    @property
    def path(self) -> Path:
        return self._file.path

    def check(self, opened) -> None:
        """Raise ReplayAlert if `opened` (anything with pad_ranges and digest) reuses seen bytes; records nothing."""
        with self._file.locked(exclusive=False) as fd:
            if fd is not None:
                self._catch_up(fd)
        alert = self._conflict(opened)
        if alert is not None:
            raise alert

    def check_and_record(self, opened) -> None:
        """Raise ReplayAlert on reuse (nothing recorded); else record the message's ranges durably."""
        alert = self.check_and_record_many([opened])[0]
        if alert is not None:
            raise alert

    def check_and_record_many(self, openeds: list) -> list[ReplayAlert | None]:
        """The batch form: one lock, one fsync; per message None (recorded) or its ReplayAlert."""
        with self._file.locked(exclusive=True) as fd:
            size = self._catch_up(fd)
            alerts, records = [], []
            for opened in openeds:
                alert = self._conflict(opened)
                alerts.append(alert)
                if alert is None:
                    records += self._add(opened)
            self._file.append(fd, size, records)
            return alerts

    def _conflict(self, opened) -> ReplayAlert | None:
        digest = bytes.fromhex(opened.digest)[:16]
        for r in opened.pad_ranges:
            for start, end, seen_digest in self._overlapping(bytes.fromhex(r.pad_id), r.offset, r.end):
                if seen_digest != digest:
                    return ReplayAlert(
                        f"SECURITY ALERT: the message from {r.sender or 'an unknown sender'} uses bytes "
                        f"{r.offset}-{r.end} of pad {r.pad_id} already used by another message "
                        f"(bytes {start}-{end}): a replay, or the sender reused pad bytes. "
                        "The message is not trusted; tell the sender and check the pad.",
                        sender=r.sender, pad_id=r.pad_id)
        return None

    def _overlapping(self, pad_id: bytes, start: int, end: int) -> list[tuple[int, int, bytes]]:
        spans = self._seen.get(pad_id, [])
        at = bisect.bisect_left(spans, (start,))
        found = []
        if at > 0 and spans[at - 1][1] > start:
            found.append(spans[at - 1])
        while at < len(spans) and spans[at][0] < end:
            found.append(spans[at])
            at += 1
        return found

    def _add(self, opened) -> list[bytes]:
        digest = bytes.fromhex(opened.digest)[:16]
        records = []
        for r in opened.pad_ranges:
            pad_id = bytes.fromhex(r.pad_id)
            if (r.offset, r.end, digest) in self._overlapping(pad_id, r.offset, r.end):
                continue  # the same message again: already recorded
            self._insert(pad_id, r.offset, r.end, digest)
            records.append(record_file.seal(_BODY.pack(MAGIC, pad_id, r.lane, r.offset, r.length, digest)))
        return records

    def _insert(self, pad_id: bytes, start: int, end: int, digest: bytes) -> None:
        bisect.insort(self._seen.setdefault(pad_id, []), (start, end, digest))

    def _catch_up(self, fd: int) -> int:
        restart, records, size = self._file.read_new(fd)
        if restart:
            self._seen = {}
        for record in records:
            if len(record) < RECORD or record[:4] != MAGIC:
                continue
            _, pad_id, _, offset, length, digest = _BODY.unpack(record[:_BODY.size])
            # A damaged record still counts as seen: that can only raise an alert, never hide one.
            if (offset, offset + length, digest) not in self._overlapping(pad_id, offset, offset + length):
                self._insert(pad_id, offset, offset + length, digest)
        return size
