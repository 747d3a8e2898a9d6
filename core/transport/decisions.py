"""What the gateway writes to the trace for each answer it gives about a message: accepted, refused, deferred.

    accepted(checked, addresses, hostname, via)        -> [accepted-by-gateway, delivered]
    refusal(Answer("refused", "bad-signature", "550 5.7.1"), Claims(...), hostname, raw=raw)
    log_line(step, client)                             -> the one line the gateway logs for it

A step names the message by its envelope id when the gateway could read the
envelope, else by the Message-ID the mail carries (plain mail), else by the
SHA-256 of the bytes received; a refusal before DATA (an unknown address, a
client over its limits) names the SMTP transaction.  Details are identifiers:
the sender as claimed at MAIL FROM (or as verified), the public addresses
asked for, the client's IP address, the SMTP status and the reason token.
Never a mailbox (the alias table's secret side), never a byte of content.
"""
from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass

from pli.core.audit import Step
from pli.core.crypto.verify import Checked
from pli.core.mimescan import fields, split_head

_TOKEN = re.compile(r"[\x21-\x7e]{1,200}")
_SEALED_ID = re.compile(r"([0-9a-f]{16,64})\.sealed@")   # pli's outer Message-ID: <ENVELOPE-ID.sealed@domain>


@dataclass(frozen=True)
class Answer:
    """A refusal or deferral: the step ("refused" | "deferred"), its reason token, the SMTP status."""

    step: str
    reason: str
    status: str


@dataclass(frozen=True)
class Claims:
    """What the client said about the message: where it connects from, MAIL FROM, the RCPT addresses."""

    client: str
    mail_from: str | None = None
    addresses: tuple[str, ...] = ()


def accepted(checked: Checked, addresses: list[str], hostname: str, via: str) -> list[Step]:
    common = dict(sender=checked.sender_address, fingerprint=checked.fingerprint, recipients=addresses,
                  sha256=checked.digest, gateway=hostname)
    return [Step("accepted-by-gateway", checked.envelope_id, dict(common, queue_id=checked.envelope_id)),
            Step("delivered", checked.envelope_id, dict(common, via=via))]


def refusal(answer: Answer, claims: Claims, hostname: str, raw: bytes | None = None,
            checked: Checked | None = None) -> Step:
    """The trace step for a refusal or deferral of one SMTP transaction (raw: the DATA, if it came)."""
    details = {"reason": answer.reason, "status": answer.status, "gateway": hostname, "client": claims.client,
               "recipients": [printable(a) for a in claims.addresses]}
    sender = checked.sender_address if checked is not None else claims.mail_from
    if sender is not None:
        details["sender"] = printable(sender)
    if raw is not None:
        details["sha256"] = hashlib.sha256(raw).hexdigest()
    return Step(answer.step, _message_name(raw, checked, details.get("sha256")), details)


def log_line(step: Step, client: str | None = None) -> str:
    """The gateway's log line for one decision: what the trace step says, identifiers only, on one line."""
    d = step.details
    recipients = ", ".join(d.get("recipients") or ()) or "-"
    where = f"client {client or d.get('client', '?')}"
    if step.step == "accepted-by-gateway":
        return f"accepted {step.message_id} from {d.get('sender')} for {recipients} ({where})"
    return (f"{step.step} {step.message_id}: {d.get('status')} {d.get('reason')} "
            f"({where}, from {d.get('sender', '-')}, to {recipients})")


def _message_name(raw: bytes | None, checked: Checked | None, digest: str | None) -> str:
    if checked is not None:
        return checked.envelope_id
    if raw is None:
        return f"smtp-{os.urandom(8).hex()}"      # no message yet: the transaction
    message_id = _message_id(raw)
    if message_id is not None:
        sealed = _SEALED_ID.match(message_id)
        return sealed.group(1) if sealed else message_id
    return f"sha256-{digest}"


def _message_id(raw: bytes) -> str | None:
    """The Message-ID of the mail, if it is one clean token (a claim: nothing here is verified)."""
    head, _body = split_head(raw[:64 * 1024])
    for field in fields(head):
        name, _, value = field.partition(b":")
        if name.strip().lower() == b"message-id":
            text = value.decode("ascii", "replace").strip().strip("<>").strip()
            return text if _TOKEN.fullmatch(text) else None
    return None


def printable(text: str) -> str:
    """A client's claim as one printable line of at most 256 characters."""
    return "".join(c if 32 < ord(c) < 127 else "?" for c in str(text))[:256]
