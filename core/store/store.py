"""The store as readers see it: count and window a query, read a clear message, change tags.

Reads go through one read-only notmuch handle, reopened only when the index
changed (a commit rewrites Xapian's `iamglass`: one stat per read tells); writes
open the index read-write only for the time of one change, so that an import
and the TUI can share the store.  Paging forward through a query continues the
previous window's notmuch iterator instead of running the query again: the
sort over every match is paid once per query, not once per page.
"""
from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import notmuch2
from notmuch2 import _capi as capi

from pli.core import vocab
from pli.core.durable import write_atomic
from pli.core.errors import PliError
from pli.core.home import Home
from pli.core.store import database, headers
from pli.core.store.layout import FOLDERS, Layout
from pli.core.store.query import expand
from pli.core.store.summary import MessageSummary, key_of, summary_of
from pli.core.store.threads import ThreadEntry, ThreadSummary, thread_entries, thread_summary



@dataclass(frozen=True)
class SentFacts:
    """What the store keeps of a mail we sealed, beside its clear copy (Store.add_sent)."""

    sender: str                     # the inner From
    mode: str                       # "otp" | "stream"; "mssante" for a copy kept by add_sent_unsealed
    envelope_id: str                # hex of the envelope's message id ("" when nothing was sealed)
    recipients: tuple[str, ...]     # as sealed (groups expanded)
    tags: tuple[str, ...] = ()      # more tags (`note` for a note)


class MessageNotFound(PliError):
    """No message with this id in the store."""


class BadQuery(PliError):
    """notmuch could not parse the query."""

    exit_code = 2

    @classmethod
    def of(cls, query: str) -> "BadQuery":
        return cls(f"notmuch cannot parse the query {query!r}; check its quotes, parentheses and "
                   "dates (`pli search --help` lists pli's shortcuts)")


