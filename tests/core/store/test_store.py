"""The store as the TUI and `pli search` read it: init, count, window, read_clear, tag, all_tags."""
import subprocess

import pytest

from pli.core.home import Home
from pli.core.store import MessageNotFound, Store, StoreMissing, create_store
from pli.core.store.importer import import_sources
from pli.core.store.layout import Layout

from store_fixtures import held, make_home, make_maildir, plain_mail


def allow_plain(home: Home) -> None:
    text = home.config.read_text().replace("quarantine_unsealed = true", "quarantine_unsealed = false")
    home.config.write_text(text)


@pytest.fixture()
def filled(tmp_path):
    """A store holding 30 plain messages in the inbox (quarantine of plain mail turned off)."""
    home = make_home(tmp_path)
    allow_plain(home)
    import_sources(home, [make_maildir(tmp_path / "src", [plain_mail(i) for i in range(30)])], workers=1)
    return home


def test_init_creates_maildirs_index_and_configs(tmp_path):
    home = Home(tmp_path / "h")
    created = create_store(home)
    layout = created.layout
    assert created.new
    for folder in ("inbox", "sent", "quarantine", "outbox"):
        assert all((layout.mail / folder / sub).is_dir() for sub in ("cur", "new", "tmp"))
    assert (layout.incoming / "new").is_dir() and layout.index.is_dir()
    assert "[store]" in home.config.read_text()
    assert f"path={layout.mail}" in layout.notmuch_config.read_text()
    assert not create_store(home).new  # safe to rerun
    assert home.config.read_text().count("[store]") == 1


def test_init_keeps_other_sections_of_config(tmp_path):
    home = Home(tmp_path / "h")
    home.root.mkdir()
    home.config.write_text('[searches]\n"Mine" = "tag:mine"\n')
    create_store(home)
    text = home.config.read_text()
    assert text.startswith('[searches]\n"Mine" = "tag:mine"\n') and "[store]" in text


def test_open_without_store_says_run_init(tmp_path):
    with pytest.raises(StoreMissing, match="pli init"):
        Store.open(Home(tmp_path / "nothing"))


def test_window_is_newest_first_and_pages_without_gaps(filled):
    with Store.open(filled) as store:
        assert store.count("*") == 30
        pages = [store.window("*", offset, 7) for offset in range(0, 30, 7)]
        rows = [row for page in pages for row in page]
        assert len(rows) == 30 and len({r.message_id for r in rows}) == 30
        assert [r.date for r in rows] == sorted((r.date for r in rows), reverse=True)
        assert store.window("*", 28, 10) == rows[28:]
        assert store.window("*", 40, 10) == []


def test_summary_fields_come_from_the_index(filled):
    with Store.open(filled) as store:
        row = store.window("subject:\"plain message 7\"", 0, 1)[0]
    assert row.message_id == held(filled, "plain7@example.org")   # the store's own name for it
    assert row.message_id.endswith("@pli.invalid")
    assert row.sender == "Lab 7" and row.subject == "plain message 7"
    assert row.tags == frozenset({"inbox", "unread", "unsealed"})
    assert not row.verified and row.path.endswith(":2,")


def test_read_clear_returns_the_stored_message_with_pli_fields(filled):
    mid = held(filled, "plain3@example.org")
    with Store.open(filled) as store:
        raw = store.read_clear(mid)
        with pytest.raises(MessageNotFound):
            store.read_clear("nope@example.org")
    assert raw.startswith(b"X-Pli-Verified: no\n") and b"body 3\n" in raw


def test_read_clear_finds_a_file_a_mail_client_renamed(filled):
    mid = held(filled, "plain3@example.org")
    with Store.open(filled) as store:
        path = store.clear_path(mid)
        path.rename(str(path) + "S")  # neomutt marking it seen: name:2,S
        assert store.read_clear(mid).endswith(b"body 3\n")


