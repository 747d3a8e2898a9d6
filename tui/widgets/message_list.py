"""The message list: a virtualized view of one notmuch query, asking the store only for what is on screen.

Like toolong's LogLines, this is a ScrollView whose `render_line(y)` builds one
row at a time.  Rows come from its data source (pli.tui.list_source, toolong's
LogFile and LineReader): pages of `store.window(query, offset, limit)` read on a
thread of their own, so that drawing never waits for the index (a row whose page
is not in yet is drawn as a dim placeholder, and redrawn when the page comes).
Rendered strips live in an LRU cache: a 1,000,000-message query costs a count and
a page, never the whole result.
"""
from __future__ import annotations

import concurrent.futures
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from pli.core import vocab
from pli.tui.dates import short_date
from pli.tui.list_source import LOADING, ListSource
from pli.tui.paging import FIRST_ROWS, MESSAGES, PAGE, THREADS, Rows

#: Tags the columns already show (or that are noise in a list); the tag column shows the rest.
SHOWN_ELSEWHERE = frozenset({vocab.INBOX, vocab.UNREAD, vocab.LAB, vocab.VERIFIED, vocab.CRITICAL, vocab.ABNORMAL,
                             "attachment", "signed", "encrypted", vocab.SEALED, vocab.REPLIED, vocab.SENT})


class RowSource(Protocol):
    """What the list needs from the store (pli.core.store.Store satisfies it)."""

    def count(self, query: str) -> int: ...

    def window(self, query: str, offset: int, limit: int) -> list: ...

    def thread_window(self, query: str, offset: int, limit: int) -> list: ...


def row_id(summary) -> str:
    """What identifies a row: its thread in the thread list, else its message."""
    return getattr(summary, "thread_id", None) or summary.message_id


def message_of(summary):
    """The message a row stands for when one is needed (preview, reply): a thread's newest match."""
    return getattr(summary, "newest", summary)


@dataclass(frozen=True)
class Columns:
    """Cell widths of the columns for one list width (0 hides a column)."""

    date: int
    sender: int
    patient: int
    subject: int
    lab: int
    tags: int

    @classmethod
    def for_width(cls, width: int) -> "Columns":
        """Wide: every column.  Narrow (80x24 over SSH): the lab summary replaces the subject when
        there is one (for a lab report it is the informative part), and tags go."""
        if width >= 140:
            date, sender, patient, lab, tags = 8, 20, 20, 26, 16
        elif width >= 96:
            date, sender, patient, lab, tags = 8, 16, 16, 22, 10
        else:
            date, sender, patient, lab, tags = 6, 12, 14, 0, 0
        spaces = 3 + (lab > 0) + (tags > 0)
        fixed = 4 + date + sender + patient + lab + tags + spaces + 1  # 4: marks
        return cls(date, sender, patient, max(8, width - fixed), lab, tags)


def fit(text: str, width: int) -> str:
    """Cut or pad to exactly `width` cells (an ellipsis marks a cut)."""
    if width <= 0:
        return ""
    if len(text) > width:
        return text[: width - 1] + "…"
    return text.ljust(width)


#: Tags saying pli could not read a lab report wholly, or could not tell whose it is: the row's
#: mark warns, before an abnormal one (what was not read may be worse), after a critical one.
WARNING_TAGS = frozenset({vocab.LAB_UNREADABLE, vocab.LAB_INCOMPLETE, vocab.PATIENT_UNCERTAIN})


def severity_of(tags: frozenset) -> str:
    if vocab.CRITICAL in tags:
        return vocab.CRITICAL
    if not WARNING_TAGS.isdisjoint(tags):
        return "warning"
    if vocab.ABNORMAL in tags:
        return vocab.ABNORMAL
    return "normal"


#: A symbol per severity, so that the list reads without colour (monochrome, colour-blind).
SEVERITY_MARK = {"critical": "‼", "warning": "⚠", "abnormal": "!", "normal": " "}


