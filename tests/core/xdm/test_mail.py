"""The mail pli sends to an MSSanté address: documents in an IHE XDM package, plain text as ordinary MIME.

End to end against the real Dovecot operator: submitted with a token login, relayed, delivered over LMTP,
fetched over IMAP, and read back by the reader of received mail (core/xdm/received.py).
"""
from __future__ import annotations

import email
import os
import shutil
from datetime import datetime, timezone
from email.policy import default
from xml.etree import ElementTree

import pytest

from dovecot_fixtures import OperatorDovecot, deliver, fetch_marked, relayed_to, token_account
from pki_fixtures import TestCa
from pli.core.lab.cda import PatientId
from pli.core.transport.mssante_account import Credentials, open_imap, open_smtp
from pli.core.transport.submission import crlf
from pli.core.xdm import XdmRefused, cda_document, file_document, read_package
from pli.core.xdm.mail import document_mail, text_mail
from pli.core.xdm.received import TIER, read_received
from test_xdm import CR_BIO, LETTER, PDF, RIM, SENDER, patient_of_fixture

WHEN = datetime(2026, 3, 3, 8, 0, tzinfo=timezone.utc)
TO = "dr.martin@op.mssante.test"


def parsed(mail) -> email.message.EmailMessage:
    return email.message_from_bytes(mail.as_bytes(), policy=default)


def test_a_pdf_goes_as_the_pdf_itself_and_in_an_xdm_package_with_the_mssante_subject_and_headers():
    mail = parsed(document_mail([file_document(PDF, "application/pdf", "Courrier", LETTER, patient_of_fixture())],
                                SENDER, [TO], body="Bonjour,\ncourrier joint.\n", receipt=True, now=WHEN))
    assert mail["Subject"] == "XDM/1.0/DDM+Courrier FICTIF Zoé 12/04/1965"
    assert mail["From"] == "Jeanne EXEMPLE <jeanne.exemple@cabinet.mssante.test>" and mail["To"] == TO
    assert mail["Disposition-Notification-To"] == "jeanne.exemple@cabinet.mssante.test"
    assert mail["X-MSS-CODECDA"] is None          # no CDA document: no CDA code (ECO.2.4.1)
    body, pdf, package = mail.iter_parts()
    assert body.get_content() == "Bonjour,\ncourrier joint.\n"
    assert (pdf.get_content_type(), pdf.get_filename(), pdf.get_content()) == (
        "application/pdf", "Courrier_FICTIF.pdf", PDF)
    assert (package.get_content_type(), package.get_filename()) == ("application/zip", "IHE_XDM.ZIP")
    [document] = read_package(package.get_content()).documents
    assert (document.data, document.entry.patient.extension) == (PDF, "265040000123407")


def test_a_cda_report_carries_its_code_and_ins_headers_and_no_readable_copy():
    mail = parsed(document_mail([cda_document(CR_BIO)], SENDER, [TO], now=WHEN))
    assert mail.get_all("X-MSS-CODECDA") == ["11502-2"] and mail["X-MSS-INS"] == "O"
    assert mail["Disposition-Notification-To"] is None
    body, package = mail.iter_parts()
    assert "Compte rendu d'examens biologiques" in body.get_content()
    assert package.get_filename() == "IHE_XDM.ZIP"


def test_documents_about_two_patients_are_refused_before_anything_is_built():
    other = patient_of_fixture(ins=PatientId("1.2.250.1.213.1.4.8", "165040000999999"), family="AUTRE")
    with pytest.raises(XdmRefused, match="one patient per message"):
        document_mail([cda_document(CR_BIO), file_document(PDF, "application/pdf", "Courrier", LETTER, other)],
                      SENDER, [TO])


def test_plain_text_goes_as_ordinary_mime():
    mail = parsed(text_mail("dr.a@op.mssante.test", [TO], "Question  sur\nun patient", "Bonjour.\n", receipt=True))
    assert (mail.get_content_type(), mail["Subject"], mail.get_content()) == (
        "text/plain", "Question sur un patient", "Bonjour.\n")
    assert mail["Disposition-Notification-To"] == "dr.a@op.mssante.test" and mail["X-MSS-INS"] is None


# -- end to end: the real operator --------------------------------------------------------------------------

pytest_dovecot = pytest.mark.skipif(not os.path.exists("/usr/lib/dovecot/submission")
                                    or shutil.which("dovecot") is None and not os.path.exists("/usr/sbin/dovecot"),
                                    reason="dovecot with dovecot-submissiond is not installed")
KEY = os.urandom(32)


@pytest.fixture(scope="module")
def operator(tmp_path_factory):
    ca = TestCa(tmp_path_factory.mktemp("pki") / "ca")
    with OperatorDovecot(ca.server("mss", hosts=("localhost",)), oauth_key=KEY) as server:
        server.test_ca = ca
        yield server


def account_of(operator, home, user: str):
    return token_account(operator, home, user, operator.test_ca, "oauthbearer")


@pytest_dovecot
def test_a_cr_bio_and_a_pdf_sent_through_the_operator_arrive_whole_and_read_back(operator, tmp_path):
    documents = [cda_document(CR_BIO), file_document(PDF, "application/pdf", "Courrier", LETTER,
                                                     patient_of_fixture(), created=WHEN)]
    mail = document_mail(documents, SENDER, [TO], receipt=True)
    sender = account_of(operator, tmp_path / "cabinet", "secretariat")
    smtp = open_smtp(sender, Credentials())
    smtp.sendmail(sender.address, [TO], crlf(mail.as_bytes()))
    smtp.quit()
    marker = mail["Message-ID"].encode()
    _, recipients, relayed = relayed_to(operator, marker)
    assert recipients == [TO]
    deliver(operator, sender.address, "dr.martin", relayed)
    imap = open_imap(account_of(operator, tmp_path / "martin", "dr.martin"), Credentials())
    try:
        raw = fetch_marked(imap, "FICTIF")
    finally:
        imap.logout()
    received = read_received(raw)
    assert (received.tier, received.problems, received.headers.cda_codes) == (TIER, (), ("11502-2",))
    assert received.mdn is not None and received.mdn.to == SENDER.address
    cda, letter = received.documents
    assert (cda.type_code, letter.data) == ("11502-2", PDF)
    assert received.reports[0].severity == "critical" and "critical" in received.tags
    # METADATA.XML as it arrived: the INS as the patient id, the recipient, the author's RPPS
    package = email.message_from_bytes(raw, policy=default)
    [zip_part] = [p for p in package.iter_attachments() if p.get_filename() == "IHE_XDM.ZIP"]
    metadata = _metadata(zip_part.get_content())
    assert "265040000123407^^^&1.2.250.1.213.1.4.8&ISO^NH" in metadata["ids"]
    assert f"|^^Internet^{TO}" in metadata["slots"]["intendedRecipient"]
    assert any("810000000456^EXEMPLE^Jeanne" in v for v in metadata["slots"]["authorPerson"])


def _metadata(zip_bytes: bytes) -> dict:
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
        root = ElementTree.fromstring(archive.read("IHE_XDM/SUBSET01/METADATA.XML"))
    slots: dict[str, list[str]] = {}
    for slot in root.iter(f"{RIM}Slot"):
        slots.setdefault(slot.get("name"), []).extend(v.text or "" for v in slot.iter(f"{RIM}Value"))
    ids = [e.get("value") for e in root.iter(f"{RIM}ExternalIdentifier")]
    return {"slots": slots, "ids": ids}
