"""The import's trace steps between the index commit and the journal: kept on disk so a crash cannot lose them.

A batch's steps ("opened-verified", "quarantined") go to the journal after its
index transaction commits, so that the trace never names a message the store
lacks.  A crash between the two would leave messages in the store with no
step, and the rerun finds them "already there": their steps would never be
written.  So, before the commit, the writer puts the batch's steps in a
pending file (synced with the batch's files), and removes it once the journal
holds them.  The next import starts by `recover`ing what a crash left:

  * a message of a pending file that the index holds and the journal does not
    name gets its step now;
  * one the index lacks (the crash came before the commit) gets none: the
    import stores it again, with a step of its own.

The file holds what the steps hold (envelope and message ids, sender, key
fingerprint, mode, reason): no content.  It is 0600 all the same.
"""
from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from pli.core.audit import Step
from pli.core.audit.entry import AuditMisuse, check_fields, decode
from pli.core.audit.journal import journal_path
from pli.core.errors import PliError

SUFFIX = ".steps"
#: How far before the journal's size at writing time recovery starts reading: the size may
#: then have ended in a torn line that the next append cut off (pli.core.audit.journal._tail).
TORN_MARGIN = 1 << 16


class PendingTraceDamaged(PliError):
    """A pending trace file cannot be read."""


def write_pending(folder: Path, number: int, steps: list[Step], indexed: list[str], journal_size: int) -> Path:
    """The batch's steps, with the message id each one's message has in the index.

    Not synced here: the writer's syncfs before the commit covers it.
    """
    folder.mkdir(mode=0o700, exist_ok=True)
    record = {"journal_size": journal_size,
              "steps": [{"step": s.step, "message": s.message_id, "details": s.details, "indexed": mid}
                        for s, mid in zip(steps, indexed)]}
    path = folder / f"{number:012d}{SUFFIX}"
    tmp = folder / f".{number:012d}{SUFFIX}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(record))   # dumps: json.dump to a file takes the pure-Python encoder, 3x slower
    os.replace(tmp, path)
    return path


def pending_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.name.endswith(SUFFIX))


def recover(folder: Path, journal, home, indexed: Callable[[str], bool]) -> int:
    """Write the steps a crash left pending whose message is indexed and not yet in the journal;
    remove the pending files.  Returns how many steps were written."""
    files = pending_files(folder)
    for stray in folder.glob(f".*{SUFFIX}.tmp") if folder.is_dir() else ():
        stray.unlink()  # a pending file the crash cut short: its batch never committed
    if not files:
        return 0
    records = [_load(path) for path in files]
    recorded = _recorded(home, min(r["journal_size"] for r in records))
    missing = [Step(s["step"], s["message"], dict(s["details"]))
               for record in records for s in record["steps"]
               if (s["step"], s["message"]) not in recorded and indexed(s["indexed"])]
    written = record_steps(journal, missing) if missing else 0
    for path in files:
        path.unlink()
    return written


def record_steps(journal, steps: list[Step]) -> int:
    """Append the import's steps with one write; how many were written.

    A sender controls the Message-ID: a step whose `mid` the trace cannot hold (too
    long) is kept without it, one it cannot name at all (spaces) is left out; neither
    stops the others."""
    try:
        journal.record_many(steps)  # checks every step before writing any
        return len(steps)
    except AuditMisuse:
        pass
    kept = []
    for step in steps:
        if not _recordable(journal, step):
            step.details.pop("mid", None)
            if not _recordable(journal, step):
                continue
        kept.append(step)
    journal.record_many(kept)
    return len(kept)


def _recordable(journal, step: Step) -> bool:
    try:
        check_fields(step.step, step.message_id, journal.actor, step.details)
    except AuditMisuse:
        return False
    return True


def _load(path: Path) -> dict:
    try:
        record = json.loads(path.read_bytes())
        if not isinstance(record.get("journal_size"), int) or not isinstance(record.get("steps"), list):
            raise ValueError("fields missing")
        return record
    except (OSError, ValueError, AttributeError) as error:
        raise PendingTraceDamaged(f"the pending trace file {path} is damaged ({error}); move it aside "
                                  "and run `pli audit verify`") from None


def _recorded(home, journal_size: int) -> set[tuple[str, str]]:
    """(step, message) of the journal's entries from about `journal_size` on that a signature seals.

    Entries after the last signed one (a batch whose write a crash cut before its signed last
    entry) are not counted: the next writer sets them aside (pli.core.audit.journal._tail)."""
    start = max(0, journal_size - TORN_MARGIN)
    found, unsealed = set(), []
    try:
        with open(journal_path(home), "rb") as handle:
            handle.seek(start)
            if start:
                handle.readline()  # the rest of a line that began before `start`
            for raw in handle:
                if raw.endswith(b"\n"):
                    line = decode(raw[:-1])
                    unsealed.append((line.entry.step, line.entry.message))
                    if line.sealed:
                        found.update(unsealed)
                        unsealed = []
    except FileNotFoundError:
        pass
    return found
