"""The append-only trace journal of a home: record steps durably, read them back.

    trace/journal        one hash-chained entry per line, the last of each batch signed (see entry.py)
    trace/journal.head   the signed (seq, hash) of the last entry: a removed tail shows
    trace/journal.lock   flock'd by writers (exclusive) and by `verify` (shared)
    trace/signers        the keys allowed to sign (see signers.py)

A batch is written with one signature (on its last entry, whose chain of `prev`
hashes covers the others), one write and one fsync, then the head is replaced
(written, fsync'd, renamed).  The journal is fsync'd first: after a crash the
head may lag one batch behind the journal, which is harmless, never run ahead of
it; more than one batch behind is an older head put back over a cut journal.
Before appending, a writer checks the journal's end against the signed head:
a journal cut short (or a head missing, forged or edited) is never continued,
since re-signing the head would hide the cut (JournalTampered, exit 4).
"""
from __future__ import annotations

import fcntl
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from pli.core.audit import entry as entries
from pli.core.audit.entry import GENESIS, Entry, JournalTampered, Line, MalformedEntry
from pli.core.audit.head import Head, head_path, read_head, write_head  # noqa: F401 - head_path: callers' import
from pli.core.audit.signers import (TrustedKeys, UnauthorizedSigner, authorize_signer, load_signers,
                                    public_b64)
from pli.core.durable import append_durably
from pli.core.home import Home

_TAIL_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Step:
    """One step to record, for `Journal.record_many`."""

    step: str
    message_id: str
    details: dict = field(default_factory=dict)
    actor: str | None = None
    when: datetime | None = None


class Journal:
    """Writes a home's trace as `signer` (an Ed25519 private key, e.g. the identity's signing key).

    `actor` is the default who-did-it of the entries (the identity's address).
    Safe to use from several processes at once; each call appends under an
    exclusive file lock and returns once the entries are on disk.
    """

    def __init__(self, home: Home, signer, actor: str = "") -> None:
        self.home = home
        self.signer = signer
        self.actor = actor
        self.public = public_b64(signer.public_key())

    def record(self, step: str, message_id: str, *, actor: str | None = None,
               when: datetime | None = None, **details) -> Entry:
        """Append one step of one message (details: queue ids, hashes, reasons; never content)."""
        return self.record_many([Step(step, message_id, details, actor, when)])[0]

    def record_many(self, steps: Iterable[Step]) -> list[Entry]:
        """Append many steps with one write and one fsync (bulk import: one step per message)."""
        steps = list(steps)
        for s in steps:
            entries.check_fields(s.step, s.message_id, self._actor(s), s.details)
        if not steps:
            return []
        with locked(self.home, fcntl.LOCK_EX):
            self._check_authorized()
            seq, prev = self._continued()
            stamp = entries.now()  # one moment per batch: the entries are written together
            lines = []
            last = len(steps) - 1
            for index, s in enumerate(steps):
                seq += 1
                # one signature per batch, on its last entry: its `prev` chain covers the others
                line = entries.seal(Entry(seq, entries.format_time(s.when) if s.when else stamp,
                                          s.step, s.message_id, self._actor(s), self.public, prev,
                                          dict(s.details)), self.signer if index == last else None)
                lines.append(line)
                prev = line.hash
            _append(self.home, b"".join(line.encode() for line in lines))
            last = lines[-1]
            write_head(self.home, last.entry.seq, last.hash, self.public, last.entry.time, self.signer)
        return [line.entry for line in lines]

    def check(self) -> None:
        """Refuse now (JournalTampered, UnauthorizedSigner) what `record_many` would refuse: callers about
        to do something that must be traced (seal and queue a message) ask before they do it."""
        with locked(self.home, fcntl.LOCK_EX):
            self._check_authorized()
            self._continued()

    def _continued(self) -> tuple[int, str]:
        """(seq, hash) the next entry chains to, once the journal's end is checked against the signed head.

        Only then is what a crash in the middle of an append left after the last signed entry (a torn
        line, a batch without its signed last entry) moved aside.  An empty
        trace first gets a genesis head (seq 0), so that a journal without a head always means one
        was removed, even after a crash in the very first append.
        """
        tail = _tail(self.home)
        head, problem = read_head(self.home, TrustedKeys(load_signers(self.home)))
        if problem:
            raise _cut(self.home, f"{problem}")
        if head is None:
            if tail.seq:
                raise _cut(self.home, f"the journal has {tail.seq} entries but its head is missing (deleted)")
            append_durably(journal_path(self.home), b"")   # the journal exists before any head names it
            write_head(self.home, 0, GENESIS, self.public, entries.now(), self.signer)
        else:
            _check_against_head(self.home, head, tail)
            if head.seq < tail.seq:   # a crash left it a batch behind: brought up first, so another stays one behind
                write_head(self.home, tail.seq, tail.hash, self.public, tail.time, self.signer)
        if tail.torn_at is not None:
            _cut_torn(self.home, tail.torn_at)
        return tail.seq, tail.hash

    def _actor(self, step: Step) -> str:
        return step.actor if step.actor is not None else self.actor

    def _check_authorized(self) -> None:
        signers = load_signers(self.home)
        if not signers and not journal_path(self.home).exists():
            authorize_signer(self.home, self.signer.public_key(), "first writer")
        elif self.public not in signers:
            raise UnauthorizedSigner(
                f"this signing key may not write to the trace of {self.home.root} "
                f"(key {self.public}); allow it with `pli audit authorize KEYFILE`")


