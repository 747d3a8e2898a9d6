"""Drafts: what compose edits (recipients, subject, body, attachments) and how it becomes a sealed mail.

A sent draft is built by send.build_inner (the one builder of pli's mail), then
sealed and signed for its recipients and handed to the outbox, with a clear copy
in Sent (send.seal_and_queue).  A forward keeps the original's
attachments: they are named by the stored message and their place in it, and
read from the store when the mail is built, so that a draft saved as you type
(pli.core.mail.draft_store) never copies a large PDF or image again at every save.
"""
from __future__ import annotations

import mimetypes
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import getaddresses
from datetime import datetime

from pli.core.errors import PliError
from pli.core.mail import send


class DraftError(PliError):
    """The draft cannot be sent as it is (no recipient, unknown address, unreadable attachment)."""


@dataclass(frozen=True)
class Forwarded:
    """An attachment of a stored message, carried into a forward (read from the store when sent)."""

    message_id: str
    index: int            # its place among the message's attachments
    filename: str
    content_type: str
    size: int

    @property
    def name(self) -> str:
        return self.filename


#: How a forwarded attachment's bytes are read when the mail is built: (message id, index) -> bytes.
PartReader = Callable[[str, int], bytes]


@dataclass
class Draft:
    to: list[str] = field(default_factory=list)
    subject: str = ""
    body: str = ""
    attachments: list = field(default_factory=list)   # Path (a file to attach) or Forwarded
    in_reply_to: str = ""
    id: str = ""                                      # its file in the drafts folder once saved
    receipts: tuple[str, ...] | None = None           # asked of the recipients; None: the home's setting

    def is_empty(self) -> bool:
        return not (self.to or self.subject.strip() or self.body.strip() or self.attachments)


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
    # The id the sender gave the message (the store names it itself: docs/STORE.md, "Identity"), so that
    # the reply threads with it in the sender's store too; ours keeps that id in References.
    original = str(clear.message.get("X-Pli-Original-Message-Id", "") or "").strip()
    return Draft(to, subject, f"\n\n{summary.sender} wrote:\n{quote(clear.body)}\n",
                 in_reply_to=original or summary.message_id)


def forward_draft(summary, clear) -> Draft:
    """The original's text under a header block, and every one of its attachments (lab files,
    images, PDFs), to be sealed again for the new recipients."""
    subject = summary.subject or ""
    headers = "\n".join(f"{name}: {value}" for name, value in clear.headers)
    kept = [Forwarded(summary.message_id, a.index, a.filename, a.content_type, a.size) for a in clear.attachments]
    return Draft([], f"Fwd: {subject}", f"\n\n---------- Forwarded message ----------\n{headers}\n\n{clear.body}",
                 attachments=kept)


def build_inner(draft: Draft, sender: str, now: datetime, read_part: PartReader | None = None) -> EmailMessage:
    """The clear MIME message that will be sealed (send.build_inner, the one builder); `read_part` reads
    the forwarded attachments from the store."""
    if not draft.to:
        raise DraftError("add at least one recipient")
    attachments = [(*_attachment(attachment, read_part), attachment.name) for attachment in draft.attachments]
    return send.build_inner(sender, draft.to, draft.subject, draft.body, now, in_reply_to=draft.in_reply_to,
                            attachments=attachments)


def _attachment(attachment, read_part: PartReader | None) -> tuple[bytes, str]:
    """(bytes, content type) of a file to attach or of a forwarded attachment."""
    if isinstance(attachment, Forwarded):
        try:
            if read_part is None:
                raise LookupError(attachment.message_id)
            return read_part(attachment.message_id, attachment.index), attachment.content_type
        except (LookupError, PliError):
            raise DraftError(f"the forwarded attachment {attachment.filename} is no longer in the store; "
                             "remove it (ctrl+o attaches a file instead)") from None
    try:
        data = attachment.read_bytes()
    except OSError as error:
        raise DraftError(f"cannot read attachment {attachment}: {error.strerror}") from None
    return data, mimetypes.guess_type(attachment.name)[0] or "application/octet-stream"
