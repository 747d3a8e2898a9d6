"""MSSanté wired into pli (issue 16, phase 2): `pli fetch` from an MSSanté account against the real test operator
(Dovecot, TLS from a test CA, token logins), the store's MSSanté tier, and the rule "only sealed mail" elsewhere."""
from __future__ import annotations

import email
import email.policy
import re
from dataclasses import replace

import pytest

from crypto_fixtures import introduce
from dovecot_fixtures import OperatorDovecot, deliver, relayed_to, token_account
from mssante_fixtures import DOMAIN, mss_home, operator_or_skip, pli
from pki_fixtures import TestCa
from pli.core import vocab as v
from pli.core.mail.mssante_send import send_documents
from pli.core.receipts.mssante import match_reports
from pli.core.store import Store
from pli.core.transport.mssante_account import Credentials, open_imap
from pli.core.transport.submission import crlf
from pli.core.xdm import XdmRefused, file_document, read_package
from pli.core.xdm.compose import Sender
from test_xdm import LETTER, PDF, patient_of_fixture
from test_received import lab_mail
from transport_fixtures import Peers

LAB = f"secretariat@{DOMAIN}"


@pytest.fixture(scope="module")
def operator(tmp_path_factory):
    with operator_or_skip(tmp_path_factory) as server:
        yield server


def labs_mail(marker: str, **options) -> bytes:
    """The lab's CR-BIO mail (XDM package, PDF), from the lab's MSSanté mailbox, its subject marked."""
    raw = lab_mail(**options).replace(b"labo@labo.mssante.test", LAB.encode())
    return raw.replace(b"<cr-0042@", f"<cr-{marker}@".encode())


def stored(home, query: str):
    with Store.open(home) as store:
        return store.window(query, 0, 50)


def test_pli_fetch_stores_the_labs_mssante_mail_in_its_tier_tagged_like_lab_mail_never_verified(operator, tmp_path):
    home, _ = mss_home(tmp_path, operator, "dr.martin")
    deliver(operator, LAB, "dr.martin", crlf(labs_mail("fetch")))
    done = pli(tmp_path, home, "fetch")
    assert done.returncode == 0, done.stderr
    [mail] = [m for m in stored(home, "tag:mssante") if "cr-fetch" in _original_id(m)]
    assert {v.MSSANTE, v.LAB, v.ABNORMAL, v.INBOX, v.UNSEALED}.issubset(mail.tags)
    assert any(t.startswith(v.PATIENT_PREFIX) for t in mail.tags)
    assert not {v.VERIFIED, v.SEALED, v.QUARANTINE} & mail.tags and not mail.verified
    assert mail.mode == "mssante" and mail.lab_summary
    assert stored(home, "tag:quarantine") == []


def test_plain_mail_from_an_ordinary_account_is_still_quarantined(operator, tmp_path):
    """The same mailbox fetched by an account not marked MSSanté: only sealed mail gets in."""
    secret = tmp_path / "imap.pass"
    secret.write_text(OperatorDovecot.USERS["dr.martin"])
    secret.chmod(0o600)
    home, _ = mss_home(tmp_path, operator, "dr.martin", mssante=None, auth=None, token_command=None,
                       password_file=str(secret))
    deliver(operator, LAB, "dr.martin", crlf(labs_mail("ordinary")))
    done = pli(tmp_path, home, "fetch")
    assert done.returncode == 0, done.stderr
    assert stored(home, "tag:mssante") == []
    assert any("cr-ordinary" in _original_id(m) for m in stored(home, "tag:quarantine"))


def test_pli_sealed_mail_through_an_mssante_account_is_opened_and_verified_as_usual(operator, tmp_path):
    peers = Peers(tmp_path / "peers")
    home, martin = mss_home(tmp_path, operator, "dr.martin")
    introduce(peers.alice, martin)
    sealed = peers.sealed(sender=peers.alice, to=(martin.identity.public.address,))
    deliver(operator, LAB, "dr.martin", crlf(sealed))
    done = pli(tmp_path, home, "fetch")
    assert done.returncode == 0, done.stderr
    [mail] = stored(home, "tag:verified")
    assert v.MSSANTE not in mail.tags and v.SEALED in mail.tags


def _original_id(summary) -> str:
    with open(summary.path, "rb") as handle:
        return str(email.message_from_binary_file(handle).get("X-Pli-Original-Message-Id", ""))



# -- step 3: the MDN the lab asked for ------------------------------------------------------------------------

