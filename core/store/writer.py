"""The one index writer: publishes prepared messages and indexes them, one transaction per batch.

For each message, in the order of the sources:
  1. already stored (its file is in place and indexed)?  then nothing, counted "already there";
  2. the replay check (the envelope's SeenRanges) for a sealed message seen for the first time;
  3. rename the original into sealed/, the clear message into <folder>/cur/;
  4. index it with its tags and properties;
  5. after the commit, its trace step (kept in a pending file until then: pending_trace.py).
The filesystem is synced before the renames (the workers' tmp files are on disk) and
after them (the renames are), then the index transaction commits.  A
SIGKILL anywhere leaves complete files (renames are atomic) and either all or
none of the batch in the index; the rerun finds the files by their
deterministic names and indexes what the index lacks, so it ends with exactly
the store an uninterrupted run gives.
"""
from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import notmuch2
from notmuch2 import _capi as capi

from pli.core.audit import Step
from pli.core.audit.journal import journal_path
from pli.core.durable import full_fsync, sync_filesystem, write_all
from pli.core.store import database
from pli.core.store.layout import Layout
from pli.core.store.orders import settle
from pli.core.store.pending_trace import pending_files, record_steps, recover, write_pending
from pli.core.store.tagging import LabFacts, properties_for, tags_for
from pli.core.store.worker import INFO, Prepared, file_time, quarantined_message, raw_key
from pli.core.vocab import LAB_INCOMPLETE, LAB_UNREADABLE, ORDER_PROPERTY as ORDER, PATIENT_UNCERTAIN, XDM_REFUSED


@dataclass(frozen=True)
class Outcome:
    origin: str
    status: str          # "imported" | "already" | "quarantined" | "failed" (left where it was)
    reason: str = ""
    message_id: str = ""
    path: str = ""       # where its clear copy now is in the store ("" when not stored)
    alert: str = ""      # a security alert (replay, pad reuse): what the command line and the TUI raise
    lab_unread: str = ""           # stored, its lab report "unreadable", "incomplete" or in a refused XDM package
    patient_uncertain: bool = False   # stored, results tied to no patient for sure (tag patient-uncertain)


