"""MSSanté mail in the TUI (issue 16): its own tier badge, never the verified one; the X-MSS-* headers, the XDM
documents and their CDA text in the message view; the CR-BIO's observations in the lab view like HPRIM's.

The mail is stored the way `pli fetch` stores it: fetched from an account marked `mssante = true` into the
incoming Maildir under the name fetch gives it, then imported."""
from __future__ import annotations

import pytest
from textual.widgets import Static

from pli.core import vocab as v
from pli.core.crypto.keyring import Keyring
from pli.core.demo import DEMO_PASSPHRASE
from pli.core.mail.receive import receive
from pli.tui.screens.lab import LabScreen
from pli.tui.screens.main import MainScreen
from pli.tui.screens.message import MessageScreen
from pli.tui.widgets.lab_table import LabTable
from pli.tui.widgets.message_list import MessageList
from pli.tui.widgets.verification_badge import VerificationBadge
from test_received import lab_mail
from transport_fixtures import write_account

SIZE = (140, 45)
SUBJECT = "XDM/1.0/DDM+Compte rendu d'examens biologiques FICTIF Zoé 12/04/1965"
pytestmark = pytest.mark.asyncio


def fetched_from_mssante(home) -> None:
    write_account(home, "mss", address="dr.martin@op.mssante.test", mssante=True, auth="password",
                  username="dr.martin", imap_host="localhost", smtp_host="localhost")
    (home.root / "incoming" / "new" / "imap.mss.7.1").write_bytes(lab_mail())
    report = receive(home, None, keyring=Keyring.unlock(home, DEMO_PASSPHRASE), workers=1)
    assert report.imported == 1 and not report.quarantined


async def test_an_mssante_lab_mail_shows_its_tier_headers_documents_and_lab_results(demo, make_app):
    fetched_from_mssante(demo)
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, MainScreen)
        messages = app.screen.query_one(MessageList)
        await pilot.press("slash", *"tag:mssante", "enter")
        await pilot.pause()
        assert messages.total == 1 and not messages.current.verified
        assert v.MSSANTE in messages.current.tags and v.ABNORMAL in messages.current.tags
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, MessageScreen)
        badge = app.screen.query_one(VerificationBadge)
        text = str(badge.render())
        assert "transport-secured, not end-to-end signed" in text
        assert badge.has_class("-tier") and not badge.has_class("-verified") and not badge.has_class("-failed")
        assert "Signed by" not in text and "NOT VERIFIED" not in text
        headers = str(app.screen.query_one("#message-headers", Static).render())
        assert "X-MSS-CODECDA: 11502-2" in headers and "X-MSS-INS: O" in headers
        assert "Document: " in headers and "RPPS" in headers and "FICTIF" in headers
        documents = str(app.screen.query_one("#message-documents", Static).render())
        assert documents.startswith("== ")
        await pilot.press("L")
        await pilot.pause()
        assert isinstance(app.screen, LabScreen)
        assert "transport-secured" in str(app.screen.query_one(VerificationBadge).render())
        rows = app.screen.query_one(LabTable).rows_shown
        assert rows and any(r.symbol for r in rows)      # the CR-BIO's observations, flagged
