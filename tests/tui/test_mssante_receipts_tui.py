"""MSSanté receipts in the TUI (issue 16): the receipts line of an MSSanté mail sent shows the MDNs and DSNs that
came back.  Outside material: the RFC 8098 §9 MDN and the Postfix bounce of tests/core/test_receipts_mdn.py
(sources named there), their Message-IDs rewritten to the mail sent here.  The mail is stored the way `pli fetch`
stores it (an account marked `mssante = true`, the incoming file named as fetch names it), then matched."""
from __future__ import annotations

import pytest

from pli.core import vocab as v
from pli.core.crypto.keyring import Keyring
from pli.core.demo import DEMO_PASSPHRASE
from pli.core.mail.mssante import record_reports
from pli.core.mail.receive import receive
from pli.core.store import Store
from pli.core.store.store import SentFacts
from pli.core.xdm.mail import text_mail
from pli.tui.screens.message import MessageScreen
from pli.tui.widgets.receipts_line import ReceiptsLine
from test_receipts_mdn import POSTFIX_DSN, RFC8098_MDN
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
