"""MSSanté mail pli sends kept in Sent, and the MDNs and DSNs that come back recorded with it (issue 16).

Against the real test operator (dovecot_fixtures.OperatorDovecot: submission relaying to a sink, LMTP, IMAP with
token logins).  Outside material: the RFC 8098 §9 MDN example, the RFC 3464 Appendix B DSN example and the
Postfix bounce of tests/core/receipts/test_mdn.py (their sources named there), their Message-IDs rewritten to
the mail sent here; the MDN a second pli home (the lab's) writes itself when it fetches the mail.
"""
from __future__ import annotations

import email
import email.policy
import shutil
import ssl
from contextlib import contextmanager

import pytest

from dovecot_fixtures import OperatorDovecot, deliver, lda_rejection, relayed_to
from mssante_fixtures import DOMAIN, mss_home, operator_or_skip, pli
from pli.core import vocab as v
from pli.core.audit import steps_of
from pli.core.audit.entry import decode
from pli.core.audit.journal import read_lines
from pli.core.errors import PliError
from pli.core.mail.mssante import SentNotKept, record_reports, send_documents, send_text
from pli.core.receipts.mssante import envelope_id
from pli.core.receipts.mssante_reports import reports_on
from pli.core.store import Store
from pli.core.store.layout import Layout
from pli.core.transport.submission import crlf
from pli.core.xdm import file_document
from pli.core.xdm.compose import Sender
from test_mdn import POSTFIX_DSN, RFC3464_DSN, RFC8098_MDN
from test_xdm import LETTER, PDF, patient_of_fixture
from test_received import lab_mail
from transport_fixtures import submission_server

LAB = f"secretariat@{DOMAIN}"
ME = f"dr.martin@{DOMAIN}"


@pytest.fixture(scope="module")
def operator(tmp_path_factory):
    with operator_or_skip(tmp_path_factory) as server:
        yield server


def send_pdf(home, keyring, to=LAB) -> str:
    pdf = file_document(PDF, "application/pdf", "Courrier", LETTER, patient_of_fixture())
    sender = Sender(address=ME, rpps="10000000011", family="MARTIN", given="Jeanne")
    return send_documents(home, [pdf], sender, [to], keyring=keyring)


def bare(message_id: str) -> str:
    return message_id.strip("<>")


def summary(home, message_id: str):
    with Store.open(home) as store:
        return store.summary(bare(message_id))


def stored(home, query: str):
    with Store.open(home) as store:
        return store.window(query, 0, 100)


# -- 1. the Sent copy ----------------------------------------------------------------------------------------

def test_a_package_sent_is_kept_in_sent_as_it_went_tagged_mssante_never_verified_and_traced(operator, tmp_path):
    home, keyring = mss_home(tmp_path, operator, "dr.martin")
    message_id = send_pdf(home, keyring)
    _, recipients, relayed = relayed_to(operator, message_id.encode())
    kept = summary(home, message_id)
    assert kept.tags == {v.SENT, v.MSSANTE} and not kept.verified and kept.mode == "mssante"
    clear = open(kept.path, "rb").read()
    copy = email.message_from_bytes(clear, policy=email.policy.default)
    assert copy["Message-ID"] == message_id and copy["X-Pli-Verified"] == "no" and copy["X-Pli-Mode"] == "mssante"
    assert copy["X-Pli-Recipients"] == LAB and recipients == [LAB]
    went = email.message_from_bytes(relayed.replace(b"\r\n", b"\n"), policy=email.policy.default)
    assert copy.get_body(("plain",)).get_content() == went.get_body(("plain",)).get_content()
    assert [p.get_content() for p in copy.iter_attachments()] == [p.get_content() for p in went.iter_attachments()]
    [step] = [s for s in steps_of(home, bare(message_id)) if s.step == "sent"]
    assert step.details["via"] == "mssante" and step.details["recipients"] == [LAB]
    assert "localhost" in step.details["server"]


