"""Drafts: what compose edits (recipients, subject, body, attachments) and how it becomes a sealed mail.

Until the transport exists, a sent draft is sealed and signed for its
recipients and handed to the store's outbox, with a clear copy in Sent.
"""
from __future__ import annotations

import mimetypes
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid
from datetime import datetime
from pathlib import Path

from pli.core.errors import PliError


class DraftError(PliError):
    """The draft cannot be sent as it is (no recipient, unknown address, unreadable attachment)."""


@dataclass
class Draft:
    to: list[str] = field(default_factory=list)
    subject: str = ""
    body: str = ""
    attachments: list[Path] = field(default_factory=list)
    in_reply_to: str = ""


def split_addresses(text: str) -> list[str]:
    """The bare addresses in "Name <a@b>, c@d; ..." (the envelope seals to addresses, not names)."""
    return [address.strip() for _name, address in getaddresses([text.replace(";", ",")]) if address.strip()]


def quote(body: str) -> str:
    return "\n".join("> " + line if line else ">" for line in body.splitlines())


def reply_draft(summary, clear, *, everyone: bool = False, me: str = "") -> Draft:
    """A reply to the sender; with `everyone` (reply-all) also to the message's other recipients (To
    and Cc), each once, without `me`."""
    to = split_addresses(str(clear.message.get("From", "")))[:1]
    if everyone:
        others = split_addresses(", ".join(str(clear.message.get(name, "")) for name in ("To", "Cc")))
        seen = {me.lower()}
        to = [a for a in to + others if a.lower() not in seen and not seen.add(a.lower())]
    subject = summary.subject or ""
    subject = subject if subject.lower().startswith("re:") else f"Re: {subject}"
    return Draft(to, subject, f"\n\n{summary.sender} wrote:\n{quote(clear.body)}\n",
                 in_reply_to=summary.message_id)


def forward_draft(summary, clear) -> Draft:
    subject = summary.subject or ""
    headers = "\n".join(f"{name}: {value}" for name, value in clear.headers)
    return Draft([], f"Fwd: {subject}", f"\n\n---------- Forwarded message ----------\n{headers}\n\n{clear.body}")


def build_inner(draft: Draft, sender: str, now: datetime) -> EmailMessage:
    """The clear MIME message (protected headers inside) that will be sealed."""
    if not draft.to:
        raise DraftError("add at least one recipient")
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = ", ".join(draft.to)
    msg["Subject"] = draft.subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain="pli.invalid")
    if draft.in_reply_to:   # both: notmuch (and every mail client) threads the reply with the original
        msg["In-Reply-To"] = f"<{draft.in_reply_to.strip('<>')}>"
        msg["References"] = f"<{draft.in_reply_to.strip('<>')}>"
    msg.set_content(draft.body)
    for path in draft.attachments:
        try:
            data = path.read_bytes()
        except OSError as error:
            raise DraftError(f"cannot read attachment {path}: {error.strerror}") from None
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        maintype, subtype = kind.split("/", 1)
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=path.name)
    return msg
