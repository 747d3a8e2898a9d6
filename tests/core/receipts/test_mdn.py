"""MSSanté receipts: RFC 8098 MDNs built and read, RFC 3464 DSNs read.

Outside material, reproduced below: the MDN example of RFC 8098 §9, the
"simple DSN" of RFC 3464 Appendix B, and the MDN of the ANS implementation
guide "Transmission LPS de documents CDA par courriel MSSanté"
(github.com/ansforge/IG-hl7v2-volet-trans-lps-doc-cda-courriel-mss,
struct-msg-mdn.md, MIT licence; its missing Message-IDs filled in).  The
Postfix-style DSN is written after Postfix's bounce(8) format.
"""
from __future__ import annotations

import re
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default

import pytest

from pli.core.receipts.mdn import NoMdn, build_mdn, mdn_request
from pli.core.receipts.notifications import MalformedNotification, read_notifications

RFC8098_MDN = b"""Date: Wed, 20 Sep 1995 00:19:00 (EDT) -0400
From: Joe Recipient <Joe_Recipient@example.com>
Message-Id: <199509200019.12345@example.com>
Subject: Disposition notification
To: Jane Sender <Jane_Sender@example.org>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=disposition-notification;
    boundary="RAA14128.773615765/example.com"

--RAA14128.773615765/example.com

The message sent on 1995 Sep 19 at 13:30:00 (EDT) -0400 to Joe
Recipient <Joe_Recipient@example.com> with subject "First draft of
report" has been displayed.  This is no guarantee that the message
has been read or understood.

--RAA14128.773615765/example.com
content-type: message/disposition-notification

Reporting-UA: joes-pc.cs.example.com; Foomail 97.1
Original-Recipient: rfc822;Joe_Recipient@example.com
Final-Recipient: rfc822;Joe_Recipient@example.com
Original-Message-ID: <199509192301.23456@example.org>
Disposition: manual-action/MDN-sent-manually; displayed

--RAA14128.773615765/example.com
content-type: message/rfc822

[original message optionally goes here]

--RAA14128.773615765/example.com--
"""

ANS_MDN = """Date: Wed, 20 Feb 2024 00:19:00 -0400
From: serviceY_auto@chb.mssante.fr
Message-Id: <mdn-1@chb.mssante.fr>
Subject: [KO Intégration système !][902] XDM/1.0/DDM+ECHOGRAPHIE ABDOMINOPELVIENNE CORSE FIGATELLIX 12/10/1988
To: serviceY@chb.mssante.fr
MIME-Version: 1.0
Content-Type: multipart/report; report-type=disposition-notification; boundary="RAA14128.773615765"

--RAA14128.773615765

Le document n'a pas pu être intégré.
Le système a retourné l'erreur 902^Identifiant de patient inconnu^messageErrorCondition| E^Error^errorSeverity
--RAA14128.773615765
Content-Type: message/disposition-notification

Original-Recipient: rfc822;serviceY_auto@chb.mssante.fr
Final-Recipient: rfc822; serviceY_auto@chb.mssante.fr
Original-Message-ID: <orig-42@cha.mssante.fr>
Disposition:automatic-action/MDN-sent-automatically; processed/Error: 902^Identifiant de patient inconnu^messageErrorCondition| E^Error^errorSeverity
--RAA14128.773615765--
""".encode()

RFC3464_DSN = b"""Date: Thu, 7 Jul 1994 17:16:05 -0400
From: Mail Delivery Subsystem <MAILER-DAEMON@CS.UTK.EDU>
Message-Id: <199407072116.RAA14128@CS.UTK.EDU>
Subject: Returned mail: Cannot send message for 5 days
To: <owner-info-mime@cs.utk.edu>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
              boundary="RAA14128.773615765/CS.UTK.EDU"

--RAA14128.773615765/CS.UTK.EDU

The original message was received at Sat, 2 Jul 1994 17:10:28 -0400
from root@localhost

   ----- The following addresses had delivery problems -----
<louisl@larry.slip.umd.edu>  (unrecoverable error)

--RAA14128.773615765/CS.UTK.EDU
content-type: message/delivery-status

Reporting-MTA: dns; cs.utk.edu

Original-Recipient: rfc822;louisl@larry.slip.umd.edu
Final-Recipient: rfc822;louisl@larry.slip.umd.edu
Action: failed
Status: 4.0.0
Diagnostic-Code: smtp; 426 connection timed out
Last-Attempt-Date: Thu, 7 Jul 1994 17:15:49 -0400

--RAA14128.773615765/CS.UTK.EDU
content-type: message/rfc822

[original message goes here]

--RAA14128.773615765/CS.UTK.EDU--
"""

