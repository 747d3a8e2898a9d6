"""One trace entry: its fields, the steps it may name, and its exact line encoding.

A line of the journal is `BODY TAB SIGNATURE LF`: BODY is a canonical JSON
object (keys sorted, no spaces, ASCII only).  The entry's hash, which the next
entry quotes as `prev`, is SHA-256 over `BODY TAB SIGNATURE` (the line without
its LF), so each entry's hash covers every entry before it.

Version 2 (written since issue 17) signs a batch once: SIGNATURE is empty on
every entry but the batch's last, whose Ed25519 signature of `BATCH_DOMAIN +
BODY` covers, through the chain of `prev` hashes, the batch's other entries.
Version 1 (read, still verified) signed every entry (`DOMAIN + BODY`).
Verifying never re-encodes anything: it checks the bytes as they are on disk.
docs/AUDIT.md describes the format byte by byte.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone

from pli.core.errors import PliError

VERSION = 2                              # what writers write
VERSIONS = (1, 2)                        # what readers accept
DOMAIN = b"pli-audit-entry-v1\n"         # version 1: every entry signed
BATCH_DOMAIN = b"pli-audit-batch-v2\n"   # version 2: the last entry of each batch signed
GENESIS = "0" * 64

#: The steps of a message's life, in the order they usually happen.
STEPS = (
    "sealed", "sent", "accepted-by-gateway", "delivered", "fetched",
    "opened-verified", "quarantined", "read", "exported", "archived", "deleted",
    "receipt-requested", "receipt-sent", "receipt-received",
    "receipt-declined",      # the user declined an MDN asked for with consent (MSSanté, RFC 8098 §2.1)
    "refused", "deferred",   # a gateway's permanent (5xx) and temporary (4xx) answers, with the reason
)

#: Detail keys an entry may carry: identifiers and hashes, never content.  A
#: closed list, so that nobody records a subject or a file path by mistake.
DETAIL_KEYS = frozenset({
    "queue_id", "server", "gateway", "recipient", "recipients", "sender", "fingerprint",
    "reason", "mode", "envelope_id", "mid", "target", "receipt", "receipt_for",
    "sha256", "folder", "count", "via", "status", "client",
})

_MAX_TEXT = 512
_TOKEN = re.compile(r"[\x21-\x7e]{1,998}")  # a message id: printable ASCII, no space
_CONTROL = re.compile(r"[\x00-\x1f]")  # what makes a text field more than one line


class AuditMisuse(PliError):
    """A caller asked to record something a trace entry may not hold (a bug in pli)."""

    exit_code = 70


class MalformedEntry(PliError):
    """A journal line that cannot be read as an entry."""


class JournalTampered(PliError):
    """The journal is not the one its signers wrote: an entry edited, removed, inserted or moved.

    `seq` is the sequence number of the first bad entry (where it can be told),
    `line` its line number in trace/journal.
    """

    exit_code = 4

    def __init__(self, message: str, seq: int | None = None, line: int | None = None):
        super().__init__(message)
        self.seq = seq
        self.line = line


@dataclass(frozen=True)
class Entry:
    """One step of one message, as recorded (without the signature and hash)."""

    seq: int
    time: str          # RFC 3339, UTC, microseconds: 2025-03-01T08:15:02.123456Z
    step: str
    message: str       # the message's envelope id (or Message-ID for unsealed mail)
    actor: str         # who did the step: an address, "gateway", ...
    signer: str        # base64 of the raw Ed25519 public key that signed the entry
    prev: str          # hex SHA-256 of the previous line, GENESIS for the first
    details: dict = field(default_factory=dict)

    def body(self) -> bytes:
        return canonical({"v": VERSION, "seq": self.seq, "time": self.time, "step": self.step,
                          "message": self.message, "actor": self.actor, "signer": self.signer,
                          "prev": self.prev, "details": self.details})


@dataclass(frozen=True)
class Line:
    """An entry as stored: the entry, its signature (b"" inside a version 2 batch) and the hash the
    next entry chains to."""

    entry: Entry
    body: bytes
    signature: bytes
    hash: str
    version: int = VERSION

    def encode(self) -> bytes:
        return self.body + b"\t" + base64.b64encode(self.signature) + b"\n"

    @property
    def sealed(self) -> bool:
        """Whether this line carries a signature: every version 1 line, the last of a version 2 batch."""
        return bool(self.signature)

    def signed_data(self) -> bytes:
        """What its signature covers."""
        return (DOMAIN if self.version == 1 else BATCH_DOMAIN) + self.body


def canonical(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode("ascii")


def now() -> str:
    return format_time(datetime.now(timezone.utc))


def format_time(when: datetime) -> str:
    if when.tzinfo is None:
        raise AuditMisuse("trace times must be timezone-aware")
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def check_fields(step: str, message_id: str, actor: str, details: dict) -> None:
    """Refuse anything that is not a known step, an identifier or a short token."""
    if step not in STEPS:
        raise AuditMisuse(f"unknown trace step {step!r} (known: {', '.join(STEPS)})")
    if not isinstance(message_id, str) or not _TOKEN.fullmatch(message_id):
        raise AuditMisuse("a trace entry needs a message id of printable ASCII without spaces")
    _check_text("actor", actor)
    for key, value in details.items():
        if key not in DETAIL_KEYS:
            raise AuditMisuse(f"trace detail {key!r} is not allowed (allowed: {', '.join(sorted(DETAIL_KEYS))})")
        if isinstance(value, list):
            for item in value:
                _check_text(key, item)
        elif not isinstance(value, (int, bool)) and value is not None:
            _check_text(key, value)


def _check_text(name: str, value) -> None:
    if not isinstance(value, str) or len(value) > _MAX_TEXT or _CONTROL.search(value):
        raise AuditMisuse(f"trace field {name!r} must be a short one-line string")


def seal(entry: Entry, signer=None) -> Line:
    """The line of an entry and its hash: signed with `signer` (an Ed25519 private key) when it ends a batch,
    unsigned (None) when a later entry of the same batch seals it through the chain."""
    body = entry.body()
    signature = signer.sign(BATCH_DOMAIN + body) if signer is not None else b""
    return Line(entry, body, signature, line_hash(body + b"\t" + base64.b64encode(signature)))


def line_hash(raw: bytes) -> str:
    """The hash the next entry quotes: SHA-256 of the stored line without its LF."""
    return hashlib.sha256(raw).hexdigest()


def decode(raw: bytes) -> Line:
    """Parse one stored line (without its LF); raise MalformedEntry naming what is wrong."""
    body, tab, sig64 = raw.rpartition(b"\t")
    if not tab:
        raise MalformedEntry("no signature field")
    try:
        signature = base64.b64decode(sig64, validate=True)
        obj = json.loads(body)
    except (binascii.Error, ValueError, RecursionError) as error:   # RecursionError: nested thousands deep
        raise MalformedEntry(f"unreadable ({type(error).__name__})") from None
    try:
        entry = Entry(seq=obj["seq"], time=obj["time"], step=obj["step"], message=obj["message"],
                      actor=obj["actor"], signer=obj["signer"], prev=obj["prev"], details=obj["details"])
    except (KeyError, TypeError):
        raise MalformedEntry("missing fields") from None
    version = obj.get("v")
    if type(version) is not int or version not in VERSIONS or type(entry.seq) is not int \
            or not isinstance(entry.details, dict) \
            or not all(isinstance(v, str) for v in (entry.signer, entry.prev, entry.message, entry.step)):
        raise MalformedEntry("unsupported version or wrong field types")
    if version == 1 and not signature:
        raise MalformedEntry("a version 1 entry without its signature")
    return Line(entry, body, signature, line_hash(raw), version)
