"""The batch import behind `pli import` and `pli new`: sources -> worker processes -> one index writer.

Workers (one per core, forked) read, open, verify and parse chunks of messages
and write tmp files; the parent is the only writer: it publishes and indexes
each chunk in one transaction, in source order.  At most a few chunks are in
flight, so memory stays flat however large the archive.
"""
from __future__ import annotations

import collections
import ctypes
import fcntl
import multiprocessing
import os
import signal
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pli.core.audit import home_journal
from pli.core.crypto import primitives
from pli.core.crypto.keyring import Keyring
from pli.core.crypto.seen import SeenRanges
from pli.core.directory.resolve import unlock
from pli.core.errors import PliError
from pli.core.home import Home
from pli.core.store.config import load_store_config
from pli.core.store.layout import FOLDERS, Layout
from pli.core.store.progress import Progress
from pli.core.store.sources import Source, list_sources, maildir_sources
from pli.core.store.worker import TMP_SUFFIX, WorkerContext, prepare_chunk, set_context
from pli.core.store.writer import IndexWriter, Outcome

WORKER_CHUNK = 64         # messages per task sent to a worker
IN_FLIGHT_PER_WORKER = 8  # tasks queued per worker: enough to cover one index commit
EARLY_WRITE = 512         # messages waiting that the writer indexes rather than wait for more
WORKER_NICENESS = 10      # the one writer is the pipeline's narrow end: it goes first for the CPU
LOCK_WAIT_SECONDS = 3.0
PR_SET_PDEATHSIG = 1


class ImportBusy(PliError):
    """Another import runs on this store."""

    exit_code = 75


@dataclass
class ImportReport:
    imported: int = 0
    already: int = 0
    quarantined: collections.Counter = field(default_factory=collections.Counter)
    failed: list[Outcome] = field(default_factory=list)
    bad: list[Outcome] = field(default_factory=list)   # quarantined messages, named in the summary
    alerts: list[Outcome] = field(default_factory=list)   # quarantined by a security alert (replay, pad reuse)
    lab_unread: list[Outcome] = field(default_factory=list)   # stored, their lab report not read (wholly)
    uncertain: list[Outcome] = field(default_factory=list)    # stored, results tied to no patient for sure
    receipts: object = None   # pli.core.receipts.ReceiptsReport of the pass after the import

    def add(self, outcome: Outcome) -> None:
        if outcome.status == "imported":
            if outcome.lab_unread:
                self.lab_unread.append(outcome)
            if outcome.patient_uncertain:
                self.uncertain.append(outcome)
        if outcome.status == "imported":
            self.imported += 1
        elif outcome.status == "already":
            self.already += 1
        elif outcome.status == "quarantined":
            self.quarantined[outcome.reason] += 1
            self.bad.append(outcome)
            if outcome.alert:
                self.alerts.append(outcome)
        else:
            self.failed.append(outcome)

    @property
    def total(self) -> int:
        return self.imported + self.already + sum(self.quarantined.values()) + len(self.failed)

    def render(self, name_at_most: int = 20) -> str:
        lines = [f"{self.imported:,} imported, {self.already:,} already there, "
                 f"{sum(self.quarantined.values()):,} quarantined, {len(self.failed):,} not read"]
        if self.lab_unread:
            lines[0] += (f"; {len(self.lab_unread):,} with a lab report pli could not read wholly "
                         "(stored, shown with its text: `pli search tag:lab-unreadable or tag:lab-incomplete`)")
        if self.uncertain:
            lines[0] += (f"; {len(self.uncertain):,} with results whose patient is uncertain "
                         "(attached to nobody: `pli search tag:patient-uncertain`)")
        for reason, count in sorted(self.quarantined.items()):
            lines.append(f"  quarantined ({reason}): {count:,}")
        # where each came from, and where it is now (`pli new` removes the first)
        lines += _named(self.bad, lambda o: f"{o.reason}: {o.origin} -> {o.path}", name_at_most,
                        "(`pli search quarantine`)")
        lines += [f"  not read ({o.reason}): {o.origin}" for o in self.failed[:name_at_most]]
        lines += _named(self.lab_unread, lambda o: f"lab report {o.lab_unread}: {o.origin}", name_at_most,
                        "lab reports not read wholly")
        lines += _named(self.uncertain, lambda o: f"patient uncertain: {o.origin}", name_at_most,
                        "with an uncertain patient")
        if self.receipts is not None and self.receipts.render():
            lines.append(self.receipts.render())
        return "\n".join(lines)

    def render_alerts(self) -> str:
        """One paragraph per security alert of this run (replay, pad reuse), with where the mail now is."""
        return "\n".join(f"{outcome.alert} It is in quarantine: {outcome.path}" for outcome in self.alerts)


