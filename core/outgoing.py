"""Outgoing mail: seal it, queue the sealed bytes in the outbox, index its clear copy in Sent, trace it.

    home/outbox/new/<key>.eml    the sealed, signed mail, byte for byte what will be submitted
                                 (outside mail/: sealed mail is never indexed; pli.core.transport.outbox
                                 owns this folder and drains it)
    home/mail/sent/cur/<key>:2,S the clear copy, indexed with the tags sent + outbox

    queued = seal_and_queue(home, keyring, inner, ["dr.b@example.org"])   # sealed, queued, traced
    flush_account(home, keyring, only_keys={queued.key})                  # pli.core.transport.outbox

The `outbox` tag goes once a server has accepted the mail (the transport removes it).
"""
from __future__ import annotations

import hashlib
from email.message import EmailMessage
from pathlib import Path

from pli.core import notes
from pli.core.durable import write_atomic
from pli.core.home import Home
from pli.core.store import database
from pli.core.store import headers
from pli.core.store.layout import Layout
from pli.core.transport.outbox import SUFFIX, Queued, outbox_dir


def seal_and_queue(home: Home, keyring, inner: EmailMessage, to: list[str], mode: str | None = None,
                   journal=None, receipts: str | None = None) -> Queued:
    """Seal and sign `inner` for `to`, queue it durably in the outbox, and record the "sealed" step.

    Pad bytes are reserved once, here: every later attempt resends these same sealed bytes.
    `receipts`: what to ask the recipients for ("delivery", "delivery,read", "none");
    None: the home's [receipts] ask setting (pli.core.receipts).
    """
    from pli.core import receipts as receipt_requests
    from pli.core.audit import home_journal
    from pli.core.crypto.envelope import seal_mail
    from pli.core.transport import outbox

    journal = journal or home_journal(home, keyring)
    journal.check()   # a trace that was cut is refused before a pad byte is spent or anything is queued
    kinds = receipt_requests.kinds_to_ask(home, receipts)
    inner = receipt_requests.ask(inner, kinds)
    sealed = seal_mail(inner, keyring, to, mode=mode)
    queued = outbox.queue(home, sealed, inner)
    journal.record("sealed", queued.envelope_id, recipients=list(queued.recipients))
    receipt_requests.record_request(journal, queued.envelope_id, kinds, str(inner.get("Message-ID", "")))
    return queued


def queue_key(sealed: bytes) -> str:
    """The name of a sealed mail in the outbox and of its clear copy in Sent: its bytes' hash."""
    return hashlib.sha256(sealed).hexdigest()[:32]


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
    key = queue_key(sealed)
    queued = outbox_dir(home) / "new" / f"{key}{SUFFIX}"
    write_atomic(queued, sealed)       # the sealed mail first: a crash never leaves a Sent copy of nothing
    me = str(inner.get("From", ""))
    # envelope id and recipients: what a receipt for this message is checked against (pli.core.receipts)
    clear = headers.rewrite(bytes(inner), [("X-Pli-Verified", "yes"), ("X-Pli-Sender", me),
                                           ("X-Pli-Mode", mode), ("X-Pli-Key", key),
                                           ("X-Pli-Envelope-Id", envelope.header.message_id.hex()),
                                           ("X-Pli-Recipients", ", ".join(r.address for r in envelope.recipients))])
    sent = layout.folder("sent") / "cur" / f"{key}:2,S"
    write_atomic(sent, clear)
    with database.open_write(layout) as db, db.atomic():
        msg, _ = db.add(str(sent), sync_flags=False)
        with msg.frozen():
            msg.tags.clear()
            for tag in ("sent", "outbox", "verified", "sealed", *((notes.TAG,) if notes.is_note(inner) else ())):
                msg.tags.add(tag)
        msg.properties["pli.key"] = key
        msg.properties["pli.verified"] = "yes"
        msg.properties["pli.mode"] = mode
        msg.properties["pli.sender"] = me
    return queued
