"""Finding lab reports: which format a file is in, and which parts of a mail are lab files.

Media types pli writes and recognises (docs/LAB.md):
  HPRIM  text/x-hprim          files *.hpr, *.hpm, *.hprim
  HL7 v2 application/hl7-v2    files *.hl7, *.oru, *.er7   (ER7, the pipe-and-hat encoding)
Also recognised on receipt, because senders use them: application/x-hprim,
text/hprim, application/x-hl7, x-application/hl7-v2+er7, application/edi-hl7;
and any attachment whose file name has one of the suffixes above, whatever
its declared type (many labs send application/octet-stream).
"""
from __future__ import annotations

import email
import email.header
import email.message
import email.policy

from pli.core.lab import hl7v2, hprim
from pli.core.lab.model import Report
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


def reports_in_mail(message: email.message.Message) -> list[Report]:
    """The reports of every lab part of a MIME message (in part order).

    A part declared as a lab file (by type or name) that does not parse raises
    MalformedReport: a damaged result must be seen, not skipped.
    """
    reports: list[Report] = []
    for part in message.walk():
        if part.is_multipart():
            continue
        if lab_kind(part.get_content_type(), _filename(part)) is None:
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            reports += parse_reports(payload)
    return reports


def reports_in_bytes(inner: bytes) -> list[Report]:
    """reports_in_mail for a message still in bytes, several times quicker for bulk import.

    The lab parts are found by a byte scan of the MIME structure
    (pli.core.mimescan); a message the scan cannot be sure of goes through the
    `email` parser with the compat32 policy (strings, not header objects: the
    default policy costs about 0.4 ms per header asked for).
    """
    parts = leaf_parts(inner)
    if parts is not None:
        payloads = [part.decoded() for part in parts if lab_kind(part.content_type, part.filename) is not None]
        if None not in payloads:
            return [report for payload in payloads for report in parse_reports(payload)]
    return reports_in_mail(email.message_from_bytes(inner, policy=email.policy.compat32))


def _filename(part: email.message.Message) -> str | None:
    name = part.get_filename()
    if isinstance(name, str) and name.startswith("=?"):
        # compat32 leaves RFC 2047 encoded words as they are; only the suffix matters here
        name = str(email.header.make_header(email.header.decode_header(name)))
    return name
