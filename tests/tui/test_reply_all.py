"""Reply-all (issue 14.6): R answers the sender and every other recipient, never the user herself."""
import pytest

from pli.core.mail.drafts import build_inner
from pli.tui.screens.compose import ComposeScreen

from threads_fixture import ME, add_thread

pytestmark = pytest.mark.asyncio
SIZE = (120, 40)
COLLEAGUE = "hugo.bernard@cabinet-demo.example"
GROUP = "secretariat@cabinet-tilleuls.example"


async def reply(app, pilot, key: str) -> ComposeScreen:
    await pilot.pause()
    await pilot.press(key)   # on the colleague's reply (To: me, Cc: the practice's secretariat)
    await pilot.pause()
    assert isinstance(app.screen, ComposeScreen)
    return app.screen


async def test_R_replies_to_the_sender_and_the_other_recipients_without_me(demo, make_app):
    add_thread(demo)
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await reply(app, pilot, "R")
        assert screen.draft.to == [COLLEAGUE, GROUP]
        assert screen.query_one("#compose-to").value == f"{COLLEAGUE}, {GROUP}"
        inner = build_inner(screen.current_draft(), ME, app.now)
        assert inner["In-Reply-To"] == inner["References"] == "<thread-reply@cabinet-demo.example>"


async def test_r_still_replies_to_the_sender_only(demo, make_app):
    add_thread(demo)
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await reply(app, pilot, "r")
        assert screen.draft.to == [COLLEAGUE]
