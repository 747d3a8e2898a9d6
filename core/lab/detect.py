"""Finding lab reports: which format a file is in, and which parts of a mail are lab files.

Media types pli writes and recognises (docs/LAB.md):
  HPRIM  text/x-hprim          files *.hpr, *.hpm, *.hprim
  HL7 v2 application/hl7-v2    files *.hl7, *.oru, *.er7   (ER7, the pipe-and-hat encoding)
Also recognised on receipt, because senders use them: application/x-hprim,
text/hprim, application/x-hl7, x-application/hl7-v2+er7, application/edi-hl7;
and any attachment whose file name has one of the suffixes above, whatever
its declared type (many labs send application/octet-stream).

Any other text part (text/plain body or attachment, whatever its name, and
application/octet-stream) is a lab report when its content says so
(pli.core.lab.sniff): the HPRIM header at the top of the body, as Apicrypt and
HPRIM Net labs send it, or an HL7 v2 result message.  HTML parts are not
looked at (a lab writing HTML sends the same text as text/plain beside it).
"""
from __future__ import annotations

import email
import email.header
import email.message
import email.policy

from pli.core.lab import hl7v2, hprim
from pli.core.lab.model import Report
from pli.core.lab.sniff import HEAD_BYTES, sniff, top_kind
from pli.core.lab.text import decode_report
from pli.core.mimescan import leaf_parts

HPRIM_MEDIA_TYPE = "text/x-hprim"
HL7_MEDIA_TYPE = "application/hl7-v2"
HPRIM_SUFFIX = ".hpr"
HL7_SUFFIX = ".hl7"

_MEDIA_TYPES = {
    HPRIM_MEDIA_TYPE: "hprim", "application/x-hprim": "hprim", "text/hprim": "hprim",
    HL7_MEDIA_TYPE: "hl7", "application/x-hl7": "hl7", "x-application/hl7-v2+er7": "hl7",
    "application/edi-hl7": "hl7",
}
_SUFFIXES = {".hpr": "hprim", ".hpm": "hprim", ".hprim": "hprim",
             ".hl7": "hl7", ".oru": "hl7", ".er7": "hl7"}
_HL7_STARTS = (b"MSH", b"BHS", b"FHS")
_NOT_SNIFFED = frozenset({"text/html", "text/enriched", "text/richtext", "text/calendar", "text/vcard",
                          "text/x-vcard", "text/css", "text/csv"})


def media_type(fmt: str) -> str:
    """The media type pli gives a lab attachment of this format ("hprim" or "hl7")."""
    return {"hprim": HPRIM_MEDIA_TYPE, "hl7": HL7_MEDIA_TYPE}[fmt]


def file_suffix(fmt: str) -> str:
    return {"hprim": HPRIM_SUFFIX, "hl7": HL7_SUFFIX}[fmt]


def lab_kind(content_type: str, filename: str | None) -> str | None:
    """'hprim', 'hl7' or None for a MIME part, from its media type or its file name."""
    kind = _MEDIA_TYPES.get(content_type.lower())
    if kind is None and filename:
        dot = filename.rfind(".")
        kind = _SUFFIXES.get(filename[dot:].lower()) if dot >= 0 else None
    return kind


def detect_format(data: bytes) -> str:
    """'hl7' when the bytes start with an HL7 header segment, else 'hprim' (any encoding, BOM or not)."""
    head = data[:64].lstrip(b"\xef\xbb\xbf\x0b \t\r\n")
    if head[:3] in _HL7_STARTS:
        return "hl7"
    if b"\x00" in head[:8]:
        return _format_of(decode_report(data[:256]).text)   # UTF-16: look at the text
    return "hprim"


def _format_of(text: str) -> str:
    return "hl7" if text.lstrip("\ufeff\x0b \t\r\n")[:3] in ("MSH", "BHS", "FHS") else "hprim"


