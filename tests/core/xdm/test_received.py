"""Reading a received MSSanté mail: tier, X-MSS-* headers, the XDM package's documents, CDA text, lab results, tags.

The lab's mail carries the reference package tests/fixtures/mssante/xdm-cr-bio/ (written after the IHE ITI
and ANS specifications, see the README there), zipped here the way a lab's system sends it; hostile packages
are that package made unsafe.  Whatever is wrong, the reader returns (never raises) with a one-line reason.
"""
from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest

from pli.core.lab.cda import read_cda
from pli.core.lab.cda_results import lab_report
from pli.core.xdm.received import BADGE, SEALED_TIER, TIER, XDM_REFUSED, read_received
from test_xdm import CR_BIO, PDF, reference_files, zipped

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
HPRIM = (FIXTURES / "lab-wild" / "h02-freehealth-full-panel.hpr").read_bytes()


def lab_mail(zip_bytes: bytes | None = None, *, headers=(("X-MSS-CODECDA", "11502-2"), ("X-MSS-INS", "O")),
             receipt: bool = True, extra: tuple[tuple[bytes, str, str, str], ...] = ()) -> bytes:
    """A lab's MSSanté mail: text, the PDF, IHE_XDM.ZIP (as the ANS sequence builds it: PDF + IHE_XDM.ZIP)."""
    mail = EmailMessage()
    mail["From"] = "Laboratoire Exemple <labo@labo.mssante.test>"
    mail["To"] = "jeanne.exemple@cabinet.mssante.test"
    mail["Subject"] = "XDM/1.0/DDM+Compte rendu d'examens biologiques FICTIF Zoé 12/04/1965"
    mail["Message-ID"] = "<cr-0042@labo.mssante.test>"
    mail["Return-Path"] = "<labo@labo.mssante.test>"
    for name, value in headers:
        mail[name] = value
    if receipt:
        mail["Disposition-Notification-To"] = "labo@labo.mssante.test"
    mail.set_content("Bonjour,\nveuillez trouver le compte rendu ci-joint.\n")
    mail.add_attachment(PDF, maintype="application", subtype="pdf", filename="CR_FICTIF.pdf")
    mail.add_attachment(zipped(reference_files()) if zip_bytes is None else zip_bytes, maintype="application",
                        subtype="zip", filename="IHE_XDM.ZIP")
    for data, maintype, subtype, name in extra:
        mail.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return mail.as_bytes()


def test_a_labs_mail_lists_its_documents_text_and_results_in_the_mssante_tier():
    mail = read_received(lab_mail())
    assert (mail.tier, mail.badge, mail.problems) == (TIER, BADGE, ())
    assert (mail.headers.ins_qualified, mail.headers.cda_codes) == (True, ("11502-2",))
    assert mail.message_id == "<cr-0042@labo.mssante.test>" and "FICTIF Zoé" in mail.subject
    cda, letter = mail.documents
    assert (cda.title, cda.type_code, cda.mime_type, cda.is_cda) == (
        "Compte rendu d'examens biologiques", "11502-2", "text/xml", True)
    assert cda.patient == "INS-NIR 265040000123407" and cda.patient_name == "FICTIF Zoé"
    assert any("RPPS 10000000123" in a for a in cda.authors)
    assert (letter.mime_type, letter.text, letter.data) == ("application/pdf", "", PDF)
    assert "Hémoglobine" in cda.text and "Hémoglobine" in mail.text
    [report] = mail.reports
    assert report.format == "cda" and report.severity == "critical"


def test_the_tags_are_the_lab_rules_with_the_tier_and_never_verified():
    mail = read_received(lab_mail())
    key = lab_report(read_cda(CR_BIO)).patient.key
    assert set(mail.tags) == {"mssante", "unsealed", "inbox", "unread", "lab", "abnormal", "critical",
                              f"patient:{key}"}
    assert "verified" not in mail.tags and "sealed" not in mail.tags and "quarantine" not in mail.tags
    assert ("pli.mode", "mssante") in mail.properties
    assert dict(mail.properties)["pli.patient"] == mail.lab.patient != ""


def test_the_mdn_the_sender_asks_for_is_known():
    assert read_received(lab_mail()).mdn.to == "labo@labo.mssante.test"
    assert read_received(lab_mail(receipt=False)).mdn is None


def _bomb() -> bytes:
    files = reference_files()
    files["IHE_XDM/SUBSET01/DOC0003.XML"] = bytes(20 * 1024 * 1024)
    return zipped(files)


def _traversal() -> bytes:
    files = reference_files()
    files["../../.bashrc"] = b"rm -rf ~\n"
    return zipped(files)


