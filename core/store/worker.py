"""What a worker process does with each message: open and verify it, read its lab payload, and
write the clear message and the original to tmp/ files, ready for the writer to publish.

Nothing here touches the index or a shared file: the writer decides, in order,
what becomes visible.  File names are deterministic (the message's key), so a
rerun after a crash finds what is already stored.
"""
from __future__ import annotations

import hashlib
import itertools
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from email.utils import formataddr, formatdate

from pli.core.crypto import envelope  # a broken install fails loudly here, never reads as plain mail
from pli.core.crypto.mime import ENVELOPE_TYPE, is_sealed
from pli.core.crypto.refusals import NotSealed
from pli.core.directory.resolve import SIGNED_HEADER, WARNING_HEADER, WARNING_TAG, signed_value
from pli.core.durable import write_all
from pli.core.errors import PliError
from pli.core.lab import reports_in_bytes  # compat32 MIME parsing: a third of reports_in_mail's cost
from pli.core.store import headers
from pli.core.store.layout import Layout
from pli.core.store.sources import Source
from pli.core.store.tagging import LabFacts, lab_facts, properties_for, tags_for

TMP_SUFFIX = ".pli-tmp"
ENVELOPE_MARK = ENVELOPE_TYPE.lower().encode()
INFO = ":2,"  # Maildir info of a stored file (no flags: pli's state lives in tags)


@dataclass(frozen=True)
class WorkerContext:
    """What every worker needs, set in the parent before the workers fork."""

    layout: Layout
    keyring: object = None
    quarantine_unsealed: bool = True
    #: What the layer above adds to a verified message's tags, in order: (inner bytes, tags) -> tags
    #: (pli.core.mail.receive: receipts, notes).  The store knows none of them.
    tag_hooks: tuple[Callable[[bytes, tuple[str, ...]], tuple[str, ...]], ...] = ()
    #: Plain mail the layer above lets into the inbox in a trust tier of its own (MSSanté mail fetched from an
    #: MSSanté account): (source, raw bytes) -> Admitted, or None for the usual rule (quarantine).
    admit: Callable[[Source, bytes], "Admitted | None"] | None = None


@dataclass(frozen=True)
class Admitted:
    """What the layer above found in an admitted plain mail: its tier (the X-Pli-Mode), tags, properties, lab facts.
    It is stored as received, named by its bytes, never `verified` (the tier is not a signature)."""

    mode: str
    tags: tuple[str, ...]
    properties: tuple[tuple[str, str], ...]
    lab: LabFacts = LabFacts()


@dataclass(frozen=True)
class Prepared:
    """A message ready to publish: the writer renames its tmp files and indexes it."""

    source: Source
    key: str
    folder: str                     # inbox | quarantine
    message_id: str
    tags: tuple[str, ...]
    properties: tuple[tuple[str, str], ...]
    reason: str = ""                # why it is quarantined ("" when it is not)
    tmp_clear: str = ""             # "" when the clear file is already in place
    tmp_sealed: str = ""            # "" when the original is already kept
    opened: object = None           # the envelope's Opened (without its inner bytes), for the replay check
    alert: str = ""                 # the security alert that sent it to quarantine (a replay, pad reuse)

    def final_clear(self, layout: Layout) -> str:
        return final_clear(layout, self.folder, self.key)


def final_clear(layout: Layout, folder: str, key: str) -> str:
    """Where a message's clear file is published; a str, not a Path: asked for every message."""
    return f"{layout.mail_dir}/{folder}/cur/{key}{INFO}"


_CONTEXT: WorkerContext | None = None
_COUNTER = itertools.count()


def set_context(context: WorkerContext) -> None:
    global _CONTEXT
    _CONTEXT = context


def _lab(inner: bytes, sender: str = "") -> LabFacts:
    try:
        return lab_facts(reports_in_bytes(inner), sender)
    except PliError as error:  # MalformedReport names the line and the reason, never the content
        return LabFacts(error=str(error))
    except Exception as error:  # noqa: BLE001 - a bad payload must not stop the message
        return LabFacts(error=f"lab payload unreadable ({type(error).__name__})")


def digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()[:40]


