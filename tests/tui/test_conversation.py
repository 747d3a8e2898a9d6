"""The conversation screen (issue 8.4): notes with one correspondent, sent sealed from a line at the bottom,
shown with their checks, marked read with the trace's "read" step, older ones loaded a page at a time."""
import asyncio
import sys
from datetime import timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "core"))   # the generated peers of the core tests

from pilot_waits import settle  # noqa: E402
from transport_fixtures import submission_server_off_loop, write_account  # noqa: E402

from pli.core.mail import conversation as notes, send  # noqa: E402
from pli.core.audit.journal import steps_of  # noqa: E402
from pli.core.crypto.envelope import open_mail, seal_mail  # noqa: E402
from pli.core.crypto.keyring import Keyring  # noqa: E402
from pli.core.demo import COLLEAGUE_NOTES, DEMO_PASSPHRASE  # noqa: E402
from pli.core.home import Home  # noqa: E402
from pli.core.store.headers import first_values  # noqa: E402
from pli.core.mail.receive import receive  # noqa: E402
from pli.core.store.store import Store  # noqa: E402
from pli.core.transport import outbox  # noqa: E402
from pli.tui.screens import conversation  # noqa: E402
from pli.tui.screens.conversation import ConversationScreen  # noqa: E402
from pli.tui.widgets.note_log import NoteLog  # noqa: E402

from conftest import FIXED_NOW  # noqa: E402

SIZE = (100, 30)
COLLEAGUE = "hugo.bernard@cabinet-demo.example"
ME = "claire.martin@cabinet-demo.example"
pytestmark = pytest.mark.asyncio


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    """Notes written in a test are dated just after the demo's fixed now: they sort after its notes."""
    ticks = iter(range(1, 1000))
    monkeypatch.setattr(conversation, "current_time", lambda: FIXED_NOW + timedelta(minutes=next(ticks)))


def peer(home: Home, name: str = "colleague") -> Keyring:
    return Keyring.unlock(Home(home.root / "peers" / name), DEMO_PASSPHRASE)


def deliver(home: Home, sealed: bytes, name: str) -> None:
    (home.root / "incoming" / "new" / name).write_bytes(sealed)
    receive(home, None, keyring=Keyring.unlock(home, DEMO_PASSPHRASE))


async def open_from_list(app, pilot) -> ConversationScreen:
    """The main screen's `C` on a note from the colleague."""
    await pilot.pause()
    await pilot.press("slash", *"tag:note", "enter")
    await pilot.pause()
    await pilot.press("C")
    await settle(app, pilot)
    assert isinstance(app.screen, ConversationScreen)
    return app.screen


def shown(screen: ConversationScreen) -> str:
    return "\n".join(screen.query_one(NoteLog).lines_text())


def messages(app) -> str:
    return "\n".join(n.message for n in app._notifications)