POSTFIX_DSN = b"""From: MAILER-DAEMON@mx.op.mssante.test (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: dr.martin@op.mssante.test
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="4XyZ1.1709373011/mx.op.mssante.test"
Message-Id: <20260302095011.4XyZ1@mx.op.mssante.test>

--4XyZ1.1709373011/mx.op.mssante.test
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.op.mssante.test.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

--4XyZ1.1709373011/mx.op.mssante.test
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.op.mssante.test
X-Postfix-Queue-ID: 4XyZ1
X-Postfix-Sender: rfc822; dr.martin@op.mssante.test
Arrival-Date: Sat,  2 Mar 2026 10:50:10 +0100 (CET)

Final-Recipient: rfc822; nobody@hopital.mssante.test
Original-Recipient: rfc822;nobody@hopital.mssante.test
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx.hopital.mssante.test
Diagnostic-Code: smtp; 550 5.1.1 <nobody@hopital.mssante.test>: Recipient
    address rejected: User unknown in virtual mailbox table

Final-Recipient: rfc822; dr.b@hopital.mssante.test
Action: delivered
Status: 2.0.0
Remote-MTA: dns; mx.hopital.mssante.test
Diagnostic-Code: smtp; 250 2.0.0 Ok: queued as 7BC2

--4XyZ1.1709373011/mx.op.mssante.test
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

From: dr.martin@op.mssante.test
To: nobody@hopital.mssante.test, dr.b@hopital.mssante.test
Subject: XDM/1.0/DDM+Compte rendu FICTIF Zoe 12/04/1965
Message-ID: <sent-7@op.mssante.test>

--4XyZ1.1709373011/mx.op.mssante.test--
"""


def lab_mail(**headers) -> EmailMessage:
    mail = EmailMessage(policy=default)
    mail["From"] = "labo@labo.mssante.test"
    mail["To"] = "dr.martin@op.mssante.test"
    mail["Subject"] = "XDM/1.0/DDM+Compte rendu d'examens biologiques FICTIF Zoé 12/04/1965"
    mail["Message-ID"] = "<cr-42@labo.mssante.test>"
    mail["Date"] = "Mon, 02 Mar 2026 10:15:00 +0100"
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content("Bonjour, veuillez trouver le compte rendu.\n")
    mail.add_attachment(b"PK\x03\x04 the package", maintype="application", subtype="zip", filename="IHE_XDM.ZIP")
    return mail


def asking(**headers) -> EmailMessage:
    return lab_mail(Disposition_Notification_To="labo@labo.mssante.test", Return_Path="<labo@labo.mssante.test>",
                    **headers)


# -- when an MDN is due -------------------------------------------------------------------------------------

def test_an_mdn_is_due_only_when_asked_and_goes_to_the_address_asked():
    assert mdn_request(lab_mail()) is None
    request = mdn_request(asking(Original_Recipient="rfc822;dr.martin@op.mssante.test"))
    assert (request.to, request.original_message_id, request.needs_confirmation) == (
        "labo@labo.mssante.test", "<cr-42@labo.mssante.test>", False)
    assert request.original_recipient == "rfc822;dr.martin@op.mssante.test"


def test_an_address_other_than_the_return_path_needs_the_users_consent():
    elsewhere = lab_mail(Disposition_Notification_To="tracker@elsewhere.test", Return_Path="<labo@labo.mssante.test>")
    assert mdn_request(elsewhere).needs_confirmation
    assert mdn_request(lab_mail(Disposition_Notification_To="labo@labo.mssante.test")).needs_confirmation
    two = lab_mail(Disposition_Notification_To="a@x.test, b@y.test", Return_Path="<a@x.test>")
    assert mdn_request(two) is None


def test_no_mdn_answers_a_report():
    report = message_from_bytes(RFC8098_MDN)
    assert mdn_request(report) is None
    with pytest.raises(NoMdn, match="no MDN answers one"):
        build_mdn(report, mdn_request(asking()), "dr.martin@op.mssante.test")


# -- building one, reading it back --------------------------------------------------------------------------

def test_a_processed_mdn_is_an_rfc8098_report_that_reads_back():
    original = asking()
    mdn = build_mdn(original, mdn_request(original), "dr.martin@op.mssante.test")
    parsed = message_from_bytes(mdn.as_bytes(), policy=default)
    assert parsed.get_content_type() == "multipart/report"
    assert parsed.get_param("report-type") == "disposition-notification"
    human, fields, returned = parsed.get_payload()
    assert human.get_content_type() == "text/plain"
    assert fields.get_content_type() == "message/disposition-notification"
    notification = fields.get_payload()[0]
    assert notification["Disposition"] == "automatic-action/MDN-sent-automatically; processed"
    assert notification["Final-Recipient"] == "rfc822; dr.martin@op.mssante.test"
    assert notification["Original-Message-ID"] == "<cr-42@labo.mssante.test>"
    assert returned.get_content_type() == "text/rfc822-headers"
    assert b"veuillez trouver" not in mdn.as_bytes() and b"the package" not in mdn.as_bytes()
    assert (parsed["To"], parsed["Subject"], parsed["Auto-Submitted"], parsed["In-Reply-To"]) == (
        "labo@labo.mssante.test", original["Subject"], "auto-replied", "<cr-42@labo.mssante.test>")
    [notice] = read_notifications(mdn.as_bytes())
    assert (notice.kind, notice.original_message_id, notice.recipient, notice.action, notice.failed) == (
        "mdn", "<cr-42@labo.mssante.test>", "dr.martin@op.mssante.test", "processed", False)


