"""MSSanté receipts in the TUI (issue 16): the receipts line of an MSSanté mail sent shows the MDNs and DSNs that
came back; a read receipt that needs the user's consent (RFC 8098 §2.1) is asked for in the message view, and the
yes goes through the real test operator (dovecot_fixtures.OperatorDovecot).  Outside material: the RFC 8098 §9
MDN and the Postfix bounce of tests/core/receipts/test_mdn.py (sources named there), their Message-IDs rewritten
to the mail sent here.  The mail is stored the way `pli fetch`
stores it (an account marked `mssante = true`, the incoming file named as fetch names it), then matched."""
from __future__ import annotations

import pytest

from dovecot_fixtures import make_jwt, relayed_to, token_helper
from mssante_fixtures import operator_or_skip
from pli.core import vocab as v
from pli.core.audit import steps_of
from pli.core.crypto.keyring import Keyring
from pli.core.demo import DEMO_PASSPHRASE
from pli.core.mail.mssante_matching import record_reports
from pli.core.mail.mssante_mdn import answer_mdns
from pli.core.mail.receive import receive
from pli.core.store import Store
from pli.core.store.store import SentFacts
from pli.core.xdm.mail import text_mail
from pli.tui.screens.message import MessageScreen
from pli.tui.widgets.receipts_line import ReceiptsLine
from test_mdn import POSTFIX_DSN, RFC8098_MDN
from test_received import lab_mail
from transport_fixtures import write_account

SIZE = (160, 45)
ME = "dr.martin@op.mssante.test"
pytestmark = pytest.mark.asyncio


def mss_account(home) -> Keyring:
    write_account(home, "mss", address=ME, mssante=True, auth="password", username="dr.martin",
                  imap_host="localhost", smtp_host="localhost")
    return Keyring.unlock(home, DEMO_PASSPHRASE)


def fetched(home, keyring, number: int, raw: bytes) -> None:
    (home.root / "incoming" / "new" / f"imap.mss.7.{number}").write_bytes(raw)
    receive(home, None, keyring=keyring, workers=1)


def kept_in_sent(home, to: str) -> str:
    mail = text_mail(ME, [to], "Question sur un patient", "Bonjour.\n", receipt=True)
    raw = mail.as_bytes()
    with Store.open(home, writable=True) as store:
        store.add_sent_unsealed("a" * 32, raw, SentFacts(ME, "mssante", "", (to,), (v.MSSANTE,)))
    return str(mail["Message-ID"])


async def open_message(app, pilot, message_id: str) -> MessageScreen:
    await pilot.pause()
    summary = app.store.summary(message_id.strip("<>"))
    app.push_screen(MessageScreen(summary, app.read_message(summary)))
    await pilot.pause()
    return app.screen


async def test_the_receipts_line_of_an_mssante_mail_shows_the_mdn_and_the_dsn_that_came_back(demo, make_app):
    keyring = mss_account(demo)
    message_id = kept_in_sent(demo, "dr.b@hopital.mssante.test")
    fetched(demo, keyring, 1, RFC8098_MDN.replace(b"<199509192301.23456@example.org>", message_id.encode()))
    fetched(demo, keyring, 2, POSTFIX_DSN.replace(b"<sent-7@op.mssante.test>", message_id.encode()))
    assert record_reports(demo, keyring).matched == 3
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_message(app, pilot, message_id)
        line = str(screen.query_one(ReceiptsLine).render())
    assert line.startswith("Receipts: MSSanté: displayed by Joe_Recipient@example.com 20 Sep 04:19")
    assert "MSSanté: delivery failed for nobody@hopital.mssante.test" in line and ": 5.1.1 550 5.1.1" in line
    assert "MSSanté: delivery delivered for dr.b@hopital.mssante.test" in line


async def test_an_mssante_mail_sent_with_no_report_yet_says_so(demo, make_app):
    mss_account(demo)
    message_id = kept_in_sent(demo, "dr.b@hopital.mssante.test")
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_message(app, pilot, message_id)
        line = str(screen.query_one(ReceiptsLine).render())
    assert line == "Receipts: asked for, none received yet"


# -- the read receipt that needs the user's consent -----------------------------------------------------------

LAB_ID = "cr-0042@labo.mssante.test"


