"""Compose: recipients from the keyring, the mode shown per recipient, sealing into the outbox."""
import pytest
from pilot_waits import settle

from pli.core.store import Store
from pli.core.transport.outbox import outbox_dir as outbox
from pli.tui.screens.compose import ComposeScreen
from pli.tui.screens.main import MainScreen
from pli.tui.screens.passphrase import PassphraseScreen

SIZE = (120, 40)
LAB_OTP = "resultats@labo-estuaire.example"
LAB_STREAM = "envoi@bio-collines.example"

pytestmark = pytest.mark.asyncio


async def open_compose(app, pilot):
    await pilot.pause()
    await pilot.press("c")
    await pilot.pause()
    assert isinstance(app.screen, ComposeScreen)
    return app.screen


async def test_modes_are_shown_per_recipient_before_sending(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_compose(app, pilot)
        await pilot.press(*LAB_OTP)
        await settle(app, pilot)
        assert f"{LAB_OTP}: one-time pad" in str(screen.query_one("#compose-modes").render())
        # one message for all: no pad is shared with both labs, so it is stream, the first lab's key by pad
        await pilot.press(*f", {LAB_STREAM}, nobody@nowhere.example")
        await settle(app, pilot)
        modes = str(screen.query_one("#compose-modes").render())
        assert "One message, stream mode, for 2 recipients" in modes
        assert f"{LAB_OTP}: stream (ChaCha20), its key sealed with a pad you share" in modes
        assert f"{LAB_STREAM}: stream (ChaCha20; no pad shared" in modes
        assert "nobody@nowhere.example: unknown address" in modes


async def test_recipient_completes_from_the_keyring(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_compose(app, pilot)
        await pilot.press(*"resul")
        await settle(app, pilot)
        await pilot.press("right")
        assert screen.query_one("#compose-to").value == LAB_OTP


async def test_send_seals_into_the_outbox_with_a_clear_copy_in_sent(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await open_compose(app, pilot)
        await pilot.press(*LAB_OTP, "tab", *"Question sur un dossier", "tab", *"Bonjour", "ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
    queued = list((outbox(demo) / "new").iterdir())
    assert len(queued) == 1
    raw = queued[0].read_bytes()
    assert b"Question sur un dossier" not in raw and b"Bonjour" not in raw  # only the envelope travels
    with Store.open(demo) as store:
        sent = store.window("tag:sent and tag:outbox", 0, 10)
        assert [s.subject for s in sent] == ["Question sur un dossier"]
        assert sent[0].mode == "otp"


async def test_an_unknown_recipient_is_refused_and_nothing_is_queued(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await open_compose(app, pilot)
        await pilot.press(*"nobody@nowhere.example", "ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ComposeScreen)
        assert any("unknown address" in n.message for n in app._notifications)
    assert not (outbox(demo) / "new").exists() or not list((outbox(demo) / "new").iterdir())


async def test_without_passphrase_file_a_wrong_passphrase_is_asked_again(demo, make_app, monkeypatch):
    from pli.core.demo import DEMO_PASSPHRASE

    monkeypatch.delenv("PLI_PASSPHRASE_FILE")
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, PassphraseScreen)
        await pilot.press(*"wrong", "enter")
        await pilot.pause()
        assert isinstance(app.screen, PassphraseScreen)
        assert "wrong passphrase" in str(app.screen.query_one("#passphrase-error").render())
        await pilot.press(*DEMO_PASSPHRASE, "enter")
        await pilot.pause()
        assert isinstance(app.screen, ComposeScreen)


async def test_reply_goes_to_the_sender_and_shows_its_mode(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("slash", *"from:labo-estuaire.example and tag:verified", "enter", "r")
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, ComposeScreen)
        assert screen.current_draft().to == [LAB_OTP]
        assert f"{LAB_OTP}: one-time pad" in str(screen.query_one("#compose-modes").render())
        # In-Reply-To names the message as the lab knows it, not as our store names it: it threads there too
        in_reply_to = screen.current_draft().in_reply_to
        assert in_reply_to.endswith("@pli-generator.example>") and "pli.invalid" not in in_reply_to


async def test_lookups_finishing_after_send_do_not_crash_the_app(demo, make_app):
    """Typing then sending at once: a thread looking up matches or modes may report after compose closed."""
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_compose(app, pilot)
        await pilot.press(*LAB_OTP, "ctrl+s")
        await settle(app, pilot)
        assert isinstance(app.screen, MainScreen)
        screen.show_matches(LAB_OTP, [])      # what a late look-up thread calls
        screen.show_modes(LAB_OTP, [])
        await settle(app, pilot)
        assert app.is_running and isinstance(app.screen, MainScreen)
