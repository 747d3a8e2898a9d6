"""Sending: one inner-mail builder; then seal, queue, the clear copy in Sent and the trace, once.

`pli send` (a message the user wrote), `pli note`, the TUI's compose and its
forward all come here: build_inner makes the clear message (protected headers
inside), seal_and_queue seals and signs it, queues the sealed bytes in the
outbox, indexes the clear copy in Sent and records the "sealed" step.

    home/outbox/new/<key>.eml    the sealed, signed mail, byte for byte what will be submitted
                                 (outside mail/: sealed mail is never indexed; pli.core.transport.outbox
                                 owns this folder, names it (queue_key) and drains it)
    home/mail/sent/cur/<key>:2,S the clear copy, indexed with the tags sent + outbox (Store.add_sent)

    inner = build_inner(sender, ["dr.b@example.org"], "Kaliémie", text, now)
    queued = seal_and_queue(home, keyring, inner, ["dr.b@example.org"])   # sealed, queued, traced
    flush_account(home, keyring, only_keys={queued.key})                  # pli.core.transport.outbox

The `outbox` tag goes once a server has accepted the mail (the transport removes it).
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from pli.core import receipts as receipt_requests
from pli.core.audit import home_journal
from pli.core.crypto.envelope import seal_mail
from pli.core.crypto.envelope_format import parse
from pli.core.crypto.mime import extract_envelope
from pli.core.home import Home
from pli.core.mail.conversation import KIND, KIND_HEADER, check_address, check_text, is_note, subject_of
from pli.core.store.store import SentFacts, Store
from pli.core.transport import outbox
from pli.core.transport.outbox import Queued
from pli.core import vocab

#: An attachment as build_inner takes it: (bytes, content type, file name).
Attachment = tuple[bytes, str, str]


def build_inner(sender: str, to: Iterable[str], subject: str, body: str, now: datetime, *,
                in_reply_to: str = "", attachments: Iterable[Attachment] = (), kind: str = "") -> EmailMessage:
    """The clear MIME message that will be sealed (its headers travel protected inside the envelope).

    `in_reply_to`: the Message-ID answered (notmuch, like every mail client, threads the reply with it);
    `kind`: pli's mark of what the message is ("note"), which travels sealed: relays never see it.
    """
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain="pli.invalid")
    if in_reply_to:
        msg["In-Reply-To"] = f"<{in_reply_to.strip('<>')}>"
        msg["References"] = f"<{in_reply_to.strip('<>')}>"
    if kind:
        msg[KIND_HEADER] = kind
    msg.set_content(body)
    for data, content_type, filename in attachments:
        maintype, subtype = content_type.split("/", 1) if "/" in content_type else ("application", "octet-stream")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return msg


def build_note(sender: str, to: str, text: str, now: datetime) -> EmailMessage:
    """The inner message of a note from `sender` ("Name <address>") to one correspondent."""
    text = check_text(text)
    return build_inner(sender, [check_address(to)], subject_of(text), text, now, kind=KIND)


def sender_of(keyring) -> str:
    """The From of what this keyring sends: "Name <address>", or the address alone."""
    me = keyring.identity.public
    return f"{me.name} <{me.address}>" if me.name else me.address


def seal_and_queue(home: Home, keyring, inner: EmailMessage, to: list[str], mode: str | None = None,
                   journal=None, receipts: str | None = None) -> Queued:
    """Seal and sign `inner` for `to`, queue it durably in the outbox with its clear copy in Sent, and
    record the "sealed" step.

    Pad bytes are reserved once, here: every later attempt resends these same sealed bytes.
    `receipts`: what to ask the recipients for ("delivery", "delivery,read", "none");
    None: the home's [receipts] ask setting (pli.core.receipts).
    """
    journal = journal or home_journal(home, keyring)
    journal.check()   # a trace that was cut is refused before a pad byte is spent or anything is queued
    kinds = receipt_requests.kinds_to_ask(home, receipts)
    inner = receipt_requests.ask(inner, kinds)
    sealed = seal_mail(inner, keyring, to, mode=mode)
    queued = outbox.queue(home, sealed)   # the sealed mail first: a crash never leaves a Sent copy of nothing
    _add_sent_copy(home, queued.key, inner, sealed)
    journal.record("sealed", queued.envelope_id, recipients=list(queued.recipients))
    receipt_requests.record_request(journal, queued.envelope_id, kinds, str(inner.get("Message-ID", "")))
    return queued


def send_note(home: Home, keyring, to: str, text: str, now: datetime) -> Queued:
    """Seal, sign and queue a note for `to` (traced "sealed"; receipts asked as for any message).
    The caller flushes the outbox (pli.core.transport.outbox.flush_account, or the TUI's worker)."""
    address = check_address(to)
    return seal_and_queue(home, keyring, build_note(sender_of(keyring), address, text, now), [address])


def _add_sent_copy(home: Home, key: str, inner: EmailMessage, sealed: bytes) -> None:
    """The clear copy in Sent, when the home has a store (a gateway's home, or a bare test home, has none)."""
    if not (home.mail / ".notmuch").is_dir():
        return
    envelope = parse(extract_envelope(sealed))
    facts = SentFacts(sender=str(inner.get("From", "")), mode=envelope.header.mode,
                      envelope_id=envelope.header.message_id.hex(),
                      recipients=tuple(r.address for r in envelope.recipients),
                      tags=(vocab.NOTE,) if is_note(inner) else ())
    with Store.open(home, writable=True) as store:
        store.add_sent(key, bytes(inner), facts)
