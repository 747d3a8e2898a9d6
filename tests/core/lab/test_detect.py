"""Finding lab files in mail: by media type or file name, in any part, damaged ones reported."""
import email
import email.policy
from email.message import EmailMessage

import pytest

from pli.core.lab import HL7_MEDIA_TYPE, HPRIM_MEDIA_TYPE, MalformedReport, lab_kind, reports_in_mail
from pli.core.lab.detect import detect_format
from pli.core.lab.generator import generate

HPRIM_SAMPLE = next(m for m in generate(20, seed=4) if m.format == "hprim")
HL7_SAMPLE = next(m for m in generate(20, seed=4) if m.format == "hl7")


def mail_with(*attachments) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = "Résultats"
    message.set_content("Bonjour,\n\nci-joint.\n")
    for data, maintype, subtype, name in attachments:
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message


@pytest.mark.parametrize("content_type, name, kind", [
    (HPRIM_MEDIA_TYPE, None, "hprim"), ("application/x-hprim", None, "hprim"), (HL7_MEDIA_TYPE, None, "hl7"),
    ("x-application/hl7-v2+er7", None, "hl7"), ("application/octet-stream", "RESULT.HPR", "hprim"),
    ("application/octet-stream", "r.hpm", "hprim"), ("application/octet-stream", "x.hl7", "hl7"),
    ("text/plain", "notes.txt", None), ("application/pdf", "cr.pdf", None), ("text/plain", None, None),
])
def test_lab_parts_are_known_by_media_type_or_file_name(content_type, name, kind):
    assert lab_kind(content_type, name) == kind


def test_reports_of_every_lab_attachment_in_part_order():
    mail = mail_with((HL7_SAMPLE.payload, "application", "hl7-v2", "a.hl7"),
                     (b"%PDF-1.4", "application", "pdf", "cr.pdf"),
                     (HPRIM_SAMPLE.payload, "application", "octet-stream", "b.hpr"))
    assert reports_in_mail(mail) == list(HL7_SAMPLE.reports + HPRIM_SAMPLE.reports)


def test_a_mail_without_lab_part_has_no_report():
    assert reports_in_mail(mail_with((b"%PDF", "application", "pdf", "cr.pdf"))) == []


def test_a_truncated_lab_attachment_gives_what_it_holds_and_says_so():
    payload = HPRIM_SAMPLE.payload
    cut = payload[: payload.index(b"RES|") + 12]      # inside the first result line
    reports = reports_in_mail(mail_with((cut, "text", "x-hprim", "r.hpr")))
    assert reports and reports[-1].incomplete
    assert any("middle of this result" in w for w in reports[-1].warnings)


def test_a_lab_attachment_holding_binary_data_is_reported_not_skipped():
    with pytest.raises(MalformedReport):
        reports_in_mail(mail_with((bytes(range(256)) * 4, "text", "x-hprim", "r.hpr")))


def test_format_detection_looks_at_the_start_only():
    assert detect_format(b"\xef\xbb\xbf\r\nMSH|^~\\&|") == "hl7"
    assert detect_format(b"\x0bMSH|") == "hl7"
    assert detect_format(b"BHS|^~\\&") == "hl7"
    assert detect_format(b"BIOLOGIE\r\nFICTIF") == "hprim"


def test_reports_in_bytes_finds_the_same_reports_as_in_a_parsed_message():
    from pli.core.lab import reports_in_bytes

    for message in generate(20, seed=6):
        assert reports_in_bytes(message.inner_bytes) == list(message.reports) == reports_in_mail(message.message)
    encoded_name = mail_with((HL7_SAMPLE.payload, "application", "octet-stream", "résultat.hl7"))
    assert reports_in_bytes(encoded_name.as_bytes()) == list(HL7_SAMPLE.reports)


# -- reports sent as the mail's text, found by their content (pli.core.lab.sniff) ---------------

def _body_mails():
    from mail_bodies import HL7_BODY, encode, hprim_body, mail

    hprim = encode(hprim_body())
    yield "text/plain body, quoted-printable", mail(hprim, charset="iso-8859-1"), 1
    yield "text/plain body, base64", _base64_body(hprim), 1
    yield "utf-8 body", mail(encode(hprim_body(), "utf-8"), charset="utf-8"), 1
    yield "a text attachment named .txt", mail("Bonjour,\n", attachments=[(hprim, "resultat.txt")]), 1
    yield "application/octet-stream, no name", mail(hprim, content_type="application/octet-stream"), 1
    yield "HL7 as the body", mail(HL7_BODY, charset="utf-8"), 1
    yield "the body and the same report attached", mail(hprim, charset="iso-8859-1",
                                                         attachments=[(hprim, "r.hpr")]), 1
    yield "two reports in the body", mail(encode(hprim_body(end=["****FIN****"]) + hprim_body()),
                                          charset="iso-8859-1"), 2


def _base64_body(data: bytes) -> bytes:
    message = EmailMessage()
    message["Subject"] = "Résultats"
    message.set_content(data, maintype="text", subtype="plain", cte="base64")
    message.set_param("charset", "iso-8859-1")
    return message.as_bytes()


@pytest.mark.parametrize("case", list(_body_mails()), ids=lambda case: case[0])
def test_a_report_sent_as_the_mail_text_is_found_both_ways(case):
    import email as email_package
    import email.policy

    from pli.core.lab import reports_in_bytes

    _, raw, count = case
    parsed = email_package.message_from_bytes(raw, policy=email.policy.default)
    found = reports_in_mail(parsed)
    assert len(found) == count and found[0].patient.last_name == "FICTIF"
    assert reports_in_bytes(raw) == found


def test_a_forwarded_report_is_found_in_the_attached_message_not_in_the_forward_text():
    from mail_bodies import FORWARDED, encode, hprim_body, mail

    from pli.core.lab import reports_in_bytes

    inline = mail(FORWARDED)
    assert reports_in_bytes(inline) == [] == reports_in_mail(email.message_from_bytes(inline))
    original = email.message_from_bytes(mail(encode(hprim_body()), charset="iso-8859-1"),
                                        policy=email.policy.default)
    forward = EmailMessage()
    forward["Subject"] = "Tr: Résultats"
    forward.set_content("Pour avis.\n")
    forward.add_attachment(original)
    assert [r.patient.last_name for r in reports_in_bytes(forward.as_bytes())] == ["FICTIF"]


@pytest.mark.parametrize("name", ["referral", "reply quoting a report", "forwarded inline", "signature",
                                  "appointments", "outlook reply"])
def test_letters_hold_no_report_even_beside_other_attachments(name):
    from mail_bodies import LETTERS, mail

    from pli.core.lab import reports_in_bytes

    raw = mail(LETTERS[name], attachments=[(b"%PDF-1.4\n" + bytes(range(256)) * 40, "courrier.pdf")])
    assert reports_in_bytes(raw) == [] == reports_in_mail(email.message_from_bytes(raw))


def test_a_report_in_the_body_that_cannot_be_read_is_reported_not_skipped():
    from mail_bodies import UNREADABLE, mail

    from pli.core.lab import reports_in_bytes

    with pytest.raises(MalformedReport):
        reports_in_bytes(mail(UNREADABLE, charset="iso-8859-1"))
