"""`pli demo`'s builder: a real sealed, imported demo home, reproducible, reused, never over other data."""
from datetime import datetime, timezone

import pytest

from pli.core.demo import BAD_MAILS, COLLEAGUE_NOTES, DemoExists, build_demo
from pli.core.store.store import Store

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return build_demo(tmp_path_factory.mktemp("demo") / "home", size=40, seed=3, now=NOW)


def test_every_message_lands_in_the_store_and_bad_ones_in_quarantine(demo):
    assert demo.messages == 40 + COLLEAGUE_NOTES + BAD_MAILS
    with Store.open(demo.home) as store:
        assert store.count("tag:quarantine") == BAD_MAILS
        assert store.count("tag:verified") == 40 + COLLEAGUE_NOTES
        assert store.count("tag:lab") >= 40
        modes = {s.mode for s in store.window("tag:verified", 0, 100)}
    assert modes == {"otp", "stream"}  # the lab with a shared pad, and the one without


def test_the_demo_passphrase_unlocks_the_keyring(demo):
    from pli.core.crypto.keyring import Keyring

    keyring = Keyring.unlock(demo.home, demo.passphrase_file.read_text().rstrip("\n"))
    assert keyring.identity.public.address == "claire.martin@cabinet-demo.example"
    assert [g.public.address for g in keyring.groups] == ["secretariat@cabinet-tilleuls.example"]


def test_the_same_seed_gives_the_same_messages_and_keys(demo, tmp_path):
    again = build_demo(tmp_path / "again", size=40, seed=3, now=NOW)
    with Store.open(demo.home) as one, Store.open(again.home) as two:
        rows = lambda store: [(s.date, s.subject, s.lab_summary) for s in store.window("tag:lab", 0, 100)]
        assert rows(one) == rows(two)


def test_an_existing_demo_is_reused_and_other_folders_are_refused(demo, tmp_path):
    assert build_demo(demo.home.root, size=40, seed=3, now=NOW).reused
    other = tmp_path / "notes"
    other.mkdir()
    (other / "mine.txt").write_text("not a demo")
    with pytest.raises(DemoExists, match="not a pli demo"):
        build_demo(other, size=5)
    assert (other / "mine.txt").read_text() == "not a demo"