class Store:
    def __init__(self, layout: Layout, writable: bool):
        self.layout = layout
        self.writable = writable
        self._db: notmuch2.Database | None = None
        self._stamp: int | None = None
        self._cursor: _Cursor | None = None

    @classmethod
    def open(cls, home: Home, writable: bool = False) -> "Store":
        layout = Layout(home)
        layout.require()
        store = cls(layout, writable)
        store._reader()  # fail now, not at the first read, if the index cannot be opened
        return store

    # -- reading ------------------------------------------------------------

    def _reader(self) -> notmuch2.Database:
        if self._db is None or self._index_stamp() != self._stamp:
            self._reopen()
        return self._db

    def _index_stamp(self) -> int | None:
        try:
            return os.stat(self.layout.index / "xapian" / "iamglass").st_mtime_ns
        except OSError:
            return None  # another Xapian backend: reopen at every read, always correct

    def _reopen(self) -> None:
        self._cursor = None  # its iterator belongs to the old handle
        if self._db is not None:
            self._db.close()
        self._stamp = self._index_stamp()
        self._db = database.open_read(self.layout)

    def _retrying(self, read):
        """Run a read; if a concurrent writer invalidated the handle, reopen and run it once more."""
        try:
            return read(self._reader())
        except notmuch2.QuerySyntaxError:
            raise
        except notmuch2.NotmuchError:
            self._reopen()
            return read(self._db)

    def revision(self) -> tuple[int, str]:
        """The index's committed revision and its uuid: any tag change or new message raises it, so two
        equal revisions mean the same counts (a cache of counts is valid while it is unchanged)."""
        rev = self._retrying(lambda db: db.revision())
        uuid = rev.uuid.decode("ascii", "replace") if isinstance(rev.uuid, bytes) else str(rev.uuid)
        return rev.rev, uuid

    def count(self, query: str) -> int:
        query = expand(query)  # idempotent: an expanded query passes unchanged
        try:
            return self._retrying(lambda db: db.count_messages(query))
        except notmuch2.NotmuchError as error:
            raise self._query_error(query, error) from None

    def window(self, query: str, offset: int, limit: int) -> list[MessageSummary]:
        """Rows offset..offset+limit of the query, newest first.  Messages before the
        window are stepped over in C without being loaded."""
        return self._paged(_Cursor, query, offset, limit)

    def thread_window(self, query: str, offset: int, limit: int) -> list[ThreadSummary]:
        """Threads offset..offset+limit of the query, newest first (by their newest matched message).
        Paging forward continues the previous window's iterator: a thread skipped is a thread built."""
        return self._paged(_ThreadCursor, query, offset, limit)

    def _paged(self, kind, query: str, offset: int, limit: int) -> list:
        """A window read through the store's one live cursor of `kind` (_Cursor or _ThreadCursor),
        continued when it is the same query further on, else opened anew."""
        if limit <= 0:
            return []
        query = expand(query)

        def read(db: notmuch2.Database) -> list:
            cursor = self._cursor
            if not isinstance(cursor, kind) or cursor.db is not db or cursor.query != query \
                    or offset < cursor.position:
                cursor = kind.open(db, query)
            self._cursor = None  # until the read completes
            rows = cursor.read(offset, limit)
            self._cursor = cursor
            return rows

        try:
            return self._retrying(read)
        except notmuch2.NotmuchError as error:
            raise self._query_error(query, error) from None

    def thread(self, thread_id: str) -> list[ThreadEntry]:
        """Every message of one thread, in reply order (what the thread view shows)."""
        def read(db: notmuch2.Database) -> list[ThreadEntry]:
            for thread in db.threads(f"thread:{thread_id}"):
                return thread_entries(thread)
            return []

        entries = self._retrying(read)
        if not entries:
            raise MessageNotFound(f"no thread {thread_id!r} in the store (its messages were deleted?)")
        return entries

    def message_ids(self, query: str) -> list[str]:
        """The Message-IDs of every match, newest first: for acting on all of a query
        (an export of thousands) without building a summary of each."""
        query = expand(query)

        def read(db: notmuch2.Database) -> list[str]:
            return [message.messageid for message in
                    db.messages(query, sort=notmuch2.Database.SORT.NEWEST_FIRST)]

        try:
            return self._retrying(read)
        except notmuch2.NotmuchError as error:
            raise self._query_error(query, error) from None

    def _query_error(self, query: str, error: notmuch2.NotmuchError) -> Exception:
        """What a failed query read raises: BadQuery when the query is to blame.  notmuch reports
        most syntax errors ("tag:lab and", "date:soon..") as a Xapian exception, as it would a
        damaged index: the query is to blame when the same handle still answers the match-all query."""
        if isinstance(error, notmuch2.QuerySyntaxError):
            return BadQuery.of(query)
        if isinstance(error, notmuch2.XapianError):
            try:
                self._db.count_messages("*")
            except notmuch2.NotmuchError:
                return error
            return BadQuery.of(query)
        return error

    def summary(self, message_id: str) -> MessageSummary:
        def read(db):
            try:
                return summary_of(db.find(message_id))
            except LookupError:
                raise MessageNotFound(f"no message {message_id!r} in the store; "
                                      "`pli search` lists message ids") from None
        return self._retrying(read)

    def property_values(self, message_id: str, name: str) -> list[str]:
        """The values of one property (pli.account...) of a message."""
        def read(db) -> list[str]:
            try:
                return [value for _, value in db.find(message_id).properties.getall(name, exact=True)]
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

    def lab_reports(self, message_id: str, raw: bytes | None = None) -> tuple[list, list]:
        """(the message's lab reports, the History of each): which results later reports of the same
        order replaced (pli.core.store.orders).  `raw`: its clear message, when already read.
        MalformedReport when its lab report cannot be read."""
        # start-up: the lab parsers load with the first lab view, not in the TUI's first-page read
        from pli.core.store.orders import lab_reports

        return lab_reports(self, message_id, raw)

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
        self._reopen()  # our change shows at the next read, even within the stamp's resolution
        return changed

    def add_sent(self, key: str, inner: bytes, sent: SentFacts) -> Path:
        """Index the clear copy of a mail we sealed (mail/sent/cur/<key>:2,S) as sent, in the outbox, verified
        (we signed it); `key` is the outbox's name for the sealed mail (pli.core.transport.outbox.queue_key).

        The facts a receipt for it is checked against (envelope id, recipients) go into its header;
        the `outbox` tag goes once a server has accepted the mail (the transport removes it)."""
        if not self.writable:
            raise PliError("this store was opened read-only; a sent copy cannot be added")
        clear = headers.rewrite(inner, [("X-Pli-Verified", "yes"), ("X-Pli-Sender", sent.sender),
                                        ("X-Pli-Mode", sent.mode), ("X-Pli-Key", key),
                                        ("X-Pli-Envelope-Id", sent.envelope_id),
                                        ("X-Pli-Recipients", ", ".join(sent.recipients))])
        return self._index_sent(key, clear, (vocab.SENT, vocab.OUTBOX, vocab.VERIFIED, vocab.SEALED, *sent.tags),
                                {vocab.VERIFIED_PROPERTY: "yes", vocab.MODE_PROPERTY: sent.mode,
                                 vocab.SENDER_PROPERTY: sent.sender})

    def add_sent_unsealed(self, key: str, mail: bytes, sent: SentFacts) -> Path:
        """Index the copy of a mail sent as it went, through a transport-secured tier (MSSanté): tagged sent and
        `sent.tags` (`mssante`), never verified nor sealed (nothing of pli signed it), already submitted (no
        outbox); its Message-ID is kept, so that the MDNs and DSNs that name it find it.  `key`: its bytes' name."""
        if not self.writable:
            raise PliError("this store was opened read-only; a sent copy cannot be added")
        clear = headers.rewrite(mail, [("X-Pli-Verified", "no"), ("X-Pli-Sender", sent.sender),
                                       ("X-Pli-Mode", sent.mode), ("X-Pli-Key", key),
                                       ("X-Pli-Recipients", ", ".join(sent.recipients))])
        return self._index_sent(key, clear, (vocab.SENT, *sent.tags),
                                {vocab.MODE_PROPERTY: sent.mode, vocab.SENDER_PROPERTY: sent.sender})

    def _index_sent(self, key: str, clear: bytes, tags: tuple[str, ...], properties: dict[str, str]) -> Path:
        path = self.layout.folder(vocab.SENT) / "cur" / f"{key}:2,S"
        write_atomic(path, clear)
        with database.open_write(self.layout) as db, db.atomic():
            msg, _ = db.add(str(path), sync_flags=False)
            with msg.frozen():
                msg.tags.clear()
                for tag in tags:
                    msg.tags.add(tag)
            msg.properties[vocab.KEY_PROPERTY] = key
            for name, value in properties.items():
                msg.properties[name] = value
        self._reopen()
        return path

    def close(self) -> None:
        self._cursor = None
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Cursor:
    """A query's live notmuch iterator and how far it has gone: the next window forward
    continues from here (messages are copied out, never kept: they die with the iterator)."""

    def __init__(self, db: notmuch2.Database, query: str, messages):
        self.db, self.query, self.messages, self.position = db, query, messages, 0

    @classmethod
    def open(cls, db: notmuch2.Database, query: str) -> "_Cursor":
        return cls(db, query, db.messages(query, sort=notmuch2.Database.SORT.NEWEST_FIRST))

    def read(self, offset: int, limit: int) -> list[MessageSummary]:
        iter_p = self.messages._iter_p
        while self.position < offset:  # stepped over in C, never loaded
            if not capi.lib.notmuch_messages_valid(iter_p):
                return []
            capi.lib.notmuch_messages_move_to_next(iter_p)
            self.position += 1
        rows: list[MessageSummary] = []
        while len(rows) < limit and capi.lib.notmuch_messages_valid(iter_p):
            rows.append(summary_of(next(self.messages)))
            self.position += 1
        return rows


class _ThreadCursor:
    """A query's live notmuch thread iterator and how far it has gone (see _Cursor)."""

    def __init__(self, db: notmuch2.Database, query: str, threads):
        self.db, self.query, self.threads, self.position = db, query, threads, 0
        self.done = False   # the binding's iterator is destroyed once exhausted: never ask it again

    @classmethod
    def open(cls, db: notmuch2.Database, query: str) -> "_ThreadCursor":
        return cls(db, query, db.threads(query, sort=notmuch2.Database.SORT.NEWEST_FIRST))

    def read(self, offset: int, limit: int) -> list[ThreadSummary]:
        rows: list[ThreadSummary] = []
        while not self.done and len(rows) < limit:
            try:
                thread = next(self.threads)   # skipped or kept, a thread is built (notmuch has no cheaper skip)
            except StopIteration:
                self.done = True
                break
            self.position += 1
            if self.position > offset:
                rows.append(thread_summary(thread))
        return rows


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
