"""What the TUI writes to the trace: read, archived, deleted and exported steps, in batches, in order.

Each user action (opening a message, archiving a selection, exporting reports)
becomes one batch: one signed step per message, written with one append and
one fsync off the UI thread.  Batches wait in a queue drained by one thread at
a time, so the trace lists them in the order the user acted (read before
archived), whichever thread the scheduler runs first.  Undoing a triage action
records nothing: the trace says what was done, and archiving again is traced again.
"""
from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

from pli.core.errors import PliError
from pli.tui.triage import TriageAction

HEAD_BYTES = 16384  # the importer writes the X-Pli-* fields first: the head of the file holds them

#: The triage tag changes that are steps of a message's life: (tag added or removed, tag, step).
TRIAGE_STEPS = (
    ("remove", "inbox", "archived"),
    ("add", "deleted", "deleted"),   # notmuch's convention: a message tagged deleted is gone for the user
)


@dataclass(frozen=True)
class TraceBatch:
    step: str
    message_ids: tuple[str, ...]
    details: dict = field(default_factory=dict)


def triage_batches(action: TriageAction) -> list[TraceBatch]:
    """The trace steps a triage action really made (a message already out of the inbox is not archived again)."""
    batches = []
    for how, tag, step in TRIAGE_STEPS:
        ids = [mid for change in action.changes if tag in (change.remove if how == "remove" else change.add)
               for mid in change.message_ids]
        if ids:
            batches.append(TraceBatch(step, tuple(dict.fromkeys(ids))))
    return batches


def envelope_ids(store, message_ids) -> dict[str, str]:
    """The envelope id of each sealed message (X-Pli-Envelope-Id of its clear file, written by
    the importer): the trace names a sealed message by it, as the sender and the gateway do."""
    from pli.core.store.headers import value_of

    found = {}
    for message_id in message_ids:
        try:
            with open(store.clear_path(message_id), "rb") as clear:
                head = clear.read(HEAD_BYTES)
        except (PliError, OSError):
            continue  # gone meanwhile: the step is still recorded, by Message-ID
        envelope = value_of(head, "X-Pli-Envelope-Id")
        if envelope:
            found[message_id] = envelope
    return found


def steps_for(batch: TraceBatch, actor: str, envelopes: dict[str, str] | None = None) -> tuple[list, int]:
    """The journal steps of a batch, and how many messages were left out because the trace cannot
    hold their id (a sender chooses its Message-ID: one with spaces must not stop the others).
    A sealed message is named by its envelope id, its Message-ID then kept as `mid`."""
    from pli.core.audit import AuditMisuse, Step
    from pli.core.audit.entry import check_fields

    envelopes = envelopes or {}
    steps, left_out = [], 0
    for message_id in batch.message_ids:
        envelope = envelopes.get(message_id)
        name, details = (envelope, {**batch.details, "mid": message_id}) if envelope else \
            (message_id, dict(batch.details))
        try:
            check_fields(batch.step, name, actor, details)
        except AuditMisuse:
            left_out += 1
            continue
        steps.append(Step(batch.step, name, details))
    return steps, left_out


class TraceQueue:
    """Batches waiting to be written, first in first out; at most one drainer at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._batches: deque[TraceBatch] = deque()
        self._draining = False

    def put(self, batch: TraceBatch) -> bool:
        """Queue a batch; True when no drainer runs and the caller must start one."""
        with self._lock:
            self._batches.append(batch)
            if self._draining:
                return False
            self._draining = True
            return True

    @property
    def draining(self) -> bool:
        """A drainer runs or is starting (a worker, or the thread of an export): batches may be unwritten."""
        with self._lock:
            return self._draining

    def take(self) -> TraceBatch | None:
        """The next batch, or None when the queue is empty (the drainer then stops)."""
        with self._lock:
            if self._batches:
                return self._batches.popleft()
            self._draining = False
            return None
