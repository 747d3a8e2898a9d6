"""Recent-first paging gives exactly the rows of the whole query; the first screen is read and counted apart."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from pli.core.store import Store
from pli.core.store.query import expand
from pli.tui.paging import PAGE, RecentFirst, since
from pli.tui.startup import Prefetch
from pli.tui.widgets.message_list import MessageList

FIXED_NOW = datetime(2026, 11, 30, 8, 0, tzinfo=timezone.utc)   # the demo fixture's "now" (conftest.py)


class Recorded:
    """Store.window, remembering the queries it was asked."""

    def __init__(self, store: Store) -> None:
        self.store, self.queries = store, []

    def __call__(self, query: str, offset: int, limit: int) -> list:
        self.queries.append(query)
        return self.store.window(query, offset, limit)


async def pages_in(pilot, listed, seconds: float = 10.0) -> None:
    """Until the list's data source has no page being read (its thread posts them to the list)."""
    import asyncio

    for _ in range(int(seconds / 0.02)):
        await pilot.pause()
        if not listed.data.pending:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"pages still being read after {seconds} s: {sorted(listed.data.pending)}")


def ids(rows) -> list[str]:
    return [r.message_id for r in rows]


def test_recent_first_windows_are_the_whole_query_s_windows(demo):
    """Across the week / month / year boundaries and at the end: the same rows, in the same order."""
    query = expand("lab")
    with Store.open(demo) as store, Store.open(demo) as reference:
        total = reference.count(query)
        read = RecentFirst(store.window, FIXED_NOW.timestamp())
        for offset, limit in [(0, 3), (3, 5), (8, 20), (28, 40), (68, total), (total - 4, 10)]:
            assert ids(read(query, offset, limit)) == ids(reference.window(query, offset, limit)), (offset, limit)


def test_the_first_screen_reads_only_the_last_week_when_it_fills_it(demo):
    query = expand("tag:inbox")
    with Store.open(demo) as store:
        week = store.count(since(query, int(FIXED_NOW.timestamp()) - 7 * 86400))
        assert 0 < week < store.count(query)   # the demo's last week: the case this is for
        window = Recorded(store)
        rows = RecentFirst(window, FIXED_NOW.timestamp())(query, 0, week)
        assert len(rows) == week and window.queries == [since(query, int(FIXED_NOW.timestamp()) - 7 * 86400)]


def test_a_span_too_short_once_is_not_tried_again_for_later_pages(demo):
    query = expand("tag:inbox")
    with Store.open(demo) as store:
        window = Recorded(store)
        read = RecentFirst(window, FIXED_NOW.timestamp())
        read(query, 0, 60)          # more than a week of mail: the week fails, the month answers
        tried = len(window.queries)
        read(query, 60, 10)
        assert window.queries[tried:] == window.queries[tried - 1:tried]  # straight to the month


def test_a_store_older_than_a_year_still_pages_whole(demo):
    query = expand("tag:inbox")
    with Store.open(demo) as store:
        later = (FIXED_NOW + timedelta(days=3 * 365)).timestamp()
        assert ids(RecentFirst(store.window, later)(query, 0, 10)) == ids(store.window(query, 0, 10))


def test_prefetch_reads_the_first_rows_then_counts_on_its_own_handle(demo):
    prefetch = Prefetch(demo, "tag:inbox", 5)
    prefetch.start()
    first = prefetch.first_page()
    assert first.error is None and len(first.rows) == 5
    with Store.open(demo) as store:
        assert ids(first.rows) == ids(store.window(expand("tag:inbox"), 0, 5))
        assert prefetch.total() == store.count(expand("tag:inbox"))
    first.store.close()


def test_prefetch_of_a_missing_home_hands_the_error_to_the_app(tmp_path):
    from pli.core.home import Home

    prefetch = Prefetch(Home(tmp_path / "nothing"), "tag:inbox", 5)
    prefetch.start()
    assert prefetch.first_page().error is not None and prefetch.total() is None


@pytest.mark.asyncio
async def test_the_list_shows_the_first_rows_before_the_count_and_pages_on_past_them(demo):
    """The count arrives from a thread; the rows after the first screen come from the same query."""
    import threading

    from textual.app import App

    query = expand("lab")
    counted = threading.Event()
    with Store.open(demo) as store, Store.open(demo) as reference:
        total = reference.count(query)
        first = (query, None, reference.window(query, 0, 4), lambda: counted.wait() and total)

        class One(App):
            def compose(self):
                yield MessageList(store, FIXED_NOW, first_page=first)

        app = One()
        async with app.run_test(size=(120, 30)) as pilot:
            listed = app.query_one(MessageList)
            listed.show_query(query)
            assert listed.counting and listed.total_label == "…" and listed.total == 4
            counted.set()
            for _ in range(500):  # the count's worker may start after this point: wait for its result
                await app.workers.wait_for_complete()
                await pilot.pause()
                if not listed.counting:
                    break
            assert not listed.counting and listed.total == total and listed.total_label == f"{total:,}"
            assert [listed.summary_at(i).message_id for i in range(total)] == ids(reference.window(query, 0, total))
    assert PAGE > total  # the short first page was completed within page 0


@pytest.mark.asyncio
async def test_the_next_page_is_read_in_a_thread_before_a_page_down_needs_it(demo, make_app, monkeypatch):
    import pli.tui.widgets.message_list as message_list
    from pli.tui.screens.main import MainScreen

    monkeypatch.setattr(message_list, "PAGE", 10)   # the demo's 120 messages: twelve pages
    app = make_app(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        listed = app.screen.query_one(MessageList)
        await pilot.press("j")
        await app.workers.wait_for_complete()
        await pages_in(pilot, listed)
        height = listed.scrollable_content_region.height
        ahead = (listed.scroll_offset.y + 2 * height) // 10
        page = listed.data.page_rows(ahead)
        assert page is not None   # there before any key asked for it
        with Store.open(demo) as store:
            assert ids(page) == ids(store.window(listed.query_text, ahead * 10, 10))


@pytest.mark.asyncio
async def test_a_slow_count_after_archiving_or_searching_is_awaited_off_the_ui_thread(demo, make_app, monkeypatch):
    """As at 1,000,000 messages: the list is drawn at once, the title says "…" until the count comes."""
    import pli.tui.widgets.message_list as message_list
    from pli.tui.screens.main import MainScreen

    monkeypatch.setattr(message_list, "COUNT_WAIT", 0)
    app = make_app(demo)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        listed = app.screen.query_one(MessageList)
        await app.workers.wait_for_complete()
        await pilot.pause()
        total = listed.total
        await pilot.press("a")
        assert listed.counting or listed.total == total - 1   # a fast thread may already have answered
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not listed.counting and listed.total == total - 1
        assert f"{total - 1:,} messages" in str(app.screen.query_one("#list-title").render())
        await pilot.press("slash", *"critical", "enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        with Store.open(demo) as store:
            assert listed.total == store.count(expand("critical"))
            assert listed.summary_at(0).message_id == store.window(expand("critical"), 0, 1)[0].message_id
