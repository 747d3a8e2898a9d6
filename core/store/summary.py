"""One row of a message list (MessageSummary) and the notmuch message properties it is read from.

The importer stores each message's display fields as notmuch properties
(`pli.*`), so that reading a window of rows touches only the index, never the
message files.  Subject and From come from notmuch's own value slots.
"""
from __future__ import annotations

from dataclasses import dataclass
from email.utils import parseaddr

from notmuch2 import _capi as capi

PREFIX = "pli."
KEY = "pli.key"                  # the deterministic name of the stored files (see importer)
SENDER = "pli.sender"            # the sender's display name (from the envelope, checked)
PATIENT = "pli.patient"          # the patient as displayed ("DUPONT Marie", "2 patients")
PATIENT_KEY = "pli.patient-key"  # the first patient's key (tag patient:<key>)
LAB = "pli.lab"                  # Report.summary() of the lab payload
VERIFIED = "pli.verified"        # "yes" | "no"
MODE = "pli.mode"                # "otp" | "stream" | ""
REASON = "pli.reason"            # why the message is in quarantine


@dataclass(frozen=True)
class MessageSummary:
    message_id: str
    date: int                    # unix time
    sender: str                  # display name or address
    patient: str
    patient_key: str
    subject: str                 # the protected subject
    lab_summary: str
    tags: frozenset
    verified: bool
    mode: str
    path: str                    # the clear file


def pli_properties(msg) -> dict[str, str]:
    """The message's pli.* properties in one pass over the C iterator (first value of each key)."""
    found: dict[str, str] = {}
    props = capi.lib.notmuch_message_get_properties(msg._msg_p, PREFIX.encode(), 0)
    try:
        while capi.lib.notmuch_message_properties_valid(props):
            key = capi.ffi.string(capi.lib.notmuch_message_properties_key(props)).decode("utf-8", "replace")
            if key not in found:
                found[key] = capi.ffi.string(
                    capi.lib.notmuch_message_properties_value(props)).decode("utf-8", "replace")
            capi.lib.notmuch_message_properties_move_to_next(props)
    finally:
        capi.lib.notmuch_message_properties_destroy(props)
    return found


def _header(msg, name: str) -> str:
    try:
        return msg.header(name)
    except LookupError:
        return ""


def summary_of(msg) -> MessageSummary:
    """Copy a notmuch message into a summary (call inside the query loop: notmuch messages
    must not outlive their iterator)."""
    props = pli_properties(msg)
    sender = props.get(SENDER)
    if not sender:
        name, address = parseaddr(_header(msg, "from"))
        sender = name or address
    return MessageSummary(
        message_id=msg.messageid,
        date=int(msg.date),
        sender=sender,
        patient=props.get(PATIENT, ""),
        patient_key=props.get(PATIENT_KEY, ""),
        subject=_header(msg, "subject"),
        lab_summary=props.get(LAB, ""),
        tags=frozenset(str(t) for t in msg.tags),
        verified=props.get(VERIFIED) == "yes",
        mode=props.get(MODE, ""),
        path=str(msg.path),
    )
