"""The receipt format: how a sender asks for receipts, and the small MIME message a receipt is.

A request is one header of the inner (sealed) message, so that relays never see it:

    Pli-Receipt-Request: delivery, read

(not an X-Pli-* name: the store strips those from what a sender wrote, as they
hold pli's own checked facts).  A receipt is an ordinary inner message, sealed
and signed by the recipient for the original's verified sender:

    Content-Type: multipart/report; report-type="x-pli-receipt"; boundary=...
      text/plain                 one line for a person reading it in another client
      application/x-pli-receipt  "Name: value" lines (see FIELDS)

It names the original by identifiers only (envelope id, Message-ID): never a
word of its content.  docs/FORMAT.md has the layout byte by byte.
"""
from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime, formataddr

from pli.core import vocab
from pli.core.errors import PliError, UsageError
from pli.core.store import headers

REQUEST_HEADER = "Pli-Receipt-Request"
KINDS = ("delivery", "read")
REPORT_TYPE = "x-pli-receipt"
MEDIA_TYPE = "application/x-pli-receipt"
VERSION = "1"
FIELDS = ("Version", "Kind", "Original-Envelope-Id", "Original-Message-Id", "Recipient", "Recipient-Id", "Time")
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_HEX_ID = re.compile(r"[0-9a-f]{32}")


class BadReceipt(PliError):
    """A message that claims to be a receipt but does not read as one."""


@dataclass(frozen=True)
class Receipt:
    """What a receipt states, signed by its writer: `recipient` got (or read) the original at `time`."""

    kind: str                   # "delivery" | "read"
    envelope_id: str            # the original's envelope id (32 hex digits)
    message_id: str             # the original's Message-ID, without <>
    recipient: str              # the address of the one who acknowledges
    recipient_id: str           # their professional identifier
    time: datetime              # UTC, to the second


def _words(text: str) -> set[str]:
    return {w.lower() for w in re.split(r"[,\s]+", text or "") if w}


def parse_kinds(text: str) -> tuple[str, ...]:
    """The kinds a request (or a --receipt option) names, in KINDS order; unknown words are ignored."""
    words = _words(text)
    if "both" in words or "all" in words:
        words |= set(KINDS)
    return tuple(k for k in KINDS if k in words)


def kinds_option(text: str) -> tuple[str, ...]:
    """The kinds a command-line option names ("delivery", "read", "delivery,read", "both");
    a word that is none of them is an error, not silently no receipt."""
    unknown = _words(text) - set(KINDS) - {"both", "all", "none"}
    if unknown:
        raise UsageError(f"unknown receipt kind {', '.join(sorted(unknown))}: "
                         "use delivery, read, delivery,read or none")
    return parse_kinds(text)


def ask(inner, kinds) -> object:
    """`inner` (bytes or an EmailMessage) asking for receipts of `kinds`; unchanged when kinds is empty."""
    kinds = parse_kinds(kinds if isinstance(kinds, str) else ",".join(kinds))
    if not kinds:
        return inner
    value = ", ".join(kinds)
    if isinstance(inner, (bytes, bytearray, memoryview)):
        return headers.rewrite(bytes(inner), [(REQUEST_HEADER, value)], frozenset({REQUEST_HEADER}))
    del inner[REQUEST_HEADER]
    inner[REQUEST_HEADER] = value
    return inner


def requested(fields: dict[str, str]) -> tuple[str, ...]:
    """The kinds a message asks for, from its header fields (headers.first_values)."""
    return parse_kinds(fields.get(REQUEST_HEADER.lower(), ""))


def is_receipt(fields: dict[str, str]) -> bool:
    content_type = fields.get("content-type", "").lower()
    return content_type.startswith("multipart/report") and REPORT_TYPE in content_type


def import_tags(inner: bytes, tags: tuple[str, ...]) -> tuple[str, ...]:
    """The tags of a verified message as the store imports it, adjusted for receipts.

    A receipt: `receipt` and `receipt-due`, out of the inbox (the sender's pass
    checks it and marks the original).  A message asking for receipts:
    `receipt-request` and `receipt-due` (the recipient's pass answers).
    Cheap for the rest: one look for the word in the header block.
    """
    if not _mentions_receipt(inner):
        return tags
    fields = headers.first_values(inner)
    if is_receipt(fields):
        return tuple(sorted((set(tags) - {vocab.INBOX, vocab.UNREAD}) | {vocab.RECEIPT, vocab.RECEIPT_DUE}))
    if requested(fields):
        return tuple(sorted(set(tags) | {vocab.RECEIPT_REQUEST, vocab.RECEIPT_DUE}))
    return tags


