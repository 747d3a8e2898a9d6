"""Reading a message: what a clear message shows (protected headers, body text, attachments, verification),
marking it read, and answering its request for a read receipt.

The store keeps the clear (decrypted, checked) message with the outcome of the
checks in X-Pli-* headers; this module turns those bytes into plain data the
screens lay out.  It decides nothing about trust: it reports what the store
recorded, and anything missing or unreadable reads as "not verified".
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from pli.core import vocab

if TYPE_CHECKING:  # the email package is imported when the first message is read, after the first screen
    from email.message import EmailMessage

    from pli.core.xdm.received import ReceivedMss

#: Protected headers shown above the body, in this order.
SHOWN_HEADERS = ("From", "To", "Cc", "Date", "Subject", "X-Pli-Patient")


@dataclass(frozen=True)
class Attachment:
    index: int            # position among the message's attachments
    filename: str
    content_type: str
    size: int

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


@dataclass(frozen=True)
class Verification:
    verified: bool
    signer: str = ""        # display name and address
    signer_id: str = ""
    fingerprint: str = ""
    mode: str = ""          # "otp" | "stream" | ""
    reason: str = ""        # why the check failed (a short token such as "bad-signature")
    warning: str = ""       # the signing key was revoked (after the message was signed, or since it was stored)
    tier: str = ""          # "mssante": transport-secured mail of an MSSanté account, never signed (never verified)


@dataclass(frozen=True)
class ClearMessage:
    message: EmailMessage
    headers: tuple[tuple[str, str], ...]
    body: str
    attachments: tuple[Attachment, ...]
    verification: Verification
    mssante: ReceivedMss | None = None    # an MSSanté mail: its X-MSS-* headers, XDM documents, lab reports


def parse_clear(raw: bytes) -> EmailMessage:
    import email
    import email.policy

    return email.message_from_bytes(raw, policy=email.policy.default)


def _header(msg: EmailMessage, name: str) -> str:
    try:
        value = msg.get(name)
    except Exception:  # noqa: BLE001 - a malformed header reads as absent, not as a crash
        return ""
    return str(value).strip() if value is not None else ""


def verification_of(msg: EmailMessage, summary=None) -> Verification:
    verified_header = _header(msg, "X-Pli-Verified").lower()
    verified = verified_header in ("yes", "true", "1", "ok") if verified_header else bool(
        summary is not None and summary.verified)
    signer = _header(msg, "X-Pli-Sender") or (summary.sender if summary is not None else "")
    mode = _header(msg, "X-Pli-Mode") or (getattr(summary, "mode", "") or "")
    return Verification(
        verified=verified,
        signer=signer,
        signer_id=_header(msg, "X-Pli-Sender-Id"),
        fingerprint=_header(msg, "X-Pli-Fingerprint"),
        mode=mode,
        reason=_header(msg, "X-Pli-Reason") or _header(msg, "X-Pli-Quarantine-Reason"),
        warning=_header(msg, "X-Pli-Warning"),
        # the store writes every X-Pli-* field itself (a sender's are dropped): only mail it let in from an
        # MSSanté account says this mode, and a tier is never a signature
        tier=vocab.MSSANTE if mode == vocab.MSSANTE and not verified else "",
    )


def with_revocation(clear: ClearMessage, home) -> ClearMessage:
    """The message as the installed directory sees its signing key now (pli.core.directory.stored decides):
    revoked for its signing time, it reads as not verified (`revoked-key`); revoked later, with a warning."""
    # start-up: loaded when first used, after the first screen
    from dataclasses import replace

    from pli.core.directory.stored import check_stored

    names = ("X-Pli-Verified", "X-Pli-Fingerprint", "X-Pli-Sender", "X-Pli-Signed", "X-Pli-Warning")
    line, refused = check_stored(home, {n.lower(): _header(clear.message, n) for n in names})
    if refused:
        check = replace(clear.verification, verified=False, reason="revoked-key", warning=line)
    elif line:
        check = replace(clear.verification, warning=line)
    else:
        return clear
    return replace(clear, verification=check)


def body_text(msg: EmailMessage) -> str:
    part = msg.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        return part.get_content()
    except (LookupError, ValueError, AssertionError):
        payload = part.get_payload(decode=True) or b""
        return payload.decode("utf-8", errors="replace")


def attachments_of(msg: EmailMessage) -> tuple[Attachment, ...]:
    found = []
    for index, part in enumerate(msg.iter_attachments()):
        payload = part.get_payload(decode=True) or b""
        found.append(Attachment(index, part.get_filename() or f"attachment-{index + 1}",
                                part.get_content_type(), len(payload)))
    return tuple(found)


def attachment_bytes(msg: EmailMessage, index: int) -> bytes:
    for position, part in enumerate(msg.iter_attachments()):
        if position == index:
            return part.get_payload(decode=True) or b""
    raise IndexError(index)


def clear_message(raw: bytes, summary, home) -> ClearMessage:
    """A stored clear message as the screens show it: parsed, its signing key checked against the
    directory installed now (with_revocation)."""
    return with_revocation(read_message(raw, summary), home)


def read_message(raw: bytes, summary=None) -> ClearMessage:
    msg = parse_clear(raw)
    headers = tuple((name, value) for name in SHOWN_HEADERS if (value := _header(msg, name)))
    check = verification_of(msg, summary)
    return ClearMessage(msg, headers, body_text(msg), attachments_of(msg), check,
                        mssante_of(raw) if check.tier == vocab.MSSANTE else None)


def mssante_of(raw: bytes) -> ReceivedMss:
    """An MSSanté mail as read for the screen: X-MSS-* headers, the XDM documents and their text, lab reports."""
    # start-up: the XDM and CDA readers load with the first MSSanté mail shown, not with the first screen
    from pli.core.xdm.received import read_received

    return read_received(raw)


# -- once it is open -------------------------------------------------------------------------------------


def mark_read(store, summary) -> bool:
    """Take `unread` off a message just opened; whether it was unread.  The caller traces "read" (in
    order with the user's other steps: pli.core.mail.tracing) and then answers a read receipt."""
    if vocab.UNREAD not in summary.tags:
        return False
    store.tag([summary.message_id], remove=(vocab.UNREAD,))
    return True


def asks_read_receipt(summary) -> bool:
    """The message asks for a read receipt and none has been queued yet."""
    return vocab.RECEIPT_REQUEST in summary.tags and f"{vocab.RECEIPT_SENT_PREFIX}read" not in summary.tags


def send_read_receipt(home, keyring, message_id: str):
    """Queue and send the read receipt of an opened message, if [receipts] send_read allows
    (pli.core.receipts.after_read: its report says what was queued and sent)."""
    # start-up: the receipts (and the crypto that seals them) load with the first receipt, not with the
    # first screen, which imports this module for what a message shows
    from pli.core.receipts import after_read

    return after_read(home, keyring, message_id)