def _named(outcomes: list[Outcome], line, at_most: int, more: str) -> list[str]:
    """One line per outcome (`line` writes it), the first `at_most`; then how many more."""
    lines = [f"  {line(o)}" for o in outcomes[:at_most]]
    if len(outcomes) > at_most:
        lines.append(f"  ... and {len(outcomes) - at_most:,} more {more}")
    return lines


@dataclass(frozen=True)
class ImportHooks:
    """What the layer above the store does with what an import stores (pli.core.mail.receive gives them:
    receipts, notes); the store runs them and knows none of them."""

    #: Run on each verified message in the workers, in order: (inner bytes, tags) -> tags.
    tags: tuple[Callable[[bytes, tuple[str, ...]], tuple[str, ...]], ...] = ()
    #: Run once the import is committed, with a trace to write to: (home, keyring, journal) -> a report
    #: with a render() (kept as ImportReport.receipts).
    after: Callable | None = None
    #: Builds, in the parent before the workers fork, what lets plain mail of another trust tier into the
    #: inbox: (home) -> WorkerContext.admit, or None (pli.core.mail.receive: mail of MSSanté accounts).
    admission: Callable | None = None


def import_sources(home: Home, paths: Iterable[Path] | None, *, keyring=None, workers: int | None = None,
                   batch: int | None = None, progress: Progress | None = None,
                   hooks: ImportHooks = ImportHooks()) -> ImportReport:
    """Import `paths` (or, with None, what waits in the incoming Maildir: `pli new`).  Without `hooks`,
    the store alone: pli.core.mail.receive.receive is the import with what follows a message's arrival."""
    layout = Layout(home)
    layout.require()
    config = load_store_config(home.config)
    progress = progress or Progress(None)
    with _import_lock(layout):
        _clean_tmp(layout)
        if paths is None:
            sources = list(maildir_sources(layout.incoming, consume=True))
        else:
            sources = list_sources(paths)
        if keyring is None and sources:
            keyring = _unlock(home)
        admit = hooks.admission(home) if hooks.admission is not None and sources else None
        context = WorkerContext(layout, keyring, config.quarantine_unsealed, hooks.tags, admit)
        writer = IndexWriter(layout, _seen_ranges(home, keyring), config.fsync, _journal(home, keyring))
        writer.recover_trace()  # the steps an interrupted import committed but did not write
        try:
            report = _run(context, writer, sources, workers or config.worker_count, batch or config.batch,
                          progress)
        except BaseException:
            writer.finish(raise_errors=False)  # what is committed gets its trace steps all the same
            raise
        writer.finish()
        if writer.journal is not None and hooks.after is not None:  # receipts: answer what asked, check answers
            report.receipts = hooks.after(home, keyring, writer.journal)
        return report


def _run(context: WorkerContext, writer: IndexWriter, sources: list[Source], workers: int,
         batch: int, progress: Progress) -> ImportReport:
    report = ImportReport()
    progress.start(len(sources))
    # Workers get small chunks (the writer starts early, the pipeline stays full); the writer
    # groups their results into transactions of `batch` messages.
    size = max(1, min(WORKER_CHUNK, batch))
    chunks = [sources[i:i + size] for i in range(0, len(sources), size)]
    set_context(context)
    if workers <= 1 or len(chunks) <= 1:
        _write_all(writer, ((prepare_chunk(chunk), True) for chunk in chunks), batch, report, progress)
    else:
        # fork: the workers inherit the unlocked keyring without it ever being pickled.
        with multiprocessing.get_context("fork").Pool(workers, initializer=_start_worker) as pool:
            results = _ordered(pool, chunks, workers * IN_FLIGHT_PER_WORKER)
            _write_all(writer, results, batch, report, progress)
    progress.finish()
    return report