def parse_reports(data: bytes) -> list[Report]:
    """Every report in a lab file, HPRIM or HL7 v2 (detected); MalformedReport when it holds none.

    A report pli could read only in part comes back all the same, marked
    `incomplete` with its warnings; each report says which encoding was read.
    """
    decoded = decode_report(data)
    if _format_of(decoded.text[:64]) == "hl7":
        return hl7v2.parse_decoded(decoded)
    return hprim.parse_decoded(decoded)


def may_hold_report(content_type: str) -> bool:
    """Whether a part not declared as a lab file is worth looking into: text, or bytes of no said kind."""
    return (content_type.startswith("text/") and content_type not in _NOT_SNIFFED) \
        or content_type == "application/octet-stream"


def reports_in_mail(message: email.message.Message) -> list[Report]:
    """The reports of every lab part of a MIME message (in part order).

    A part declared as a lab file (by type or name), or recognised as one by its
    content, that does not parse raises MalformedReport: a damaged result must be
    seen, not skipped.
    """
    return _reports_of(_mail_payloads(message))


def lab_payloads(message: email.message.Message) -> list[bytes]:
    """The bytes of every lab part of a MIME message, unparsed: what is shown of a report pli
    cannot read (nothing is hidden because it did not parse)."""
    return [payload for payload, _ in _mail_payloads(message)]


def _mail_payloads(message: email.message.Message) -> list[tuple[bytes, bool]]:
    """(decoded payload, declared as a lab file) of each lab part, in part order."""
    found: list[tuple[bytes, bool]] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        content_type = part.get_content_type()
        declared = lab_kind(content_type, _filename(part)) is not None
        if not declared and not may_hold_report(content_type):
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes) and (declared or sniff(payload) is not None):
            found.append((payload, declared))
    return found


def reports_in_bytes(inner: bytes) -> list[Report]:
    """reports_in_mail for a message still in bytes, several times quicker for bulk import.

    The lab parts are found by a byte scan of the MIME structure
    (pli.core.mimescan); a message the scan cannot be sure of goes through the
    `email` parser with the compat32 policy (strings, not header objects: the
    default policy costs about 0.4 ms per header asked for).
    """
    parts = leaf_parts(inner)
    if parts is not None:
        payloads = _lab_payloads(parts)
        if payloads is not None:
            return _reports_of(payloads)
    return reports_in_mail(email.message_from_bytes(inner, policy=email.policy.compat32))


def _lab_payloads(parts) -> list[tuple[bytes, bool]] | None:
    """(decoded payload, declared as a lab file) of each lab part, in part order; None when a part
    needs the lenient parser to be decoded.  Other text parts are looked at by their first bytes
    only: a letter is set aside after a few line splits, a large attachment is never decoded."""
    found: list[tuple[bytes, bool]] = []
    for part in parts:
        declared = lab_kind(part.content_type, part.filename) is not None
        if not declared:
            if not may_hold_report(part.content_type):
                continue
            head = part.decoded_head(HEAD_BYTES * 2)
            if head is None:
                return None
            if top_kind(head) is None:
                continue
        payload = part.decoded()
        if payload is None:
            return None
        if declared or sniff(payload) is not None:
            found.append((payload, declared))
    return found


def _reports_of(payloads: list[tuple[bytes, bool]]) -> list[Report]:
    """The reports of the lab parts, in part order; a report found by content that a lab
    attachment of the same mail also holds counts once (labs that attach the file often
    paste it in the body too)."""
    read = [(parse_reports(payload), declared) for payload, declared in payloads]
    attached = [report for reports, declared in read if declared for report in reports]
    return [report for reports, declared in read for report in reports if declared or report not in attached]


def _filename(part: email.message.Message) -> str | None:
    name = part.get_filename()
    if isinstance(name, str) and name.startswith("=?"):
        # compat32 leaves RFC 2047 encoded words as they are; only the suffix matters here
        name = str(email.header.make_header(email.header.decode_header(name)))
    return name
