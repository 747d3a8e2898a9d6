"""Recognising a lab report by its content: an HPRIM header or an HL7 v2 MSH at the top of a text.

    sniff(data)        # 'hprim', 'hl7' or None for the bytes of a mail's text part
    top_kind(head)     # from its first HEAD_BYTES alone: None means sniff() says None too

Labs on Apicrypt and HPRIM Net send the report as the mail's text body, and the
receiving software reads the 12-line HPRIM header at the top of that body
(MedShakeEHR reads lines 1-12 of the body it saved and scores them: a birth date
on line 7 and a date on line 10 weigh most).  pli does the same, with rules
rather than a score, so that what it accepts can be said in one sentence
(docs/LAB.md, "Reports in the mail's text"):

  HPRIM: from the first non-blank line, twelve short lines (or fewer, ended by a
         `****LAB****` line) where line 2 is a name (letters, no digits, no
         punctuation a sentence has), line 3 a first name or empty, line 8 short,
         lines 7 (birth date) and 10 (date) each a date or empty; and then either
         both dates, or one of them and an HPRIM marker line (`****LAB****`,
         `****FIN****`) in the text, or a `****LAB****` block of RES/TEX lines.
         Or the text starts with such a block (results before any header).
  HL7:   the text starts with an MSH segment of a result message (ORU, OUL),
         or with a batch header (FHS, BHS) and such an MSH right after.

A letter, a reply quoting a report ("> RES|..."), a forwarded mail (its
"From:" lines come first) or a signature block fails on line 2, 7 or 10: the
tests feed both kinds (tests/core/lab/test_sniff.py).  Only the head is read
unless it passes, so a text part costs a few microseconds at import.
"""
from __future__ import annotations

import html
import re
from datetime import date

HEAD_BYTES = 2048          # an HPRIM header is 12 lines of at most 80 characters: well inside
HEADER_LINES = 12
MAX_LINE = 80              # header fields are short; a paragraph of a letter is not
MAX_NAME = 60
MAX_SSN_LINE = 32
HL7_RESULT_TYPES = ("ORU", "OUL")

_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_LINE_END = re.compile(r"\r\n|\n|\r")
# Letters (any script), spaces, hyphens, apostrophes, dots, parentheses: "LEFÈVRE-D'ARC (ÉP. MARTIN)";
# any other non-ASCII character too: an accent in an encoding the head was not decoded in ("Ana•s",
# MacRoman read as Windows-1252).  Disjoint classes: linear, never backtracks.
_NAME = re.compile(r"(?:[^\W\d_]|[^\x00-\x7f])(?:[^\W\d_]|[^\x00-\x7f]|[ '’.()-])*")
# A date as labs write it, a time may follow; a lab's prefix before it ("M-5128-23/10/06") is allowed.
_DATE = re.compile(r"(?:[A-Z0-9]+-)*(?:(\d{2})[/.-]?(\d{2})[/.-]?(\d{4}|\d{2})|(\d{4})-(\d{2})-(\d{2}))"
                   r"(?:[ T]+\d{1,2}[:hH]\d{2}(?::\d{2})?)?", re.IGNORECASE)
_MARKER = re.compile(r"\*{3,}\s*(FINFICHIER|FINLAB|FIN|LAB)\s*\*{3,}", re.IGNORECASE)
# A marker line anywhere in the text (any line end: CRLF, LF, a Mac file's lone CR).
_MARKER_LINE = re.compile(rb"(?:^|[\r\n])[ \t]*\*{3,}[ \t]*(?:FINFICHIER|FINLAB|FIN|LAB)[ \t]*\*{3,}[ \t]*(?:[\r\n]|$)",
                          re.IGNORECASE)
_LAB_LINE = re.compile(r"(?:RES|TEX)\|", re.IGNORECASE)


def sniff(data: bytes) -> str | None:
    """'hprim' or 'hl7' when these bytes are a lab report by their content, else None."""
    kind = top_kind(data)
    if kind != "hprim?":
        return kind
    if data[:2] in _UTF16_BOMS:
        data = data.decode("utf-16", errors="ignore").encode("utf-8")
    return "hprim" if _MARKER_LINE.search(data) else None


