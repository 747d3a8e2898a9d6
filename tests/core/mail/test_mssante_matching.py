"""The MDNs and DSNs that come back about MSSanté mail sent, matched with its Sent copy and recorded there
(core/mail/mssante_matching.py, run by `pli fetch`; issue 16).

Against the real test operator (dovecot_fixtures.OperatorDovecot).  Outside material: the RFC 8098 §9 MDN
example, the RFC 3464 Appendix B DSN example and the Postfix bounce of tests/core/receipts/test_mdn.py (their
sources named there), their Message-IDs rewritten to the mail sent here; the MDN a second pli home (the lab's)
writes itself when it fetches the mail; the DSN Dovecot's own LDA writes (dovecot_fixtures.lda_rejection).
"""
from __future__ import annotations

from dovecot_fixtures import deliver, lda_rejection, relayed_to
from mssante_fixtures import LAB, ME, bare, mss_home, operator, pli, send_pdf, stored  # noqa: F401 - operator is a fixture
from pli.core import vocab as v
from pli.core.audit import steps_of
from pli.core.mail.mssante_matching import record_reports
from pli.core.receipts.mssante_reports import reports_on
from pli.core.store.layout import Layout
from pli.core.transport.submission import crlf
from test_mdn import POSTFIX_DSN, RFC3464_DSN, RFC8098_MDN


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
