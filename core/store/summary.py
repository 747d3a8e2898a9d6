"""One row of a message list (MessageSummary) and the notmuch message properties it is read from.

The importer keeps what a row shows in the index, so that reading a window of
rows never opens a message file: Subject and From (for verified mail, the
envelope's checked sender) in notmuch's own value slots, the state in tags
(verified, patient:<key>), and only what has no other home as notmuch
properties (`pli.*`): every property costs index time at import.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from email.utils import parseaddr

from notmuch2 import _capi as capi

from pli.core.vocab import (LAB_PROPERTY, MODE_PROPERTY, PATIENT_PREFIX, PATIENT_PROPERTY, PROPERTY_PREFIX,
                            VERIFIED)



def key_of(path: str) -> str:
    """The message key is the clear file's name up to its Maildir info (see worker.py)."""
    return path.rsplit("/", 1)[-1].split(":", 1)[0]


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
    props = capi.lib.notmuch_message_get_properties(msg._msg_p, PROPERTY_PREFIX.encode(), 0)
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


def header_of(msg, name: str) -> str:
    try:
        return msg.header(name)
    except LookupError:
        return ""


def summary_of(msg) -> MessageSummary:
    """Copy a notmuch message into a summary (call inside the query loop: notmuch messages
    must not outlive their iterator)."""
    props = pli_properties(msg)
    name, address = parseaddr(header_of(msg, "from"))
    tags = frozenset(str(t) for t in msg.tags)
    patients = sorted(t[len(PATIENT_PREFIX):] for t in tags if t.startswith(PATIENT_PREFIX))
    path = str(msg.path)
    return MessageSummary(
        message_id=msg.messageid,
        date=int(msg.date) or _file_date(path),
        sender=name or address,
        patient=props.get(PATIENT_PROPERTY, ""),
        patient_key=patients[0] if patients else "",
        subject=header_of(msg, "subject"),
        lab_summary=props.get(LAB_PROPERTY, ""),
        tags=tags,
        verified=VERIFIED in tags,
        mode=props.get(MODE_PROPERTY, ""),
        path=path,
    )


def _file_date(path: str) -> int:
    """The date of a message notmuch dates 0 (no Date field: stored before the import added one from
    its Received field or its file): its file's time, never 1 Jan 1970."""
    try:
        return int(os.stat(path).st_mtime)
    except OSError:
        return 0
