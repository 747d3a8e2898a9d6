"""Back to the inbox and a trash that can be undone (issue 14.6)."""
from pathlib import Path

import pytest

from pli.tui.widgets.message_list import MessageList

from test_app import count, tags_of

pytestmark = pytest.mark.asyncio
SIZE = (120, 40)


def title(app) -> str:
    return str(app.screen.query_one("#list-title").render())


async def start(app, pilot) -> MessageList:
    await pilot.pause()
    return app.screen.query_one(MessageList)


async def test_esc_from_a_search_result_returns_to_the_list_and_the_row_it_left(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        ml = await start(app, pilot)
        await pilot.press("j", "j", "j")
        left = ml.current.message_id
        await pilot.press("slash", *"critical", "enter")
        await pilot.pause()
        assert title(app).startswith("Search: critical")
        await pilot.press("escape")
        await pilot.pause()
        assert title(app).startswith("Inbox ·") and ml.current.message_id == left


async def test_an_empty_search_from_a_search_result_returns_to_the_list_before(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await start(app, pilot)
        await pilot.press("slash", *"critical", "enter")
        await pilot.press("slash", *"abnormal", "enter")
        await pilot.pause()
        await pilot.press("slash", "enter")
        await pilot.pause()
        assert title(app).startswith("Search: critical")
        await pilot.press("escape")
        await pilot.pause()
        assert title(app).startswith("Inbox ·")


async def test_esc_clears_a_selection_before_it_goes_back(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        ml = await start(app, pilot)
        await pilot.press("slash", *"critical", "enter", "space")
        await pilot.pause()
        assert ml.selected
        await pilot.press("escape")
        assert not ml.selected and title(app).startswith("Search: critical")


async def test_d_moves_to_the_trash_u_brings_it_back_and_d_in_the_trash_restores(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        ml = await start(app, pilot)
        inbox, trash = ml.total, count(demo, "tag:deleted")
        target = ml.current
        await pilot.press("d")
        await pilot.pause()
        assert ml.total == inbox - 1 and ml.current.message_id != target.message_id
        assert {"deleted"} <= tags_of(demo, target.message_id) and "inbox" not in tags_of(demo, target.message_id)
        assert count(demo, "tag:deleted") == trash + 1
        assert Path(target.path).is_file()   # nothing erased: the store still holds it
        await pilot.press("u")
        await pilot.pause()
        assert ml.total == inbox and "deleted" not in tags_of(demo, target.message_id)
        await pilot.press("d")
        await pilot.pause()
        app.screen.show_search(next(s for s in app.config.searches if s.name == "Trash"))
        await pilot.pause()
        assert ml.total == trash + 1 and ml.current.message_id == target.message_id
        await pilot.press("d")
        await pilot.pause()
        assert "deleted" not in tags_of(demo, target.message_id) and "inbox" in tags_of(demo, target.message_id)
