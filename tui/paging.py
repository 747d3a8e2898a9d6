"""How the message list reads a query's rows: by pages, newest first, from the recent messages first.

No Textual here: the launcher uses it before Textual is imported.

notmuch sorts every match of a query before it returns the first one (a
1,000,000-message inbox costs a second per sort), whatever the window's size.
The rows of a newest-first list that lie within the last week are the same
rows, in the same order, as the first rows of the same query restricted to
that week (`and date:@T..`): so a window is read from the query restricted to
the last week, then month, then year, and only then from the whole query,
stopping at the first one that fills it.  The inbox's first screens cost a
sort of one week of mail, however large the store.  A page of several screens
makes most page-downs free (the store continues the previous page's iterator).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

PAGE = 200
FIRST_ROWS = 64        # what the first screen needs (a 60-line terminal), read before Textual is up
RECENT_DAYS = (7, 31, 366)

Window = Callable[[str, int, int], list]


@dataclass(frozen=True)
class Rows:
    """What a list shows of a query, named by the Store method that reads it (both count messages)."""

    window: str        # Store method (query, offset, limit) -> rows, newest first
    open_ended: bool   # the rows are not counted (threads: that is a pass over every message of
                       # the query, 13 s at 1,000,000): the list grows a page at a time as it is read


MESSAGES = Rows("window", open_ended=False)
THREADS = Rows("thread_window", open_ended=True)


def since(query: str, epoch: int) -> str:
    """The query restricted to messages dated from `epoch` on (notmuch's date:@SECONDS.. range)."""
    return f"({query}) and date:@{epoch}.."


class RecentFirst:
    """Store.window, read from the recent messages first.

    Once a span is too short for some offset it is too short for every later one: the list
    pages on in the widest span needed so far (the store continues its iterator), never
    trying the narrower spans again until the query changes.
    """

    def __init__(self, window: Window, now: float) -> None:
        self.window = window
        self.now = int(now)
        self._query = ""
        self._narrowest = 0   # index in RECENT_DAYS of the first span still worth trying

    def __call__(self, query: str, offset: int, limit: int) -> list:
        """Rows offset..offset+limit of `query`, newest first."""
        if query != self._query:
            self._query, self._narrowest = query, 0
        while self._narrowest < len(RECENT_DAYS):
            days = RECENT_DAYS[self._narrowest]
            rows = self.window(since(query, self.now - days * 86400), offset, limit)
            if len(rows) >= limit:
                return rows
            self._narrowest += 1
        return self.window(query, offset, limit)