@dataclass
class IndexWriter:
    layout: Layout
    seen_ranges: object = None   # the envelope's SeenRanges, or None when nothing sealed can be opened
    fsync: bool = True
    journal: object = None       # pli.core.audit.Journal: one trace step per message imported or quarantined
    _dirs: set = field(default_factory=set)   # sealed/xx folders known to exist
    _renamed_files: dict = field(default_factory=dict)
    _tracer: ThreadPoolExecutor | None = None     # writes the trace steps, in order (see _trace)
    _held: int = 0                                # pending trace files written (their numbers)
    _traced: list = field(default_factory=list)   # its Futures not yet checked

    def write_batch(self, batch: list[Prepared]) -> list[Outcome]:
        self._sync()  # the workers' tmp files reach the disk before any is renamed into place
        with database.open_write(self.layout) as db:
            with db.atomic():
                # where each message's clear file already is (None: not published yet), looked up once
                in_place = [self._in_place(p) if p.folder else None for p in batch]
                fresh = [p for p, final in zip(batch, in_place) if p.folder and final is None]
                checked = self._replay_checked(fresh)
                current = [checked.get(id(p), p) for p in batch]
                in_place = [final if now is p else self._in_place(now)  # a replay: quarantined under a new key
                            for p, now, final in zip(batch, current, in_place)]
                outcomes = self._publish_and_index(db, current, in_place)
                settle(db, _new_orders(current, outcomes))  # a later message of a stored order: in this commit
                pending = self._hold_trace(batch, outcomes)
                self._sync()  # the renames and the pending steps reach the disk before the index commits
        self._trace(pending)
        self._consume(batch, outcomes)
        return outcomes

    def _publish_and_index(self, db: notmuch2.Database, batch: list[Prepared],
                           in_place: list[str | None]) -> list[Outcome]:
        outcomes, published = [], set()
        for prepared, final in zip(batch, in_place):
            if final is None and prepared.key in published:
                final = self._in_place(prepared)  # the same message twice in one batch (mbox and Maildir copies)
            outcomes.append(self._one(db, prepared, final))
            published.add(prepared.key)
        return outcomes

    def _one(self, db: notmuch2.Database, prepared: Prepared, final: str | None) -> Outcome:
        origin = prepared.source.origin
        if not prepared.folder:
            return Outcome(origin, "failed", prepared.reason)
        if final is not None and _indexed(db, final):
            self._discard(prepared)
            return Outcome(origin, "already", prepared.reason, prepared.message_id, final)
        final = self._publish(prepared)
        try:
            _index(db, final, prepared)
        except (notmuch2.FileNotEmailError, notmuch2.FileError):
            os.unlink(final)  # never a file in cur/ the index lacks; the original stays in sealed/
            return Outcome(origin, "failed", "unindexable")
        status = "quarantined" if prepared.folder == "quarantine" else "imported"
        return Outcome(origin, status, prepared.reason, prepared.message_id, final, prepared.alert,
                       lab_unread=_lab_unread(prepared.tags), patient_uncertain=PATIENT_UNCERTAIN in prepared.tags)

    def _in_place(self, prepared: Prepared) -> str | None:
        """The message's clear file if it is already published (a mail client may have renamed it)."""
        final = prepared.final_clear(self.layout)
        if os.path.exists(final):
            return final
        renamed = self._renamed(prepared.folder).get(prepared.key)
        return None if renamed is None else str(renamed)

    def _renamed(self, folder: str) -> dict[str, Path]:
        """Files of a folder not under the name pli gave them (flags added by a mail client),
        by key: listed once per run, as listing per message would cost O(n) each."""
        if folder not in self._renamed_files:
            found: dict[str, Path] = {}
            for sub in ("cur", "new"):
                directory = self.layout.folder(folder) / sub
                for name in os.listdir(directory):
                    key = name.split(INFO[0], 1)[0]
                    if name != f"{key}{INFO}":
                        found[key] = directory / name
            self._renamed_files[folder] = found
        return self._renamed_files[folder]

    def _replay_checked(self, fresh: list[Prepared]) -> dict[int, Prepared]:
        """The replay check of the batch's newly seen sealed messages, one lock and one fsync for all
        (the same message seen again is no replay: a rerun after a crash passes).  A pad range
        seen in another message (a replay, or a sender reusing pad) sends the message to quarantine."""
        sealed = [p for p in fresh if p.opened is not None]
        if self.seen_ranges is None or not sealed:
            return {}
        alerts = self.seen_ranges.check_and_record_many([p.opened for p in sealed])
        return {id(p): self._requarantine(p, getattr(alert, "reason", "replay"), str(alert))
                for p, alert in zip(sealed, alerts) if alert is not None}

    def _requarantine(self, prepared: Prepared, reason: str, alert: str) -> Prepared:
        raw = Path(prepared.tmp_sealed or self.layout.sealed_path(prepared.key)).read_bytes()
        key = raw_key(raw)
        self._discard(prepared)
        clear = quarantined_message(raw, key, reason, arrived=lambda: file_time(prepared.source.path))
        tags = tags_for(sealed=True, reason=reason, quarantined=True, lab=LabFacts())
        properties = properties_for(mode="", reason=reason, lab=LabFacts())
        moved = replace(prepared, key=key, folder="quarantine", tags=tags, properties=properties,
                        reason=reason, opened=None, message_id=f"{key}@quarantine.pli.invalid", alert=alert)
        tmp_clear = _write_now(self.layout.folder("quarantine") / "tmp" / f"{key}.replay.pli-tmp", clear)
        tmp_sealed = _write_now(self.layout.sealed / ".tmp" / f"{key}.replay.pli-tmp", raw)
        return replace(moved, tmp_clear=str(tmp_clear), tmp_sealed=str(tmp_sealed))

    def _publish(self, prepared: Prepared) -> str:
        # str paths and a cache of made folders: this runs once per message in the one writer
        key = prepared.key
        if prepared.tmp_sealed:
            folder = f"{self.layout.sealed_dir}/{key[:2]}"
            if folder not in self._dirs:
                os.makedirs(folder, mode=0o700, exist_ok=True)
                self._dirs.add(folder)
            os.replace(prepared.tmp_sealed, f"{folder}/{key}")
        final = prepared.final_clear(self.layout)
        if prepared.tmp_clear:
            os.replace(prepared.tmp_clear, final)
        return final

    def _discard(self, prepared: Prepared) -> None:
        for tmp in (prepared.tmp_clear, prepared.tmp_sealed):
            if tmp:
                try:
                    os.unlink(tmp)
                except FileNotFoundError:
                    pass

    def _sync(self) -> None:
        """One syncfs(2) of the store's filesystem per step of a batch: what per-file and
        per-directory fsyncs would give, at the cost of two calls per thousand messages."""
        if self.fsync:
            sync_filesystem(self.layout.home.root)

    def _hold_trace(self, batch: list[Prepared], outcomes: list[Outcome]):
        """The batch's steps, put in a pending file before the commit (pli.core.store.pending_trace)."""
        if self.journal is None:
            return None
        steps, indexed = self._steps(batch, outcomes)
        if not steps:
            return None
        try:
            size = os.stat(journal_path(self.layout.home)).st_size
        except FileNotFoundError:
            size = 0
        self._held += 1
        return steps, write_pending(self.layout.pending_trace, self._held, steps, indexed, size)

    def _trace(self, pending) -> None:
        """One signed trace step per new message, one append and fsync for the whole batch.

        Written after the index commits, so the trace never names a message the
        store lacks; the pending file written before the commit lets the next
        import write what a crash in between left out.  The steps are signed and
        appended by a thread of their own, in order: libnotmuch releases the GIL,
        so the next batch's indexing goes on meanwhile (signing was a tenth of
        the writer's time).  finish() waits for them; a failure stops the import
        at the next batch.
        """
        if pending is None:
            return
        self._check_traced()
        if self._tracer is None:
            self._tracer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pli-trace")
        self._traced.append(self._tracer.submit(self._record, *pending))

    def recover_trace(self) -> int:
        """Write the steps an interrupted import left pending (see pending_trace); how many."""
        if self.journal is None or not pending_files(self.layout.pending_trace):
            return 0
        db = database.open_read(self.layout)
        try:
            return recover(self.layout.pending_trace, self.journal, self.layout.home,
                           lambda mid: _found(db, mid))
        finally:
            db.close()

    def finish(self, *, raise_errors: bool = True) -> None:
        """Wait until every trace step submitted is written; the first failure is raised."""
        if self._tracer is None:
            return
        try:
            self._check_traced(wait=True, raise_errors=raise_errors)
        finally:
            self._tracer.shutdown(wait=True)
            self._tracer = None

    def _check_traced(self, wait: bool = False, raise_errors: bool = True) -> None:
        while self._traced and (wait or self._traced[0].done()):
            future: Future = self._traced.pop(0)
            error = future.exception()
            if error is not None and raise_errors:
                self._traced.clear()
                raise error

    def _steps(self, batch: list[Prepared], outcomes: list[Outcome]) -> tuple[list, list[str]]:
        """The steps of the messages stored, and for each the Message-ID it is indexed under."""
        steps, indexed = [], []
        for prepared, outcome in zip(batch, outcomes):
            if outcome.status not in ("imported", "quarantined"):
                continue
            opened = prepared.opened
            trace_id = getattr(opened, "envelope_id", "") or prepared.message_id
            if not trace_id:
                continue
            if outcome.status == "imported" and opened is not None:
                steps.append(Step("opened-verified", trace_id, {
                    "mid": prepared.message_id, "sender": opened.sender_address,
                    "fingerprint": opened.fingerprint, "mode": opened.mode}))
            else:
                steps.append(Step("quarantined", trace_id, {"mid": prepared.message_id,
                                                            "reason": outcome.reason or "unknown"}))
            indexed.append(outcome.message_id)
        return steps, indexed

    def _record(self, steps: list, pending: Path) -> None:
        record_steps(self.journal, steps)
        pending.unlink()

    def _consume(self, batch: list[Prepared], outcomes: list[Outcome]) -> None:
        """`pli new`: the delivered files go once their messages are committed (their originals are kept)."""
        for prepared, outcome in zip(batch, outcomes):
            if prepared.source.consume and outcome.status != "failed":
                try:
                    os.unlink(prepared.source.path)
                except FileNotFoundError:
                    pass


