"""The index writer's step for one message: indexed, then its tags and properties in one frozen change."""
import notmuch2
import pytest

from pli.core.store import database
from pli.core.store.layout import Layout
from pli.core.store.sources import Source
from pli.core.store.worker import Prepared
from pli.core.store.writer import _index

from store_fixtures import make_home, plain_mail


def prepared(key: str, tags: tuple, properties: tuple = ()) -> Prepared:
    return Prepared(Source(f"/src/{key}"), key, "inbox", "plain1@example.org", tags, properties)


def test_a_new_message_gets_its_tags_and_properties_and_a_duplicate_keeps_its_own(tmp_path):
    layout = Layout(make_home(tmp_path))
    first, second = (layout.mail / "inbox" / "cur" / f"{k}:2," for k in ("k1", "k2"))
    first.write_bytes(plain_mail(1))
    second.write_bytes(plain_mail(1, subject="same Message-ID, another copy"))
    with database.open_write(layout) as db, db.atomic():
        _index(db, str(first), prepared("k1", ("inbox", "lab", "patient:p1"), (("pli.mode", "otp"),)))
        _index(db, str(second), prepared("k2", ("quarantine",), (("pli.reason", "replay"),)))
    db = database.open_read(layout)
    try:
        msg = db.find("plain1@example.org")
        assert set(msg.tags) == {"inbox", "lab", "patient:p1"}
        assert dict(msg.properties) == {"pli.mode": "otp"}
        assert {p.name for p in msg.filenames()} == {first.name, second.name}
    finally:
        db.close()


def test_a_file_that_cannot_be_read_raises_and_adds_nothing(tmp_path):
    layout = Layout(make_home(tmp_path))
    missing = layout.mail / "inbox" / "cur" / "gone:2,"
    with database.open_write(layout) as db, db.atomic():
        with pytest.raises(notmuch2.FileError):
            _index(db, str(missing), prepared("gone", ("inbox",)))
    db = database.open_read(layout)
    try:
        assert db.count_messages("*") == 0
    finally:
        db.close()
