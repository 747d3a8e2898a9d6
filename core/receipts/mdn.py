"""RFC 8098 message disposition notifications for MSSanté mail: when one is asked for, and building it.

    request = mdn_request(original)              # MdnRequest, or None when the mail asks for none
    if request and not request.needs_confirmation:
        mdn = build_mdn(original, request, "dr.b@hopital.mssante.fr")                   # processed
        mdn = build_mdn(original, request, me, error=("902", "Identifiant patient inconnu"))   # processed/error

The MSSanté way (ANS volet "Transmission LPS de documents CDA par courriel
MSSanté", struct-msg-mdn) is RFC 8098: a multipart/report;
report-type=disposition-notification with a human part, a
message/disposition-notification part (Reporting-UA, Original-Recipient when
the mail named one, Final-Recipient, Original-Message-ID, Disposition) and
the original (its headers by default; the whole message when the sender must
get its attachments back, as the ANS asks on an integration error).  A
processing error is `processed/error` with the code and label in an Error
field (RFC 8098 §3.2.7); the ANS writes them inside the Disposition field,
which RFC 8098's grammar does not allow: pli writes the RFC form and reads
both (notifications.py).  The subject is the ANS one for XDM mail:
`XDM/1.0/DDM+...`, prefixed `[KO Intégration système !][code]` on error.

RFC 8098 §2.1: an MDN goes to the Disposition-Notification-To address; when
that address is not the Return-Path, sending it needs the user's consent
(mail could otherwise be used to learn who reads what); no MDN answers an MDN.
pli's own sealed receipts (docs/RECEIPTS.md) are separate and unchanged.
"""
from __future__ import annotations

import email.utils
import socket
from dataclasses import dataclass
from datetime import datetime, timezone
from email.message import EmailMessage, Message
from email.policy import default

from pli.core.errors import PliError

ANS_SUBJECT_PREFIX = "XDM/1.0/DDM"
_INCLUDE = ("headers", "full", "none")


class NoMdn(PliError):
    """No MDN can be built for this mail (none was asked for, or it is itself a report)."""


@dataclass(frozen=True)
class MdnRequest:
    """What Disposition-Notification-To asks for."""

    to: str                         # where the MDN goes
    original_message_id: str
    original_recipient: str = ""    # from the mail's Original-Recipient header, if any
    options: str = ""               # Disposition-Notification-Options, as written
    needs_confirmation: bool = False  # the address is not the Return-Path: ask the user first (RFC 8098 §2.1)


def mdn_request(original: Message) -> MdnRequest | None:
    """The MDN the mail asks for, or None (no Disposition-Notification-To, or the mail is itself a report)."""
    asked = original.get_all("Disposition-Notification-To") or []
    if not asked or is_report(original):
        return None
    addresses = [a for _, a in email.utils.getaddresses([str(v) for v in asked]) if "@" in a]
    if len(addresses) != 1:
        return None      # several addresses, or none readable: RFC 8098 §2.1 says not to send automatically
    to = addresses[0]
    return_path = email.utils.parseaddr(str(original.get("Return-Path", "")))[1]
    return MdnRequest(to=to, original_message_id=str(original.get("Message-ID", "")).strip(),
                      original_recipient=str(original.get("Original-Recipient", "")).strip(),
                      options=str(original.get("Disposition-Notification-Options", "")).strip(),
                      needs_confirmation=not return_path or return_path.lower() != to.lower())


def is_report(message: Message) -> bool:
    """A DSN or an MDN (never answered: that would loop)."""
    return (message.get_content_type() == "multipart/report"
            or str(message.get("Auto-Submitted", "no")).strip().lower().startswith("auto-replied"))