def raw_key(raw: bytes) -> str:
    """The key of a message pli could not open: its bytes, line ends normalised (mbox vs Maildir)."""
    return "q" + digest(b"raw", raw.replace(b"\r\n", b"\n").rstrip(b"\n"))[1:]


def prepare_chunk(sources: list[Source]) -> list[Prepared]:
    context = _CONTEXT
    assert context is not None, "set_context() must run before the workers start"
    raws = [_read(source) for source in sources]
    opened = _open_all(raws, context.keyring)
    return [_prepare(context, source, raw, result) for source, raw, result in zip(sources, raws, opened)]


def _read(source: Source) -> bytes | None:
    try:
        return source.read()
    except OSError:
        return None


def _open_all(raws: list[bytes | None], keyring) -> list:
    """For each raw message: an Opened, a _Failure with its reason, or None (plain mail).
    The sealed ones are opened together: one native batch call decrypts them all."""
    results: list = [None] * len(raws)
    candidates: list[int] = []
    for index, raw in enumerate(raws):
        if raw is None:
            results[index] = _Failure("unreadable")
        elif ENVELOPE_MARK in raw.lower():  # cheap: mail that never names our media type is plain
            if keyring is None:
                results[index] = _Failure("no-keyring", store=False) if is_sealed(raw) else None
            else:
                candidates.append(index)
    if candidates:
        for index, opened in zip(candidates, _open_batch(envelope, [raws[i] for i in candidates], keyring)):
            results[index] = opened
    return results


def _open_batch(envelope, raws: list[bytes], keyring) -> list:
    try:
        opened = envelope.open_mails(raws, keyring)
    except Exception:  # noqa: BLE001 - never expected; fall back to one by one so one bad mail stays one
        opened = [_open_one(envelope, raw, keyring) for raw in raws]
    return [None if isinstance(o, NotSealed) else _Failure(getattr(o, "reason", "malformed"))
            if isinstance(o, Exception) else o for o in opened]


def _open_one(envelope, raw: bytes, keyring):
    try:
        return envelope.open_mail(raw, keyring)
    except Exception as error:  # noqa: BLE001 - OpenError carries the reason; anything else is malformed
        return error


@dataclass(frozen=True)
class _Failure:
    reason: str
    store: bool = True  # False: not stored at all (left in place, named in the summary)


def _prepare(context: WorkerContext, source: Source, raw: bytes | None, result) -> Prepared:
    if raw is None or (isinstance(result, _Failure) and not result.store):
        # not stored, not consumed: the summary names it, the file stays where it is
        return Prepared(source, "", "", "", (), (), reason=result.reason if result else "unreadable")
    if result is None and context.admit is not None:
        admitted = context.admit(source, raw)
        if admitted is not None:
            return _prepare_admitted(context, source, raw, admitted)
    if result is None:
        return _prepare_failed(context, source, raw, "unsealed", sealed=False,
                               quarantined=context.quarantine_unsealed)
    if isinstance(result, _Failure):
        return _prepare_failed(context, source, raw, result.reason, sealed=True, quarantined=True)
    return _prepare_opened(context, source, raw, result)


def _prepare_opened(context: WorkerContext, source: Source, raw: bytes, opened) -> Prepared:
    key = digest(b"env", str(opened.envelope_id).encode(), str(opened.fingerprint).encode())
    lab = _lab(opened.inner, str(opened.sender_id))
    clear, message_id = _clear_and_id(opened, key, lab, lambda: file_time(source.path))
    tags = tags_for(sealed=True, reason="", quarantined=False, lab=lab)
    for hook in context.tag_hooks:
        tags = hook(opened.inner, tags)
    if getattr(opened, "warning", ""):
        tags = tuple(sorted({*tags, WARNING_TAG}))    # signed before its key was revoked (directory/resolve.py)
    properties = properties_for(mode=opened.mode, reason="", lab=lab)
    tmp_clear, tmp_sealed = _write(context, key, "inbox", clear, raw)
    return Prepared(source, key, "inbox", message_id, tags, properties, tmp_clear=tmp_clear,
                    tmp_sealed=tmp_sealed, opened=replace(opened, inner=b""))


def clear_message(opened, key: str, lab: LabFacts) -> bytes:
    """The sender's MIME message with pli's checked facts in front; From/To from the envelope."""
    return _clear_and_id(opened, key, lab)[0]