def _mentions_receipt(inner: bytes) -> bool:
    """Whether the header block names receipts at all: a few memchr-speed scans, no copy
    (this runs on every message imported; a false "yes" only costs the full parse)."""
    end = inner.find(b"\n\n")        # CRLF mail: no LF LF, so the whole message is looked at
    end = end if end >= 0 else len(inner)
    return inner.find(b"eceipt", 0, end) >= 0 or inner.find(b"ECEIPT", 0, end) >= 0


def build(receipt: Receipt, recipient_name: str, to: str) -> bytes:
    """The inner MIME message of a receipt, from `receipt.recipient` to `to` (the original's sender).

    It has no Message-ID on purpose: the receiving store then names it after its
    envelope id and its signer's key (`<key@pli.invalid>`), a name nobody else can
    take first, whereas any sender may write any Message-ID and so pre-empt a
    genuine receipt's in the index.
    """
    if receipt.kind not in KINDS or not _HEX_ID.fullmatch(receipt.envelope_id):
        raise BadReceipt("a receipt needs a kind (delivery or read) and the original's envelope id")
    stamp = receipt.time.astimezone(timezone.utc)
    boundary = f"pli-receipt-{receipt.envelope_id}"
    what = "delivered to" if receipt.kind == "delivery" else "read by"
    values = (VERSION, receipt.kind, receipt.envelope_id, f"<{receipt.message_id}>", receipt.recipient,
              receipt.recipient_id, stamp.strftime(TIME_FORMAT))
    report = "".join(f"{name}: {headers.clean(value)}\n" for name, value in zip(FIELDS, values))
    lines = [
        f"From: {formataddr((recipient_name, receipt.recipient), charset='utf-8')}",
        f"To: {to}",
        f"Subject: {receipt.kind.capitalize()} receipt",
        f"Date: {format_datetime(stamp)}",
        "MIME-Version: 1.0",
        f'Content-Type: multipart/report; report-type="{REPORT_TYPE}"; boundary="{boundary}"',
        "",
        f"--{boundary}",
        'Content-Type: text/plain; charset="us-ascii"',
        "",
        f"pli receipt: message {receipt.envelope_id} was {what} {receipt.recipient} "
        f"at {stamp.strftime(TIME_FORMAT)}.",
        f"--{boundary}",
        f"Content-Type: {MEDIA_TYPE}",
        "",
        report.rstrip("\n"),
        f"--{boundary}--",
        "",
    ]
    return "\n".join(lines).encode("utf-8")


def parse(inner: bytes) -> Receipt:
    """The statement of a receipt's inner message; BadReceipt when it does not read as one.

    A sender chooses these bytes: nothing but BadReceipt may come out of here.
    """
    try:
        msg = email.message_from_bytes(inner, policy=email.policy.compat32)
        part = next((p for p in msg.walk() if p.get_content_type() == MEDIA_TYPE), None)
        payload = (part.get_payload(decode=True) or b"") if part is not None else None
    except Exception:  # noqa: BLE001 - the email package's errors on hostile input are not all typed
        raise BadReceipt("the receipt is not a readable MIME message") from None
    if not isinstance(payload, bytes):
        raise BadReceipt(f"the receipt has no {MEDIA_TYPE} part")
    values: dict[str, str] = {}
    for line in payload.decode("utf-8", "replace").splitlines():
        name, sep, value = line.partition(":")
        if sep and name.strip() not in values:
            values[name.strip()] = value.strip()
    missing = [f for f in FIELDS if not values.get(f)]
    if missing:
        raise BadReceipt(f"the receipt lacks {', '.join(missing)}")
    kind, envelope_id = values["Kind"].lower(), values["Original-Envelope-Id"].lower()
    if values["Version"] != VERSION or kind not in KINDS or not _HEX_ID.fullmatch(envelope_id):
        raise BadReceipt("the receipt has an unknown version or kind, or a malformed envelope id")
    try:
        when = datetime.strptime(values["Time"], TIME_FORMAT).replace(tzinfo=timezone.utc)
    except ValueError:
        raise BadReceipt("the receipt's time is not YYYY-MM-DDTHH:MM:SSZ") from None
    return Receipt(kind, envelope_id, values["Original-Message-Id"].strip("<> "), values["Recipient"].lower(),
                   values["Recipient-Id"], when)
