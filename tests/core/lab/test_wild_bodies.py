"""Every report of the lab-wild corpus, sent as the mail's text instead of an attachment, is found and read
the same: as the body (quoted-printable, base64, 8bit), as a text attachment of any name, as bytes of no said type."""
from __future__ import annotations

import email
import re
import email.policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from pli.core.lab import parse_reports, reports_in_bytes, reports_in_mail

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "lab-wild"
FILES = sorted(p.name for p in CORPUS.iterdir() if p.suffix in (".hpr", ".hl7", ".txt"))


def as_body(data: bytes, cte: str) -> bytes:
    message = EmailMessage()
    message["From"] = "Laboratoire Fictif <labo@example.org>"
    message["Subject"] = "Résultats"
    message.set_content(data, maintype="text", subtype="plain", cte=cte)
    return message.as_bytes()


def as_part(data: bytes, maintype: str, subtype: str, filename: str | None) -> bytes:
    message = EmailMessage()
    message["Subject"] = "Résultats"
    message.set_content("Bonjour,\n\nRésultats ci-dessous.\n")
    message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()


@pytest.mark.parametrize("name", FILES)
def test_a_corpus_report_sent_as_the_mail_text_reads_as_the_file_does(name):
    data = (CORPUS / name).read_bytes()
    expected = parse_reports(data)
    mails = [as_body(data, "quoted-printable"), as_body(data, "base64"),
             as_part(data, "text", "plain", "compte-rendu.txt"), as_part(data, "application", "octet-stream", None)]
    if b"\r" not in data and b"\x00" not in data:
        mails.append(as_body(data, "8bit"))
    for raw in mails:
        assert reports_in_bytes(raw) == expected
        assert reports_in_mail(email.message_from_bytes(raw, policy=email.policy.default)) == expected
    assert all(r.encoding for r in reports_in_bytes(mails[0]))   # pli lab show names how it read them


def test_the_corpus_covers_both_formats_and_the_bodies_the_issue_names():
    assert {Path(n).suffix for n in FILES} == {".hpr", ".hl7", ".txt"} and len(FILES) >= 40


@pytest.mark.parametrize("name", [n for n in FILES if b"\x00" not in (CORPUS / n).read_bytes()
                                  and b"\r\r\n" not in (CORPUS / n).read_bytes()])   # UTF-16; doubled already
def test_a_corpus_report_whose_every_line_end_was_doubled_on_the_way_reads_as_the_file_does(name):
    """A CR CR LF file sent as a body arrives with a blank line after every line (the mail server made
    the bare CR a line end of its own): the same reports, the same patients, the same line numbers."""
    data = (CORPUS / name).read_bytes()
    doubled = re.sub(rb"\r\n|\n|\r", lambda end: end.group() * 2, data)
    assert parse_reports(doubled) == parse_reports(data)
    assert reports_in_bytes(as_body(doubled, "base64")) == parse_reports(data)