def test_a_text_mail_sent_is_kept_in_sent_too(operator, tmp_path):
    home, keyring = mss_home(tmp_path, operator, "dr.martin")
    message_id = send_text(home, ME, [LAB], "Question sur un patient", "Bonjour.\n", keyring=keyring)
    relayed_to(operator, message_id.encode())
    kept = summary(home, message_id)
    assert kept.tags == {v.SENT, v.MSSANTE} and kept.subject == "Question sur un patient"
    assert [s.step for s in steps_of(home, bare(message_id))] == ["sent"]


def test_a_mail_the_operator_refuses_is_not_kept_nor_traced_as_sent(operator, tmp_path):
    home, keyring = mss_home(tmp_path, operator, "dr.martin", smtp_port=1)   # nothing listens there
    with pytest.raises(PliError) as refused:
        send_text(home, ME, [LAB], "Question", "Bonjour.\n", keyring=keyring)
    assert "localhost" in refused.value.message and "\n" not in refused.value.message
    assert stored(home, "tag:sent") == []
    assert [decode(raw).entry.step for _, raw in read_lines(home)] == []          # nothing traced


# -- 2. MDNs and DSNs that come back --------------------------------------------------------------------------

def test_the_labs_own_mdn_comes_back_and_is_recorded_on_the_sent_copy(operator, tmp_path):
    """Two homes, one operator: dr.martin sends, the lab's pli fetches and answers the MDN, dr.martin fetches it."""
    home, keyring = mss_home(tmp_path, operator, "dr.martin")
    lab_home, _ = mss_home(tmp_path, operator, "secretariat")
    message_id = send_pdf(home, keyring)
    _, _, relayed = relayed_to(operator, message_id.encode())
    deliver(operator, ME, "secretariat", relayed)                      # the lab's operator delivers it
    done = pli(tmp_path, lab_home, "fetch")
    assert done.returncode == 0, done.stderr
    _, recipients, mdn = relayed_to(operator, f"Original-Message-ID: {message_id}".encode())
    assert recipients == [ME]
    steps = {s.step: s.details for s in steps_of(lab_home, bare(message_id))}    # the MDN, on the received mail
    assert "fetched" in steps and steps["receipt-sent"] == {"receipt": "mdn", "recipient": ME, "via": "mssante",
                                                            "status": "processed"}
    deliver(operator, LAB, "dr.martin", mdn)
    done = pli(tmp_path, home, "fetch")
    assert done.returncode == 0, done.stderr
    assert b"MSSant\xc3\xa9 report recorded on sent mail" in done.stdout
    [report] = reports_on(Layout(home), bare(message_id))
    assert (report.kind, report.action, report.failed, report.recipient) == ("mdn", "processed", False, LAB)
    assert report.summary().startswith(f"MSSanté: processed by {LAB} ")
    [stored_report] = [m for m in stored(home, "tag:report") if v.REPORT_UNMATCHED not in m.tags]
    assert v.INBOX not in stored_report.tags and v.REPORT_DUE not in stored_report.tags
    [step] = [s for s in steps_of(home, bare(message_id)) if s.step == "receipt-received"]
    assert step.details == {"receipt": "mss-mdn", "via": "mssante", "recipient": LAB, "status": "processed"}
    shown = pli(tmp_path, home, "receipts", "show", bare(message_id))
    assert shown.returncode == 0 and f"MSSanté: processed by {LAB}" in shown.stdout.decode()


def _about(report: bytes, old_id: bytes, message_id: str) -> bytes:
    assert old_id in report
    return report.replace(old_id, message_id.encode())


