"""The sealed message as ordinary mail: an RFC 5322 message any MTA carries, the envelope attached.

Outer mail (what relays see):

    From: the sender          To: the recipients        Subject: Sealed message (neutral)
    multipart/mixed
      text/plain                   a short note for a human reading it elsewhere
      application/x-pli-envelope   the envelope (base64), filename "sealed.pli"

Inside the envelope travels a complete MIME message (the inner mail) with the
protected headers: the real Subject, patient identifiers, attachments.
"""
from __future__ import annotations

import base64
import binascii
import email
import email.policy
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid

from pli.core.crypto.refusals import Malformed, NotSealed
from pli.core.mimescan import leaf_parts

ENVELOPE_TYPE = "application/x-pli-envelope"
ENVELOPE_FILENAME = "sealed.pli"
NEUTRAL_SUBJECT = "Sealed message"
HUMAN_NOTE = (
    "This message is sealed for its recipients with pli,\n"
    "a secure health-messaging client. Its subject and content\n"
    "are inside the attached envelope (sealed.pli): open it\n"
    "with `pli open` or in pli's mail view. Nobody can read it\n"
    "without the recipient's keys.\n"
)


def outer_mail(envelope: bytes, sender_name: str, sender_address: str, to: list[str], timestamp: int,
               envelope_id: str) -> bytes:
    """The RFC 5322 mail carrying `envelope`; its Message-ID derives from the envelope id (no content).

    Written directly rather than through `email.generator`: the layout is fixed,
    and a 10 MiB envelope would otherwise spend most of its sealing time there.
    """
    boundary = f"pli-{envelope_id}"
    domain = sender_address.rpartition("@")[2] or "pli.invalid"
    head = [
        f"From: {formataddr((sender_name, sender_address), charset='utf-8')}",
        f"To: {', '.join(to)}",
        f"Subject: {NEUTRAL_SUBJECT}",
        f"Date: {format_datetime(datetime.fromtimestamp(timestamp, timezone.utc))}",
        f"Message-ID: <{envelope_id}.sealed@{domain}>",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/mixed; boundary="{boundary}"',
        "",
        f"--{boundary}",
        'Content-Type: text/plain; charset="utf-8"',
        "Content-Transfer-Encoding: 7bit",
        "",
        HUMAN_NOTE,
        f"--{boundary}",
        f'Content-Type: {ENVELOPE_TYPE}; name="{ENVELOPE_FILENAME}"',
        f'Content-Disposition: attachment; filename="{ENVELOPE_FILENAME}"',
        "Content-Transfer-Encoding: base64",
        "",
        "",
    ]
    tail = f"--{boundary}--\n".encode("ascii")
    return "\n".join(head).encode("utf-8") + base64.encodebytes(envelope) + tail


def inner_mail(inner: bytes | EmailMessage, sender_name: str, sender_address: str, to: list[str],
               timestamp: int) -> bytes:
    """The inner message's bytes; an EmailMessage gets From/To/Date/Message-ID when it lacks them."""
    if isinstance(inner, (bytes, bytearray, memoryview)):
        return bytes(inner)
    if not inner["From"]:
        inner["From"] = formataddr((sender_name, sender_address))
    if not inner["To"]:
        inner["To"] = ", ".join(to)
    if not inner["Date"]:
        inner["Date"] = format_datetime(datetime.fromtimestamp(timestamp, timezone.utc))
    if not inner["Message-ID"]:
        inner["Message-ID"] = make_msgid(domain=sender_address.rpartition("@")[2] or None)
    return inner.as_bytes()


def extract_envelope(raw_mail: bytes) -> bytes:
    """The envelope attached to `raw_mail`; NotSealed for plain mail, Malformed for a broken attachment."""
    found = leaf_parts(raw_mail)  # the byte scan; the `email` parser only when it cannot be sure
    parts = _parsed_parts(raw_mail) if found is None else [
        (part.encoding.strip(), part.body) for part in found if part.content_type == ENVELOPE_TYPE]
    if not parts:
        raise NotSealed("this mail has no pli envelope: it was sent unsealed")
    if len(parts) > 1:
        raise Malformed("this mail carries more than one pli envelope")
    encoding, payload = parts[0]
    if encoding != "base64":
        raise Malformed("the pli envelope attachment is not base64-encoded")
    try:
        return base64.b64decode(payload.translate(None, b" \t\r\n"), validate=True)
    except (binascii.Error, ValueError):
        raise Malformed("the pli envelope attachment is not valid base64") from None


def _parsed_parts(raw_mail: bytes) -> list[tuple[str, bytes]]:
    try:
        msg = email.message_from_bytes(raw_mail, policy=email.policy.compat32)
    except Exception:  # noqa: BLE001 - the parser is lenient; anything it cannot take is not ours
        return []
    parts = []
    for part in msg.walk():
        if part.get_content_type() != ENVELOPE_TYPE:
            continue
        payload = part.get_payload()
        if not isinstance(payload, str):
            raise Malformed("the pli envelope attachment is not a leaf part")
        encoding = (part.get("Content-Transfer-Encoding") or "").strip().lower()
        parts.append((encoding, payload.encode("ascii", "replace")))
    return parts


def is_sealed(raw_mail: bytes) -> bool:
    """Does this mail carry a pli envelope?  (Cheap test first: most mail never names our media type.)"""
    if ENVELOPE_TYPE.encode() not in raw_mail.lower():
        return False
    try:
        extract_envelope(raw_mail)
    except NotSealed:
        return False
    except Malformed:
        return True  # ours, but damaged: opening it says why
    return True
