"""Short notes between professionals: what makes a message a note, and the conversation with one correspondent.

A note is an ordinary sealed, signed message (same envelope, same trace:
sealed, sent, opened-verified, read) whose inner, protected header says so:

    Pli-Kind: note

(not an X-Pli-* name: the store strips those from what a sender wrote, as
they hold pli's own checked facts).  Its body is plain text of at most
MAX_CHARS characters.  The store tags a verified note `note` when it imports
it, and the clear copy of one we send in Sent, so that a conversation with a
correspondent is a notmuch query (conversation_query), read a window at a
time like any message list.

    queued = send.send_note(home, keyring, "dr.b@example.org", "K+ 6.8 in room 3, can you call?", now)
    store.window(conversation_query("dr.b@example.org"), 0, 50)   # newest first

Writing one is send.py's (build_note, send_note, with every other message); tagging
one `note` at import is receive.py's (note_tags, a hook the store runs).

A message that claims to come from the correspondent but failed its checks
(quarantine) belongs to the conversation too: shown as not verified, never
as a note, since nothing in it can be trusted, not even that it is a note.
"""
from __future__ import annotations

import base64
import quopri
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr

from pli.core import vocab
from pli.core.directory.stored import check_stored
from pli.core.errors import PliError, UsageError
from pli.core.store.headers import first_values, split

KIND_HEADER = "Pli-Kind"
KIND = "note"
TAG = vocab.NOTE
MAX_CHARS = 2000
SUBJECT_CHARS = 60
_BLANK_LINE = re.compile(rb"^\r?\n\r?\n")
_CHARSET = re.compile(r'charset\s*=\s*"?([a-z0-9._-]+)')
#: An address as a notmuch query may hold it unquoted: nothing that could change the query.
_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+")


class NoteTooLong(PliError):
    """A note longer than a note may be."""

    exit_code = 2


class BadCorrespondent(UsageError):
    """Not an address a conversation can be held with."""


@dataclass(frozen=True)
class Note:
    """One row of a conversation, as the TUI lays it out."""

    message_id: str
    date: int                   # unix time
    outgoing: bool              # written by us (the clear copy in Sent)
    verified: bool
    text: str                   # "" for a message that failed its checks: its content is not shown
    reason: str = ""            # why it failed its checks (quarantine reason)
    state: str = ""             # outgoing: "queued" | "sent" | "delivered" | "read"
    mode: str = ""              # "otp" | "stream"
    unread: bool = False
    correspondent: str = ""     # the other side: our note's recipient, else the (claimed) sender

    def belongs_to(self, address: str) -> bool:
        """Whether this row is really with `address`: notmuch's from:/to: match words of an address,
        so bernard@x also finds hugo.bernard@x; the screen shows only exact matches."""
        return self.correspondent == address


def check_address(address: str) -> str:
    """The bare, lower-case address of a correspondent, or BadCorrespondent."""
    bare = (parseaddr(address)[1] if address.strip().endswith(">") else address).strip().lower()
    if not _ADDRESS.fullmatch(bare):
        raise BadCorrespondent(f"{address!r} is not an address to hold a conversation with "
                               "(give one such as dr.b@example.org)")
    return bare


def check_text(text: str) -> str:
    """The note's text, trimmed; refuses an empty one and one over MAX_CHARS."""
    text = text.strip()
    if not text:
        raise UsageError("the note is empty: type something to send")
    if len(text) > MAX_CHARS:
        raise NoteTooLong(f"a note holds at most {MAX_CHARS:,} characters and this one has {len(text):,}: "
                          "shorten it, or write a message (compose) instead")
    return text


