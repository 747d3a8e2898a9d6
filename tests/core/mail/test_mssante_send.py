"""MSSanté mail pli sends (core/mail/mssante_send.py): kept in Sent as it went, traced, refused when the operator
refuses it, and asking the operator for DSNs when it offers them (issue 16).

Against the real test operator (dovecot_fixtures.OperatorDovecot: submission relaying to a sink, LMTP, IMAP with
token logins); an aiosmtpd server offering DSN stands in for a relay that does (mssante_fixtures.dsn_relay).
Outside material: the RFC 3464 Appendix B DSN example of tests/core/receipts/test_mdn.py (its source named there).
"""
from __future__ import annotations

import email
import email.policy
import shutil

import pytest

from dovecot_fixtures import deliver, relayed_to
from mssante_fixtures import (LAB, ME, bare, dsn_relay, mss_home, operator, pli, send_pdf, stored,  # noqa: F401
                              summary)  # operator is a fixture
from pli.core import vocab as v
from pli.core.audit import steps_of
from pli.core.audit.entry import decode
from pli.core.audit.journal import read_lines
from pli.core.errors import PliError
from pli.core.mail.mssante_send import SentNotKept, send_text
from pli.core.receipts.mssante import envelope_id
from pli.core.receipts.mssante_reports import reports_on
from pli.core.store.layout import Layout
from pli.core.transport.submission import crlf
from test_mdn import RFC3464_DSN


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
