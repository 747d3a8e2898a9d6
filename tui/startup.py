"""Reading the inbox's first screen while Textual is still being imported, and counting it after.

Importing Textual takes most of pli's start-up and holds one core; opening the
notmuch index and sorting the inbox's recent messages happen in C with the GIL
released.  So the launcher starts this read in a thread first, and the app
finds the first rows ready instead of waiting for them after its own start-up.
The first rows are what one screen needs (paging.FIRST_ROWS, read recent-first:
a week of mail, not the whole store); the total, which costs a pass over every
match (a third of a second at 1,000,000 messages), is counted once the first
screen is drawn (Prefetch.total, called from a worker thread of the list), so
that it does not compete with Textual's start-up for the two cores.  When the
index has not changed since the last run, the counts saved then (pli.tui.saved_counts)
are the inbox's total and the sidebar's figures, and nothing is counted.  The
first row's message is read for the preview too (its file while the store is
this thread's, then parsed and checked once the app has the store), so that the
first frame is the whole screen.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass


@dataclass
class FirstPage:
    store: object = None
    query: str = ""
    count: int | None = None     # None until counted (see Prefetch.total)
    rows: list | None = None
    error: BaseException | None = None
    saved: object = None         # saved_counts.SavedCounts of the index's revision, or None
    first_raw: bytes | None = None   # the first row's clear message, for the preview


class Prefetch(threading.Thread):
    def __init__(self, home, query: str, rows: int) -> None:
        super().__init__(name="pli-prefetch", daemon=True)
        self.home = home
        self.user_query = query
        self.rows = rows
        self.result = FirstPage()
        self._shown = threading.Event()
        self._previewed = threading.Event()
        self._preview = None   # (message id, ClearMessage) of the first row
        self._counting = threading.Lock()

    def run(self) -> None:
        try:
            self._read_first_rows()
        except BaseException as error:  # noqa: BLE001 - handed to the app, which shows it (or retries)
            self.result = FirstPage(error=error)
        finally:
            self._shown.set()
        try:
            self._read_preview()
        finally:
            self._previewed.set()

    def _read_first_rows(self) -> None:
        # start-up: imported in this thread, while the main thread imports Textual
        from pli.core.store.query import expand
        from pli.core.store.store import Store
        from pli.tui import saved_counts
        from pli.tui.paging import RecentFirst

        store = Store.open(self.home, writable=True)
        query = expand(self.user_query)
        saved = saved_counts.load(self.home, store.revision())
        rows = RecentFirst(store.window, time.time())(query, 0, self.rows)
        # fewer rows than asked: the recent-first read fell back to the whole query, so that is all of it
        count = len(rows) if len(rows) < self.rows else saved.get(query) if saved is not None else None
        try:
            raw = store.read_clear(rows[0].message_id) if rows else None
        except Exception:  # noqa: BLE001 - the preview then reads it itself, and says what is wrong
            raw = None
        self.result = FirstPage(store, query, count, rows, saved=saved, first_raw=raw)

    def _read_preview(self) -> None:
        """The first row as the preview shows it (no store used: the app has it now)."""
        result = self.result
        if result.first_raw is None:
            return
        # start-up: imported in this thread, while the main thread imports Textual
        from pli.core.mail import read

        summary = result.rows[0]
        try:
            self._preview = (summary.message_id, read.clear_message(result.first_raw, summary, self.home))
        except Exception:  # noqa: BLE001 - the preview then reads it itself, and says what is wrong
            self._preview = None

    def preview_of(self, summary, wait: float):
        """The first row's message read here (waiting at most `wait` seconds), once; else None."""
        self._previewed.wait(wait)
        found, self._preview = self._preview, None
        if found is not None and found[0] == summary.message_id:
            return found[1]
        return None

    def _count(self) -> None:
        """The total, on a handle of the calling thread's own: the app's store is the UI thread's."""
        result = self.result
        if result.error is not None or result.count is not None:
            return
        # start-up: imported in this thread, while the main thread imports Textual
        from pli.core.store.store import Store

        try:
            with Store.open(self.home) as store:
                result.count = store.count(result.query)
        except Exception:  # noqa: BLE001 - the list then counts for itself, and says what went wrong
            result.count = None

    def first_page(self) -> FirstPage:
        self._shown.wait()
        return self.result

    def total(self) -> int | None:
        """The query's count, counted now (call from a worker thread, once the first screen is
        drawn); None when it failed."""
        self._shown.wait()
        with self._counting:
            self._count()
        return self.result.count