def test_the_rfc_examples_and_a_postfix_bounce_are_recorded_with_the_mail_they_name(operator, tmp_path):
    home, keyring = mss_home(tmp_path, operator, "dr.martin")
    message_id = send_pdf(home, keyring, to="dr.b@hopital.mssante.test")
    displayed = _about(RFC8098_MDN, b"<199509192301.23456@example.org>", message_id)
    bounce = _about(POSTFIX_DSN, b"<sent-7@op.mssante.test>", message_id)
    # RFC 3464's example returns no headers ("[original message goes here]"): its In-Reply-To names the mail
    timeout = RFC3464_DSN.replace(b"MIME-Version: 1.0\n", f"In-Reply-To: {message_id}\nMIME-Version: 1.0\n".encode())
    for report in (displayed, bounce, timeout):
        deliver(operator, "MAILER-DAEMON@op.mssante.test", "dr.martin", crlf(report))
    done = pli(tmp_path, home, "fetch")
    assert done.returncode == 0, done.stderr
    recorded = {r.recipient: r for r in reports_on(Layout(home), bare(message_id))}
    assert {who: (r.kind, r.action, r.failed, r.status) for who, r in recorded.items()} == {
        "Joe_Recipient@example.com": ("mdn", "displayed", False, ""),
        "nobody@hopital.mssante.test": ("dsn", "failed", True, "5.1.1"),
        "dr.b@hopital.mssante.test": ("dsn", "delivered", False, "2.0.0"),
        "louisl@larry.slip.umd.edu": ("dsn", "failed", True, "4.0.0"),
    }
    assert recorded["Joe_Recipient@example.com"].summary() == \
        "MSSanté: displayed by Joe_Recipient@example.com 20 Sep 04:19"          # 00:19 -0400, in UTC
    assert recorded["louisl@larry.slip.umd.edu"].summary() == \
        "MSSanté: delivery failed for louisl@larry.slip.umd.edu 7 Jul 21:16: 4.0.0 426 connection timed out"
    assert recorded["nobody@hopital.mssante.test"].summary().endswith(
        ": 5.1.1 550 5.1.1 <nobody@hopital.mssante.test>: Recipient address rejected: User unknown in virtual "
        "mailbox table")
    again = pli(tmp_path, home, "fetch")                                # nothing recorded twice
    assert again.returncode == 0 and len(reports_on(Layout(home), bare(message_id))) == 4


def test_a_report_about_no_mail_sent_is_kept_in_the_inbox_and_said_once(operator, tmp_path):
    home, keyring = mss_home(tmp_path, operator, "dr.martin")
    deliver(operator, "joe@example.com", "dr.martin", crlf(RFC8098_MDN))   # about <199509192301.23456@example.org>
    done = pli(tmp_path, home, "fetch")
    assert done.returncode == 0, done.stderr
    # the mailbox holds the other tests' reports too, about mail sent from their own homes
    said = [line for line in done.stdout.decode().splitlines() if "199509192301.23456@example.org" in line]
    assert len(said) == 1 and "not in Sent" in said[0] and "kept in the inbox" in said[0]
    [kept] = [m for m in stored(home, f"tag:{v.REPORT_UNMATCHED}") if said[0].endswith(f"id:{m.message_id}")]
    assert {v.INBOX, v.MSSANTE, v.REPORT} <= kept.tags and v.REPORT_DUE not in kept.tags
    again = pli(tmp_path, home, "fetch")
    assert again.returncode == 0 and b"not in Sent" not in again.stdout + again.stderr


def test_an_unreadable_report_is_kept_and_named_in_one_line(operator, tmp_path):
    home, keyring = mss_home(tmp_path, operator, "dr.martin")
    message_id = send_pdf(home, keyring)
    broken = (b"From: joe@example.com\nSubject: Broken MDN\nMessage-ID: <broken-1@example.com>\n"
              b"In-Reply-To: " + message_id.encode() + b"\nMIME-Version: 1.0\n"
              b'Content-Type: multipart/report; report-type=disposition-notification; boundary="b"\n\n'
              b"--b\nContent-Type: text/plain\n\nread.\n--b--\n")
    deliver(operator, "joe@example.com", "dr.martin", crlf(broken))
    done = pli(tmp_path, home, "fetch")
    assert done.returncode == 0, done.stderr
    [kept] = [m for m in stored(home, f"tag:{v.REPORT_UNMATCHED}") if m.subject == "Broken MDN"]
    [line] = [x for x in done.stdout.decode().splitlines() if kept.message_id in x]
    assert line.startswith("unreadable MSSanté report") and "message/disposition-notification" in line
    assert v.INBOX in kept.tags
    assert reports_on(Layout(home), bare(message_id)) == []


def test_record_reports_with_nothing_due_records_nothing(operator, tmp_path):
    home, keyring = mss_home(tmp_path, operator, "dr.martin")
    assert record_reports(home, keyring).render() == ""


# -- 3. a read receipt that needs the user's consent, from the command line -----------------------------------

