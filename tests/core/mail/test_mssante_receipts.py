"""MSSanté mail pli sends kept in Sent, and the MDNs and DSNs that come back recorded with it (issue 16).

Against the real test operator (dovecot_fixtures.OperatorDovecot: submission relaying to a sink, LMTP, IMAP with
token logins).  Outside material: the RFC 8098 §9 MDN example, the RFC 3464 Appendix B DSN example and the
Postfix bounce of tests/core/test_receipts_mdn.py (their sources named there), their Message-IDs rewritten to
the mail sent here; the MDN a second pli home (the lab's) writes itself when it fetches the mail.
"""
from __future__ import annotations

import email
import email.policy

import pytest

from dovecot_fixtures import relayed_to
from mssante_fixtures import DOMAIN, mss_home, operator_or_skip
from pli.core import vocab as v
from pli.core.audit import steps_of
from pli.core.mail.mssante import send_documents, send_text
from pli.core.store import Store
from pli.core.xdm import file_document
from pli.core.xdm.compose import Sender
from test_xdm import LETTER, PDF, patient_of_fixture

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
    with pytest.raises(Exception) as refused:
        send_text(home, ME, [LAB], "Question", "Bonjour.\n", keyring=keyring)
    assert "Traceback" not in str(refused.value) and str(refused.value).count("\n") == 0
    assert stored(home, "tag:sent") == []