def build_mdn(original: Message, request: MdnRequest, final_recipient: str, *,
              error: tuple[str, str] | None = None, manual: bool = False, include: str = "headers",
              now: datetime | None = None, detail: str = "") -> EmailMessage:
    """The MDN for `original`, from `final_recipient`: processed, or processed/error with (code, label).

    `detail`: one line for the human part saying what went wrong, beyond the code's label."""
    if include not in _INCLUDE:
        raise ValueError(f"include must be one of {', '.join(_INCLUDE)}")
    if is_report(original):
        raise NoMdn("this mail is a delivery or disposition report: no MDN answers one")
    mdn = EmailMessage(policy=default)   # LF line ends, as every part built here; SMTP submission makes them CRLF
    mdn["From"] = final_recipient
    mdn["To"] = request.to
    mdn["Subject"] = _subject(str(original.get("Subject", "")), error)
    mdn["Date"] = email.utils.format_datetime(now or datetime.now(timezone.utc))
    mdn["Message-ID"] = email.utils.make_msgid(domain=final_recipient.rpartition("@")[2] or None)
    if request.original_message_id:
        mdn["In-Reply-To"] = request.original_message_id
        mdn["References"] = request.original_message_id
    mdn["Auto-Submitted"] = "auto-replied" if not manual else "no"
    mdn.set_content(_human(original, error, detail), subtype="plain", charset="utf-8")
    mdn.make_mixed()
    mdn.set_type("multipart/report")
    mdn.set_param("report-type", "disposition-notification")
    mdn.attach(_notification(request, final_recipient, error, manual))
    if include != "none":
        mdn.attach(_original(original, include))
    return mdn


def _notification(request: MdnRequest, final_recipient: str, error: tuple[str, str] | None,
                  manual: bool) -> Message:
    fields = [("Reporting-UA", f"{socket.gethostname()}; pli")]
    if request.original_recipient:
        fields.append(("Original-Recipient", request.original_recipient))
    fields.append(("Final-Recipient", f"rfc822; {final_recipient}"))
    if request.original_message_id:
        fields.append(("Original-Message-ID", request.original_message_id))
    mode = "manual-action/MDN-sent-manually" if manual else "automatic-action/MDN-sent-automatically"
    fields.append(("Disposition", f"{mode}; processed" + ("/error" if error else "")))
    if error:
        code, label = error
        fields.append(("Error", _one_line(f"{code}^{label}")))
    body = "".join(f"{name}: {value}\n" for name, value in fields)
    part = Message()
    part["Content-Type"] = "message/disposition-notification"
    part.set_payload(body)
    return part


def _original(original: Message, include: str) -> Message:
    part = Message()
    raw = original.as_bytes(policy=default.clone(linesep="\n"))
    if include == "full":
        part["Content-Type"] = "message/rfc822"
        part["Content-Disposition"] = "attachment"
        part.set_payload(raw.decode("utf-8", "surrogateescape"))
    else:
        header_end = raw.find(b"\n\n")
        part["Content-Type"] = "text/rfc822-headers; charset=utf-8"
        part.set_payload(raw[:header_end + 1].decode("utf-8", "replace") if header_end >= 0 else "")
    return part


def _subject(original: str, error: tuple[str, str] | None) -> str:
    original = _one_line(original)
    base = original if original.startswith(ANS_SUBJECT_PREFIX) else f"Disposition notification: {original}".strip()
    return f"[KO Intégration système !][{_one_line(error[0])}] {base}" if error else base


def _human(original: Message, error: tuple[str, str] | None, detail: str = "") -> str:
    when = str(original.get("Date", "")).strip()
    sent = f" sent {when}" if when else ""
    if error:
        code, label = error
        return (f"The message{sent} was received but could not be processed automatically.\n"
                f"Le message ci-dessous n'a pas pu être intégré automatiquement pour la raison suivante : "
                f"{_one_line(code)}^{_one_line(label)}\n" + (f"{_one_line(detail)}\n" if detail else ""))
    return f"The message{sent} was received and processed.\nLe message a été reçu et traité.\n"


def _one_line(text: str) -> str:
    return " ".join(str(text).split())
