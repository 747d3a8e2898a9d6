"""Outgoing mail until transport exists: the sealed mail waits in the outbox, its clear copy is in Sent.

    home/outbox/new/<key>.eml    the sealed, signed mail, byte for byte what will be submitted
                                 (a Maildir outside mail/: sealed mail is never indexed)
    home/mail/sent/cur/<key>:2,S the clear copy, indexed with the tags sent + outbox

The transport drains outbox/ (and removes the `outbox` tag once submitted).
"""
from __future__ import annotations

import hashlib
import os
from email.message import EmailMessage
from pathlib import Path

from pli.core.home import Home
from pli.core.store import database
from pli.core.store import headers
from pli.core.store.layout import Layout, make_maildir


def outbox(home: Home) -> Path:
    return home.root / "outbox"


def _write_durably(path: Path, data: bytes) -> None:
    tmp = path.parent.parent / "tmp" / path.name
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def sealed_envelope(sealed: bytes):
    """The parsed envelope of a sealed mail (its header and recipients; the content stays sealed)."""
    from pli.core.crypto.envelope_format import parse
    from pli.core.crypto.mime import extract_envelope

    return parse(extract_envelope(sealed))


def sealed_mode(sealed: bytes) -> str:
    """"otp" or "stream", read from the envelope's header."""
    return sealed_envelope(sealed).header.mode


def save_outgoing(home: Home, sealed: bytes, inner: EmailMessage) -> Path:
    """Queue `sealed` in the outbox and index the clear copy in Sent; returns the outbox file."""
    envelope = sealed_envelope(sealed)
    mode = envelope.header.mode
    layout = Layout(home)
    layout.require()
    key = hashlib.sha256(sealed).hexdigest()[:32]
    make_maildir(outbox(home))
    queued = outbox(home) / "new" / f"{key}.eml"
    _write_durably(queued, sealed)
    me = str(inner.get("From", ""))
    # envelope id and recipients: what a receipt for this message is checked against (pli.core.receipts)
    clear = headers.rewrite(bytes(inner), [("X-Pli-Verified", "yes"), ("X-Pli-Sender", me),
                                           ("X-Pli-Mode", mode), ("X-Pli-Key", key),
                                           ("X-Pli-Envelope-Id", envelope.header.message_id.hex()),
                                           ("X-Pli-Recipients", ", ".join(r.address for r in envelope.recipients))])
    sent = layout.folder("sent") / "cur" / f"{key}:2,S"
    _write_durably(sent, clear)
    with database.open_write(layout) as db, db.atomic():
        msg, _ = db.add(str(sent), sync_flags=False)
        with msg.frozen():
            msg.tags.clear()
            for tag in ("sent", "outbox", "verified", "sealed"):
                msg.tags.add(tag)
        msg.properties["pli.key"] = key
        msg.properties["pli.verified"] = "yes"
        msg.properties["pli.mode"] = mode
        msg.properties["pli.sender"] = me
    return queued
