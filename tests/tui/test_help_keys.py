"""`?` lists every key issue 14 added, where it acts, with the id to rebind it."""
import pytest

from pli.tui.screens.help import HelpScreen, bindings_table

from threads_fixture import add_thread, as_threads

pytestmark = pytest.mark.asyncio
SIZE = (160, 48)


async def help_rows(app, pilot) -> dict[str, tuple[str, str]]:
    await pilot.press("question_mark")
    await pilot.pause()
    assert isinstance(app.screen, HelpScreen)
    table = bindings_table(app, app.screen.active)
    keys, descriptions, ids = [list(map(str, c._cells)) for c in table.columns[:3]]
    await pilot.press("escape")
    await pilot.pause()
    return {d: (k, i) for k, d, i in zip(keys, descriptions, ids)}


async def test_help_lists_the_new_keys_of_the_main_screen(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        rows = await help_rows(app, pilot)
        for description, key, binding_id in [("Threads", "V", "main.threads"), ("Delete", "d", "triage.delete"),
                                             ("Reply all", "R", "main.reply_all"), ("Drafts", "D", "main.drafts"),
                                             ("Back (or clear the selection)", "esc", "main.clear")]:
            assert rows[description] == (key, binding_id), description


async def test_help_lists_the_keys_of_the_thread_and_message_views(demo, make_app):
    add_thread(demo)
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await as_threads(app, pilot)
        await pilot.press("enter")
        await pilot.pause()
        rows = await help_rows(app, pilot)
        assert rows["Reply all"] == ("R", "thread.reply_all") and rows["Open"][0] == "⏎"
        await pilot.press("enter")   # the message view
        await pilot.pause()
        rows = await help_rows(app, pilot)
        assert rows["Reply all"] == ("R", "message.reply_all")


async def test_the_key_bar_keeps_help_and_quit_at_80_columns(demo, make_app):
    from pli.tui.widgets.key_bar import KeyBar

    app = make_app(demo)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        shown = str(app.screen.query_one(KeyBar).render())
        assert shown.rstrip().endswith("?  Keys  q  Quit") and len(shown.rstrip()) <= 80
        assert "Open" in shown   # the first keys stay, the ones that did not fit went
