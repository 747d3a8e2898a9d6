"""The sender's side of receipts: check an incoming receipt against the sent message, then mark it.

A receipt is accepted only when all of these hold:
  - the store verified its envelope (X-Pli-Verified: yes), so its signer is known;
  - the recipient it names is the address that signed it;
  - the message it acknowledges is in this store's Sent (tag `sent`), with the
    same envelope id, and the signer was one of that message's recipients, or,
    per the installed directory, a member of a group practice that was (it
    opened the mail with the group's key) or the proxy serving one that was.
Then the trace gets "receipt-received" on the original's envelope id, and the
sent message gets, in the index:
    property pli.receipt.<kind> = "<address> <time>[ <recipient>]"   one per signer; the recipient
                                                     it answers for when not itself (group, proxy)
    tag delivered / read                              once every recipient has
Anything else is refused: the receipt goes to quarantine (tags `quarantine`,
`receipt-refused` and the reason) and the trace says "quarantined" with the reason.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import getaddresses, parseaddr

from pli.core import vocab
from pli.core.audit import AuditMisuse
from pli.core.directory.recipients import installed
from pli.core.receipts.message import BadReceipt, Receipt, TIME_FORMAT, parse
from pli.core.store import database, headers
from pli.core.store.store import MessageNotFound

PROPERTY = "pli.receipt."             # + kind
KIND_TAGS = {"delivery": vocab.DELIVERED, "read": vocab.READ}


class Refused(Exception):
    """Why a receipt is not accepted: `reason` is a tag-safe token."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Acknowledgement:
    """One recipient's receipt of one kind, as the sent message records it."""

    kind: str
    address: str                 # who signed the receipt
    time: datetime
    recipient: str = ""          # the recipient it answers for, when not itself (a group, a served member)


@dataclass(frozen=True)
class Checked:
    """A receipt that passed every check, with the facts the trace and the index need."""

    receipt_id: str              # the receipt's Message-ID in the store
    receipt: Receipt
    signer: str
    fingerprint: str
    receipt_envelope: str        # the receipt's own envelope id
    recipients: frozenset[str]   # every address the original was sealed for
    recipient: str               # the one this receipt answers for: the signer, or its group or member


@dataclass(frozen=True)
class Outcome:
    receipt_id: str
    accepted: bool
    reason: str = ""
    kind: str = ""
    original: str = ""           # the Message-ID of the message acknowledged


def check(store, receipt_id: str) -> Checked:
    """Read the stored receipt and check it against the sent message; Refused names what failed."""
    clear = store.read_clear(receipt_id)
    fields = headers.first_values(clear)
    signer = parseaddr(fields.get("x-pli-sender", ""))[1].lower()
    if fields.get("x-pli-verified") != "yes" or not signer:
        raise Refused("unverified")
    try:
        receipt = parse(clear)
    except BadReceipt:
        raise Refused("malformed-receipt") from None
    if receipt.recipient != signer:
        raise Refused("wrong-signer")
    original = _sent_fields(store, receipt.message_id)
    if original is None:
        raise Refused("unknown-original")
    if original.get("x-pli-envelope-id", "").lower() != receipt.envelope_id:
        raise Refused("envelope-mismatch")
    recipients = frozenset(recipients_of(original))
    recipient = signer if signer in recipients else represented(store.layout.home, signer, recipients)
    if recipient is None:
        raise Refused("not-a-recipient")
    return Checked(receipt_id, receipt, signer, fields.get("x-pli-fingerprint", ""),
                   fields.get("x-pli-envelope-id", ""), recipients, recipient)


def represented(home, signer: str, recipients: frozenset[str]) -> str | None:
    """The recipient `signer` may answer for, per the installed directory: a group practice it is a
    member of, or a member it serves as the establishment's proxy; None when neither."""
    try:
        directory = installed(home)
    except Exception:  # noqa: BLE001 - a damaged directory vouches for no one
        return None
    who = directory.by_address(signer) if directory is not None else None
    if who is None:
        return None
    for address in sorted(recipients):
        entry = directory.by_address(address)
        if entry is None:
            continue
        if entry.kind == "group" and entry.id in who.groups:
            return address
        if who.kind == "proxy" and who.id in entry.groups:
            return address
    return None


