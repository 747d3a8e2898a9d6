"""The recipient's side of receipts: seal a receipt for a message that asked, queue it, trace it, once.

    home/receipts/sent/<envelope id>.<sender hash>.<kind>.json   {"key": outbox key, "traced": bool, ...}
    home/receipts/.lock                           one answering process at a time (flock)

Answering one (message, kind) goes: seal -> write the marker (durable) ->
queue the sealed mail in the outbox (atomic) -> trace "receipt-sent" -> mark
the marker traced -> tag the message `receipt-sent:<kind>`.  A rerun after a
crash anywhere finds the marker: if the outbox holds (or has sent) the file
it names, the receipt exists and only the missing steps are done; if not,
the crash came before the queueing and nothing left, so it seals again.  A
sender therefore never gets two receipts of one kind for one message.

Only verified messages are answered, and always to the envelope's checked
sender, never to an address the message itself names (a Reply-To could
otherwise send the receipt, and the fact of delivery, elsewhere).
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parseaddr
from pathlib import Path

from pli.core.audit import AuditMisuse
from pli.core.crypto.envelope import seal_mail
from pli.core.durable import write_atomic
from pli.core.home import Home
from pli.core.receipts.message import Receipt, build, requested
from pli.core.store import headers
from pli.core.transport import outbox
from pli.core.transport.outbox import SENT_FLAGS, SUFFIX, outbox_dir
from pli.core.vocab import RECEIPT_SENT_PREFIX

SENT_TAG = RECEIPT_SENT_PREFIX   # + kind, on the message acknowledged


@dataclass(frozen=True)
class Original:
    """A stored, verified message that asks for receipts."""

    message_id: str              # its Message-ID in this store (pli's, <key@pli.invalid>)
    envelope_id: str
    sender: str                  # the envelope's verified sender address
    kinds: tuple[str, ...]
    stated_id: str = ""          # its Message-ID as its sender wrote it: what the receipt names


@dataclass(frozen=True)
class Answer:
    """One receipt queued (or found queued by an earlier, interrupted run)."""

    message_id: str              # the message acknowledged
    kind: str
    key: str                     # its outbox key
    to: str


def original_of(clear: bytes, message_id: str) -> Original | None:
    """The request of a stored clear message, or None if it asks nothing or is not verified."""
    fields = headers.first_values(clear)
    sender = parseaddr(fields.get("x-pli-sender", ""))[1].lower()
    envelope_id = fields.get("x-pli-envelope-id", "")
    kinds = requested(fields)
    if fields.get("x-pli-verified") != "yes" or not sender or not envelope_id or not kinds:
        return None
    stated = fields.get("x-pli-original-message-id", "").strip().strip("<>") or message_id
    return Original(message_id, envelope_id, sender, kinds, stated)


def answer(home: Home, keyring, original: Original, kind: str, journal,
           now: datetime | None = None) -> Answer | None:
    """Queue the `kind` receipt of `original` unless it was queued before; None when it was.

    The caller holds `answering(home)`.
    """
    marker = _read_marker(home, original, kind)
    if marker is not None and _in_outbox(home, marker["key"]):
        if not marker.get("traced"):
            _trace(journal, original, kind, marker)
            _write_marker(home, original, kind, dict(marker, traced=True))
        return None

    me = keyring.identity.public
    stated = Receipt(kind, original.envelope_id, original.stated_id or original.message_id, me.address, me.id,
                     (now or datetime.now(timezone.utc)).replace(microsecond=0))
    sealed = seal_mail(build(stated, me.name, original.sender), keyring, [original.sender])
    marker = {"key": outbox.queue_key(sealed), "to": original.sender, "traced": False}
    _write_marker(home, original, kind, marker)
    queued = outbox.queue(home, sealed)          # no clear copy: receipts stay out of Sent
    marker = dict(marker, key=queued.key, envelope_id=queued.envelope_id)
    _trace(journal, original, kind, marker)
    _write_marker(home, original, kind, dict(marker, traced=True))
    return Answer(original.message_id, kind, queued.key, original.sender)


@contextmanager
def answering(home: Home):
    """One answering process at a time (the import's pass, a TUI's read receipt)."""
    folder = _folder(home)
    fd = os.open(folder.parent / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _trace(journal, original: Original, kind: str, marker: dict) -> None:
    details = {"receipt": kind, "recipient": original.sender, "mid": original.message_id}
    if marker.get("envelope_id"):
        details["envelope_id"] = marker["envelope_id"]   # the receipt's own envelope
    try:
        journal.record("receipt-sent", original.envelope_id, **details)
    except AuditMisuse:  # a Message-ID the trace cannot hold (a sender chose it): keep the step without it
        details.pop("mid")
        journal.record("receipt-sent", original.envelope_id, **details)


def _folder(home: Home) -> Path:
    folder = home.root / "receipts" / "sent"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def _marker_path(home: Home, original: Original, kind: str) -> Path:
    """Named after the envelope id AND its sender: an envelope id is only the sender's random
    choice, and another correspondent reusing it must not pass for an answered message."""
    sender = hashlib.sha256(original.sender.encode("utf-8")).hexdigest()[:16]
    return _folder(home) / f"{original.envelope_id}.{sender}.{kind}.json"


def _read_marker(home: Home, original: Original, kind: str) -> dict | None:
    try:
        marker = json.loads(_marker_path(home, original, kind).read_bytes())
    except (FileNotFoundError, ValueError):
        return None
    return marker if isinstance(marker, dict) and isinstance(marker.get("key"), str) else None


def _write_marker(home: Home, original: Original, kind: str, marker: dict) -> None:
    write_atomic(_marker_path(home, original, kind), json.dumps(marker, sort_keys=True).encode())


def _in_outbox(home: Home, key: str) -> bool:
    """The receipt waits in the outbox, or has left (the outbox keeps what it sent in cur/)."""
    root = outbox_dir(home)
    return (root / "new" / f"{key}{SUFFIX}").exists() or (root / "cur" / f"{key}{SUFFIX}{SENT_FLAGS}").exists()
