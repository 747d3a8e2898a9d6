"""Compose to MSSanté recipients (issue 16): completion offers the imported MSSanté extract's addresses after
pli's own, marked MSSanté; the plan line says "MSSanté (transport-secured)" and why; ctrl+s submits at once
through the MSSanté account to a real operator (Dovecot, tests/core/dovecot_fixtures.py): a PDF as an IHE XDM
package with the patient asked for in compose, a text alone as ordinary MIME; a refusal keeps the message."""
from __future__ import annotations

import email
import email.policy
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "core" / "mail"))   # the operator's fixtures

from directory_fixtures import Authority, entry_for  # noqa: E402
from dovecot_fixtures import make_jwt, relayed_to, token_helper  # noqa: E402
from mssante_fixtures import DOMAIN, operator  # noqa: E402,F401 - operator is a fixture
from test_directory_mssante import row  # noqa: E402
from test_mssante_index import extract_file  # noqa: E402
from test_compose_send import (NEPHRO, colleague, compose as open_compose, compose_to, messages,  # noqa: E402,F401
                               settle)  # colleague is a fixture
from test_xdm import PDF  # noqa: E402
from transport_fixtures import write_account  # noqa: E402

from pli.core.crypto.envelope import open_mail  # noqa: E402
from pli.core.crypto.keyring import Keyring  # noqa: E402
from pli.core.demo import DEMO_PASSPHRASE  # noqa: E402
from pli.core.directory.mssante_index import import_extract  # noqa: E402
from pli.core.home import Home  # noqa: E402
from pli.core.transport import outbox  # noqa: E402
from pli.core.xdm import read_package  # noqa: E402
from pli.tui.screens.document_patient import DocumentPatientScreen  # noqa: E402
from pli.tui.screens.main import MainScreen  # noqa: E402

SIZE = (130, 42)
LAB = f"secretariat.kermarrec@{DOMAIN}"
pytestmark = pytest.mark.asyncio


def mssante_home(home: Home, operator, token: str | None = None) -> None:
    """The demo home with an MSSanté account on the test operator (XOAUTH2 by a token command) and the extract
    listing the lab."""
    helper = token_helper(home.root / "bin", token or make_jwt(operator.oauth_key, "dr.martin", lifetime=3600))
    write_account(home, "mss", address=f"dr.martin@{DOMAIN}", mssante=True, auth="xoauth2", username="dr.martin",
                  token_command=[str(helper)], ca_file=str(operator.test_ca.cert_path), imap_host="localhost",
                  imap_port=operator.imaps_port, smtp_host="localhost", smtp_port=operator.submissions_port,
                  default=True)
    lab = row(**{"Type de BAL": "ORG", "Adresse BAL": LAB, "Raison Sociale structure BAL": "LABO FICTIF KERMARREC",
                 "Nom d'exercice": "KERMARREC", "L6LIGNEACHEMINEMENT": "29200 BREST"})
    import_extract(extract_file(home.root, [lab]), home.mssante_index)


def plan(screen) -> str:
    return str(screen.query_one("#compose-modes").render())


async def test_completion_lists_pli_matches_first_then_mssante_ones_marked_so(demo, make_app, operator, colleague):
    mssante_home(demo, operator)
    Authority().install(demo, [entry_for(colleague.identity.public, profession="Médecin", town="Brest")])
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await compose_to(app, pilot, *"ker")
        shown = screen.query_one("#compose-matches")
        labels = [str(shown.get_option_at_index(i).prompt) for i in range(shown.option_count)]
        assert [c.address for c in screen.matches] == [NEPHRO, LAB]          # pli's directory first
        assert "[directory]" in labels[0] and "[MSSanté]" in labels[1] and "LABO FICTIF KERMARREC" in labels[1]
        await pilot.press("down", "tab")
        await settle(app, pilot)
        assert screen.query_one("#compose-to").value == f"{LAB}, "
        assert (f"◆ {LAB}: MSSanté (transport-secured): not in the pli directory, listed in the MSSanté extract"
                in plan(screen))
        assert "via account mss" in plan(screen) and "stream" not in plan(screen)


async def test_inline_completion_offers_an_mssante_address_after_pli_has_none(demo, make_app, operator):
    mssante_home(demo, operator)
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await compose_to(app, pilot, *"secretariat.ke")
        field = screen.query_one("#compose-to")
        suggested = await field.suggester.get_suggestion(field.value)
        assert suggested == LAB