def test_the_mdn_the_lab_asked_for_is_sent_through_the_account_and_reaches_the_labs_mailbox(operator, tmp_path):
    home, _ = mss_home(tmp_path, operator, "dr.martin")
    deliver(operator, LAB, "dr.martin", crlf(labs_mail("mdn")))
    done = pli(tmp_path, home, "fetch")
    assert done.returncode == 0, done.stderr
    assert re.search(rb"\d+ MDNs? sent", done.stdout)     # the mailbox holds earlier tests' mail too
    [mail] = [m for m in stored(home, "tag:mssante") if "cr-mdn" in _original_id(m)]
    assert v.MDN_SENT in mail.tags and v.MDN_DUE not in mail.tags
    _, recipients, relayed = relayed_to(operator, b"<cr-mdn@labo.mssante.test>")
    assert recipients == [LAB]
    deliver(operator, f"dr.martin@{DOMAIN}", "secretariat", relayed)     # the lab's operator delivers it
    lab = open_imap(token_account(operator, tmp_path / "lab", "secretariat", operator.test_ca), Credentials())
    try:
        [report] = [r for r in _all_mail(lab) if b"cr-mdn@" in r]
    finally:
        lab.logout()
    [match] = match_reports(report, ["<cr-mdn@labo.mssante.test>"])
    assert (match.original_message_id, match.notification.action, match.notification.failed) == (
        "<cr-mdn@labo.mssante.test>", "processed", False)
    again = pli(tmp_path, home, "fetch")                                  # answered once, never twice
    assert again.returncode == 0 and b"MDN" not in again.stdout + again.stderr


def _all_mail(imap) -> list[bytes]:
    imap.select("INBOX", readonly=True)
    _, found = imap.uid("SEARCH", "ALL")
    found = found[0].split()
    return [imap.uid("FETCH", uid.decode(), "(BODY.PEEK[])")[1][0][1] for uid in found]


# -- step 4 (the use case only): a PDF to an MSSanté address as an XDM package ---------------------------------

def test_a_pdf_sent_to_an_mssante_address_goes_as_an_xdm_package_through_the_account(operator, tmp_path):
    home, _ = mss_home(tmp_path, operator, "dr.martin")
    pdf = file_document(PDF, "application/pdf", "Courrier", LETTER, patient_of_fixture())
    sender = Sender(address=f"dr.martin@{DOMAIN}", rpps="10000000011", family="MARTIN", given="Jeanne")
    message_id = send_documents(home, [pdf], sender, [LAB])
    _, recipients, relayed = relayed_to(operator, message_id.encode())
    assert recipients == [LAB]
    deliver(operator, f"dr.martin@{DOMAIN}", "secretariat", relayed)
    lab = open_imap(token_account(operator, tmp_path / "lab", "secretariat", operator.test_ca), Credentials())
    try:
        [received] = [r for r in _all_mail(lab) if message_id.encode() in r]
    finally:
        lab.logout()
    mail = email.message_from_bytes(received, policy=email.policy.default)
    assert mail["Subject"] == "XDM/1.0/DDM+Courrier FICTIF Zoé 12/04/1965"
    assert mail["Disposition-Notification-To"] == f"dr.martin@{DOMAIN}"
    [package] = [p for p in mail.iter_attachments() if p.get_filename() == "IHE_XDM.ZIP"]
    read = read_package(package.get_content())
    [document] = read.documents
    assert document.data == PDF and document.entry.patient.extension == "265040000123407"
    assert document.entry.title == "Courrier" and document.entry.mime_type == "application/pdf"
    assert [a.rpps for a in document.entry.authors] == ["10000000011"]


def test_documents_about_two_patients_are_refused_before_anything_is_submitted(operator, tmp_path):
    home, _ = mss_home(tmp_path, operator, "dr.martin")
    other = replace(patient_of_fixture(), family="AUTRE", ins=None)
    documents = [file_document(PDF, "application/pdf", "A", LETTER, patient_of_fixture()),
                 file_document(PDF, "application/pdf", "B", LETTER, other)]
    before = len(operator.sink.messages)
    with pytest.raises(XdmRefused):
        send_documents(home, documents, Sender(address=f"dr.martin@{DOMAIN}"), [LAB])
    assert len(operator.sink.messages) == before


def test_a_wrong_ca_through_pli_fetch_is_one_line_exit_75_and_fetches_nothing(operator, tmp_path):
    other = TestCa(tmp_path / "other-ca", "other CA")
    home, _ = mss_home(tmp_path, operator, "dr.martin", ca_file=str(other.cert_path))
    done = pli(tmp_path, home, "fetch")
    assert done.returncode == 75
    lines = done.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr.decode() and "localhost" in lines[0]
    assert stored(home, "*") == [] and not list((home.root / "incoming" / "new").iterdir())