def _ordered(pool, chunks: list[list[Source]], window: int):
    """(result, whether the next is ready) for the chunks in order, with at most `window`
    chunks queued at the workers."""
    pending: collections.deque = collections.deque()
    queue = iter(chunks)
    for chunk in queue:
        pending.append(pool.apply_async(prepare_chunk, (chunk,)))
        if len(pending) >= window:
            break
    while pending:
        result = pending.popleft().get()
        nxt = next(queue, None)
        if nxt is not None:
            pending.append(pool.apply_async(prepare_chunk, (nxt,)))
        yield result, not pending or pending[0].ready()


def _write_all(writer: IndexWriter, results, batch: int, report: ImportReport, progress: Progress) -> None:
    """Index the results in transactions of at most `batch` messages.

    A transaction also ends early when EARLY_WRITE messages wait and the next
    result is not ready: the writer indexes them rather than sit idle while the
    workers catch up.  Without it the writer waited for the first full batch at
    the start, and the workers had nothing left to do while it wrote the last.
    """
    waiting: list = []
    early = min(batch, EARLY_WRITE)
    for prepared, next_ready in results:
        waiting.extend(prepared)
        if len(waiting) >= batch or (len(waiting) >= early and not next_ready):
            _write(writer, waiting, report, progress)
            waiting = []
    if waiting:
        _write(writer, waiting, report, progress)


def _write(writer: IndexWriter, batch: list, report: ImportReport, progress: Progress) -> None:
    for outcome in writer.write_batch(batch):
        report.add(outcome)
    progress.advance(len(batch))


def _start_worker() -> None:
    _die_with_parent()
    # Workers run ahead of the writer (a window of chunks) and then wait for it, so the import
    # goes as fast as the writer does.  Sharing the cores equally, the writer got about two
    # thirds of one while the workers, often blocked on the window, left the machine partly idle.
    os.nice(WORKER_NICENESS)

    # The workers already spread the batch over every core: a native call that
    # started its own threads in each of them would only add switching.
    primitives.set_native_threads(1)


def _die_with_parent() -> None:
    """A worker must not outlive a killed import: it would hold the import lock and write
    stray tmp files.  Linux's PR_SET_PDEATHSIG has the kernel kill it with its parent."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # not Linux: workers end at their next read of the closed task pipe
    if os.getppid() == 1:  # the parent died before prctl ran
        os._exit(1)


@contextmanager
def _import_lock(layout: Layout):
    fd = os.open(layout.lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + LOCK_WAIT_SECONDS  # the workers of a killed run are ending
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise ImportBusy("another `pli import` or `pli new` is running on this store; "
                                     "wait for it to finish") from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)


def _clean_tmp(layout: Layout) -> None:
    """Tmp files left by a killed import (we hold the import lock: none is being written)."""
    for folder in [layout.folder(f) / "tmp" for f in FOLDERS] + [layout.sealed / ".tmp"]:
        if not folder.is_dir():
            continue
        for name in os.listdir(folder):
            if name.endswith(TMP_SUFFIX):
                os.unlink(folder / name)


def _unlock(home: Home):
    """The keyring, unlocked from PLI_PASSPHRASE_FILE or a prompt; None when this home has none
    (sealed mail is then left where it is, "not read (no-keyring)", never stored half-checked)."""
    return unlock(home) if Keyring.exists(home) else None


def _journal(home: Home, keyring):
    """The trace the import writes to (None without a keyring able to sign)."""
    if keyring is None or keyring.identity.sign_secret is None:
        return None
    return home_journal(home, keyring)


def _seen_ranges(home: Home, keyring):
    if keyring is None:
        return None
    return SeenRanges(home)
