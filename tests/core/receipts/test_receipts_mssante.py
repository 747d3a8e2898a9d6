"""MSSanté receipts: the MDN a received mail asks for (processed, or processed/error 906 with pli's reason), and
MDNs and DSNs matched to the mail pli sent.  End to end: a lab's mail through the real Dovecot operator, the
practitioner's MDN back through submission into the lab's mailbox, fetched and matched."""
from __future__ import annotations

import email
import os
import shutil
from email.policy import compat32, default

import pytest

from dovecot_fixtures import OperatorDovecot, deliver, fetch_marked, relayed_to, token_account
from pki_fixtures import TestCa
from pli.core.receipts.mssante import ANS_ERRORS, match_reports, mdn_answer, named_ids
from pli.core.receipts.notifications import MalformedNotification, read_notifications
from pli.core.transport.mssante_account import Credentials, open_imap, open_smtp
from pli.core.transport.submission import crlf
from pli.core.xdm.received import read_received
from test_mdn import RFC3464_DSN, RFC8098_MDN
from test_received import _traversal, lab_mail

ME = "jeanne.exemple@cabinet.mssante.test"


def machine_fields(mail) -> email.message.Message:
    report = email.message_from_bytes(mail.as_bytes(), policy=compat32)
    [part] = [p for p in report.walk() if p.get_content_type() == "message/disposition-notification"]
    payload = part.get_payload()
    return payload[0] if isinstance(payload, list) else email.message_from_string(payload)


def test_a_mail_read_whole_is_answered_processed_with_its_headers_only():
    raw = lab_mail()
    answer = mdn_answer(raw, ME, problems=read_received(raw).problems)
    assert (answer.to, answer.needs_confirmation, answer.error) == ("labo@labo.mssante.test", False, None)
    fields = machine_fields(answer.mail)
    assert fields["Disposition"] == "automatic-action/MDN-sent-automatically; processed"
    assert fields["Original-Message-ID"] == "<cr-0042@labo.mssante.test>"
    assert answer.mail["Subject"].startswith("XDM/1.0/DDM+Compte rendu")
    assert b"IHE_XDM.ZIP" not in answer.mail.as_bytes()          # headers only: the package is not sent back


def test_a_refused_package_is_answered_processed_error_906_with_the_reason_and_the_whole_original():
    raw = lab_mail(_traversal())
    received = read_received(raw)
    answer = mdn_answer(raw, ME, problems=received.problems)
    assert answer.error == ("906", ANS_ERRORS["906"])
    assert answer.mail["Subject"].startswith("[KO Intégration système !][906] XDM/1.0/DDM+")
    fields = machine_fields(answer.mail)
    assert fields["Disposition"].endswith("processed/error") and fields["Error"].startswith("906^")
    human = email.message_from_bytes(answer.mail.as_bytes(), policy=default).get_body(("plain",)).get_content()
    assert "points outside the package" in human
    assert b'filename="IHE_XDM.ZIP"' in answer.mail.as_bytes()  # the original goes back with its attachments
    [notice] = read_notifications(answer.mail.as_bytes())
    assert (notice.failed, notice.status, notice.original_message_id) == (True, "906", "<cr-0042@labo.mssante.test>")


def test_no_mdn_without_a_request_a_chosen_code_and_consent_when_the_address_is_not_the_return_path():
    assert mdn_answer(lab_mail(receipt=False), ME) is None
    assert mdn_answer(lab_mail(), ME, error="902").error == ("902", "Identifiant patient inconnu")
    with pytest.raises(ValueError, match="unknown MSSanté error code"):
        mdn_answer(lab_mail(), ME, error="999")
    raw = lab_mail().replace(b"Return-Path: <labo@labo.mssante.test>", b"Return-Path: <bounces@relay.test>")
    answer = mdn_answer(raw, ME)
    assert answer.needs_confirmation and "manual-action/MDN-sent-manually" in machine_fields(answer.mail)["Disposition"]


