"""The message list's data source: drawing never waits for the index; a page not in yet shows placeholders.

The slow index is the real demo store with each page read held by the data source's
test hook (ListSource.before_read, run on its reading thread), not a mock of notmuch.
"""
from __future__ import annotations

import asyncio
import threading

import pytest

from pli.core.store import Store
from pli.tui.list_source import LOADING, ListSource
from pli.tui.paging import MESSAGES
from pli.tui.widgets.message_list import MessageList

from test_paging import FIXED_NOW, ids, pages_in


class Gate:
    """Holds every page read on the data source's thread until opened; remembers which were read."""

    def __init__(self) -> None:
        self.open = threading.Event()
        self.asked: list[int] = []
        self.read: list[int] = []

    def __call__(self, page_no: int) -> None:
        self.asked.append(page_no)
        self.open.wait(30)
        self.read.append(page_no)


def drawn(listed: MessageList, y: int) -> str:
    return listed.render_line(y).text


@pytest.mark.asyncio
async def test_a_slow_index_shows_placeholders_never_holds_a_key_then_shows_the_rows(demo, make_app, monkeypatch):
    from pli.tui.screens.main import MainScreen

    gate = Gate()
    monkeypatch.setattr(ListSource, "before_read", staticmethod(gate))
    app = make_app(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        listed = app.screen.query_one(MessageList)
        await app.workers.wait_for_complete()   # the count (its own thread, not held): the list's length
        await pilot.pause()
        with Store.open(demo) as store:
            expected = store.window(listed.query_text, 0, listed.total)
        height = listed.scrollable_content_region.height
        assert listed.total == len(expected) > height
        assert gate.asked == [0] and gate.read == []
        assert [drawn(listed, y).strip() for y in range(height)] == ["…"] * height

        # keys move the cursor while the page is held: none of them waited for it (none was read yet)
        await pilot.press("j", "j", "j")
        assert listed.cursor == 3 and listed.row_at(3) is LOADING
        await pilot.press("pagedown")
        assert listed.cursor == 3 + height - 1
        await pilot.press("g")
        assert listed.cursor == 0
        assert gate.read == []

        gate.open.set()
        await pages_in(pilot, listed)
        await pilot.pause(0.3)   # the preview of the row under the cursor, once its page is in
        assert [row.message_id for row in (listed.row_at(i) for i in range(len(expected)))] == ids(expected)
        assert expected[0].sender[:12] in drawn(listed, 0) and "…" != drawn(listed, 0).strip()
        headers = str(app.screen.query_one("#preview-headers").render())
        assert expected[0].subject in headers


@pytest.mark.asyncio
async def test_a_search_on_a_slow_index_draws_placeholders_until_its_page_comes(demo, make_app, monkeypatch):
    from pli.core.store.query import expand

    gate = Gate()
    gate.open.set()
    monkeypatch.setattr(ListSource, "before_read", staticmethod(gate))
    app = make_app(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        listed = app.screen.query_one(MessageList)
        await pages_in(pilot, listed)
        gate.open.clear()
        await pilot.press("slash", *"critical", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        with Store.open(demo) as store:
            expected = store.window(expand("critical"), 0, 1000)
        assert 0 < listed.total == len(expected)
        assert drawn(listed, 0).strip() == "…" and listed.cursor == 0
        await pilot.press("j")
        assert listed.cursor == 1
        gate.open.set()
        await pages_in(pilot, listed)
        assert [listed.row_at(i).message_id for i in range(listed.total)] == ids(expected)


def test_a_page_read_for_an_older_query_is_dropped(demo):
    """A page that comes in after the list moved to another query (or reloaded) is not shown."""
    delivered = []
    source = ListSource(demo, FIXED_NOW.timestamp(), lambda *page: delivered.append(page))
    try:
        source.reset("tag:inbox", MESSAGES)
        assert source.row(0) is LOADING
        source.settle([0], 30)
        assert source.row(0) is not LOADING
        source.reset("tag:lab", MESSAGES)
        assert source.row(0) is LOADING
        old_generation, page_no, rows, limit = delivered[0]
        assert not source.accept(old_generation, page_no, rows, limit)
        assert source.page_rows(0) is None
    finally:
        source.close()


def test_the_pages_kept_are_the_last_ones_drawn(demo, monkeypatch):
    """Memory does not grow with the store: at most KEPT_PAGES pages, the least recently drawn go first."""
    import pli.tui.list_source as list_source

    monkeypatch.setattr(list_source, "KEPT_PAGES", 3)
    with Store.open(demo) as store:
        source = ListSource(None, FIXED_NOW.timestamp(), lambda *page: None, store=store, page=10)
        source.reset("tag:inbox", MESSAGES)
        for index in (0, 10, 20):
            assert source.row(index) is not None
        source.row(0)            # page 0 drawn again: page 1 is now the oldest
        source.row(30)
        assert [source.page_rows(n) is not None for n in range(4)] == [True, False, True, True]