def journal_path(home: Home):
    return home.trace / "journal"


@contextmanager
def locked(home: Home, how: int):
    home.trace.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(home.trace / "journal.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, how)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def read_lines(home: Home) -> Iterator[tuple[int, bytes]]:
    """(line number, raw line without LF) for every complete line; a torn last line is skipped."""
    try:
        handle = open(journal_path(home), "rb")
    except FileNotFoundError:
        return
    with handle:
        for number, raw in enumerate(handle, 1):
            if raw.endswith(b"\n"):
                yield number, raw[:-1]


def steps_of(home: Home, message_id: str) -> list[Entry]:
    """Every recorded step of one message, oldest first (matches the message or its `mid` detail)."""
    needle = entries.canonical(message_id)  # as the id appears inside a line's JSON
    found = []
    for _number, raw in read_lines(home):
        if needle in raw:
            entry = entries.decode(raw).entry
            if message_id in (entry.message, entry.details.get("mid")):
                found.append(entry)
    return found


def _append(home: Home, data: bytes) -> None:
    append_durably(journal_path(home), data)


@dataclass(frozen=True)
class _Tail:
    seq: int               # of the last sealed entry (0: none)
    hash: str              # its hash (GENESIS: none)
    torn_at: int | None    # where what follows it starts (a torn line, a batch whose write was cut), if anything
    end: int = 0           # where the last sealed line ends
    last: int = 0          # the seq of the last complete line, sealed or not (what a cut journal is said to end at)
    time: str = ""         # the last sealed entry's time


def _tail(home: Home) -> _Tail:
    """The last sealed entry of the journal (signed: a version 1 entry, the last of a version 2 batch),
    and where what follows it starts; changes nothing.

    What follows a sealed line can only be a write cut by a crash (a torn line, or the first
    entries of a batch without the last, signed one): never acknowledged to its caller, and not
    authenticated by any signature, so it is never continued."""
    path = journal_path(home)
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        return _Tail(0, GENESIS, None)
    with handle:
        size = handle.seek(0, os.SEEK_END)
        end = _last_line_end(handle, size)
        torn_at = end if end < size else None
        last = None
        for offset, raw in _backwards(handle, end):
            line = _decoded(home, raw)
            last = line.entry.seq if last is None else last
            if line.sealed:
                return _Tail(line.entry.seq, line.hash, torn_at, offset + len(raw) + 1, last, line.entry.time)
            torn_at = offset
    return _Tail(0, GENESIS, torn_at, 0, last or 0)


def _last_line_end(handle, size: int) -> int:
    """Where the last complete line ends (after its LF); 0 if there is none."""
    pos = size
    while pos > 0:
        start = max(0, pos - _TAIL_CHUNK)
        handle.seek(start)
        found = handle.read(pos - start).rfind(b"\n")
        if found >= 0:
            return start + found + 1
        pos = start
    return 0


def _backwards(handle, end: int) -> Iterator[tuple[int, bytes]]:
    """(offset, line without its LF) of the complete lines before `end` (the end of a line), last first."""
    rest = b""
    while end > 0:
        start = max(0, end - _TAIL_CHUNK)
        handle.seek(start)
        block = handle.read(end - start) + rest   # ends with an LF
        parts = block.split(b"\n")
        complete = parts[1:-1] if start > 0 else parts[:-1]   # parts[0] may begin before `start`
        offset = start + len(block)
        for raw in reversed(complete):
            offset -= len(raw) + 1
            yield offset, raw
        rest = parts[0] + b"\n" if start > 0 else b""
        end = start


def _decoded(home: Home, raw: bytes) -> Line:
    try:
        line = entries.decode(raw)
    except MalformedEntry as error:
        raise JournalTampered(f"an entry at the end of {journal_path(home)} is unreadable ({error}): "
                              "nothing more is recorded until `pli audit verify` is clean") from None
    if type(line.entry.seq) is not int or line.entry.seq < 1:
        raise JournalTampered(f"an entry at the end of {journal_path(home)} has no valid sequence number: "
                              "nothing more is recorded until `pli audit verify` is clean")
    return line


def _check_against_head(home: Home, head: Head, tail: _Tail) -> None:
    """The journal reaches the head's entry, and that entry is the one the head signed."""
    if head.seq > tail.seq:
        ends = f"ends at entry {tail.last}, signed up to entry {tail.seq}," if tail.last > tail.seq \
            else f"ends at entry {tail.seq}"
        raise _cut(home, f"its journal {ends} but its signed head records entry {head.seq} "
                         f"(entries {tail.seq + 1}..{head.seq} were removed)")
    found = tail.hash if head.seq == tail.seq else _batch_before(home, head.seq, tail.end)
    if found == OLDER_HEAD:
        raise _cut(home, f"its signed head records entry {head.seq}, more than one batch before its last signed "
                         f"entry {tail.seq}: an older head was put back (the entries after it may have been cut)")
    if found != head.hash:
        raise _cut(home, f"its entry {head.seq} is not the one its signed head records (rewritten or removed)")


#: What _batch_before finds when a signed line lies between the head's entry and the last one.
OLDER_HEAD = "older head"


def _batch_before(home: Home, seq: int, end: int) -> str | None:
    """The hash of entry `seq` (GENESIS for 0) when the head names it and the journal goes on after it: it
    must end the batch just before the last one (`end` ends that last batch's sealed line).  A crash
    between the journal's fsync and the head's rename leaves the head one batch behind, never more (the
    next writer brings it up first): OLDER_HEAD when another signed line lies between, None when the
    entry is not there."""
    with open(journal_path(home), "rb") as handle:
        lines = _backwards(handle, end)
        next(lines, None)                      # the last sealed line itself
        for _offset, raw in lines:
            if raw:
                line = _decoded(home, raw)
                if line.entry.seq == seq:
                    return line.hash
                if line.sealed:
                    return OLDER_HEAD
                if line.entry.seq < seq:
                    return None
    return GENESIS if seq == 0 else None


def _cut(home: Home, what: str) -> JournalTampered:
    return JournalTampered(f"SECURITY: the trace of {home.root} was cut or altered: {what}; nothing more is "
                           "recorded until it is restored from a copy; `pli audit verify` names the first bad entry")


def _cut_torn(home: Home, at: int) -> None:
    """Move what follows the last sealed line (a torn line, entries of a batch whose signed last one was
    never written: never acknowledged to their caller) aside, and cut the journal back to that line."""
    with open(journal_path(home), "r+b") as handle:
        handle.seek(at)
        _save_torn(home, handle.read())
        handle.truncate(at)
        handle.flush()
        os.fsync(handle.fileno())


def _save_torn(home: Home, fragment: bytes) -> None:
    keep = home.trace / f"journal.torn.{os.getpid()}.{os.urandom(4).hex()}"
    keep.write_bytes(fragment)
    os.chmod(keep, 0o600)


def home_journal(home: Home, keyring) -> "Journal":
    """The home's trace, signed by the keyring's own identity (send, fetch, import, reading)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    signer = Ed25519PrivateKey.from_private_bytes(keyring.identity.sign_secret)
    return Journal(home, signer, actor=keyring.identity.public.address)
