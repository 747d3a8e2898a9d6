"""The store as readers see it: count and window a query, read a clear message, change tags.

Reads go through one read-only notmuch handle, reopened when it may be stale
(after our own tag change, after a concurrent import, once a second at most);
writes open the index read-write only for the time of one change, so that an
import and the TUI can share the store.
"""
from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

import notmuch2
from notmuch2 import _capi as capi

from pli.core.errors import PliError
from pli.core.home import Home
from pli.core.store import database
from pli.core.store.layout import FOLDERS, Layout
from pli.core.store.query import expand
from pli.core.store.summary import MessageSummary, key_of, summary_of

#: A read handle older than this is reopened before the next read, so new mail shows up.
STALE_AFTER_SECONDS = 1.0


class MessageNotFound(PliError):
    """No message with this id in the store."""


class BadQuery(PliError):
    """notmuch could not parse the query."""

    exit_code = 2


class Store:
    def __init__(self, layout: Layout, writable: bool):
        self.layout = layout
        self.writable = writable
        self._db: notmuch2.Database | None = None
        self._opened_at = 0.0

    @classmethod
    def open(cls, home: Home, writable: bool = False) -> "Store":
        layout = Layout(home)
        layout.require()
        store = cls(layout, writable)
        store._reader()  # fail now, not at the first read, if the index cannot be opened
        return store

    # -- reading ------------------------------------------------------------

    def _reader(self) -> notmuch2.Database:
        if self._db is None or time.monotonic() - self._opened_at > STALE_AFTER_SECONDS:
            self._reopen()
        return self._db

    def _reopen(self) -> None:
        if self._db is not None:
            self._db.close()
        self._db = database.open_read(self.layout)
        self._opened_at = time.monotonic()

    def _retrying(self, read):
        """Run a read; if a concurrent writer invalidated the handle, reopen and run it once more."""
        try:
            return read(self._reader())
        except notmuch2.QuerySyntaxError:
            raise
        except notmuch2.NotmuchError:
            self._reopen()
            return read(self._db)

    def count(self, query: str) -> int:
        query = expand(query)  # idempotent: an expanded query passes unchanged
        try:
            return self._retrying(lambda db: db.count_messages(query))
        except notmuch2.QuerySyntaxError:
            raise BadQuery(f"notmuch cannot parse the query {query!r}") from None

    def window(self, query: str, offset: int, limit: int) -> list[MessageSummary]:
        """Rows offset..offset+limit of the query, newest first.  Messages before the
        window are stepped over in C without being loaded."""
        if limit <= 0:
            return []
        query = expand(query)

        def read(db: notmuch2.Database) -> list[MessageSummary]:
            rows: list[MessageSummary] = []
            messages = db.messages(query, sort=notmuch2.Database.SORT.NEWEST_FIRST)
            iter_p = messages._iter_p
            for _ in range(offset):
                if not capi.lib.notmuch_messages_valid(iter_p):
                    return rows
                capi.lib.notmuch_messages_move_to_next(iter_p)
            for msg in messages:
                rows.append(summary_of(msg))
                if len(rows) >= limit:
                    break
            return rows

        try:
            return self._retrying(read)
        except notmuch2.QuerySyntaxError:
            raise BadQuery(f"notmuch cannot parse the query {query!r}") from None

    def summary(self, message_id: str) -> MessageSummary:
        def read(db):
            try:
                return summary_of(db.find(message_id))
            except LookupError:
                raise MessageNotFound(f"no message {message_id!r} in the store; "
                                      "`pli search` lists message ids") from None
        return self._retrying(read)

    def clear_path(self, message_id: str) -> Path:
        """The clear file of a message (found again by its key if a mail client renamed it)."""
        def read(db) -> tuple[list[str], str]:
            try:
                msg = db.find(message_id)
            except LookupError:
                raise MessageNotFound(f"no message {message_id!r} in the store; "
                                      "`pli search` lists message ids") from None
            paths = [str(p) for p in msg.filenames()]
            return paths, key_of(paths[0]) if paths else ""

        paths, key = self._retrying(read)
        for path in paths:
            if Path(path).is_file():
                return Path(path)
        for folder in FOLDERS:
            for sub in ("cur", "new"):
                for found in (self.layout.folder(folder) / sub).glob(f"{key}*" if key else "\0"):
                    return found
        raise MessageNotFound(f"the file of message {message_id!r} is gone from {self.layout.mail}; "
                              "run `notmuch new` to bring the index up to date")

    def read_clear(self, message_id: str) -> bytes:
        return self.clear_path(message_id).read_bytes()

    def all_tags(self) -> list[str]:
        return self._retrying(lambda db: sorted(str(t) for t in db.tags))

    # -- writing ------------------------------------------------------------

    def tag(self, message_ids: Iterable[str], add: Iterable[str] = (), remove: Iterable[str] = ()) -> int:
        """Add and remove tags on messages in one transaction; returns how many messages changed."""
        if not self.writable:
            raise PliError("this store was opened read-only; tags cannot be changed")
        add, remove = tuple(add), tuple(remove)
        changed = 0
        with database.open_write(self.layout) as db, db.atomic():
            for message_id in message_ids:
                try:
                    msg = db.find(message_id)
                except LookupError:
                    continue
                with msg.frozen():
                    for tag in remove:
                        msg.tags.discard(tag)
                    for tag in add:
                        msg.tags.add(tag)
                changed += 1
        self._opened_at = 0.0  # our change must show at the next read
        return changed

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def stored_message(reference: str, home: Home) -> bytes | None:
    """The clear message a command-line reference names (`ID`, `id:ID` or `<ID>`), or None when
    this home has no store or no such message: for commands that also take a file."""
    message_id = reference.strip().removeprefix("id:").strip("<>")
    layout = Layout(home)
    if not message_id or not layout.exists():
        return None
    try:
        with Store.open(home) as store:
            return store.read_clear(message_id)
    except MessageNotFound:
        return None
