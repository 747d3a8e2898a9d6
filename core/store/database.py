"""Opening the notmuch database of a store: read-only for readers, read-write for one writer at a time.

Xapian allows one writer: pli opens the index read-write only for the time of
one batch or one tag change, so that the TUI can tag while `pli new` runs.
Every open passes pli's own notmuch config, never the user's ~/.notmuch-config.
"""
from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

import notmuch2

from pli.core.errors import PliError
from pli.core.store.layout import Layout

#: How long a writer waits for another writer (an import batch, a tag change) to finish.
WRITE_WAIT_SECONDS = 30.0


class StoreBusy(PliError):
    """Another process holds the index for writing longer than we can wait."""

    exit_code = 75  # EX_TEMPFAIL


class IndexError_(PliError):
    """The notmuch index refused an operation (corrupt, wrong version, bad query)."""


def create(layout: Layout) -> None:
    db = notmuch2.Database.create(str(layout.mail), config=str(layout.notmuch_config))
    db.close()


def open_read(layout: Layout) -> notmuch2.Database:
    layout.require()
    try:
        return notmuch2.Database(str(layout.mail), "ro", config=str(layout.notmuch_config))
    except notmuch2.NotmuchError as error:
        raise IndexError_(f"cannot open the index in {layout.index} ({error}); "
                          "run `pli doctor`, or rebuild it with `notmuch new`") from None


def properties_of(layout: Layout, message_id: str, name: str, exact: bool = False) -> list[tuple[str, str]]:
    """(key, value) of one message's properties named `name` (or, not `exact`, starting with it), read with an
    index opened for this read alone; [] when the message is not in the store."""
    db = open_read(layout)
    try:
        try:
            return list(db.find(message_id).properties.getall(name, exact=exact))
        except LookupError:
            return []
    finally:
        db.close()


@contextmanager
def open_write(layout: Layout, wait: float = WRITE_WAIT_SECONDS) -> Iterator[notmuch2.Database]:
    """Hold the index read-write for one batch or one tag change; commits and closes on exit.

    libnotmuch blocks without limit while another process holds Xapian's write
    lock, so pli writers first take their own lock file, with a deadline.
    """
    layout.require()
    with _index_lock(layout, wait):
        try:
            db = notmuch2.Database(str(layout.mail), "rw", config=str(layout.notmuch_config))
        except notmuch2.NotmuchError as error:
            raise IndexError_(f"cannot open the index in {layout.index} for writing ({error})") from None
        try:
            yield db
        finally:
            db.close()


@contextmanager
def _index_lock(layout: Layout, wait: float) -> Iterator[None]:
    fd = os.open(layout.index_lock, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait
        delay = 0.005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StoreBusy(f"the index in {layout.index} is busy (a pli import or tag change "
                                    "is writing); try again in a moment") from None
                time.sleep(delay)
                delay = min(delay * 2, 0.1)
        yield
    finally:
        os.close(fd)  # closing releases the lock
