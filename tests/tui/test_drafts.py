"""Compose never loses text (issue 14.4): saved as you type, Esc asks, drafts listed and reopened."""
import json
import stat

import pytest

from pli.core.mail import draft_store
from pli.core.transport.outbox import outbox_dir
from pli.tui.screens.compose import ComposeScreen, SAVE_DELAY
from pli.tui.screens.drafts import DraftsScreen
from pli.tui.screens.main import MainScreen
from pli.tui.screens.unsent import UnsentScreen

pytestmark = pytest.mark.asyncio
SIZE = (120, 40)
LAB = "resultats@labo-estuaire.example"


def draft_files(home):
    folder = draft_store.drafts_dir(home)
    return sorted(folder.iterdir()) if folder.is_dir() else []


async def write(app, pilot, *, body: str = "Kaliémie de Mme FICTIF à contrôler") -> ComposeScreen:
    await pilot.pause()
    await pilot.press("c")
    await pilot.pause()
    assert isinstance(app.screen, ComposeScreen)
    await pilot.press(*LAB, "tab", *"Contrôle", "tab", *body)
    return app.screen


def queued(home) -> list:
    folder = outbox_dir(home) / "new"
    return list(folder.iterdir()) if folder.is_dir() else []


async def test_what_is_typed_is_saved_within_a_second_privately_and_whole(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await write(app, pilot)
        assert draft_files(demo) == []              # debounced: not at every key
        await pilot.pause(SAVE_DELAY + 0.3)
        await app.workers.wait_for_complete()
        (path,) = draft_files(demo)
        saved = json.loads(path.read_bytes())
        assert saved["to"] == [LAB] and saved["subject"] == "Contrôle"
        assert saved["body"] == "Kaliémie de Mme FICTIF à contrôler"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


async def test_esc_asks_and_keep_lists_the_draft_which_reopens_and_goes_once_sent(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await write(app, pilot)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, UnsentScreen)
        await pilot.press("k")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen) and len(draft_files(demo)) == 1
        await pilot.press("D")
        await pilot.pause()
        assert isinstance(app.screen, DraftsScreen) and len(app.screen.drafts) == 1
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ComposeScreen)
        assert app.screen.query_one("#compose-body").text == "Kaliémie de Mme FICTIF à contrôler"
        await pilot.press("escape")          # reopened and unchanged: closes without asking, stays a draft
        await pilot.pause()
        assert isinstance(app.screen, DraftsScreen) and len(draft_files(demo)) == 1
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        await app.workers.wait_for_complete()
        assert draft_files(demo) == [] and len(queued(demo)) == 1


async def test_esc_then_discard_leaves_nothing_and_esc_again_goes_back_to_the_text(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await write(app, pilot)
        await pilot.pause(SAVE_DELAY + 0.3)
        await app.workers.wait_for_complete()
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("escape")          # not now: back to the message, nothing lost
        await pilot.pause()
        assert app.screen is screen and "FICTIF" in screen.query_one("#compose-body").text
        await pilot.press("escape", "d")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen) and draft_files(demo) == []


async def test_send_later_seals_into_the_outbox_without_sending(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await write(app, pilot)
        await pilot.press("escape", "s")
        await pilot.pause()
        await app.workers.wait_for_complete()
        assert isinstance(app.screen, MainScreen)
        assert len(queued(demo)) == 1 and draft_files(demo) == []
        assert not any(n.title in ("Sending", "Outbox") for n in app._notifications)


async def test_an_untouched_compose_closes_without_a_question(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("r")               # a reply, as opened: nothing typed
        await pilot.pause()
        assert isinstance(app.screen, ComposeScreen)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen) and draft_files(demo) == []


async def test_quitting_with_compose_open_keeps_what_was_typed(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await write(app, pilot, body="dernier mot")
        await pilot.press("ctrl+q")
        await pilot.pause()
    (path,) = draft_files(demo)
    assert json.loads(path.read_bytes())["body"] == "dernier mot"
