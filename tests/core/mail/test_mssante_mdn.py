"""The MDNs MSSanté mail asks for (core/mail/mssante_mdn.py): a read receipt that needs the user's consent,
answered from the command line, and MDNs submitted without DSN parameters (issue 16).

Against the real test operator (dovecot_fixtures.OperatorDovecot) and, for the DSN parameters, an aiosmtpd
server offering DSN (mssante_fixtures.dsn_relay).  The lab's mail is test_received.lab_mail (invented).
"""
from __future__ import annotations

from dovecot_fixtures import deliver, relayed_to
from mssante_fixtures import dsn_relay, mss_home, operator, pli, stored, summary  # noqa: F401 - operator is a fixture
from pli.core import vocab as v
from pli.core.audit import steps_of
from pli.core.transport.submission import crlf
from test_received import lab_mail


# -- a read receipt that needs the user's consent, from the command line -----------------------------------


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
