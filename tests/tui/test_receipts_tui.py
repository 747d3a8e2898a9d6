"""Receipts in the TUI: opening a message that asks sends the read receipt (when the setting allows),
and the sender's message view shows who acknowledged it."""
from __future__ import annotations

import email
import email.policy

import pytest

from pli.core.crypto.identity import Identity
from pli.core.crypto.keyring import Keyring
from pli.core.crypto.pairing import introduce
from pli.core.home import Home
from pli.core.audit import steps_of
from pli.core.store import headers
from pli.core.store import Store, create_store
from pli.core.mail.receive import receive
from pli.core.mail.send import seal_and_queue
from pli.core.transport import outbox
from pli.tui.screens.message import MessageScreen
from pli.tui.widgets.receipts_line import ReceiptsLine

SIZE = (120, 40)
pytestmark = pytest.mark.asyncio


def person(root, name: str, number: int) -> Keyring:
    identity = Identity.generate(f"{10000000000 + number}", f"{name}@pli.test", f"Dr {name.title()}")
    keyring = Keyring.create(Home(root / name), identity, "pass phrase", kdf_log2n=10)
    create_store(keyring.home, address=f"{name}@pli.test")
    keyring.home.config.write_text(f"[receipts]\nsend_read = {'true' if name == 'bob' else 'false'}\n"
                                   "flush = false\n")
    return keyring


def carry(sender: Keyring, recipient: Keyring) -> None:
    for item in outbox.pending(sender.home):
        (recipient.home.root / "incoming" / "new" / f"{item.key}.pli").write_bytes(item.read())
        item.path.rename(outbox.outbox_dir(sender.home) / "cur" / f"{item.path.name}{outbox.SENT_FLAGS}")
    receive(recipient.home, None, keyring=recipient, workers=1)


@pytest.fixture
def pair(tmp_path):
    alice, bob = person(tmp_path, "alice", 1), person(tmp_path, "bob", 2)
    introduce(alice, bob)
    inner = email.message_from_bytes(b"From: alice@pli.test\nTo: bob@pli.test\nSubject: K+ 6.8\n"
                                     b"Message-ID: <tui-1@pli.test>\n\nResult.\n", policy=email.policy.default)
    seal_and_queue(alice.home, alice, inner, ["bob@pli.test"], receipts="delivery,read")
    carry(alice, bob)
    return alice, bob


async def open_first(app, pilot, query: str) -> MessageScreen:
    await pilot.pause()
    await pilot.press("slash", *query, "enter", "enter")
    await pilot.pause()
    assert isinstance(app.screen, MessageScreen)
    return app.screen


async def test_opening_a_message_that_asks_sends_the_read_receipt_once(pair):
    from pli.tui.app import PliApp

    alice, bob = pair
    assert len(outbox.pending(bob.home)) == 1                    # the delivery receipt, at import
    app = PliApp(bob.home, keyring=bob)
    async with app.run_test(size=SIZE) as pilot:
        await open_first(app, pilot, "from:alice@pli.test")
        await app.workers.wait_for_complete()
        await pilot.press("escape")
        await open_first(app, pilot, "from:alice@pli.test")      # opened again: no second receipt
        await app.workers.wait_for_complete()
    assert len(outbox.pending(bob.home)) == 2
    with Store.open(bob.home) as store:
        [received] = store.window("from:alice@pli.test", 0, 10)     # stored under bob's store's own id
        assert "receipt-sent:read" in received.tags
        envelope = headers.value_of(store.read_clear(received.message_id), "X-Pli-Envelope-Id")
    steps = [(e.step, e.details.get("receipt")) for e in steps_of(bob.home, envelope)]
    assert steps[:3] == [("opened-verified", None), ("receipt-sent", "delivery"), ("read", None)]
    assert steps.index(("receipt-sent", "read")) > steps.index(("read", None))

    carry(bob, alice)
    app = PliApp(alice.home, keyring=alice)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first(app, pilot, "tag:sent")
        line = str(screen.query_one(ReceiptsLine).render())
        assert "delivered to bob@pli.test" in line and "read by bob@pli.test" in line


async def test_no_read_receipt_when_the_setting_is_off(pair):
    from pli.tui.app import PliApp

    alice, bob = pair
    bob.home.config.write_text("[receipts]\nflush = false\n")   # send_read defaults to false
    app = PliApp(bob.home, keyring=bob)
    async with app.run_test(size=SIZE) as pilot:
        await open_first(app, pilot, "from:alice@pli.test")
        await app.workers.wait_for_complete()
    assert len(outbox.pending(bob.home)) == 1                    # only the delivery receipt
    carry(bob, alice)
    app = PliApp(alice.home, keyring=alice)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_first(app, pilot, "tag:sent")
        line = str(screen.query_one(ReceiptsLine).render())
        assert "delivered to bob@pli.test" in line and "read by" not in line


async def test_compose_asks_what_the_setting_says_and_ctrl_r_changes_it(demo, make_app):
    from pli.tui.screens.compose import ComposeScreen

    with open(demo.config, "a") as config:
        config.write('\n[receipts]\nask = "delivery"\n')
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, ComposeScreen)
        line = app.screen.query_one("#compose-receipts")
        assert "Receipts asked: delivery (" in str(line.render())
        await pilot.press("ctrl+r")
        assert "Receipts asked: delivery and read" in str(line.render())
        await pilot.press(*"resultats@labo-estuaire.example", "tab", *"Dossier", "tab", *"Bonjour", "ctrl+s")
        await pilot.pause()
    with Store.open(demo) as store:
        [sent] = store.window("tag:sent and tag:outbox", 0, 10)
        assert b"Pli-Receipt-Request: delivery, read" in store.read_clear(sent.message_id)
