"""The one index writer: publishes prepared messages and indexes them, one transaction per batch.

For each message, in the order of the sources:
  1. already stored (its file is in place and indexed)?  then nothing, counted "already there";
  2. the replay check (the envelope's SeenRanges) for a sealed message seen for the first time;
  3. rename the original into sealed/, the clear message into <folder>/cur/ (both fsync'd tmp files);
  4. index it with its tags and properties.
The batch's directories are fsync'd, then the index transaction commits.  A
SIGKILL anywhere leaves complete files (renames are atomic) and either all or
none of the batch in the index; the rerun finds the files by their
deterministic names and indexes what the index lacks, so it ends with exactly
the store an uninterrupted run gives.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import notmuch2

from pli.core.store import database
from pli.core.store.layout import Layout
from pli.core.store.tagging import LabFacts, properties_for, tags_for
from pli.core.store.worker import INFO, Prepared, quarantined_message, raw_key


@dataclass(frozen=True)
class Outcome:
    origin: str
    status: str          # "imported" | "already" | "quarantined" | "failed" (left where it was)
    reason: str = ""
    message_id: str = ""


@dataclass
class IndexWriter:
    layout: Layout
    seen_ranges: object = None   # the envelope's SeenRanges, or None when nothing sealed can be opened
    fsync: bool = True
    _dirs: set = field(default_factory=set)

    def write_batch(self, batch: list[Prepared]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        self._dirs = set()
        with database.open_write(self.layout) as db:
            with db.atomic():
                for prepared in batch:
                    outcomes.append(self._one(db, prepared))
                self._sync_dirs()
        self._consume(batch, outcomes)
        return outcomes

    def _one(self, db: notmuch2.Database, prepared: Prepared) -> Outcome:
        origin = prepared.source.origin
        if not prepared.folder:
            return Outcome(origin, "failed", prepared.reason)
        final = self._in_place(prepared)
        if final is not None and _indexed(db, final):
            self._discard(prepared)
            return Outcome(origin, "already", prepared.reason, prepared.message_id)
        if final is None and prepared.opened is not None:
            prepared = self._replay_checked(prepared)
        final = self._publish(prepared)
        try:
            msg, duplicate = db.add(str(final))
        except (notmuch2.FileNotEmailError, notmuch2.FileError):
            os.unlink(final)  # never a file in cur/ the index lacks; the original stays in sealed/
            return Outcome(origin, "failed", "unindexable")
        if not duplicate:
            with msg.frozen():
                for tag in prepared.tags:
                    msg.tags.add(tag)
                for key, value in prepared.properties:
                    msg.properties.add(key, value)
        status = "quarantined" if prepared.folder == "quarantine" else "imported"
        return Outcome(origin, status, prepared.reason, prepared.message_id)

    def _in_place(self, prepared: Prepared) -> Path | None:
        """The message's clear file if it is already published (a mail client may have renamed it)."""
        final = prepared.final_clear(self.layout)
        if final.exists():
            return final
        for sub in ("cur", "new"):
            for found in (self.layout.folder(prepared.folder) / sub).glob(f"{prepared.key}{INFO[0]}*"):
                return found
        return None

    def _replay_checked(self, prepared: Prepared) -> Prepared:
        """A pad range seen before (a replay, or a sender reusing pad) sends the message to quarantine."""
        if self.seen_ranges is None:
            return prepared
        try:
            self.seen_ranges.check_and_record(prepared.opened)
        except Exception as error:  # noqa: BLE001 - ReplayAlert; anything else is safer in quarantine too
            return self._requarantine(prepared, getattr(error, "reason", "replay"))
        return prepared

    def _requarantine(self, prepared: Prepared, reason: str) -> Prepared:
        raw = Path(prepared.tmp_sealed or self.layout.sealed_path(prepared.key)).read_bytes()
        key = raw_key(raw)
        self._discard(prepared)
        clear = quarantined_message(raw, key, reason)
        tags = tags_for(sealed=True, reason=reason, quarantined=True, lab=LabFacts())
        sender = dict(prepared.properties).get("pli.sender", "")
        properties = properties_for(key=key, sender=sender, verified=False, mode="", reason=reason,
                                    lab=LabFacts())
        moved = replace(prepared, key=key, folder="quarantine", tags=tags, properties=properties,
                        reason=reason, opened=None, message_id=f"{key}@quarantine.pli.invalid")
        tmp_clear = _write_now(self.layout.folder("quarantine") / "tmp" / f"{key}.replay.pli-tmp", clear)
        tmp_sealed = _write_now(self.layout.sealed / ".tmp" / f"{key}.replay.pli-tmp", raw)
        return replace(moved, tmp_clear=str(tmp_clear), tmp_sealed=str(tmp_sealed))

    def _publish(self, prepared: Prepared) -> Path:
        sealed = self.layout.sealed_path(prepared.key)
        if prepared.tmp_sealed:
            sealed.parent.mkdir(mode=0o700, exist_ok=True)
            os.replace(prepared.tmp_sealed, sealed)
            self._dirs.add(sealed.parent)
        final = prepared.final_clear(self.layout)
        if prepared.tmp_clear:
            os.replace(prepared.tmp_clear, final)
            self._dirs.add(final.parent)
        return final

    def _discard(self, prepared: Prepared) -> None:
        for tmp in (prepared.tmp_clear, prepared.tmp_sealed):
            if tmp:
                try:
                    os.unlink(tmp)
                except FileNotFoundError:
                    pass

    def _sync_dirs(self) -> None:
        if not self.fsync:
            return
        for folder in self._dirs:
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def _consume(self, batch: list[Prepared], outcomes: list[Outcome]) -> None:
        """`pli new`: the delivered files go once their messages are committed (their originals are kept)."""
        for prepared, outcome in zip(batch, outcomes):
            if prepared.source.consume and outcome.status != "failed":
                try:
                    os.unlink(prepared.source.path)
                except FileNotFoundError:
                    pass


def _indexed(db: notmuch2.Database, path: Path) -> bool:
    try:
        db.get(str(path))
    except LookupError:
        return False
    return True


def _write_now(path: Path, data: bytes) -> Path:
    with open(path, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    return path