def consent_mail(marker: str) -> bytes:
    """The lab's mail asking its MDN at an address other than its Return-Path (RFC 8098 §2.1: ask the user)."""
    raw = lab_mail().replace(b"Disposition-Notification-To: labo@labo.mssante.test",
                             b"Disposition-Notification-To: suivi@labo.mssante.test")
    return raw.replace(b"<cr-0042@", f"<cr-{marker}@".encode())


def waiting(home, tmp_path, operator, marker: str) -> str:
    deliver(operator, "labo@labo.mssante.test", "dr.martin", crlf(consent_mail(marker)))
    done = pli(tmp_path, home, "fetch")
    assert done.returncode == 0 and b"waiting for your consent" in done.stdout, done.stderr
    [mail] = [m for m in stored(home, f"tag:{v.MDN_CONFIRM}")
              if f"cr-{marker}@" in open(m.path, "rb").read().decode("utf-8", "replace")]
    return mail.message_id


def test_pli_receipts_answer_send_submits_the_mdn_through_the_account(operator, tmp_path):
    home, _ = mss_home(tmp_path, operator, "dr.martin")
    message_id = waiting(home, tmp_path, operator, "consent-yes")
    done = pli(tmp_path, home, "receipts", "answer", message_id, "--send")
    assert done.returncode == 0 and done.stdout.decode().strip() == "read receipt sent to suivi@labo.mssante.test"
    _, recipients, mdn = relayed_to(operator, b"Original-Message-ID: <cr-consent-yes@labo.mssante.test>")
    assert recipients == ["suivi@labo.mssante.test"] and b"MDN-sent-manually" in mdn
    assert v.MDN_SENT in summary(home, message_id).tags
    again = pli(tmp_path, home, "receipts", "answer", message_id, "--send")
    assert again.returncode == 2 and b"no read receipt waits for your consent" in again.stderr


def test_pli_receipts_answer_decline_and_its_usage_errors(operator, tmp_path):
    home, _ = mss_home(tmp_path, operator, "dr.martin")
    message_id = waiting(home, tmp_path, operator, "consent-no")
    bare_id = pli(tmp_path, home, "receipts", "answer", message_id)
    assert bare_id.returncode == 2 and len(bare_id.stderr.decode().strip().splitlines()) == 1
    assert b"--send or --decline" in bare_id.stderr and b"Traceback" not in bare_id.stderr
    assert v.MDN_CONFIRM in summary(home, message_id).tags                 # nothing done
    done = pli(tmp_path, home, "receipts", "answer", message_id, "--decline")
    assert done.returncode == 0 and b"declined" in done.stdout
    tags = summary(home, message_id).tags
    assert v.MDN_DECLINED in tags and not {v.MDN_CONFIRM, v.MDN_SENT} & tags
    assert [s.step for s in steps_of(home, "cr-consent-no@labo.mssante.test")][-1] == "receipt-declined"
    assert b"consent-no" not in b"".join(m[2] for m in operator.sink.messages)    # nothing went out


def test_a_rejection_dovecot_itself_writes_is_recorded_as_a_failed_delivery(operator, tmp_path):
    """The DSN Dovecot's LDA writes when the recipient's mailbox is full (dovecot_fixtures.lda_rejection): it puts
    the per-message and the recipient's fields in one block, which pli read as no recipient before."""
    home, keyring = mss_home(tmp_path, operator, "dr.martin")
    message_id = send_pdf(home, keyring)
    _, _, relayed = relayed_to(operator, message_id.encode())
    rejection = lda_rejection(tmp_path / "lda", relayed.replace(b"\r\n", b"\n"), ME, LAB)
    assert b"report-type=delivery-status" in rejection and b"Status: 5.2.2" in rejection
    deliver(operator, "postmaster@op.mssante.test", "dr.martin", crlf(rejection))
    done = pli(tmp_path, home, "fetch")
    assert done.returncode == 0, done.stderr
    [report] = reports_on(Layout(home), bare(message_id))
    assert (report.kind, report.action, report.failed, report.status, report.recipient) == (
        "dsn", "failed", True, "5.2.2", LAB)
    assert report.summary().startswith(f"MSSanté: delivery failed for {LAB} ")