def _new_orders(batch: list[Prepared], outcomes: list[Outcome]) -> dict[str, set[str]]:
    """{lab order key: ids of the messages of this batch that answer it}, for those just stored."""
    orders: dict[str, set[str]] = {}
    for prepared, outcome in zip(batch, outcomes):
        if outcome.status == "imported":
            for key, value in prepared.properties:
                if key == ORDER:
                    orders.setdefault(value, set()).add(outcome.message_id)
    return orders


def _index(db: notmuch2.Database, path: str, prepared: Prepared) -> None:
    """Index `path`; a new message gets its tags and properties in one frozen change (one more
    write of its document, at the thaw).  A duplicate (its Message-ID already indexed) keeps its own.

    Straight through libnotmuch's C API, as summary.py reads: the binding builds a
    Message, a TagSet and a PropertiesMap for each message, ~0.1 ms of the writer's ~1 ms.
    A failure leaves the message unthawed, its tag changes dropped, as the binding's frozen() does.
    """
    lib, ffi = capi.lib, capi.ffi
    out = ffi.new("notmuch_message_t **")
    status = lib.notmuch_database_index_file(db._db_p, os.fsencode(path), ffi.NULL, out)
    if status not in (lib.NOTMUCH_STATUS_SUCCESS, lib.NOTMUCH_STATUS_DUPLICATE_MESSAGE_ID):
        raise notmuch2.NotmuchError(status)
    msg = out[0]
    try:
        if status == lib.NOTMUCH_STATUS_DUPLICATE_MESSAGE_ID:
            return
        _check(lib.notmuch_message_freeze(msg))
        for tag in prepared.tags:
            _check(lib.notmuch_message_add_tag(msg, tag.encode()))
        for key, value in prepared.properties:
            _check(lib.notmuch_message_add_property(msg, key.encode(), value.encode()))
        _check(lib.notmuch_message_thaw(msg))
    finally:
        lib.notmuch_message_destroy(msg)


def _check(status: int) -> None:
    if status != capi.lib.NOTMUCH_STATUS_SUCCESS:
        raise notmuch2.NotmuchError(status)


def _found(db: notmuch2.Database, message_id: str) -> bool:
    try:
        db.find(message_id)
    except LookupError:
        return False
    return True


def _indexed(db: notmuch2.Database, path: str) -> bool:
    try:
        db.get(path)
    except LookupError:
        return False
    return True


def _write_now(path: Path, data: bytes) -> Path:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        write_all(fd, data)
        full_fsync(fd)
    finally:
        os.close(fd)
    return path


def _lab_unread(tags) -> str:
    """How the import's report names a message stored with a lab report it could not read wholly ("" for none):
    a refused IHE XDM package says so, since its MDN told the sender and `pli search tag:xdm-refused` finds it."""
    if XDM_REFUSED in tags:
        return "in an IHE XDM package pli refused (unsafe or incomplete: `pli search tag:xdm-refused`)"
    return "unreadable" if LAB_UNREADABLE in tags else "incomplete" if LAB_INCOMPLETE in tags else ""