def test_an_mdn_and_a_dsn_are_matched_to_the_sent_mail_with_or_without_brackets():
    answer = mdn_answer(lab_mail(), ME)
    [match] = match_reports(answer.mail.as_bytes(), ["cr-0042@labo.mssante.test", "<other@x>"])
    assert (match.original_message_id, match.notification.action) == ("cr-0042@labo.mssante.test", "processed")
    dsn = (b"From: MAILER-DAEMON@op.mssante.test\nTo: labo@labo.mssante.test\nSubject: Undelivered\n"
           b"Content-Type: multipart/report; report-type=delivery-status; boundary=B\n\n--B\n"
           b"Content-Type: text/plain\n\nNot delivered.\n--B\nContent-Type: message/delivery-status\n\n"
           b"Reporting-MTA: dns; op.mssante.test\n\nFinal-Recipient: rfc822; nobody@op.mssante.test\n"
           b"Action: failed\nStatus: 5.1.1\n\n--B\nContent-Type: text/rfc822-headers\n\n"
           b"Message-ID: <cr-0042@labo.mssante.test>\nSubject: x\n\n--B--\n")
    [match] = match_reports(dsn, {"<cr-0042@labo.mssante.test>"})
    assert (match.original_message_id, match.notification.failed, match.notification.status) == (
        "<cr-0042@labo.mssante.test>", True, "5.1.1")
    assert match_reports(dsn, ["<unrelated@x>"])[0].original_message_id == ""
    assert match_reports(lab_mail(), ["<cr-0042@labo.mssante.test>"]) == []          # not a report
    with pytest.raises(MalformedNotification):
        match_reports(b"Content-Type: multipart/report; report-type=disposition-notification; boundary=B\n\n"
                      b"--B\nContent-Type: text/plain\n\nx\n--B--\n", ["<a@b>"])



def test_a_dsn_that_returns_no_headers_is_about_the_mail_its_in_reply_to_names_and_only_then():
    """RFC 3464 Appendix B's DSN ("[original message goes here]": no Message-ID returned) with an In-Reply-To."""
    bare = RFC3464_DSN.replace(b"MIME-Version: 1.0\n", b"In-Reply-To: <sent-1@op.mssante.test>\nMIME-Version: 1.0\n")
    [match] = match_reports(bare, ["<sent-1@op.mssante.test>"])
    assert (match.original_message_id, match.notification.recipient) == ("<sent-1@op.mssante.test>",
                                                                          "louisl@larry.slip.umd.edu")
    assert named_ids(bare) == ["sent-1@op.mssante.test"]
    assert match_reports(RFC3464_DSN, ["<sent-1@op.mssante.test>"])[0].original_message_id == ""
    # an MDN naming another mail is about that one, whatever its In-Reply-To says
    other = RFC8098_MDN.replace(b"MIME-Version: 1.0\n", b"In-Reply-To: <sent-1@op.mssante.test>\nMIME-Version: 1.0\n")
    assert match_reports(other, ["<sent-1@op.mssante.test>"])[0].original_message_id == ""
    assert named_ids(other) == ["199509192301.23456@example.org", "sent-1@op.mssante.test"]

# -- end to end ---------------------------------------------------------------------------------------------

KEY = os.urandom(32)


@pytest.fixture(scope="module")
def operator(tmp_path_factory):
    if not os.path.exists("/usr/lib/dovecot/submission") or (shutil.which("dovecot") is None
                                                            and not os.path.exists("/usr/sbin/dovecot")):
        pytest.skip("dovecot with dovecot-submissiond is not installed")
    ca = TestCa(tmp_path_factory.mktemp("pki") / "ca")
    with OperatorDovecot(ca.server("mss", hosts=("localhost",)), oauth_key=KEY) as server:
        server.test_ca = ca
        yield server


def account_of(operator, home, user: str):
    return token_account(operator, home, user, operator.test_ca, "xoauth2")


def test_the_mdn_of_a_received_lab_mail_reaches_the_lab_and_is_matched_to_what_it_sent(operator, tmp_path):
    lab_address, practitioner = "secretariat@op.mssante.test", "dr.martin@op.mssante.test"
    original = lab_mail().replace(b"labo@labo.mssante.test", lab_address.encode())
    sent_id = email.message_from_bytes(original)["Message-ID"]
    deliver(operator, lab_address, "dr.martin", crlf(original))          # the lab's mail arrives
    martin = account_of(operator, tmp_path / "martin", "dr.martin")
    imap = open_imap(martin, Credentials())
    raw = fetch_marked(imap, "FICTIF")
    imap.logout()
    received = read_received(raw)
    answer = mdn_answer(raw, practitioner, problems=received.problems)
    assert answer is not None and not answer.needs_confirmation        # Return-Path is the asking address
    smtp = open_smtp(martin, Credentials())
    smtp.sendmail(practitioner, [answer.to], crlf(answer.mail.as_bytes()))
    smtp.quit()
    _, recipients, relayed = relayed_to(operator, answer.mail["Message-ID"].encode())
    assert recipients == [lab_address]
    deliver(operator, practitioner, "secretariat", relayed)              # the lab's operator delivers the MDN
    lab = open_imap(account_of(operator, tmp_path / "lab", "secretariat"), Credentials())
    report = fetch_marked(lab, "XDM/1.0/DDM")
    lab.logout()
    [match] = match_reports(report, [sent_id, "<another@labo.mssante.test>"])
    assert (match.original_message_id, match.notification.action, match.notification.failed) == (
        sent_id, "processed", False)
    assert match.notification.recipient == practitioner