def _no_metadata() -> bytes:
    files = reference_files()
    del files["IHE_XDM/SUBSET01/METADATA.XML"]
    return zipped(files)


@pytest.mark.parametrize("package, words", [
    (_bomb, "zip bomb"), (_traversal, "points outside the package"), (_no_metadata, "METADATA.XML"),
    (lambda: b"PK\x03\x04 not a zip", "not a readable zip"),
])
def test_a_hostile_or_broken_package_is_one_line_and_the_mail_is_still_filed(package, words):
    raw = lab_mail(package())
    mail = read_received(raw)
    [problem] = mail.problems
    assert words in problem and "\n" not in problem and "FICTIF" not in problem
    assert mail.tier == TIER and "inbox" in mail.tags and "quarantine" not in mail.tags
    # the CDA code said a lab report was inside: the message is marked as one pli could not read
    assert {XDM_REFUSED, "lab-unreadable", "mssante"} <= set(mail.tags) and "lab" not in mail.tags
    assert mail.lab.error and mail.documents == () and mail.reports == ()


def test_a_refused_package_that_was_no_lab_report_is_not_called_one():
    mail = read_received(lab_mail(_traversal(), headers=(("X-MSS-CODECDA", "11490-0"),)))
    assert XDM_REFUSED in mail.tags and "lab-unreadable" not in mail.tags


def test_an_unreadable_cda_in_a_sound_package_is_named_and_the_other_documents_are_listed():
    import hashlib

    files = reference_files()
    broken = b"<ClinicalDocument xmlns='urn:hl7-org:v3'><id root='1.2'/></ClinicalDocument>"
    old = files["IHE_XDM/SUBSET01/DOC0001.XML"]
    files["IHE_XDM/SUBSET01/DOC0001.XML"] = broken
    metadata = files["IHE_XDM/SUBSET01/METADATA.XML"]
    metadata = metadata.replace(hashlib.sha1(old).hexdigest().encode(), hashlib.sha1(broken).hexdigest().encode())
    files["IHE_XDM/SUBSET01/METADATA.XML"] = metadata.replace(f">{len(old)}<".encode(), f">{len(broken)}<".encode())
    mail = read_received(lab_mail(zipped(files)))
    [problem] = mail.problems
    assert problem.startswith("IHE_XDM/SUBSET01/DOC0001.XML: malformed CDA document: the document has no type")
    assert len(mail.documents) == 2 and mail.documents[0].problem == problem
    assert {"lab-unreadable", "mssante"} <= set(mail.tags) and XDM_REFUSED not in mail.tags


def test_a_plain_mssante_mail_with_an_hprim_file_is_tagged_like_any_lab_mail():
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "labo@labo.mssante.test", "dr@op.mssante.test", "Résultats"
    mail.set_content("Résultats joints.\n")
    mail.add_attachment(HPRIM, maintype="text", subtype="x-hprim", filename="resultats.hpr")
    received = read_received(mail.as_bytes())
    assert received.documents == () and received.reports and received.problems == ()
    assert {"mssante", "lab", "inbox"} <= set(received.tags) and "verified" not in received.tags
    assert any(t.startswith("patient:") for t in received.tags)


def test_a_damaged_hprim_file_is_one_line_and_tagged_unreadable():
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "labo@labo.mssante.test", "dr@op.mssante.test", "Résultats"
    mail.set_content("Résultats joints.\n")
    mail.add_attachment(b"\x00\x01 not hprim at all", maintype="text", subtype="x-hprim", filename="r.hpr")
    received = read_received(mail.as_bytes())
    [problem] = received.problems
    assert "\n" not in problem and "lab-unreadable" in received.tags and "mssante" in received.tags


def test_pli_sealed_mail_through_an_mssante_account_goes_to_the_usual_import():
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "dr.a@op.mssante.test", "dr.b@op.mssante.test", "pli"
    mail.set_content("sealed\n")
    mail.add_attachment(b"PLI", maintype="application", subtype="x-pli-envelope", filename="sealed.pli")
    assert read_received(mail.as_bytes()).tier == SEALED_TIER


def test_damaged_headers_and_a_mail_with_no_structure_do_not_raise():
    raw = (b"From: =?x-unknown?q?labo?= <labo@labo.mssante.test>\r\nSubject: =?utf-8?b?###?=\r\n"
           b"X-MSS-INS: O\r\nContent-Type: multipart/mixed\r\n\r\nno boundary at all\r\n")
    mail = read_received(raw)
    assert mail.tier == TIER and mail.headers.ins == "O" and "mssante" in mail.tags