def _clear_and_id(opened, key: str, lab: LabFacts, arrived=lambda: None) -> tuple[bytes, str]:
    """clear_message and the Message-ID it carries (without <>), from one pass over the header."""
    inner = opened.inner
    sender = formataddr((opened.sender_name or "", opened.sender_address))
    add = [
        ("X-Pli-Verified", "yes"),
        ("X-Pli-Sender", sender),
        ("X-Pli-Sender-Id", str(opened.sender_id)),
        ("X-Pli-Fingerprint", str(opened.fingerprint)),
        ("X-Pli-Mode", opened.mode),
        ("X-Pli-Envelope-Id", str(opened.envelope_id)),
        ("X-Pli-Key", key),
    ]
    if getattr(opened, "timestamp", None) is not None:   # what a later revocation of the key is judged by
        add.append((SIGNED_HEADER, signed_value(int(_epoch(opened.timestamp)))))
    if getattr(opened, "warning", ""):
        add.append((WARNING_HEADER, opened.warning))
    if lab.patient:
        add.append(("X-Pli-Patient", lab.patient))
    if lab.summary:
        add.append(("X-Pli-Lab", lab.summary))
    present = headers.first_values(inner)
    inner_from = present.get("from", "")
    if inner_from and opened.sender_address.lower() not in inner_from.lower():
        add.append(("X-Pli-Inner-From", inner_from))  # what the sender wrote, for the record
    add.append(("From", sender))
    drop = {"From"}
    message_id = own_identity(key, present, add, drop)
    if not present.get("date") and getattr(opened, "timestamp", None):
        add.append(("Date", formatdate(float(_epoch(opened.timestamp)))))
    else:
        add += missing_date(present, arrived)
    if opened.recipients and not present.get("to"):
        add.append(("To", ", ".join(str(r) for r in opened.recipients)))
    return headers.rewrite(inner, add, frozenset(drop)), message_id


#: How many of a sender's References a clear copy keeps (the nearest ancestors), besides the sender's own id.
REFERENCES_KEPT = 20


def own_identity(key: str, present: dict[str, str], add: list, drop: set) -> str:
    """Name the clear copy `<key@pli.invalid>`: an identity no sender can choose for another sender's mail.

    notmuch keeps one document per Message-ID: were the sender's id kept, anyone
    able to write to us could send a message under the id a lab will use later,
    and the lab's critical result would be filed as a copy of it, untagged and
    unfound.  The key derives from the envelope id and the verified signer's key
    (plain mail: from its bytes).  The sender's Message-ID is kept as
    X-Pli-Original-Message-Id, and appended to References, so that replies to it
    (which name it) thread with it in notmuch (docs/STORE.md, "Identity").
    Returns the stored Message-ID, without <>.
    """
    own = f"{key}@pli.invalid"
    add.append(("Message-ID", f"<{own}>"))
    drop.add("Message-ID")
    original = present.get("message-id", "").strip()
    if original:
        add.append(("X-Pli-Original-Message-Id", original))
        references = present.get("references", "").split()[-REFERENCES_KEPT:]
        add.append(("References", " ".join([*references, original])))
        drop.add("References")
    return own


def missing_date(present: dict[str, str], arrived) -> list[tuple[str, str]]:
    """The Date field of a message that has none (notmuch would date it 1 Jan 1970 and sort it last):
    when the newest Received field says it arrived, else `arrived()` (its file's time), else none."""
    if present.get("date"):
        return []
    when = received_time(present.get("received", ""))
    if when is None:
        when = arrived()
    return [("Date", formatdate(when, usegmt=True))] if when else []


def received_time(received: str) -> float | None:
    """The time a Received field ends with ("...; Tue, 01 Dec 2026 10:00:00 +0100"), or None."""
    from email.utils import parsedate_to_datetime

    if ";" not in received:
        return None
    try:
        return parsedate_to_datetime(received.rsplit(";", 1)[1].strip()).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def file_time(path: str) -> float | None:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return None


def _epoch(timestamp) -> float:
    return timestamp.timestamp() if hasattr(timestamp, "timestamp") else float(timestamp)