def test_tag_changes_show_in_counts_and_all_tags(filled):
    with Store.open(filled, writable=True) as store:
        ids = [r.message_id for r in store.window("*", 0, 5)]
        assert store.tag(ids, add=("flagged",), remove=("unread",)) == 5
        assert store.count("tag:flagged") == 5
        assert store.count("tag:unread") == 25
        assert "flagged" in store.all_tags()
        assert all("unread" not in r.tags for r in store.window("tag:flagged", 0, 10))


def test_the_revision_rises_with_a_tag_change_seen_from_another_handle(filled):
    """What makes saved counts safe to show (pli.tui.saved_counts): equal revisions, same index content."""
    with Store.open(filled) as reader:
        before = reader.revision()
        assert reader.revision() == before   # reading changes nothing
        with Store.open(filled, writable=True) as writer:
            writer.tag([r.message_id for r in writer.window("*", 0, 1)], add=("flagged",))
        after = reader.revision()   # the reader's handle is reopened on the index's change
    assert after[0] > before[0] and after[1] == before[1] and isinstance(after[1], str)


def test_tag_needs_a_writable_store(filled):
    with Store.open(filled) as store, pytest.raises(Exception, match="read-only"):
        store.tag(["plain1@example.org"], add=("x",))


def test_notmuch_cli_reads_the_store(filled):
    layout = Layout(filled)
    env = {"NOTMUCH_CONFIG": str(layout.notmuch_config), "PATH": "/usr/bin:/bin", "HOME": str(filled.root)}
    count = subprocess.run(["notmuch", "count", "tag:inbox"], env=env, capture_output=True, text=True,
                           check=True)
    assert count.stdout.strip() == "30"
    found = subprocess.run(["notmuch", "search", "--output=messages", "subject:\"plain message 4\""],
                           env=env, capture_output=True, text=True, check=True)
    assert found.stdout.strip() == f"id:{held(filled, 'plain4@example.org')}"
    # A plain `notmuch new` over the store finds nothing to add: no duplicates, no sealed files.
    new = subprocess.run(["notmuch", "new"], env=env, capture_output=True, text=True, check=True)
    assert "No new mail" in new.stdout
    assert subprocess.run(["notmuch", "count", "*"], env=env, capture_output=True, text=True,
                          check=True).stdout.strip() == "30"


def test_an_open_store_sees_mail_imported_after_it_opened(filled, tmp_path):
    with Store.open(filled) as store:
        first_page = store.window("*", 0, 10)
        assert store.count("*") == 30
        import_sources(filled, [make_maildir(tmp_path / "more", [plain_mail(i) for i in range(30, 35)])],
                       workers=1)
        assert store.count("*") == 35
        assert len(store.window("*", 0, 40)) == 35
        assert store.window("*", 0, 10) != first_page  # the newest moved to the top


def test_paging_forward_then_back_gives_the_same_rows_as_fresh_reads(filled):
    with Store.open(filled) as store:
        forward = [store.window("tag:inbox", offset, 4) for offset in (0, 4, 8, 20, 24)]
        back = store.window("tag:inbox", 4, 4)
    with Store.open(filled) as fresh:
        assert forward == [fresh.window("tag:inbox", offset, 4) for offset in (0, 4, 8, 20, 24)]
        assert back == fresh.window("tag:inbox", 4, 4)


def test_message_ids_are_every_match_newest_first_as_the_window_lists_them(filled):
    with Store.open(filled) as store:
        ids = store.message_ids("tag:inbox")
        assert len(ids) == 30 and ids == [row.message_id for row in store.window("*", 0, 30)]
        assert store.message_ids("tag:nothing-has-this") == []


@pytest.mark.parametrize("query", ["tag:inbox and", "date:soon.."])
def test_a_query_notmuch_cannot_parse_is_a_bad_query_in_every_read(filled, query):
    from pli.core.store import BadQuery

    with Store.open(filled) as store:
        for read in (store.count, store.message_ids, lambda q: store.window(q, 0, 10)):
            with pytest.raises(BadQuery, match="cannot parse the query") as raised:
                read(query)
            assert raised.value.exit_code == 2
        assert store.count("tag:inbox") == 30   # the handle still answers afterwards
