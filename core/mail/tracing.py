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

from pli.core import vocab
from pli.core.store.trace_steps import TraceBatch
from pli.core.mail.triage import TriageAction

#: The triage tag changes that are steps of a message's life: (tag added or removed, tag, step).
TRIAGE_STEPS = (
    ("remove", vocab.INBOX, "archived"),
    ("add", vocab.DELETED, "deleted"),
)


def triage_batches(action: TriageAction) -> list[TraceBatch]:
    """The trace steps a triage action really made (a message already out of the inbox is not archived again)."""
    batches = []
    for how, tag, step in TRIAGE_STEPS:
        ids = [mid for change in action.changes if tag in (change.remove if how == "remove" else change.add)
               for mid in change.message_ids]
        if ids:
            batches.append(TraceBatch(step, tuple(dict.fromkeys(ids))))
    return batches


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
