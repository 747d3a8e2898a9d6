"""The message view by keyboard only (issue 14.2): Tab reaches the attachments, and their keys show."""
import pytest

from pli.tui.screens.message import AttachmentList, MessageScreen
from pli.tui.widgets.key_bar import keys_line

pytestmark = pytest.mark.asyncio
SIZE = (160, 48)


async def open_with_attachment(app, pilot) -> MessageScreen:
    await pilot.pause()
    await pilot.press("slash", *"tag:attachment", "enter", "enter")
    await pilot.pause()
    assert isinstance(app.screen, MessageScreen) and app.screen.clear.attachments
    return app.screen


def key_bar(app) -> str:
    return keys_line(app, app.screen.active_bindings).plain


async def test_tab_from_the_body_reaches_the_attachments_and_shows_their_keys(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_with_attachment(app, pilot)
        assert screen.focused.id == "message-body"
        assert "Attachments" in key_bar(app) and " Save " not in key_bar(app)
        await pilot.press("tab")
        assert isinstance(screen.focused, AttachmentList)
        shown = key_bar(app)
        assert all(f" {key} " in shown for key in ("s", "o", "i")), shown
        await pilot.press("tab")
        assert screen.focused.id == "message-body"   # and back


async def test_a_message_without_attachments_does_not_offer_tab(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("slash", *"tag:note", "enter", "enter")
        await pilot.pause()
        assert isinstance(app.screen, MessageScreen) and not app.screen.clear.attachments
        assert "Attachments" not in key_bar(app)


async def test_tab_moves_between_the_searches_and_the_list(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.focused.id == "messages"
        await pilot.press("tab")
        assert app.focused.id != "messages"
        await pilot.press("tab")
        assert app.focused.id == "messages"