def top_kind(data: bytes) -> str | None:
    """What the first HEAD_BYTES of a text say (twice as many for UTF-16): 'hl7', 'hprim',
    'hprim?' (an HPRIM header with one date: a report if the whole text holds an HPRIM
    marker line), or None.  `data` may be the whole text or only its start."""
    text = _text(data[:HEAD_BYTES * 2 if data[:2] in _UTF16_BOMS else HEAD_BYTES])
    start = text.lstrip("\ufeff\x0b \t\r\n")
    if start[:3] in ("MSH", "FHS", "BHS"):
        return "hl7" if _hl7_result(start) else None
    lines = _LINE_END.split(start, HEADER_LINES + 24)
    return _hprim_kind(lines)


def _text(head: bytes) -> str:
    """The head as text, whatever its encoding: the shape is what counts here, not the letters."""
    if head[:2] in _UTF16_BOMS:
        return head.decode("utf-16", errors="ignore")
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start >= len(head) - 3:  # a character cut by the head's end
            return head[:error.start].decode("utf-8", errors="ignore")
    return head.decode("cp1252", errors="replace")


def _hl7_result(text: str) -> bool:
    """An MSH segment of a result message at the start (after an FHS/BHS batch header)."""
    segments = _LINE_END.split(text, 4)
    msh = next((s.lstrip("\x0b \t") for s in segments[:4] if s.lstrip("\x0b \t").startswith("MSH")), "")
    if len(msh) < 8:
        return False
    separator = msh[3]
    if separator.isalnum() or separator.isspace():
        return False
    fields = msh.split(separator, 10)
    return len(fields) > 9 and fields[8].upper().startswith(HL7_RESULT_TYPES)


def _hprim_kind(lines: list[str]) -> str | None:
    if _MARKER.fullmatch(lines[0].strip()) and _lab_block(lines[:HEADER_LINES]):
        return "hprim"   # results before any header: a report all the same (whose patient pli cannot tell)
    header = _header(lines)
    if header is None:
        return None
    name, first, born, ssn, when = header[1], header[2], header[6], header[7], header[9]
    if "&" in name + first:
        name, first = html.unescape(name), html.unescape(first)  # bodies sent as HTML-escaped text
    if not _NAME.fullmatch(name) or len(name) > MAX_NAME or (first and not _NAME.fullmatch(first)):
        return None
    if len(ssn) > MAX_SSN_LINE or any(len(line) > MAX_LINE for line in header):
        return None
    block = _lab_block(lines)
    dated = [_is_date(born), _is_date(when)]
    if not all(d or not text for d, text in zip(dated, (born, when))) and not block:
        return None  # a line 7 or 10 that is neither a date nor empty: no header, unless a RES block follows
    if all(dated) or block:
        return "hprim"
    return "hprim?" if any(dated) else None


def _header(lines: list[str]) -> list[str] | None:
    """The 12 header lines (stripped, padded when a marker ends them early), or None."""
    header: list[str] = []
    for line in lines:
        if _MARKER.fullmatch(line.strip()):
            break
        header.append(line.strip())
        if len(header) == HEADER_LINES:
            break
    if len(header) < 7:  # not even a birth date line before a marker or the end
        return None
    return header + [""] * (HEADER_LINES - len(header))


def _lab_block(lines: list[str]) -> bool:
    """A `****LAB****` line within the head followed by a RES| or TEX| line."""
    for index, line in enumerate(lines):
        match = _MARKER.fullmatch(line.strip())
        if match and match.group(1).upper() == "LAB":
            following = next((ln for ln in lines[index + 1:] if ln.strip()), "")
            return bool(_LAB_LINE.match(following))
    return False


def _is_date(text: str) -> bool:
    match = _DATE.fullmatch(text)
    if match is None:
        return False
    day, month, year, iso_year, iso_month, iso_day = match.groups()
    if iso_year:
        day, month, year = iso_day, iso_month, iso_year
    full_year = int(year) if len(year) == 4 else 2000 + int(year)
    try:
        date(full_year, int(month), int(day))
    except ValueError:
        return False
    return True
