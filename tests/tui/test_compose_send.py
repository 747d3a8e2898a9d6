"""Compose with the directory and send for real: completion, directory-only recipients, revoked keys,
submission through an SMTP server on 127.0.0.1 in a worker, and a failure that keeps the mail in the outbox."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "core"))   # the generated peers of the core tests

from directory_fixtures import Authority, entry_for  # noqa: E402
from pilot_waits import settle  # noqa: E402
from transport_fixtures import free_port, submission_server_off_loop, write_account  # noqa: E402

from pli.core.audit.journal import steps_of  # noqa: E402
from pli.core.crypto.identity import Identity  # noqa: E402
from pli.core.crypto.keyring import Keyring  # noqa: E402
from pli.core.home import Home  # noqa: E402
from pli.core.crypto.envelope import open_mail  # noqa: E402
from pli.core.crypto.keyring import public_view  # noqa: E402
from pli.core.transport import outbox  # noqa: E402
from pli.tui.screens.compose import ComposeScreen  # noqa: E402
from pli.tui.screens.main import MainScreen  # noqa: E402
from pli.tui.screens.outbox import OutboxScreen  # noqa: E402

SIZE = (120, 40)
NEPHRO = "lea.kerguelen@chu-brest.example"
pytestmark = pytest.mark.asyncio


@pytest.fixture
def colleague(demo, tmp_path):
    """A nephrologist in Brest whom the demo keyring has never met, listed in a directory the demo trusts."""
    identity = Identity.generate("81234567890", NEPHRO, "Dr Léa Kerguelen")
    keyring = Keyring.create(Home(tmp_path / "nephro"), identity, "a pass phrase", kdf_log2n=10)
    keyring.import_public(public_view(demo)[0])
    return keyring


def directory_entry(keyring, **changes):
    return entry_for(keyring.identity.public, profession="Médecin", specialty="Néphrologie",
                     organisation="CHU de Brest", town="Brest", **changes)


async def compose(app, pilot) -> ComposeScreen:
    await pilot.pause()
    await pilot.press("c")
    await pilot.pause()
    assert isinstance(app.screen, ComposeScreen)
    return app.screen


async def compose_to(app, pilot, *keys: str) -> ComposeScreen:
    """Compose opened, `keys` typed (into To: first), and what they started (completion, the plan) finished."""
    screen = await compose(app, pilot)
    await pilot.press(*keys)
    await settle(app, pilot)
    return screen


def messages(app) -> str:
    return "\n".join(n.message for n in app._notifications)


async def test_completion_finds_a_directory_entry_by_specialty_and_town(demo, make_app, colleague):
    Authority().install(demo, [directory_entry(colleague)])
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await compose_to(app, pilot, *"nephro bres")
        shown = screen.query_one("#compose-matches")
        assert shown.display and shown.option_count == 1
        label = str(shown.get_option_at_index(0).prompt)
        assert "Dr Léa Kerguelen" in label and NEPHRO in label and "CHU de Brest" in label and "Brest" in label
        await pilot.press("tab")
        await settle(app, pilot)
        assert screen.query_one("#compose-to").value == f"{NEPHRO}, "
        assert not shown.display
        modes = str(screen.query_one("#compose-modes").render())
        assert f"{NEPHRO}: stream" in modes and "Néphrologie, CHU de Brest, Brest" in modes


async def test_completion_by_identifier_picks_with_enter(demo, make_app, colleague):
    Authority().install(demo, [directory_entry(colleague)])
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await compose_to(app, pilot, *colleague.identity.public.id[:9])
        await pilot.press("enter")
        await settle(app, pilot)
        assert screen.query_one("#compose-to").value == f"{NEPHRO}, "


async def test_a_directory_only_recipient_gets_a_message_they_can_open(demo, make_app, colleague):
    Authority().install(demo, [directory_entry(colleague)])
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await compose(app, pilot)
        await pilot.press(*NEPHRO, "tab", *"Avis sur une créatinine", "tab", *"Bonjour", "ctrl+s")
        await settle(app, pilot)
        assert isinstance(app.screen, MainScreen)
        assert "no mail account" in messages(app)      # sealed and queued; the demo has no account
    [queued] = outbox.pending(demo)
    assert queued.recipients == (NEPHRO,)
    opened = open_mail(queued.read(), colleague)
    assert b"Bonjour" in opened.inner
    assert [e.step for e in steps_of(demo, queued.envelope_id)] == ["sealed"]


async def test_a_revoked_directory_key_is_refused_with_its_date(demo, make_app, colleague):
    from datetime import datetime, timezone

    entry = directory_entry(colleague)
    entry = entry.with_revocation(entry.current_key("x25519").fingerprint,
                                  datetime(2026, 5, 4, tzinfo=timezone.utc), "compromised")
    Authority().install(demo, [entry])
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await compose_to(app, pilot, *NEPHRO)
        assert "revoked on 2026-05-04" in str(screen.query_one("#compose-modes").render())
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert isinstance(app.screen, ComposeScreen)
        assert "revoked on 2026-05-04" in messages(app)
    assert outbox.pending(demo) == []


async def test_send_submits_through_the_account_in_a_worker(demo, make_app):
    me = public_view(demo)[0].address
    async with submission_server_off_loop() as (port, recorder):
        write_account(demo, address=me, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none")
        app = make_app(demo)
        async with app.run_test(size=SIZE) as pilot:
            await compose(app, pilot)
            await pilot.press(*"resultats@labo-estuaire.example", "tab", *"Question", "tab", *"Bonjour",
                              "ctrl+s")
            await settle(app, pilot)
            assert "queue id SUB0001" in messages(app)
    [(sender, rcpts, raw)] = recorder.messages
    assert sender == me and rcpts == ["resultats@labo-estuaire.example"] and b"Bonjour" not in raw
    assert outbox.pending(demo) == []
    [queued] = [p for p in (outbox.outbox_dir(demo) / "cur").iterdir()]
    envelope_id = open_mail_id(queued.read_bytes())
    steps = steps_of(demo, envelope_id)
    assert [e.step for e in steps] == ["sealed", "sent"] and steps[1].details["queue_id"] == "SUB0001"


async def test_a_server_down_keeps_the_mail_with_its_reason_and_r_retries(demo, make_app):
    me = public_view(demo)[0].address
    config = demo.config.read_text() if demo.config.exists() else ""
    write_account(demo, address=me, smtp_host="127.0.0.1", smtp_port=free_port(), smtp_security="none")
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await compose(app, pilot)
        await pilot.press(*"resultats@labo-estuaire.example", "tab", *"Question", "tab", *"Bonjour", "ctrl+s")
        await settle(app, pilot)
        assert "kept in the outbox" in messages(app) and "refused" in messages(app)
        [waiting] = outbox.pending(demo)
        assert waiting.attempts == 1 and "refused" in waiting.last_error
        sealed = waiting.read()

        app.show_outbox()
        await settle(app, pilot)
        screen = app.screen
        assert isinstance(screen, OutboxScreen)
        assert "failed: " in str(screen.query_one("#outbox-table").get_row_at(0)[-1])
        async with submission_server_off_loop() as (port, recorder):
            demo.config.write_text(config)     # the server is back, on another port
            write_account(demo, address=me, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none")
            await pilot.press("r")
            await settle(app, pilot)
            assert "Outbox: empty" in str(screen.query_one("#outbox-title").render())
    assert [raw.replace(b"\r\n", b"\n") for _, _, raw in recorder.messages] == [sealed]   # the same bytes, resent
    assert outbox.pending(demo) == []


def open_mail_id(sealed: bytes) -> str:
    from pli.core.crypto.envelope_format import parse
    from pli.core.crypto.mime import extract_envelope

    return parse(extract_envelope(sealed)).header.message_id.hex()


async def test_a_group_practice_without_a_key_is_sealed_for_each_member(demo, make_app, colleague, tmp_path):
    from pli.core.directory import DirectoryEntry

    identity = Identity.generate("81234567891", "yann.le-goff@chu-brest.example", "Dr Yann Le Goff")
    partner = Keyring.create(Home(tmp_path / "partner"), identity, "a pass phrase", kdf_log2n=10)
    group = DirectoryEntry(id="nephro-brest", kind="group", name="Néphrologie CHU Brest", town="Brest",
                           addresses=("nephrologie@chu-brest.example",))
    Authority().install(demo, [group, directory_entry(colleague, groups=("nephro-brest",)),
                               directory_entry(partner, groups=("nephro-brest",))])
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await compose_to(app, pilot, *"nephrologie@chu-brest.example")
        modes = str(screen.query_one("#compose-modes").render())
        assert "group, sealed for each of its 2 members" in modes and NEPHRO in modes
        await pilot.press("tab", *"Staff", "tab", *"Bonjour", "ctrl+s")
        await settle(app, pilot)
        assert isinstance(app.screen, MainScreen)
    [queued] = outbox.pending(demo)
    assert set(queued.recipients) == {NEPHRO, "yann.le-goff@chu-brest.example"}
    assert b"Bonjour" in open_mail(queued.read(), colleague).inner