async def test_a_pdf_to_an_mssante_address_asks_the_patient_and_goes_as_an_xdm_package(demo, make_app, operator,
                                                                                       tmp_path):
    mssante_home(demo, operator)
    letter = tmp_path / "Courrier.pdf"
    letter.write_bytes(PDF)
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_compose(app, pilot)
        await pilot.press(*LAB, "tab", *"Courrier compose-xdm", "tab", *"Veuillez trouver le courrier.")
        screen.draft.attachments.append(letter)
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert isinstance(app.screen, DocumentPatientScreen)
        await pilot.press(*"FICTIF", "enter", *"Zoé", "enter", *"12/04/1965", "enter", "enter")
        await settle(app, pilot)
        assert isinstance(app.screen, DocumentPatientScreen)            # refused in the dialog, in words
        problem = str(app.screen.query_one("#patient-problem").render())
        assert "'12/04/1965' is not a date written YYYY-MM-DD" in problem
        assert not any(b"compose-xdm" in m[2] for m in operator.sink.messages)
        app.screen.query_one("#patient-born").value = "1965-04-12"
        app.screen.query_one("#patient-ins").value = "265040000123407"
        app.screen.query_one("#patient-ins").focus()
        await pilot.press("enter")
        await settle(app, pilot)
        assert isinstance(app.screen, MainScreen), messages(app)
        assert f"sent to {LAB} (MSSanté, transport-secured" in messages(app)
    _, recipients, relayed = relayed_to(operator, b"Veuillez trouver le courrier")
    mail = email.message_from_bytes(relayed, policy=email.policy.default)
    assert recipients == [LAB] and mail["Subject"] == "XDM/1.0/DDM+Courrier FICTIF Zoé 12/04/1965"
    assert mail["From"].addresses[0].addr_spec == f"dr.martin@{DOMAIN}"
    assert mail["Disposition-Notification-To"] == f"dr.martin@{DOMAIN}"   # an MDN asked, as `pli send` does
    [package] = [p for p in mail.iter_attachments() if p.get_filename() == "IHE_XDM.ZIP"]
    [document] = read_package(package.get_content()).documents
    assert document.data == PDF and document.entry.patient.extension == "265040000123407"
    assert outbox.pending(demo) == []                                   # nothing sealed: no pli recipient


async def test_a_text_goes_as_ordinary_mime_and_a_pli_recipient_beside_is_sealed(demo, make_app, operator):
    mssante_home(demo, operator)
    known = "resultats@labo-estuaire.example"                           # in the demo keyring
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await compose_to(app, pilot, *f"{LAB}, {known}")
        assert f"◆ {LAB}: MSSanté (transport-secured)" in plan(screen) and f"{known}: " in plan(screen)
        await pilot.press("tab", *"Question compose-text", "tab", *"Une question sans document.", "ctrl+s")
        await settle(app, pilot)
        assert isinstance(app.screen, MainScreen), messages(app)
        assert f"sealed for {known}; queued in the outbox" in messages(app)
    _, recipients, relayed = relayed_to(operator, b"compose-text")
    mail = email.message_from_bytes(relayed, policy=email.policy.default)
    assert recipients == [LAB] and mail.get_content_type() == "text/plain"
    assert "Une question sans document." in mail.get_content() and "X-MSS-CODECDA" not in mail
    assert not any(known.encode() in to.encode() for m in operator.sink.messages if b"compose-text" in m[2]
                   for to in m[1])
    # sealed for the pli recipient only, and flushed through the MSSanté account (the default one, token login):
    # the operator relayed the very bytes sealed in the outbox, and the lab's keyring opens them
    assert outbox.pending(demo) == []
    [sealed] = (outbox.outbox_dir(demo) / "cur").iterdir()
    marker = email.message_from_bytes(sealed.read_bytes())["Message-ID"].encode()
    sender, recipients, relayed = relayed_to(operator, marker)
    assert recipients == [known] and sender == f"dr.martin@{DOMAIN}"
    assert b"Une question sans document." not in relayed                # sealed: the text is not in clear
    opened = open_mail(relayed, Keyring.unlock(Home(demo.root / "peers" / "lab-otp"), DEMO_PASSPHRASE))
    assert b"Une question sans document." in opened.inner


async def test_an_operator_refusing_the_login_keeps_compose_open_and_nothing_sealed(demo, make_app, operator):
    mssante_home(demo, operator, token=make_jwt(b"not the operator's key" * 2, "dr.martin"))
    before = len(operator.sink.messages)
    app = make_app(demo)
    async with app.run_test(size=SIZE) as pilot:
        screen = await compose_to(app, pilot, *LAB, "tab", *"Question refused", "tab", *"Texte gardé.", "ctrl+s")
        assert app.screen is screen
        said = messages(app)
        assert f"not sent to {LAB}: " in said and "access token is not valid" in said
        assert screen.query_one("#compose-body").text == "Texte gardé."
    assert len(operator.sink.messages) == before and outbox.pending(demo) == []
