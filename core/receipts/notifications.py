"""Reports that come back about mail pli sent: RFC 8098 MDNs and RFC 3464 DSNs, read into small typed results.

    for notice in read_notifications(message):      # [] when the message is not a report
        notice.kind                 # "mdn" or "dsn"
        notice.original_message_id  # which sent mail it is about
        notice.recipient            # for whom (Final-Recipient, else Original-Recipient)
        notice.action               # MDN: processed, displayed, deleted, dispatched; DSN: failed, delayed, delivered...
        notice.failed               # an error disposition, or a DSN failure
        notice.status, notice.diagnostic   # "5.1.1" / the MDN's error code; the server's or reader's words

A DSN reports each recipient in its own block (one result each); the
original Message-ID comes from the returned headers (text/rfc822-headers or
message/rfc822), as RFC 3464 carries no Message-ID field of its own.  An MDN
names it in Original-Message-ID.  Error codes written the ANS way, inside the
Disposition field (`processed/Error: 902^Identifiant patient inconnu`), are
read like RFC 8098's Error field.  What cannot be read gives no result and a
MalformedNotification, never a guess.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from email.parser import HeaderParser
from email.policy import compat32

from pli.core.errors import PliError

_STATUS = re.compile(r"[245]\.\d{1,3}\.\d{1,3}")
_DISPOSITION = re.compile(r"^\s*(?P<mode>[\w-]+/[\w-]+)\s*;\s*(?P<type>[\w-]+)\s*(?:/\s*(?P<modifier>.*))?$", re.S)


class MalformedNotification(PliError):
    """A report (multipart/report) whose machine-readable part pli cannot read."""


@dataclass(frozen=True)
class Notification:
    kind: str                    # "mdn" | "dsn"
    original_message_id: str
    recipient: str
    action: str
    failed: bool
    status: str = ""
    diagnostic: str = ""
    reporter: str = ""           # Reporting-UA / Reporting-MTA
    envelope_id: str = ""        # a DSN's Original-Envelope-Id, as the submission's ENVID gave it (xtext)

    def summary(self) -> str:
        """One line, as the receipts line of the TUI would show it."""
        what = {"mdn": "read receipt", "dsn": "delivery report"}[self.kind]
        detail = f" ({self.status}{': ' if self.status and self.diagnostic else ''}{self.diagnostic})" \
            if (self.status or self.diagnostic) else ""
        return f"{what} from {self.recipient or '?'}: {self.action}{detail}"


def read_notifications(message: Message | bytes) -> list[Notification]:
    """The notifications a report carries; [] for any other mail."""
    if isinstance(message, bytes):
        message = message_from_bytes(message, policy=compat32)
    if message.get_content_type() != "multipart/report":
        return []
    report_type = (message.get_param("report-type") or "").lower()
    parts = message.get_payload() if message.is_multipart() else []
    if report_type == "disposition-notification":
        return [_mdn(parts)]
    if report_type == "delivery-status":
        return _dsn(parts)
    return []


def _mdn(parts: list[Message]) -> Notification:
    fields = _fields_part(parts, "message/disposition-notification")
    if fields is None:
        raise MalformedNotification("a disposition notification without its message/disposition-notification "
                                    "part: it cannot be matched to a sent mail")
    disposition = _DISPOSITION.match(_unfold(fields.get("Disposition", "")))
    if disposition is None:
        raise MalformedNotification("a disposition notification whose Disposition field is unreadable")
    modifier = (disposition.group("modifier") or "").strip()
    error_text = _unfold(fields.get("Error", ""))
    ans = re.match(r"(?i)error\s*:\s*(.*)", modifier, re.S)
    if ans:                                     # the ANS's processed/Error: code^label
        error_text = error_text or ans.group(1)
    pieces = [piece.strip() for piece in error_text.split("^")]
    status, diagnostic = (pieces[0], pieces[1]) if len(pieces) > 1 else ("", pieces[0])
    return Notification(
        kind="mdn", original_message_id=_unfold(fields.get("Original-Message-ID", "")),
        recipient=_address(fields.get("Final-Recipient", "") or fields.get("Original-Recipient", "")),
        action=disposition.group("type").lower(), failed=modifier.lower().startswith("error"),
        status=_clean(status), diagnostic=_clean(diagnostic),
        reporter=_unfold(fields.get("Reporting-UA", "")))


def _dsn(parts: list[Message]) -> list[Notification]:
    blocks = _status_blocks(parts)
    if not blocks:
        raise MalformedNotification("a delivery report without its message/delivery-status part")
    per_message, recipients = blocks[0], blocks[1:]
    if not recipients and (per_message.get("Final-Recipient") or per_message.get("Original-Recipient")):
        # Dovecot's rejections (dovecot-lda, quota full) write the per-message and the one recipient's fields as
        # a single block, without the blank line RFC 3464 puts between them: read it as both
        recipients = [per_message]
    if not recipients:
        raise MalformedNotification("a delivery report that names no recipient")
    original = _returned_message_id(parts)
    reporter = _unfold(per_message.get("Reporting-MTA", ""))
    envelope_id = _unfold(per_message.get("Original-Envelope-Id", ""))
    notices = []
    for block in recipients:
        if not (block.get("Final-Recipient") or block.get("Original-Recipient")) or not block.get("Action"):
            raise MalformedNotification("a delivery report with a recipient block that names no recipient or "
                                        "no action (RFC 3464 requires both)")
        action = _unfold(block.get("Action", "")).lower()
        status = _STATUS.search(_unfold(block.get("Status", "")))
        notices.append(Notification(
            kind="dsn", original_message_id=original,
            recipient=_address(block.get("Final-Recipient", "") or block.get("Original-Recipient", "")),
            action=action or "?", failed=action == "failed" or bool(status and status.group(0)[0] == "5"),
            status=status.group(0) if status else "", diagnostic=_clean(_diagnostic(block)), reporter=reporter,
            envelope_id=envelope_id))
    return notices


def _fields_part(parts: list[Message], content_type: str) -> Message | None:
    for part in parts:
        if part.get_content_type() == content_type:
            payload = part.get_payload()
            if isinstance(payload, list) and payload:
                return payload[0]           # the email package parses message/* bodies as a message
            if isinstance(payload, str):
                return HeaderParser(policy=compat32).parsestr(payload.lstrip())
    return None


def _status_blocks(parts: list[Message]) -> list[Message]:
    for part in parts:
        if part.get_content_type() == "message/delivery-status":
            payload = part.get_payload()
            if isinstance(payload, list):
                return [block for block in payload if len(block.keys())]
            if isinstance(payload, str):
                return [HeaderParser(policy=compat32).parsestr(chunk.strip())
                        for chunk in re.split(r"\r?\n\s*\r?\n", payload) if chunk.strip()]
    return []


def _returned_message_id(parts: list[Message]) -> str:
    for part in parts:
        kind = part.get_content_type()
        if kind == "message/rfc822":
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            if isinstance(inner, Message):
                return _unfold(inner.get("Message-ID", ""))
        if kind == "text/rfc822-headers":
            payload = part.get_payload(decode=True) or b""
            headers = HeaderParser(policy=compat32).parsestr(payload.decode("utf-8", "replace"))
            return _unfold(headers.get("Message-ID", ""))
    return ""


def _diagnostic(block: Message) -> str:
    text = _unfold(block.get("Diagnostic-Code", ""))
    kind, _, rest = text.partition(";")
    return rest.strip() if rest and kind.strip().lower() in ("smtp", "x-unix", "x-postfix", "x-local") else text


def _address(field: str) -> str:
    """'rfc822; dr.b@example.org' -> 'dr.b@example.org'."""
    field = _unfold(field)
    kind, _, address = field.partition(";")
    return (address if address else kind).strip().strip("<>")


def _unfold(value) -> str:
    return " ".join(str(value or "").split())


def _clean(text: str) -> str:
    """A diagnostic fit for one line: printable, bounded."""
    text = "".join(c if c.isprintable() else " " for c in " ".join(text.split()))
    return text[:300]