@pytest.fixture(scope="module")
def operator(tmp_path_factory):
    with operator_or_skip(tmp_path_factory) as server:
        yield server


def on_the_operator(home, operator) -> Keyring:
    helper = token_helper(home.root / "bin", make_jwt(operator.oauth_key, "dr.martin", lifetime=3600))
    write_account(home, "mss", address=ME, mssante=True, auth="xoauth2", username="dr.martin",
                  token_command=[str(helper)], ca_file=str(operator.test_ca.cert_path), imap_host="localhost",
                  imap_port=operator.imaps_port, smtp_host="localhost", smtp_port=operator.submissions_port)
    return Keyring.unlock(home, DEMO_PASSPHRASE)


def asking_consent(home, keyring) -> str:
    """The lab's mail asking its MDN at an address other than its Return-Path, fetched and left for the user."""
    raw = lab_mail().replace(b"Disposition-Notification-To: labo@labo.mssante.test",
                             b"Disposition-Notification-To: suivi@labo.mssante.test")
    fetched(home, keyring, 1, raw)
    assert answer_mdns(home, keyring).to_confirm == 1
    with Store.open(home) as store:
        [mail] = store.window(f"tag:{v.MDN_CONFIRM}", 0, 10)
    return mail.message_id


async def open_and_wait(app, pilot, message_id: str) -> MessageScreen:
    screen = await open_message(app, pilot, message_id)
    await pilot.pause()
    return screen


def question(screen) -> str:
    shown = screen.query_one("#mdn-consent")
    return str(shown.render()) if shown.display else ""


async def test_yes_sends_the_read_receipt_through_the_account_once(demo, make_app, operator):
    keyring = on_the_operator(demo, operator)
    message_id = asking_consent(demo, keyring)
    before = len(operator.sink.messages)
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_and_wait(app, pilot, message_id)
        assert question(screen) == "Send a read receipt to suivi@labo.mssante.test? (y)es / (n)o"
        await pilot.press("y")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert question(screen) == ""
        await pilot.press("y")                                  # answered: the key does nothing more
        await app.workers.wait_for_complete()
    _, recipients, mdn = relayed_to(operator, f"Original-Message-ID: <{LAB_ID}>".encode())
    assert recipients == ["suivi@labo.mssante.test"] and len(operator.sink.messages) == before + 1
    assert b"manual-action/MDN-sent-manually" in mdn
    with Store.open(demo) as store:
        tags = store.summary(message_id).tags
    assert v.MDN_SENT in tags and v.MDN_CONFIRM not in tags
    [step] = [s for s in steps_of(demo, LAB_ID) if s.step == "receipt-sent"]
    assert step.details["recipient"] == "suivi@labo.mssante.test" and step.details["receipt"] == "mdn"


async def test_no_declines_it_for_good_and_is_traced(demo, make_app):
    keyring = mss_account(demo)
    message_id = asking_consent(demo, keyring)
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_and_wait(app, pilot, message_id)
        assert question(screen).startswith("Send a read receipt to suivi@labo.mssante.test?")
        await pilot.press("n")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert question(screen) == ""
        await pilot.press("escape")
        screen = await open_and_wait(app, pilot, message_id)       # opened again: never asked again
        assert question(screen) == ""
    with Store.open(demo) as store:
        tags = store.summary(message_id).tags
    assert v.MDN_DECLINED in tags and not {v.MDN_CONFIRM, v.MDN_SENT} & tags
    assert [s.details for s in steps_of(demo, LAB_ID) if s.step == "receipt-declined"] == [
        {"receipt": "mdn", "via": "mssante"}]


async def test_a_mail_that_needs_no_consent_asks_nothing_and_y_does_nothing(demo, make_app):
    keyring = mss_account(demo)
    fetched(demo, keyring, 1, lab_mail())                          # the MDN goes to the Return-Path: no consent
    with Store.open(demo) as store:
        [mail] = store.window("tag:mssante", 0, 10)
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_and_wait(app, pilot, mail.message_id)
        assert question(screen) == ""
        await pilot.press("y")
        await app.workers.wait_for_complete()
    assert [s for s in steps_of(demo, LAB_ID) if s.step.startswith("receipt-")] == []
