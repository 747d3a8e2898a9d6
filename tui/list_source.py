"""The message list's data source: the rows of one query, by pages, read off the UI thread.

Like toolong's LogFile and its LineReader: the list asks `row(index)` for each
line it draws and never waits for the index.  A row whose page is in memory
comes back at once; otherwise `LOADING` does (the list draws a placeholder),
the page is read on the source's own thread with its own index handle (a
notmuch handle serves one thread at a time), and the page is handed back on
the UI thread through `deliver`, which redraws.  Only `row_now` waits: for an
action on the row under the cursor (open, triage), which needs the message.

No Textual here: the list turns `deliver` into a message (posting one is safe
from any thread; Textual's call_from_thread would wait for the UI thread, which
may itself be waiting in `row_now` for this thread).
"""
from __future__ import annotations

import concurrent.futures
import threading
from collections import OrderedDict
from collections.abc import Callable

from pli.tui.paging import MESSAGES, PAGE, RecentFirst, Rows

#: What `row` returns for a row whose page is being read.
LOADING = object()

#: Pages kept in memory (200 rows each): the screens around the cursor, not the whole query.
KEPT_PAGES = 64


class _Reader:
    """The reading thread's own index handle and recent-first windows (one per kind of row)."""

    def __init__(self, home, now: float) -> None:
        self.home, self.now = home, now
        self._lock = threading.Lock()
        self._store = None
        self._reads: dict[Rows, RecentFirst] = {}

    def read(self, kind: Rows, query: str, offset: int, limit: int) -> list:
        with self._lock:
            if self._store is None:
                # start-up: imported in the reading thread, not before the first screen
                from pli.core.store.store import Store

                self._store = Store.open(self.home)
            if kind not in self._reads:
                self._reads[kind] = RecentFirst(getattr(self._store, kind.window), self.now)
            return self._reads[kind](query, offset, limit)

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None
                self._reads.clear()