def _prepare_admitted(context: WorkerContext, source: Source, raw: bytes, admitted: Admitted) -> Prepared:
    """Plain mail of a trust tier of its own (MSSanté): in the inbox, as received, with its tier and lab facts."""
    key = raw_key(raw)
    present = headers.first_values(raw)
    add = [("X-Pli-Verified", "no"), ("X-Pli-Mode", admitted.mode), ("X-Pli-Key", key)]
    if admitted.lab.patient:
        add.append(("X-Pli-Patient", admitted.lab.patient))
    if admitted.lab.summary:
        add.append(("X-Pli-Lab", admitted.lab.summary))
    add += missing_date(present, lambda: file_time(source.path))
    drop: set[str] = set()
    message_id = own_identity(key, present, add, drop)
    clear = headers.rewrite(raw, add, frozenset(drop))
    tmp_clear, tmp_sealed = _write(context, key, "inbox", clear, raw)
    return Prepared(source, key, "inbox", message_id, admitted.tags, admitted.properties, tmp_clear=tmp_clear,
                    tmp_sealed=tmp_sealed)


def _prepare_failed(context: WorkerContext, source: Source, raw: bytes, reason: str, *,
                    sealed: bool, quarantined: bool) -> Prepared:
    key = raw_key(raw)
    clear = quarantined_message(raw, key, reason, quarantined, arrived=lambda: file_time(source.path))
    tags = tags_for(sealed=sealed, reason=reason, quarantined=quarantined, lab=LabFacts())
    properties = properties_for(mode="", reason=reason if quarantined else "", lab=LabFacts())
    message_id = headers.value_of(clear, "Message-ID").strip("<> ")
    folder = "quarantine" if quarantined else "inbox"
    tmp_clear, tmp_sealed = _write(context, key, folder, clear, raw)
    return Prepared(source, key, folder, message_id, tags, properties, reason=reason if quarantined else "",
                    tmp_clear=tmp_clear, tmp_sealed=tmp_sealed)


def quarantined_message(raw: bytes, key: str, reason: str, quarantined: bool = True,
                        arrived=lambda: None) -> bytes:
    """The message as received, marked unverified.  A quarantined copy gets its own Message-ID,
    so that it can never merge in the index with a genuine message claiming the same id."""
    present = headers.first_values(raw)
    original_id = present.get("message-id", "")
    add = [("X-Pli-Verified", "no"), ("X-Pli-Reason", reason), ("X-Pli-Key", key)]
    add += missing_date(present, arrived)
    drop: set[str] = set()
    if quarantined:
        add.append(("X-Pli-Quarantine-Reason", reason))
        if original_id:
            add.append(("X-Pli-Original-Message-Id", original_id))
        add.append(("Message-ID", f"<{key}@quarantine.pli.invalid>"))
        drop.add("Message-ID")
    else:   # plain mail let into the inbox: named by its bytes, as sealed mail by its envelope
        own_identity(key, present, add, drop)
    if not raw.strip():
        raw = b"Subject: (empty message)\n\n"
    return headers.rewrite(raw, add, frozenset(drop))


def _write(context: WorkerContext, key: str, folder: str, clear: bytes, raw: bytes) -> tuple[str, str]:
    """(tmp clear file, tmp sealed file) written for a message; "" for what is already stored."""
    layout = context.layout
    tmp_clear = tmp_sealed = ""
    sealed = layout.sealed_dir
    kept = os.path.exists(f"{sealed}/{key[:2]}/{key}")   # layout.sealed_path, without a Path per message
    # The writer publishes the original before the clear file: no original, no clear file
    # either (one stat per new message rather than two).
    if not kept or not os.path.exists(final_clear(layout, folder, key)):
        tmp_clear = _write_tmp(f"{layout.mail_dir}/{folder}/tmp", key, clear)
    if not kept:
        tmp_sealed = _write_tmp(f"{sealed}/.tmp", key, raw)
    return tmp_clear, tmp_sealed


def _write_tmp(folder: str, key: str, data: bytes) -> str:
    """A tmp file, not fsync'd: the writer syncs the whole batch at once before renaming (writer.py)."""
    path = f"{folder}/{key}.{os.getpid()}.{next(_COUNTER)}{TMP_SUFFIX}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        write_all(fd, data)
    finally:
        os.close(fd)
    return path