#: How long a search or a triage action waits for its count before drawing without it
#: (the count of a whole 1,000,000-message inbox takes a third of a second).
COUNT_WAIT = 0.05


class Counter:
    """Counts a query on a thread of its own, with a fresh index handle each time (fresh: it must
    see the tag change just made on the UI thread's handle)."""

    def __init__(self) -> None:
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None

    def submit(self, home, query: str) -> concurrent.futures.Future:
        if self._pool is None:
            self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="pli-count")
        return self._pool.submit(_count, home, query)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)


def _count(home, query: str) -> int:
    # start-up: imported in the worker thread that opens the store, not before the first screen
    from pli.core.store.store import Store

    with Store.open(home) as store:
        return store.count(query)


class MessageList(ScrollView, can_focus=True, inherit_bindings=False):
    """The rows of one query, newest first, with a cursor and a selection."""

    BINDINGS = [
        Binding("down,j", "cursor_down", "Next", show=False, id="list.down"),
        Binding("up,k", "cursor_up", "Previous", show=False, id="list.up"),
        Binding("home,g", "first", "First", show=False, id="list.first"),
        Binding("end,G", "last", "Last", show=False, id="list.last"),
        Binding("pagedown,ctrl+f", "page_down", "Page down", show=False, id="list.page_down"),
        Binding("pageup,ctrl+b", "page_up", "Page up", show=False, id="list.page_up"),
        Binding("enter", "open", "Open", id="list.open"),
        Binding("space,v", "toggle_select", "Select", id="list.select"),
    ]

    COMPONENT_CLASSES = {
        "message-list--cursor",
        "message-list--selected",
        "message-list--unread",
        "message-list--critical",
        "message-list--abnormal",
        "message-list--warning",
        "message-list--unverified",
        "message-list--dim",
    }

    cursor: reactive[int] = reactive(0, repaint=False)

    class Highlighted(Message):
        """The cursor moved onto a message (None when the list is empty)."""

        def __init__(self, summary) -> None:
            self.summary = summary
            super().__init__()

    class Opened(Message):
        def __init__(self, summary) -> None:
            self.summary = summary
            super().__init__()

    class PageRead(Message):
        """A page of rows read by the data source's thread (or why it could not be read)."""

        def __init__(self, generation: int, page_no: int, rows, limit: int) -> None:
            self.generation, self.page_no, self.rows, self.limit = generation, page_no, rows, limit
            super().__init__()

    def __init__(self, source: RowSource, now: datetime, *, id: str | None = None,
                 first_page: tuple | None = None) -> None:
        super().__init__(id=id)
        self.source = source
        self.now = now
        self.rows = MESSAGES      # or THREADS (toggle_threads)
        self._data: ListSource | None = None   # the pages (made at first use: it needs the app's home)
        self.query_text = ""
        # (query, count or None, rows[, a blocking call that returns the count]) read while the app started
        self._first_page = first_page
        self.total = 0            # rows the list can show (in the thread list: those found so far, and a page)
        self.matches = 0          # the query's messages (the title's count)
        self.counting = False     # matches (and total) provisional: the query is being counted in a thread
        self._rows_end = False    # thread list: its last row was read (a short page)
        self._generation = 0      # bumped at every show/reload: a late count for an older one is dropped
        self._counter = Counter()
        self._keep: str | None = None   # show_rows: the message the cursor stays on once page 0 is in
        self.selected: dict[str, object] = {}  # row id -> summary, kept for triage's undo
        self._strips: LRUCache[tuple, Strip] = LRUCache(maxsize=512)

    # -- data ---------------------------------------------------------------

    @property
    def data(self) -> ListSource:
        """The data source: pages read on its own thread with its own index handle when the app has a
        home to open one from; else (a bare test app) by `source` on the UI thread."""
        if self._data is None:
            home = getattr(self.app, "home", None)
            self._data = ListSource(home, self.now.timestamp(),
                                    lambda *page: self.post_message(self.PageRead(*page)),
                                    store=self.source if home is None else None, page=PAGE)
        return self._data

    def on_message_list_page_read(self, event: "MessageList.PageRead") -> None:
        event.stop()
        try:
            kept = self.data.accept(event.generation, event.page_no, event.rows, event.limit)
        except Exception as error:  # noqa: BLE001 - shown as the app shows a failed store action
            self.app.attempt("List", _raise, error)
            kept = True
        if kept:
            self._page_in(event.page_no, self.data.page_rows(event.page_no) or [], event.limit)

    def _page_in(self, page_no: int, rows: list, limit: int) -> None:
        """A page came in: the list grows (thread list, or a count still running), its rows are redrawn,
        and the preview follows the cursor when it was on one of them."""
        start = page_no * PAGE
        if self.rows.open_ended:
            self._grow(start + len(rows), len(rows) >= limit)
        elif self.counting and start + len(rows) > self.total:
            self.total = start + len(rows)   # provisional: the count says how many once it is in
            self.virtual_size = Size(self.scrollable_content_region.width, self.total)
        if page_no == 0 and self._keep is not None:
            self._cursor_onto(self._keep, rows)
        self.refresh()
        if start <= self.cursor < start + PAGE:
            self._announce()
        self._read_ahead()

    def _count_now(self, query: str) -> int:
        return self.source.count(query)

    @property
    def threaded(self) -> bool:
        return self.rows is THREADS

    def show_rows(self, rows: Rows) -> None:
        """Show the same query as messages or as threads, the cursor on the row holding the message it
        was on when that row is among the first page's (a query the store refuses raises)."""
        was = self.data.row(self.cursor) if self.total else None
        self.rows = rows
        self.show_query(self.query_text)
        if was is None or was is LOADING:
            return
        self._keep = message_of(was).message_id
        page = self.data.page_rows(0)
        if page is not None:
            self._cursor_onto(self._keep, page)

    def _cursor_onto(self, message_id: str, rows: list) -> None:
        self._keep = None
        for index, row in enumerate(rows):
            if any(m.message_id == message_id for m in getattr(row, "messages", (row,))):
                self.cursor = index
                return

    def show_query(self, query: str) -> bool:
        """Show another query from its top (a query the store refuses raises and changes nothing)."""
        if self.rows.open_ended:
            return self._show_open_ended(query)
        first, self._first_page = self._first_page, None
        rows = wait_total = None
        if first and first[0] == query and self.rows is MESSAGES:
            total, rows = first[1], first[2]
            wait_total = first[3] if len(first) > 3 else None
            if total is None and wait_total is None:
                total = self._count_now(query)
        else:
            total, wait_total = self._count_soon(query)
        self.query_text = query
        self.selected.clear()
        self.set_reactive(MessageList.cursor, 0)   # not clamped to the new total: that read a page for nothing
        # still counting: the first page says how many rows to draw meanwhile (_page_in)
        self.reload(len(rows or ()) if total is None else total, refill=False)
        if rows is not None:
            self.data.put(0, rows, short=len(rows) < PAGE)
        else:
            self._refill({0})
        self._from_the_top(wait_total if total is None else None)
        return True

    def _from_the_top(self, wait_count) -> None:
        """A query just shown: counted after the first frame when the count was not ready (a count
        of the whole inbox must not compete with drawing it); the cursor on its first row."""
        if wait_count is not None:
            self.counting = True
            self.call_after_refresh(self._count_later, wait_count, self._generation)
        self.cursor = 0
        self.scroll_to(y=0, animate=False, immediate=True)
        self._announce()

    def _show_open_ended(self, query: str) -> bool:
        """The thread list: its first screen's threads now, the rest of the page in the read-ahead
        thread, and more as the list is paged; never a count of the threads (a pass over every
        message of the query: 13 s at 1,000,000).  The title counts messages, as alot's does."""
        self._first_page = None
        height = self.scrollable_content_region.height   # threads cost ~1 ms each: what shows, first
        first = min(FIRST_ROWS, height + 1) if height else FIRST_ROWS
        count, wait_count = self._count_soon(query)
        self.query_text = query
        self.selected.clear()
        self.total = 0
        self.set_reactive(MessageList.cursor, 0)
        self.reload(count, refill=False)
        self._refill({0}, first)   # the rest of the page: read ahead once these are in (_page_in)
        self._from_the_top(wait_count)
        return True

    def _count_soon(self, query: str):
        """(count, None) when the query is counted within COUNT_WAIT seconds (an error in it is raised
        here, as from the store); else (None, a blocking call giving the count when it is done)."""
        home = getattr(self.app, "home", None)
        if home is None:
            return self._count_now(query), None
        future = self._counter.submit(home, query)
        try:
            return future.result(timeout=COUNT_WAIT), None
        except concurrent.futures.TimeoutError:
            return None, future.result

    def _count_later(self, wait_total, generation: int | None = None) -> None:
        if generation is None:
            generation = self._generation
        elif generation != self._generation:
            return  # reloaded (and counted) before the first frame
        self.counting = True
        self.run_worker(lambda: self._wait_total(wait_total, generation), thread=True,
                        group="list-total", exclusive=True, exit_on_error=False)

    def _wait_total(self, wait_total, generation: int) -> None:
        try:
            total = wait_total()
        except Exception:  # noqa: BLE001 - counted again on the UI thread, which shows the error
            total = None
        self.app.call_from_thread(self._counted, total, generation)

    def _counted(self, total: int | None, generation: int) -> None:
        if generation != self._generation:
            return  # the list was reloaded (and counted) meanwhile
        if total is None:  # the count thread failed: count here, where an error is shown
            self.app.attempt("Count", lambda: self.reload(self._count_now(self.query_text)))
            self._announce()
            return
        self.counting = False
        self.matches = total
        if not self.rows.open_ended:
            self.total = total
            self.virtual_size = Size(self.scrollable_content_region.width, self.total)
            self.refresh()
        self._announce()
        self._read_ahead()   # the rest of the first screen's page, before a page-down asks for it

    @property
    def total_label(self) -> str:
        """The count as the title shows it ("…" while it is being counted)."""
        return "…" if self.counting else f"{self.matches:,}"

    def _grow(self, known: int, full: bool) -> None:
        """The thread list reaches one page past the rows read so far (`known`, the last page `full`),
        so that paging on never waits; a page shorter than asked is the end: the total is exact."""
        if not self.rows.open_ended or self._rows_end:
            return
        if full:
            total = max(self.total, known + PAGE)
        else:
            total, self._rows_end = known, True
        if total != self.total:
            self.total = total
            self.virtual_size = Size(self.scrollable_content_region.width, self.total)
            if self.total and self.cursor >= self.total:
                self.cursor = self.total - 1
            self.refresh()

    def _refill(self, page_nos: set[int], limit: int | None = None) -> None:
        """Ask for the pages on screen, waiting for them as long as for a count (COUNT_WAIT) so that
        a quick index draws them in this frame; a slow one shows placeholders meanwhile."""
        for page_no in sorted(page_nos):
            self.data.request(page_no, limit)
        self.data.settle(sorted(page_nos), COUNT_WAIT)
        for page_no in sorted(page_nos):
            rows = self.data.page_rows(page_no)
            if rows is not None:
                self._page_in(page_no, rows, limit or PAGE)

    def reload(self, total: int | None = None, refill: bool = True) -> None:
        """Forget cached rows (tags changed): recount and redraw, keeping the cursor's place."""
        self.data.reset(self.query_text, self.rows)
        self._strips.clear()
        wait_total = None
        if total is None and self.query_text:
            total, wait_total = self._count_soon(self.query_text)
        self._generation += 1
        self.counting = False
        self._rows_end = False
        if total is not None or not self.query_text:
            self.matches = total or 0
            if not self.rows.open_ended:   # the thread list finds its rows again as they are read
                self.total = self.matches
        # else: the old total meanwhile (the cursor keeps its place), "…" in the title until the count
        self.virtual_size = Size(self.scrollable_content_region.width, self.total)
        if self.total and self.cursor >= self.total:
            self.cursor = self.total - 1
        self.refresh()
        if refill and self.query_text and self.total:
            self._refill({self.scroll_offset.y // PAGE, self.cursor // PAGE})
        if wait_total is not None:
            self._count_later(wait_total)

    def summary_at(self, index: int):
        """The row at `index`, read now if its page is not in (an action on it needs it: open, triage)."""
        if not 0 <= index < self.total:
            return None
        return self.data.row_now(index)

    def row_at(self, index: int):
        """The row at `index` without waiting: LOADING while its page is read (drawing, the preview)."""
        if not 0 <= index < self.total:
            return None
        return self.data.row(index)

    @property
    def current(self):
        return self.summary_at(self.cursor)

    def targets(self) -> list:
        """The messages an action applies to: the selection, else the row under the cursor (a thread:
        each of its messages, so that triage acts on the thread and undo restores each one)."""
        rows = list(self.selected.values())
        if not rows and self.current is not None:
            rows = [self.current]
        return [m for row in rows for m in getattr(row, "messages", (row,))]

    # -- rendering ----------------------------------------------------------

    def on_resize(self) -> None:
        self._strips.clear()
        self.virtual_size = Size(self.scrollable_content_region.width, self.total)

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    def render_line(self, y: int) -> Strip:
        index = self.scroll_offset.y + y
        width = self.scrollable_content_region.width
        summary = self.row_at(index)
        if summary is None:
            return Strip.blank(width, self.rich_style)
        is_cursor = index == self.cursor
        if summary is LOADING:
            return self._placeholder(is_cursor, width)
        is_selected = row_id(summary) in self.selected
        key = (index, row_id(summary), summary.message_id, summary.tags, is_cursor, is_selected, width)
        strip = self._strips.get(key)
        if strip is None:
            strip = self._render_row(summary, is_cursor, is_selected, width)
            self._strips[key] = strip
        return strip

    def _placeholder(self, is_cursor: bool, width: int) -> Strip:
        """A row whose page is being read: a dim "…" (redrawn when the page is in)."""
        key = ("loading", is_cursor, width)
        strip = self._strips.get(key)
        if strip is None:
            base = self.rich_style
            if is_cursor:
                base += self.get_component_rich_style("message-list--cursor")
            dim = base + self.get_component_rich_style("message-list--dim")
            strip = Strip([Segment("    …", dim)]).adjust_cell_length(width, base)
            self._strips[key] = strip
        return strip

    def _render_row(self, summary, is_cursor: bool, is_selected: bool, width: int) -> Strip:
        cols = Columns.for_width(width)
        severity = severity_of(summary.tags)
        base = self.rich_style
        if vocab.UNREAD in summary.tags:
            base += self.get_component_rich_style("message-list--unread")
        if is_selected:
            base += self.get_component_rich_style("message-list--selected")
        if is_cursor:
            base += self.get_component_rich_style("message-list--cursor")
        sev_style = base
        if severity != "normal":
            sev_style = base + self.get_component_rich_style(f"message-list--{severity}")
        dim = base + self.get_component_rich_style("message-list--dim")
        extra_tags = " ".join(sorted(t for t in summary.tags
                                     if t not in SHOWN_ELSEWHERE and not t.startswith("patient:")))
        # MSSanté mail is its own tier (◆, docs/MSSANTE.md): neither pli's ✓ nor a failed check's ✗
        verified = "✓" if summary.verified else "◆" if vocab.MSSANTE in summary.tags else "✗"
        ver_style = dim if summary.verified else base + self.get_component_rich_style(
            "message-list--unverified")
        segments = [
            Segment("●" if is_selected else " ", base),
            Segment(SEVERITY_MARK[severity], sev_style),
            Segment(verified + " ", ver_style),
            Segment(fit(short_date(summary.date, self.now, cols.date), cols.date) + " ", dim),
            Segment(fit(summary.sender or "", cols.sender) + " ", base),
            Segment(fit(summary.patient or "", cols.patient) + " ", base),
        ]
        count = getattr(summary, "count", 1)
        size = f"({count}) " if count > 1 else ""   # a thread's messages, before what it is about
        if cols.lab:
            segments.append(Segment(fit(size + (summary.subject or ""), cols.subject) + " ", base))
            segments.append(Segment(fit(summary.lab_summary or "", cols.lab) + " ", sev_style))
        elif summary.lab_summary:
            segments.append(Segment(fit(size + summary.lab_summary, cols.subject) + " ", sev_style))
        else:
            segments.append(Segment(fit(size + (summary.subject or ""), cols.subject) + " ", base))
        if cols.tags:
            segments.append(Segment(fit(extra_tags, cols.tags) + " ", dim))
        return Strip(segments).adjust_cell_length(width, base)

    # -- cursor -------------------------------------------------------------

    def watch_cursor(self, old: int, new: int) -> None:
        self.refresh_line(old)
        self.refresh_line(new)
        self._scroll_to_cursor()
        self._announce()
        self._read_ahead()

    # -- read-ahead: the next page is read in a thread before a page-down needs it --------------------

    def _read_ahead(self) -> None:
        """When the screen's bottom nears the end of a page, read the next one off the UI thread
        (200 summaries: tens of milliseconds a page-down would otherwise wait for)."""
        if not self.query_text or (self.counting and not self.rows.open_ended):
            return
        height = self.scrollable_content_region.height or 1
        # a page of threads takes three times a page of messages to read: start it half a page ahead
        ahead = max(2 * height, PAGE // 2) if self.rows.open_ended else 2 * height
        page_no = (self.scroll_offset.y + ahead) // PAGE
        if page_no * PAGE < self.total:
            self.data.request(page_no)

    def on_unmount(self) -> None:
        if self._data is not None:
            self._data.close()
        self._counter.close()

    def validate_cursor(self, value: int) -> int:
        return max(0, min(value, self.total - 1)) if self.total else 0

    def _scroll_to_cursor(self) -> None:
        height = self.scrollable_content_region.height or 1
        top = self.scroll_offset.y
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    def _announce(self) -> None:
        """The preview follows the cursor; a row still being read is announced when its page is in."""
        summary = self.row_at(self.cursor)
        if summary is not LOADING:
            self.post_message(self.Highlighted(summary))

    def _page(self) -> int:
        return max(1, self.scrollable_content_region.height - 1)

    def action_cursor_down(self) -> None:
        self.cursor += 1

    def action_cursor_up(self) -> None:
        self.cursor -= 1

    def action_first(self) -> None:
        self.cursor = 0

    def action_last(self) -> None:
        self.cursor = self.total - 1

    def action_page_down(self) -> None:
        step = self._page()
        self.scroll_to(y=self.scroll_offset.y + step, animate=False, immediate=True)
        self.cursor += step

    def action_page_up(self) -> None:
        step = self._page()
        self.scroll_to(y=self.scroll_offset.y - step, animate=False, immediate=True)
        self.cursor -= step

    def action_open(self) -> None:
        summary = self.current
        if summary is not None:
            self.post_message(self.Opened(summary))

    def action_toggle_select(self) -> None:
        summary = self.current
        if summary is None:
            return
        if self.selected.pop(row_id(summary), None) is None:
            self.selected[row_id(summary)] = summary
        self.refresh_line(self.cursor)
        self.cursor += 1

    def clear_selection(self) -> None:
        self.selected.clear()
        self._strips.clear()
        self.refresh()

    def on_click(self, event) -> None:
        self.cursor = self.scroll_offset.y + event.y


def _raise(error: BaseException):
    raise error