class ListSource:
    """The pages of the list's query, read by one thread of its own (or, for a list with no home to
    open a handle of its own, by `store` on the caller's thread)."""

    #: Test hook: called on the reading thread before each page is read with its number (a slow
    #: index, in tests: tests/tui/test_list_source.py).
    before_read: Callable[[int], None] | None = None

    def __init__(self, home, now: float, deliver: Callable[..., None], store=None, page: int = PAGE) -> None:
        self.page = page
        self.query = ""
        self.kind = MESSAGES
        self.generation = 0            # bumped at every reset: a page read for an older query is dropped
        self.pending: set[int] = set()  # pages asked of the thread and not in yet
        self._deliver = deliver        # deliver(generation, page_no, rows or exception): from the thread
        self._reader = _Reader(home, now) if home is not None else None
        self._here: dict[Rows, RecentFirst] = {}
        self._store = store
        self._now = now
        self._pages: OrderedDict[int, list] = OrderedDict()
        self._short: set[int] = set()   # pages holding fewer rows than a page, with more to come
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._asked: dict[int, tuple[int, concurrent.futures.Future, int]] = {}  # page -> (generation, read, limit)

    # -- what the list asks -------------------------------------------------

    def reset(self, query: str, kind: Rows) -> None:
        """Another query, or the same one after its tags changed: every page is read again."""
        self.query, self.kind = query, kind
        self.generation += 1
        self._pages.clear()
        self._short.clear()
        self.pending.clear()
        self._asked.clear()

    def put(self, page_no: int, rows: list, *, short: bool = False) -> None:
        """A page read elsewhere (the launcher's first screen); short: more rows follow in it."""
        self._pages[page_no] = list(rows)
        self._pages.move_to_end(page_no)
        if short:
            self._short.add(page_no)
        else:
            self._short.discard(page_no)
        while len(self._pages) > KEPT_PAGES:
            dropped, _ = self._pages.popitem(last=False)
            self._short.discard(dropped)

    def has(self, page_no: int) -> bool:
        """The page is in memory, whole."""
        return page_no in self._pages and page_no not in self._short

    def page_rows(self, page_no: int) -> list | None:
        return self._pages.get(page_no)

    def row(self, index: int):
        """The row at `index`, LOADING while its page is read (asked now), None past the query's end."""
        page_no, at = divmod(index, self.page)
        page = self._pages.get(page_no)
        if page is not None and (at < len(page) or page_no not in self._short):
            self._pages.move_to_end(page_no)   # kept longest: the pages on screen
            return page[at] if at < len(page) else None
        self.request(page_no)
        page = self._pages.get(page_no)   # read here (no thread of its own): in already
        if page is not None and at < len(page):
            return page[at]
        return LOADING if page_no in self.pending else None

    def row_now(self, index: int):
        """The row at `index`, reading its page on this thread's behalf if it is not in (waits)."""
        found = self.row(index)
        if found is not LOADING:
            return found
        page_no, at = divmod(index, self.page)
        generation = self.generation
        query, kind = self.query, self.kind
        rows = self._submit(lambda: self._read(kind, query, page_no, self.page)).result()
        self.accept(generation, page_no, rows, self.page)
        page = self._pages.get(page_no) or []
        return page[at] if at < len(page) else None

    def request(self, page_no: int, limit: int | None = None) -> None:
        """Read a page (its first `limit` rows: the thread list's first screen) unless it is in or asked."""
        if self.has(page_no) or page_no in self.pending:
            return
        limit = limit or self.page
        if self._reader is None:
            self.accept(self.generation, page_no, self._read(self.kind, self.query, page_no, limit), limit)
            return
        self.pending.add(page_no)
        generation, query, kind = self.generation, self.query, self.kind
        self._asked[page_no] = (generation, self._submit(
            lambda: self._read_for(generation, kind, query, page_no, limit)), limit)

    def settle(self, page_nos, seconds: float) -> None:
        """Wait at most `seconds` in all for pages asked of the thread, and keep those read by then:
        a list redrawn after a triage action or a search then shows its rows in the same frame
        instead of a frame of placeholders, and a slow index still never holds the keys for long."""
        import time

        deadline = time.monotonic() + seconds
        for page_no in page_nos:
            generation, future, limit = self._asked.get(page_no, (None, None, 0))
            if future is None:
                continue
            try:
                rows = future.result(max(0.0, deadline - time.monotonic()))
            except concurrent.futures.TimeoutError:
                return
            if rows is not None:
                self.accept(generation, page_no, rows, limit)

    def accept(self, generation: int, page_no: int, rows, limit: int) -> bool:
        """A page read (on the UI thread): kept unless the query changed since it was asked.  An
        error is raised here, where the list reports it; the page is then empty, not asked again."""
        if generation != self.generation:
            return False
        self.pending.discard(page_no)
        self._asked.pop(page_no, None)
        if isinstance(rows, BaseException):
            self.put(page_no, [])
            raise rows
        if self.has(page_no):
            return False
        self.put(page_no, rows, short=limit < self.page and len(rows) >= limit)
        return True

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        if self._reader is not None:
            self._reader.close()

    # -- reading ------------------------------------------------------------

    def _submit(self, call) -> concurrent.futures.Future:
        if self._pool is None:
            self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="pli-list")
        return self._pool.submit(call)

    def _read(self, kind: Rows, query: str, page_no: int, limit: int) -> list:
        offset = page_no * self.page
        if self._reader is not None:
            if self.before_read is not None:
                self.before_read(page_no)
            return self._reader.read(kind, query, offset, limit)
        if kind not in self._here:
            self._here[kind] = RecentFirst(getattr(self._store, kind.window), self._now)
        return self._here[kind](query, offset, limit)

    def _read_for(self, generation: int, kind: Rows, query: str, page_no: int, limit: int):
        if generation != self.generation:
            return None   # asked for a query shown no more
        try:
            rows = self._read(kind, query, page_no, limit)
        except Exception as error:  # noqa: BLE001 - handed to the UI thread, which reports it
            rows = error
        self._deliver(generation, page_no, rows, limit)
        return rows