def test_a_copy_that_cannot_be_kept_after_the_operator_took_the_mail_says_so_and_not_to_send_it_again(
        operator, tmp_path):
    home, keyring = mss_home(tmp_path, operator, "dr.martin")
    sent = Layout(home).folder(v.SENT) / "cur"
    shutil.rmtree(sent)
    sent.write_text("not a folder")                               # the copy cannot be written (even by root)
    with pytest.raises(SentNotKept) as failed:
        send_text(home, ME, [LAB], "Question kept?", "Bonjour.\n", keyring=keyring)
    line = failed.value.message
    assert "was sent to" in line and "do not send it again" in line and "\n" not in line
    message_id = line.split(" ", 1)[0]
    relayed_to(operator, message_id.encode())                      # it did go
    assert [s.step for s in steps_of(home, bare(message_id))] == ["sent"]


@contextmanager
def dsn_relay(operator, tmp_path):
    """(home, keyring, recorder): dr.martin's MSSanté account submitting to an aiosmtpd server that offers DSN
    (implicit TLS from the operator's test CA, password login), fetching from the operator as usual."""
    issued = operator.test_ca.server("dsn-relay", hosts=("localhost",))
    tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls.load_cert_chain(issued.cert_path, issued.key_path)
    password = OperatorDovecot.USERS["dr.martin"]
    secret = tmp_path / "mss.pass"
    secret.write_text(password)
    secret.chmod(0o600)
    with submission_server(implicit_tls=tls, login=("dr.martin", password), dsn=True) as (port, recorder):
        home, keyring = mss_home(tmp_path, operator, "dr.martin", smtp_port=port, auth="password",
                                 token_command=None, password_file=str(secret))
        yield home, keyring, recorder


def test_an_operator_offering_dsn_is_asked_for_reports_naming_the_mail_and_they_are_matched_by_it(
        operator, tmp_path):
    """RFC 3461: ENVID (the Message-ID, in xtext), RET=HDRS, NOTIFY=FAILURE,DELAY when the submission server offers
    DSN (the test operator's relay does not: an aiosmtpd server that does stands in); RFC 3464's example DSN,
    which returns no headers, then names the mail only by its Original-Envelope-Id."""
    with dsn_relay(operator, tmp_path) as (home, keyring, recorder):
        message_id = send_text(home, ME, ["dr.b@hopital.mssante.test"], "Question", "Bonjour.\n", keyring=keyring)
    assert envelope_id("<a+b=c d@x>") == "a+2Bb+3Dc+20d@x"
    assert recorder.dsn == [{"ENVID": envelope_id(message_id).upper(), "RET": "HDRS"},   # aiosmtpd upper-cases
                            {"NOTIFY": "FAILURE,DELAY"}]
    dsn = RFC3464_DSN.replace(b"Reporting-MTA: dns; cs.utk.edu\n",
                              f"Reporting-MTA: dns; cs.utk.edu\nOriginal-Envelope-Id: {envelope_id(message_id)}\n"
                              .encode())
    deliver(operator, "MAILER-DAEMON@op.mssante.test", "dr.martin", crlf(dsn))
    done = pli(tmp_path, home, "fetch")
    assert done.returncode == 0, done.stderr
    [report] = reports_on(Layout(home), bare(message_id))
    assert (report.action, report.status, report.recipient) == ("failed", "4.0.0", "louisl@larry.slip.umd.edu")


def test_mdns_are_submitted_without_dsn_parameters(operator, tmp_path):
    """An MDN asks for no report of its own (RFC 3461 leaves NOTIFY to the sender; reports about reports loop)."""
    with dsn_relay(operator, tmp_path) as (home, _, recorder):
        deliver(operator, "labo@labo.mssante.test", "dr.martin", crlf(lab_mail().replace(
            b"<cr-0042@", b"<cr-nodsn@")))
        done = pli(tmp_path, home, "fetch")
        assert done.returncode == 0, done.stderr
    [(_, recipients, mdn)] = [m for m in recorder.messages if b"cr-nodsn@" in m[2]]
    assert recipients == ["labo@labo.mssante.test"] and b"disposition-notification" in mdn
    assert all(params == {} for params in recorder.dsn)
