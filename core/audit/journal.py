"""The append-only trace journal of a home: record steps durably, read them back.

    trace/journal        one signed, hash-chained entry per line (see entry.py)
    trace/journal.head   the signed (seq, hash) of the last entry: a removed tail shows
    trace/journal.lock   flock'd by writers (exclusive) and by `verify` (shared)
    trace/signers        the keys allowed to sign (see signers.py)

A batch is written with one write and one fsync, then the head is replaced
(written, fsync'd, renamed).  The journal is fsync'd first: after a crash the
head may lag behind the journal, which is harmless, never run ahead of it.
"""
from __future__ import annotations

import base64
import fcntl
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from pli.core.audit import entry as entries
from pli.core.audit.entry import GENESIS, Entry, JournalTampered, Line, MalformedEntry
from pli.core.audit.signers import UnauthorizedSigner, authorize_signer, load_signers, public_b64
from pli.core.durable import append_durably, write_atomic
from pli.core.home import Home

HEAD_DOMAIN = b"pli-audit-head-v1\n"
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
            seq, prev = _tail(self.home)
            stamp = entries.now()  # one moment per batch: the entries are written together
            lines = []
            for s in steps:
                seq += 1
                line = entries.seal(Entry(seq, entries.format_time(s.when) if s.when else stamp,
                                          s.step, s.message_id, self._actor(s), self.public, prev,
                                          dict(s.details)), self.signer)
                lines.append(line)
                prev = line.hash
            _append(self.home, b"".join(line.encode() for line in lines))
            _write_head(self.home, lines[-1], self.signer)
        return [line.entry for line in lines]

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


def head_path(home: Home):
    return home.trace / "journal.head"


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


def _write_head(home: Home, last: Line, signer) -> None:
    body = entries.canonical({"v": entries.VERSION, "seq": last.entry.seq, "hash": last.hash,
                              "signer": last.entry.signer, "time": last.entry.time})
    data = body + b"\t" + base64.b64encode(signer.sign(HEAD_DOMAIN + body)) + b"\n"
    write_atomic(head_path(home), data)


def _tail(home: Home) -> tuple[int, str]:
    """(seq, hash) of the last complete entry, (0, GENESIS) for an empty journal.

    A torn last line (a crash in the middle of an append that was never
    acknowledged) is moved aside to trace/journal.torn.* and cut off, so that
    the chain continues from the last whole entry; nothing is thrown away.
    """
    path = journal_path(home)
    try:
        handle = open(path, "r+b")
    except FileNotFoundError:
        return 0, GENESIS
    with handle:
        size = handle.seek(0, os.SEEK_END)
        if size == 0:
            return 0, GENESIS
        start, chunk = size, b""
        while start > 0 and chunk.count(b"\n") < 2:
            start = max(0, start - _TAIL_CHUNK)
            handle.seek(start)
            chunk = handle.read(size - start)
        if not chunk.endswith(b"\n"):
            cut = chunk.rfind(b"\n") + 1
            _save_torn(home, chunk[cut:])
            handle.truncate(start + cut)
            handle.flush()
            os.fsync(handle.fileno())
            chunk = chunk[:cut]
            if not chunk:
                return 0, GENESIS
        last = chunk[:-1].rsplit(b"\n", 1)[-1]
    try:
        line = entries.decode(last)
    except MalformedEntry as error:
        raise JournalTampered(f"the last entry of {path} is unreadable ({error}): "
                              "nothing more is recorded until `pli audit verify` is clean") from None
    return line.entry.seq, line.hash


def _save_torn(home: Home, fragment: bytes) -> None:
    keep = home.trace / f"journal.torn.{os.getpid()}.{os.urandom(4).hex()}"
    keep.write_bytes(fragment)
    os.chmod(keep, 0o600)


def home_journal(home: Home, keyring) -> "Journal":
    """The home's trace, signed by the keyring's own identity (send, fetch, import, reading)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    signer = Ed25519PrivateKey.from_private_bytes(keyring.identity.sign_secret)
    return Journal(home, signer, actor=keyring.identity.public.address)
