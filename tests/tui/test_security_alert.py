"""A replay is an alarm in the TUI too (issue 14.8): a red banner until the user acknowledges it."""
import pytest

from pli.tui.screens.alert import AlertScreen
from pli.tui.screens.main import MainScreen
from pli.tui.widgets.alert_banner import AlertBanner
from pli.tui.widgets.key_bar import keys_line

from replay_fixture import deliver_a_pad_reuse
from test_app import tags_of

pytestmark = pytest.mark.asyncio
SIZE = (120, 40)


def banner(app) -> AlertBanner:
    return app.screen.query_one(AlertBanner)


async def started(app, pilot) -> None:
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()


async def test_the_banner_stays_across_lists_until_acknowledged_and_after_a_restart(demo, make_app):
    deliver_a_pad_reuse(demo)
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        assert banner(app).display and "SECURITY ALERT: 1 message uses" in str(banner(app).render())
        assert "SECURITY ALERT" in keys_line(app, app.screen.active_bindings).plain
        await pilot.press("slash", *"critical", "enter", "enter", "escape")   # elsewhere and back
        await started(app, pilot)
        assert isinstance(app.screen, MainScreen) and banner(app).display
        await pilot.press("exclamation_mark")
        await pilot.pause()
        assert isinstance(app.screen, AlertScreen)
        (summary,) = app.screen.summaries
        assert "Laboratoire" in summary.sender and "/quarantine/cur/" in summary.path   # the sealed mail, kept
        assert summary.path in str(app.screen.query_one("#alert-list").render())
        await pilot.press("escape")           # later: it stays
        await started(app, pilot)
        assert banner(app).display
    again = make_app(demo)
    async with again.run_test(size=SIZE) as pilot:
        await started(again, pilot)
        assert banner(again).display          # not acknowledged: back at the next start
        await pilot.press("exclamation_mark", "a")
        await started(again, pilot)
        assert not banner(again).display and "acknowledged" in tags_of(demo, summary.message_id)
        assert "quarantine" in tags_of(demo, summary.message_id)
    third = make_app(demo)
    async with third.run_test(size=SIZE) as pilot:
        await started(third, pilot)
        assert not banner(third).display


async def test_no_banner_without_an_alert(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        assert not banner(app).display
        assert "SECURITY ALERT" not in keys_line(app, app.screen.active_bindings).plain


async def test_an_alert_arriving_while_pli_is_open_shows_at_the_next_poll(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        deliver_a_pad_reuse(demo, "-2")
        app.screen.poll_store()
        await started(app, pilot)
        assert banner(app).display
        assert any(n.title == "SECURITY ALERT" for n in app._notifications)