def test_an_error_mdn_carries_the_code_the_ans_subject_and_the_original_with_its_attachments():
    original = asking()
    mdn = build_mdn(original, mdn_request(original), "dr.martin@op.mssante.test",
                    error=("902", "Identifiant patient inconnu"), include="full")
    raw = mdn.as_bytes()
    parsed = message_from_bytes(raw, policy=default)
    assert parsed["Subject"].startswith("[KO Intégration système !][902] XDM/1.0/DDM+Compte rendu")
    notification = parsed.get_payload()[1].get_payload()[0]
    assert notification["Disposition"] == "automatic-action/MDN-sent-automatically; processed/error"
    assert notification["Error"] == "902^Identifiant patient inconnu"
    returned = parsed.get_payload()[2]
    assert returned.get_content_type() == "message/rfc822"
    assert returned.get_payload()[0].get_payload()[1].get_filename() == "IHE_XDM.ZIP"
    [notice] = read_notifications(raw)
    assert (notice.failed, notice.status, notice.diagnostic) == (True, "902", "Identifiant patient inconnu")
    assert notice.summary() == ("read receipt from dr.martin@op.mssante.test: processed "
                                "(902: Identifiant patient inconnu)")


# -- reading what others send -------------------------------------------------------------------------------

def test_the_rfc8098_example_reads_as_displayed():
    [notice] = read_notifications(RFC8098_MDN)
    assert (notice.original_message_id, notice.recipient, notice.action, notice.failed, notice.reporter) == (
        "<199509192301.23456@example.org>", "Joe_Recipient@example.com", "displayed", False,
        "joes-pc.cs.example.com; Foomail 97.1")


def test_the_ans_mdn_with_its_error_inside_the_disposition_reads_as_a_failure_with_its_code():
    [notice] = read_notifications(ANS_MDN)
    assert (notice.action, notice.failed, notice.status, notice.diagnostic) == (
        "processed", True, "902", "Identifiant de patient inconnu")
    assert notice.original_message_id == "<orig-42@cha.mssante.fr>"


def test_the_rfc3464_example_dsn_reads_as_a_failure():
    [notice] = read_notifications(RFC3464_DSN)
    assert (notice.kind, notice.recipient, notice.action, notice.failed, notice.status, notice.diagnostic) == (
        "dsn", "louisl@larry.slip.umd.edu", "failed", True, "4.0.0", "426 connection timed out")
    assert notice.reporter == "dns; cs.utk.edu"


def test_a_dsn_gives_one_result_per_recipient_and_the_message_id_from_the_returned_headers():
    failed, delivered = read_notifications(POSTFIX_DSN)
    assert (failed.recipient, failed.failed, failed.status, failed.original_message_id) == (
        "nobody@hopital.mssante.test", True, "5.1.1", "<sent-7@op.mssante.test>")
    assert failed.diagnostic.startswith("550 5.1.1 <nobody@hopital.mssante.test>: Recipient address rejected")
    assert (delivered.recipient, delivered.action, delivered.failed, delivered.status) == (
        "dr.b@hopital.mssante.test", "delivered", False, "2.0.0")


def test_mail_that_is_not_a_report_gives_nothing_and_a_broken_report_says_so():
    assert read_notifications(lab_mail()) == []
    no_machine_part = RFC8098_MDN.replace(b"content-type: message/disposition-notification", b"content-type: text/plain")
    with pytest.raises(MalformedNotification, match="cannot be matched"):
        read_notifications(no_machine_part)
    garbled = RFC8098_MDN.replace(b"Disposition: manual-action/MDN-sent-manually; displayed", b"Disposition: yes")
    with pytest.raises(MalformedNotification, match="Disposition field is unreadable"):
        read_notifications(garbled)
    no_recipient = re.sub(rb"Original-Recipient.*?-0400\n", b"", RFC3464_DSN, flags=re.S)
    with pytest.raises(MalformedNotification, match="names no recipient"):
        read_notifications(no_recipient)
    no_action = RFC3464_DSN.replace(b"Action: failed\n", b"")
    with pytest.raises(MalformedNotification, match="no action"):
        read_notifications(no_action)
