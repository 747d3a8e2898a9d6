"""Threads (issue 14.1): notmuch's threads as a list mode toggled by V, and a thread view."""
import sys
from pathlib import Path

import pytest

from pli.core.store import Store
from pli.tui.paging import THREADS
from pli.tui.screens.main import MainScreen
from pli.tui.screens.message import MessageScreen
from pli.tui.screens.thread import ThreadScreen
from pli.tui.widgets.message_list import MessageList, message_of
from pli.tui.widgets.thread_tree import ThreadTree

from test_app import tags_of
from threads_fixture import REPORT_ID, SUBJECT, add_thread, as_threads

sys.path.insert(0, str(Path(__file__).parent.parent / "core"))   # the store helpers of the core tests
from store_fixtures import held  # noqa: E402

SIZE = (120, 40)


@pytest.fixture
def threaded(demo):
    add_thread(demo)
    return demo


def title(app) -> str:
    return str(app.screen.query_one("#list-title").render())


@pytest.mark.asyncio
async def test_V_shows_one_row_per_thread_and_back_with_the_cursor_kept(threaded, make_app):
    app = make_app(threaded)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        ml = app.screen.query_one(MessageList)
        messages = ml.total
        assert ml.current.subject == "Re: " + SUBJECT and "messages" in title(app)
        await pilot.press("V")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert ml.rows is THREADS and f"Inbox · {messages:,} messages by thread" in title(app)
        row = ml.summary_at(0)
        assert row.count == 3 and {m.message_id for m in row.messages} >= {held(threaded, REPORT_ID)}
        assert "Laboratoire" in row.sender and "Bernard" in row.sender   # both authors
        assert "(3) " in ml.render_line(0).text
        assert ml.total == messages - 2     # the three messages are one row (the page read whole: the end)
        await pilot.press("j")
        was = message_of(ml.current)
        await pilot.press("V")
        await pilot.pause()
        assert "by thread" not in title(app) and ml.current.message_id == was.message_id


@pytest.mark.asyncio
async def test_enter_on_a_thread_opens_the_thread_view_in_reply_order(threaded, make_app):
    app = make_app(threaded)
    async with app.run_test(size=SIZE) as pilot:
        await as_threads(app, pilot)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ThreadScreen)
        tree = app.screen.query_one(ThreadTree)
        depths = [(e.depth, e.summary.message_id) for e in tree.entries]
        report = held(threaded, REPORT_ID)   # the store's own id for the lab's report
        assert depths[0] == (0, report) and [d for d, _ in depths[1:]] == [1, 1]
        assert tree.current.message_id == report   # the first unread one
        await pilot.press("j", "enter")
        await pilot.pause()
        assert isinstance(app.screen, MessageScreen)
        opened = app.screen.summary.message_id
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ThreadScreen)
        read = next(e.summary for e in app.screen.query_one(ThreadTree).entries if e.summary.message_id == opened)
        assert "unread" not in read.tags
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)


@pytest.mark.asyncio
async def test_archiving_a_thread_row_archives_each_message_and_undo_restores_them(threaded, make_app):
    app = make_app(threaded)
    async with app.run_test(size=SIZE) as pilot:
        await as_threads(app, pilot)
        ml = app.screen.query_one(MessageList)
        ids = [m.message_id for m in ml.current.messages]
        await pilot.press("a")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert all("inbox" not in tags_of(threaded, i) for i in ids)
        report = held(threaded, REPORT_ID)
        assert all(report not in {m.message_id for m in ml.summary_at(i).messages} for i in range(5))
        await pilot.press("u")
        await pilot.pause()
        assert all("inbox" in tags_of(threaded, i) for i in ids)


def test_thread_windows_page_forward_and_match_the_whole_list(threaded):
    with Store.open(threaded) as store, Store.open(threaded) as reference:
        whole = reference.thread_window("tag:inbox", 0, 10_000)
        assert 0 < len(whole) < reference.count("tag:inbox")
        pages = [store.thread_window("tag:inbox", offset, 7) for offset in range(0, len(whole), 7)]
        assert [t.thread_id for page in pages for t in page] == [t.thread_id for t in whole]
        assert store.thread_window("tag:inbox", len(whole), 5) == []


@pytest.mark.asyncio
async def test_the_thread_list_grows_a_page_at_a_time_and_never_counts_its_threads(threaded, make_app,
                                                                                   monkeypatch):
    """Counting threads is a pass over every message (13 s at 1,000,000): the list reaches one page past
    what it has read, and knows its end when a page comes back short.  A 20-row page stands for the
    200-row one, so that the demo spans several."""
    from pli.tui.widgets import message_list

    monkeypatch.setattr(message_list, "PAGE", 20)
    with Store.open(threaded) as store:
        every = store.thread_window("tag:inbox", 0, 10_000)
    app = make_app(threaded)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        ml = app.screen.query_one(MessageList)
        await pilot.press("V")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not ml.counting and ml.total < len(every)      # not all read: a page past what is
        for _ in range(len(every)):   # page-downs (a screen each) until the cursor stops at the end
            assert ml.current.thread_id == every[ml.cursor].thread_id
            if ml.cursor == len(every) - 1:
                break
            await pilot.press("pagedown")
            await app.workers.wait_for_complete()
        await pilot.pause()
        assert ml.total == len(every)                         # the short page: the end, exactly
        await pilot.press("j")
        assert ml.current.thread_id == every[-1].thread_id
