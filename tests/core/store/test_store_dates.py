"""A mail without a Date field is dated when it arrived, never 1 Jan 1970 (issue 14.7)."""
import os
from email.utils import format_datetime, parsedate_to_datetime
from datetime import datetime, timezone

from pli.core.store import Store
from pli.core.store import database
from pli.core.store.headers import value_of
from pli.core.store.importer import import_sources
from pli.core.store.layout import Layout

from store_fixtures import make_home

RECEIVED = datetime(2026, 3, 14, 9, 26, 53, tzinfo=timezone.utc)
FILE_TIME = datetime(2026, 5, 2, 16, 0, tzinfo=timezone.utc)


def undated(i: int, extra: str = "") -> bytes:
    return (f"From: Lab <lab@example.org>\nTo: dr@example.org\nSubject: undated {i}\n"
            f"Message-ID: <undated{i}@example.org>\n{extra}\nbody\n").encode()


def stored(home, tmp_path, raw: bytes, name: str):
    path = tmp_path / name
    path.write_bytes(raw)
    os.utime(path, (FILE_TIME.timestamp(), FILE_TIME.timestamp()))
    import_sources(home, [path], workers=1)
    with Store.open(home) as store:
        (row,) = store.window(f"subject:{name}", 0, 2)
        return row, store.read_clear(row.message_id)


def test_a_mail_without_date_is_dated_by_its_newest_received_field(tmp_path):
    home = make_home(tmp_path)
    received = (f"Received: from mx.example.org by mail.example.org; {format_datetime(RECEIVED)}\n"
                "Received: from lab.example.org by mx.example.org; Mon, 1 Jan 2024 10:00:00 +0000\n")
    row, raw = stored(home, tmp_path, undated(1, received).replace(b"undated 1", b"rcvd"), "rcvd")
    assert row.date == int(RECEIVED.timestamp())
    assert parsedate_to_datetime(value_of(raw, "Date")) == RECEIVED   # in the file: notmuch sorts by it


def test_a_mail_with_neither_date_nor_received_is_dated_by_its_file(tmp_path):
    home = make_home(tmp_path)
    row, raw = stored(home, tmp_path, undated(2).replace(b"undated 2", b"bare"), "bare")
    assert row.date == int(FILE_TIME.timestamp())
    assert parsedate_to_datetime(value_of(raw, "Date")) == FILE_TIME


def test_a_garbled_received_field_falls_back_to_the_file_time(tmp_path):
    home = make_home(tmp_path)
    raw = undated(3, "Received: from somewhere; not a date at all\n").replace(b"undated 3", b"garbled")
    row, _ = stored(home, tmp_path, raw, "garbled")
    assert row.date == int(FILE_TIME.timestamp())


def test_an_undated_message_already_in_the_index_shows_its_file_time_not_1970(tmp_path):
    """Stored before the import added a Date: notmuch dates it 0; the summary reads the file's time."""
    home = make_home(tmp_path)
    layout = Layout(home)
    path = layout.folder("inbox") / "cur" / "old-undated:2,"
    path.write_bytes(undated(4))
    os.utime(path, (FILE_TIME.timestamp(), FILE_TIME.timestamp()))
    with database.open_write(layout) as db:
        db.add(str(path), sync_flags=False)
    with Store.open(home) as store:
        (row,) = store.window("id:undated4@example.org", 0, 1)
    assert row.date == int(FILE_TIME.timestamp())


def test_a_sealed_mail_whose_inner_message_has_no_date_is_dated_when_it_was_sealed(tmp_path):
    """The common case for pli: the envelope's signed time dates it, not 1970 nor the time of `pli new`."""
    from pli.core.crypto.envelope import seal_mail
    from pli.core.mail.receive import receive
    from pli.core.store import create_store
    from crypto_fixtures import people

    alice, bob = people(tmp_path, "alice", "bob")
    create_store(bob.home)
    sealed_at = int(RECEIVED.timestamp())
    inner = b"From: Dr Alice <alice@pli.test>\nSubject: sealed undated\nMessage-ID: <sealed-undated@pli.test>\n\nK+\n"
    (bob.home.root / "incoming" / "new" / "undated.eml").write_bytes(
        seal_mail(inner, alice, ["bob@pli.test"], now=sealed_at))
    receive(bob.home, None, keyring=bob)
    with Store.open(bob.home) as store:
        (row,) = store.window("subject:undated", 0, 2)
        raw = store.read_clear(row.message_id)
    assert row.date == sealed_at
    assert parsedate_to_datetime(value_of(raw, "Date")).timestamp() == sealed_at