async def test_C_opens_the_notes_with_the_sender_newest_at_the_bottom_and_marks_them_read(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_from_list(app, pilot)
        assert screen.address == COLLEAGUE
        assert "Notes with Dr Hugo Bernard" in str(screen.query_one("#conversation-title").render())
        text = shown(screen)
        newest, oldest = "Claire, j'ai vu passer la kaliémie", "Merci pour le dossier"
        assert text.index(oldest) < text.index(newest)          # oldest first, the newest at the bottom
        assert text.count("✓ Dr Hugo Bernard") == COLLEAGUE_NOTES and "NOT VERIFIED" not in text
        assert screen.focused.id == "note-input"
        await settle(app, pilot)
    with Store.open(demo) as store:
        assert store.count("tag:note and tag:unread") == 0
        ids = [s.message_id for s in store.window("tag:note", 0, 10)]
    assert all("read" in [e.step for e in steps_of(demo, mid)] for mid in ids)


async def test_enter_seals_a_note_for_the_correspondent_and_shows_it_queued(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_from_list(app, pilot)
        await pilot.press(*"Je passe a 14 h", "enter")
        await settle(app, pilot)
        assert screen.query_one("#note-input").value == ""
        text = shown(screen)
        assert text.rstrip().endswith("Je passe a 14 h")
        assert "You · 08:01 · … queued" in text                  # no account in the demo: it waits
        assert "no mail account" in messages(app)
    [queued] = outbox.pending(demo)
    assert queued.recipients == (COLLEAGUE,)
    opened = open_mail(queued.read(), peer(demo))
    assert b"Pli-Kind: note" in opened.inner and b"Je passe a 14 h" in opened.inner
    assert [e.step for e in steps_of(demo, queued.envelope_id)][:1] == ["sealed"]
    with Store.open(demo) as store:
        [sent] = store.window("tag:sent and tag:note", 0, 5)
    assert {"outbox", "verified"} <= sent.tags and sent.subject == "Je passe a 14 h"


async def test_a_note_shows_as_sent_once_the_server_took_it(demo, make_app):
    async with submission_server_off_loop() as (port, recorder):
        write_account(demo, address=ME, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none")
        app = make_app(demo)
        async with app.run_test(size=SIZE) as pilot:
            screen = await open_from_list(app, pilot)
            await pilot.press(*"On se voit demain", "enter")
            await settle(app, pilot)
            assert "You · 08:01 · ✓ sent" in shown(screen)
    [(_sender, rcpts, raw)] = recorder.messages
    assert rcpts == [COLLEAGUE] and b"On se voit demain" not in raw
    assert outbox.pending(demo) == []
    with Store.open(demo) as store:
        [sent] = store.window("tag:sent and tag:note", 0, 5)
        envelope_id = first_values(store.read_clear(sent.message_id))["x-pli-envelope-id"]
    steps = steps_of(demo, envelope_id)
    assert [e.step for e in steps] == ["sealed", "sent"] and steps[1].details["queue_id"] == "SUB0001"


async def test_a_note_over_the_limit_is_refused_and_kept_in_the_line(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_from_list(app, pilot)
        line = screen.query_one("#note-input")
        line.value = "x" * (notes.MAX_CHARS + 1)
        await pilot.press("enter")
        await settle(app, pilot)
        assert "at most 2,000 characters" in messages(app)
        assert len(line.value) == notes.MAX_CHARS + 1
    assert outbox.pending(demo) == []


async def test_a_received_note_shows_verified_and_a_tampered_one_in_red_without_its_text(demo, make_app):
    colleague = peer(demo)
    when = int((FIXED_NOW - timedelta(minutes=30)).timestamp())
    good = send.build_note(f"Dr Hugo Bernard <{COLLEAGUE}>", ME, "Patient vu, tout va bien",
                            FIXED_NOW - timedelta(minutes=30))
    deliver(demo, seal_mail(good, colleague, [ME], now=when), "good.eml")
    bad = send.build_note(f"Dr Hugo Bernard <{COLLEAGUE}>", ME, "Rappelle-moi au 0600000000", FIXED_NOW)
    sealed = bytearray(seal_mail(bad, colleague, [ME], now=when + 60))
    middle = len(sealed) * 2 // 3
    sealed[middle] = ord("A") if sealed[middle] != ord("A") else ord("B")   # changed in transit
    deliver(demo, bytes(sealed), "bad.eml")
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_from_list(app, pilot)
        log = screen.query_one(NoteLog)
        lines = log.lines_text()
        assert any("✓ Dr Hugo Bernard · 07:30 · otp" in line for line in lines)
        assert "Patient vu, tout va bien" in shown(screen)
        assert "Rappelle-moi" not in shown(screen)                      # never shown as if it were trusted
        [failed] = [i for i, line in enumerate(lines) if "✗ NOT VERIFIED · 07:31" in line]
        below = " ".join(" ".join(lines[failed + 1:failed + 4]).split())
        assert f"claiming to come from {COLLEAGUE} failed its checks" in below
        red = log.get_component_rich_style("note-log--failed")
        strip = log._lines[failed + 1]
        assert all(seg.style.bgcolor == red.bgcolor for seg in strip if seg.text.strip())
        assert red.bgcolor != log.get_component_rich_style("note-log--theirs").bgcolor


async def test_older_notes_load_a_page_at_a_time(demo, make_app, monkeypatch):
    from pli.tui.widgets import note_log

    monkeypatch.setattr(note_log, "PAGE", 4)
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_from_list(app, pilot)
        log = screen.query_one(NoteLog)
        assert len(log.notes) == 4 and log.total == COLLEAGUE_NOTES
        assert f"↑ {COLLEAGUE_NOTES - 4} older notes" in shown(screen)
        assert "Merci pour le dossier" not in shown(screen)
        for _ in range(5):
            await pilot.press("pageup")
            await pilot.pause()
        assert len(log.notes) == COLLEAGUE_NOTES and "Merci pour le dossier" in shown(screen)
        assert "older notes" not in shown(screen)
        await settle(app, pilot)
    with Store.open(demo) as store:
        assert store.count("tag:note and tag:unread") == 0    # the older page was shown: read too


async def test_the_command_palette_finds_a_correspondent_by_name(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        app.ask_conversation()
        await pilot.pause()
        await pilot.press(*"bernard", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, ConversationScreen) and app.screen.address == COLLEAGUE
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ConversationScreen)


async def test_the_picker_offers_recent_conversations_before_anything_is_typed(demo, make_app):
    from pli.tui.screens.correspondent_picker import CorrespondentPicker

    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        conversation.open_conversation(app, "secretariat@cabinet-tilleuls.example")
        await settle(app, pilot)
        await pilot.press(*"Salle 2 libre ?", "enter", "escape")
        await settle(app, pilot)
        app.ask_conversation()
        await settle(app, pilot)
        picker = app.screen
        assert isinstance(picker, CorrespondentPicker)
        assert picker.addresses == ["secretariat@cabinet-tilleuls.example", COLLEAGUE]   # the latest first
        await pilot.press("down", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, ConversationScreen) and app.screen.address == COLLEAGUE


async def test_a_conversation_with_nobody_yet_says_how_to_start(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        conversation.open_conversation(app, "secretariat@cabinet-tilleuls.example")
        await settle(app, pilot)
        assert "No notes yet" in shown(app.screen)


async def test_plain_mail_claiming_to_come_from_a_correspondent_shows_as_not_verified(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        conversation.open_conversation(app, "resultats@labo-estuaire.example")   # the demo's two spoofs
        await settle(app, pilot)
        text = shown(app.screen)
        assert text.count("✗ NOT VERIFIED") == 2 and "Message non scellé" not in text
        assert "the message was not sealed (plain mail)" in text



async def test_a_poll_shows_a_note_that_arrived_and_ours_as_it_is_sent_and_acknowledged(demo, make_app):
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_from_list(app, pilot)
        await pilot.press(*"Tu es dispo ?", "enter")
        await settle(app, pilot)
        assert "You · 08:01 · … queued" in shown(screen)
        good = send.build_note(f"Dr Hugo Bernard <{COLLEAGUE}>", ME, "Oui, je t'appelle", FIXED_NOW)
        sealed = seal_mail(good, peer(demo), [ME], now=int(FIXED_NOW.timestamp()))
        await asyncio.to_thread(deliver, demo, sealed, "answer.eml")     # `pli new` in another process
        [mine] = app.store.window("tag:sent and tag:note", 0, 1)
        app.store.tag([mine.message_id], remove=("outbox",))             # what the transport does once sent
        screen.poll()
        await settle(app, pilot)
        assert "Oui, je t'appelle" in shown(screen) and "You · 08:01 · ✓ sent" in shown(screen)
        app.store.tag([mine.message_id], add=("delivered",))              # what an accepted receipt does
        screen.poll()
        await settle(app, pilot)
        assert "You · 08:01 · ✓✓ delivered" in shown(screen)
        reloads = []
        screen.reload = lambda: reloads.append(1)
        screen.poll()                                                      # nothing changed: nothing reread
        assert reloads == []


async def test_a_note_from_an_address_that_only_contains_the_correspondents_is_not_theirs(demo, make_app):
    """notmuch's from: matches the words of an address: bernard@... also finds hugo.bernard@...; never shown."""
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        conversation.open_conversation(app, "bernard@cabinet-demo.example")
        await settle(app, pilot)
        screen = app.screen
        assert screen.note_log.total == COLLEAGUE_NOTES          # what the query found...
        assert screen.note_log.notes == [] and "No notes yet" in shown(screen)   # ...is not this conversation
        assert "Claire, j'ai vu" not in shown(screen) and not screen.note_log.has_older
        screen.poll()
        await settle(app, pilot)
    with Store.open(demo) as store:
        assert store.count("tag:note and tag:unread") == COLLEAGUE_NOTES   # not marked read either


async def test_a_note_asking_for_a_read_receipt_gets_one_when_the_conversation_shows_it(demo, make_app):
    from pli.core import receipts

    with demo.config.open("a", encoding="utf-8") as config:
        config.write("\n[receipts]\nsend_read = true\n")
    inner = receipts.ask(send.build_note(f"Dr Hugo Bernard <{COLLEAGUE}>", ME, "Lu ?", FIXED_NOW), "read")
    deliver(demo, seal_mail(inner, peer(demo), [ME], now=int(FIXED_NOW.timestamp())), "ask.eml")
    assert outbox.pending(demo) == []
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await open_from_list(app, pilot)
        await settle(app, pilot)
    [receipt] = outbox.pending(demo)
    assert receipt.recipients == (COLLEAGUE,)
    opened = open_mail(receipt.read(), peer(demo))
    assert b"Kind: read" in opened.inner


async def test_tab_puts_a_cursor_on_the_notes_and_enter_opens_one_as_a_message(demo, make_app):
    from pli.tui.screens.message import MessageScreen

    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_from_list(app, pilot)
        log = screen.note_log
        await pilot.press("tab")
        await pilot.pause()
        assert log.has_focus and log.selected.text.startswith("Claire, j'ai vu")     # the newest
        await pilot.press("up")
        await pilot.pause()
        assert log.selected.text.startswith("Je prends le samedi")
        start = (log._starts[log.selected_id] - log.scroll_offset.y
                 + max(0, log.scrollable_content_region.height - len(log._lines)))
        cursor = log.get_component_rich_style("note-log--cursor")
        assert any(seg.style and seg.style.bgcolor == cursor.bgcolor for seg in log.render_line(start))
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, MessageScreen) and app.screen.summary.subject == "Garde du week-end"
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