def recipients_of(fields: dict[str, str]) -> set[str]:
    """The addresses a sent message was sealed for (X-Pli-Recipients, else its To and Cc)."""
    listed = fields.get("x-pli-recipients") or ", ".join(v for v in (fields.get("to"), fields.get("cc")) if v)
    return {address.lower() for _, address in getaddresses([listed]) if address}


def _sent_fields(store, message_id: str) -> dict[str, str] | None:
    try:
        if vocab.SENT not in store.summary(message_id).tags:
            return None
        return headers.first_values(store.read_clear(message_id))
    except MessageNotFound:
        return None


def trace_received(journal, checked: Checked) -> None:
    details = {"receipt": checked.receipt.kind, "sender": checked.signer, "mid": checked.receipt.message_id}
    if checked.fingerprint:
        details["fingerprint"] = checked.fingerprint
    if checked.receipt_envelope:
        details["envelope_id"] = checked.receipt_envelope
    try:
        journal.record("receipt-received", checked.receipt.envelope_id, **details)
    except AuditMisuse:  # a Message-ID the trace cannot hold: the step without it
        details.pop("mid")
        journal.record("receipt-received", checked.receipt.envelope_id, **details)


def trace_refused(journal, receipt_id: str, envelope_id: str, reason: str) -> None:
    try:
        journal.record("quarantined", envelope_id or receipt_id, reason=reason, mid=receipt_id)
    except AuditMisuse:  # an id the trace cannot hold: the step on the envelope id alone
        if envelope_id:
            journal.record("quarantined", envelope_id, reason=reason)


def mark(layout, checked: Checked) -> None:
    """Record the acknowledgement on the sent message and take the receipt off the due list, together."""
    receipt = checked.receipt
    key = PROPERTY + receipt.kind

    with database.open_write(layout) as db, db.atomic():
        try:
            original = db.find(receipt.message_id)
        except LookupError:  # deleted since the check: the receipt stays due
            raise MessageNotFound(f"the sent message {receipt.message_id} left the store") from None
        values = [value.split(" ") for _, value in original.properties.getall(key, exact=True)]
        if checked.signer not in {words[0] for words in values}:
            behalf = f" {checked.recipient}" if checked.recipient != checked.signer else ""
            original.properties.add(key, f"{checked.signer} {receipt.time.strftime(TIME_FORMAT)}{behalf}")
            values.append([checked.signer, "", checked.recipient])
        if checked.recipients <= {words[2] if len(words) > 2 else words[0] for words in values}:
            original.tags.add(KIND_TAGS[receipt.kind])
        db.find(checked.receipt_id).tags.discard(vocab.RECEIPT_DUE)


def quarantine(layout, receipt_id: str, reason: str) -> None:
    with database.open_write(layout) as db, db.atomic():
        msg = db.find(receipt_id)
        with msg.frozen():
            msg.tags.discard(vocab.RECEIPT_DUE)
            for tag in (vocab.QUARANTINE, vocab.RECEIPT_REFUSED, reason):
                msg.tags.add(tag)


def acknowledgements(layout, message_id: str) -> list[Acknowledgement]:
    """The receipts recorded on a sent message, oldest first (for the TUI and `pli receipts`)."""
    found = []
    for key, value in database.properties_of(layout, message_id, PROPERTY):
        words = value.split(" ")
        try:
            when = datetime.strptime(words[1], TIME_FORMAT).replace(tzinfo=timezone.utc)
        except (IndexError, ValueError):
            continue
        found.append(Acknowledgement(key[len(PROPERTY):], words[0], when, words[2] if len(words) > 2 else ""))
    return sorted(found, key=lambda a: (a.time, a.kind, a.address))