def subject_of(text: str) -> str:
    """The protected subject of a note: its first line, cut (what a message list shows)."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first if len(first) <= SUBJECT_CHARS else first[: SUBJECT_CHARS - 1] + "…"


def mark(inner: EmailMessage) -> EmailMessage:
    """`inner` marked as a note (the mark travels sealed: relays never see it)."""
    del inner[KIND_HEADER]
    inner[KIND_HEADER] = KIND
    return inner


def is_note(inner: EmailMessage) -> bool:
    return str(inner.get(KIND_HEADER, "")).strip().lower() == KIND


# -- reading a conversation ------------------------------------------------------------------------


def conversation_query(address: str) -> str:
    """The notmuch query of every note exchanged with `address`, and of what claims to come from it
    but failed its checks."""
    address = check_address(address)
    return (f"(tag:{TAG} and ((tag:sent and to:{address}) or (not tag:sent and from:{address})))"
            f" or (tag:quarantine and from:{address})")


def correspondent_of(clear_fields: dict[str, str], me: str) -> str:
    """Who a stored message was exchanged with: the first other recipient of one we sent, else its sender
    (clear_fields: pli.core.store.headers.first_values of the clear message)."""
    me = me.lower()
    sender = parseaddr(clear_fields.get("from", ""))[1].lower()
    if sender and sender != me:
        return sender
    to = [a.lower() for _, a in getaddresses([clear_fields.get("to", ""), clear_fields.get("cc", "")]) if a]
    others = [a for a in to if a != me]
    if others:
        return others[0]
    if sender:
        return sender
    raise BadCorrespondent("this message names no correspondent to hold a conversation with")


def recent_correspondents(store, me: str, limit: int = 8, scan: int = 100) -> list[tuple[str, str]]:
    """(address, display name) of the people the newest `scan` verified notes were exchanged with,
    most recent first, each once: what a "Conversation with…" picker offers before anything is typed."""
    found: dict[str, str] = {}
    for summary in store.window(f"tag:{TAG} and tag:{vocab.VERIFIED}", 0, scan):
        try:
            fields = first_values(store.read_clear(summary.message_id))
            address = correspondent_of(fields, me)
        except (PliError, OSError):
            continue
        if address not in found:
            name = "" if vocab.SENT in summary.tags else summary.sender
            found[address] = name if name != address else ""
            if len(found) >= limit:
                break
    return list(found.items())


def state_of(tags: frozenset) -> str:
    """Where a note we sent has got to, from the tags the transport and receipts set."""
    if vocab.OUTBOX in tags:
        return "queued"
    if vocab.READ in tags:           # pli.core.receipts: every recipient acknowledged
        return "read"
    if vocab.DELIVERED in tags:
        return "delivered"
    return "sent"


def note_of(summary, clear: bytes, home=None) -> Note:
    """A conversation row from a store summary and the message's clear bytes; with `home`, a signing key
    its directory revoked since (for the note's signing time) makes the note not verified (`revoked-key`)."""
    tags = summary.tags
    outgoing = vocab.SENT in tags
    verified = summary.verified and vocab.QUARANTINE not in tags
    fields = first_values(clear)
    revoked = verified and home is not None and _revoked_since(home, fields)
    verified = verified and not revoked
    text = body_text(clear, fields).strip() if verified else ""
    reason = "revoked-key" if revoked else "" if verified else (
        fields.get("x-pli-reason") or fields.get("x-pli-quarantine-reason") or "")
    other = fields.get("to", "") if outgoing else fields.get("from", "")
    correspondent = next((a.lower() for _, a in getaddresses([other]) if a), "")
    return Note(summary.message_id, summary.date, outgoing, verified, text, reason,
                state_of(tags) if outgoing else "", summary.mode or fields.get("x-pli-mode", ""),
                vocab.UNREAD in tags, correspondent)


def _revoked_since(home, fields: dict[str, str]) -> bool:
    return check_stored(home, fields)[1]


def body_text(clear: bytes, fields: dict[str, str]) -> str:
    """The text of a message; a single text/plain part (every note pli writes) is decoded straight from
    the bytes: the email package's header parsing cost a millisecond a note, the screen reads fifty."""
    content_type = fields.get("content-type", "text/plain").lower()
    if not content_type.startswith("text/plain"):
        return _parsed_body(clear)
    body = _BLANK_LINE.sub(b"", split(clear)[1], count=1)
    encoding = fields.get("content-transfer-encoding", "7bit").strip().lower()
    try:
        if encoding == "base64":
            body = base64.b64decode(body)
        elif encoding == "quoted-printable":
            body = quopri.decodestring(body)
        charset = _CHARSET.search(content_type)
        return body.decode(charset.group(1) if charset else "us-ascii", errors="replace")
    except (ValueError, LookupError):   # bad base64, an unknown charset: the parser's best effort
        return _parsed_body(clear)


def _parsed_body(clear: bytes) -> str:
    import email
    import email.policy

    msg = email.message_from_bytes(clear, policy=email.policy.default)
    part = msg.get_body(preferencelist=("plain",))
    if part is None:
        return ""
    try:
        return part.get_content()
    except (LookupError, ValueError, AssertionError):
        return (part.get_payload(decode=True) or b"").decode("utf-8", errors="replace")
