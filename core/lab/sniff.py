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
         `****LAB****` line) where line 2 is a name (letters, at most five words,
         no digit, no punctuation a sentence has or ends with), line 3 a first
         name or empty, line 8 short, lines 7 (birth date) and 10 (date) each
         shaped as a date or empty (one or two lines earlier when the lab left
         the address lines out); and then either both dates, or one of them and
         an HPRIM marker line (`****LAB****`, `****FIN****`) in the text, or a
         `****LAB****` block of RES/TEX lines (then an impossible date, 31/02,
         or none, still makes a header).  Or the text starts with such a block
         (results before any header).
         The header may stand under a short greeting ("Bonjour,", up to six
         lines, then a blank line) when it is strong (both dates, or a RES
         block); never under a forward's or a reply's lines ("De :", "-----",
         "a écrit :"): a report someone forwards is their text, shown, not
         filed as the lab's.
  HL7:   the text starts with an MSH segment of a result message (ORU, OUL),
         or with a batch header (FHS, BHS) and such an MSH right after.
  HPRIM Santé: the text starts with the header record of a result file
         (`H|~^\\&|file||lab||ORU|`).

A letter, a reply quoting a report ("> RES|..."), a forwarded mail (its
"From:" lines come first) or a signature block fails on line 2, 7 or 10: the
tests feed both kinds (tests/core/lab/test_sniff.py).  Only the head is read
unless it passes, so a text part costs a few microseconds at import.
"""
from __future__ import annotations

import html
import re
from datetime import date

from pli.core.lab.text import split_lines

HEAD_BYTES = 2048          # an HPRIM header is 12 lines of at most 80 characters: well inside
HEADER_LINES = 12
MAX_LINE = 80              # header fields are short; a paragraph of a letter is not
MAX_NAME = 60
MAX_SSN_LINE = 32
HL7_RESULT_TYPES = ("ORU", "OUL")
MAX_PREAMBLE = 6           # lines of greeting a lab may write above the header
MIN_LINES = 6              # line breaks before line 7, the birth date: fewer and there is no header
MISSING_ADDRESS_LINES = 2  # address lines (4, 5) a lab may leave out, moving the dates up
MAX_NAME_WORDS = 5         # "DE LA FONTAINE DU BOIS"; a sentence has more

_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_LINE_END = re.compile(r"\r\n|\n|\r")
# Letters (any script), spaces, hyphens, apostrophes, dots, parentheses: "LEFÈVRE-D'ARC (ÉP. MARTIN)";
# any other non-ASCII character too: an accent in an encoding the head was not decoded in ("Ana•s",
# MacRoman read as Windows-1252).  Disjoint classes: linear, never backtracks.
_NAME = re.compile(r"(?:[^\W\d_]|[^\x00-\x7f])(?:[^\W\d_]|[^\x00-\x7f]|[ '’.()-])*")
# A date as labs write it, a time may follow; a lab's prefix before it ("M-5128-23/10/06") is allowed.
_DATE = re.compile(r"(?:[A-Z0-9]+-)*(?:(\d{2})[/.-]?(\d{2})[/.-]?(\d{4}|\d{2})|(\d{4})-(\d{2})-(\d{2}))"
                   r"(?:[ T]+\d{1,2}[:hH]\d{2}(?::\d{2})?)?", re.IGNORECASE)
_INITIAL = re.compile(r"[^\W\d_]\.")   # a first name given as an initial: "J."
_MARKER = re.compile(r"\*{3,}\s*(FINFICHIER|FINLAB|FIN|LAB)\s*\*{3,}", re.IGNORECASE)
# A marker line anywhere in the text (any line end: CRLF, LF, a Mac file's lone CR).
_MARKER_LINE = re.compile(rb"(?:^|[\r\n])[ \t]*\*{3,}[ \t]*(?:FINFICHIER|FINLAB|FIN|LAB)[ \t]*\*{3,}[ \t]*(?:[\r\n]|$)",
                          re.IGNORECASE)
_LAB_LINE = re.compile(r"(?:RES|TEX)\|", re.IGNORECASE)
# An HPRIM Santé header record of a result file: H|separators|file|password|sender|address|ORU|; one field
# later too, as HL7 Europe's HAPI starter writes it (lab-wild h39): the file reader takes it, so must a mail body.
_HPRIM_SANTE_RESULT = re.compile(r"H\|[^|\w\s]{3,4}\|(?:[^|\r\n]*\|){4,5}(?:ORU|OUL)\|")
# What a forward or a reply puts above what it quotes: never a lab's greeting.
_QUOTING = re.compile(r"^\s*>|^\s*(?:de|from|[àa]|to|cc|objet|subject|date|envoy[ée]|sent)\s*:|-{3,}|_{5,}|"
                      r"transf[éèe]r|forward|d'origine|original message|[ée]crit\s*:|wrote\s*:", re.IGNORECASE)


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
    head = data[:HEAD_BYTES * 2 if data[:2] in _UTF16_BOMS else HEAD_BYTES]
    if head.count(b"\n") < MIN_LINES and head.count(b"\r") < MIN_LINES and b"***" not in head \
            and not any(kind in head[:16] for kind in (b"MSH", b"FHS", b"BHS", b"M\x00S\x00H", b"H|")):
        return None   # the usual short note ("Bonjour, ci-joint...") set aside by two byte counts
    text = _text(head)
    start = text.lstrip("\ufeff\x0b \t\r\n")
    if start[:3] in ("MSH", "FHS", "BHS"):
        return "hl7" if _hl7_result(start) else None
    if _HPRIM_SANTE_RESULT.match(start):
        return "hprim"   # HPRIM Santé records (core/lab/hprim_sante.py): a result file by its header
    # Line ends as the reader splits them (CR CR LF too); a head cut between a CR and its LF is no line.
    lines = split_lines(start.rstrip("\r"))[:HEADER_LINES + 25 + MAX_PREAMBLE]
    kind = _hprim_kind(lines)
    if kind != "hprim" and _LINE_END.search(text, 0, len(text) - len(start)):
        # A blank line first may be the header's line 1 (the lab's patient code, left empty).
        blank = _hprim_kind([""] + lines)
        kind = blank if blank == "hprim" or kind is None else kind
    if kind is None:
        at = _after_greeting(lines)
        if at and _hprim_kind(lines[at:]) == "hprim":
            return "hprim"   # a header under a lab's greeting: as strong as at the top, or nothing
    return kind


def _after_greeting(lines: list[str]) -> int:
    """Where a header may start under a short greeting ("Bonjour,", "Veuillez trouver ci-dessous..."):
    the line after the first blank line within MAX_PREAMBLE lines; 0 when there is no such greeting,
    or when those lines are a forward's or a reply's (their report is the forwarder's text, not the
    lab's: it is shown, never filed as a lab result)."""
    for index, line in enumerate(lines[:MAX_PREAMBLE + 1]):
        if not line.strip():
            preamble = lines[:index]
            if not preamble or any(_QUOTING.search(p) for p in preamble):
                return 0
            return next((i for i in range(index, min(len(lines), index + 3)) if lines[i].strip()), 0)
    return 0


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
    segments = [s for s in _LINE_END.split(text, 8) if s.strip()]   # blank lines: doubled line ends
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
    name, first = header[1], header[2]
    if "&" in name + first:
        name, first = html.unescape(name), html.unescape(first)  # bodies sent as HTML-escaped text
    if not _is_name(name) or (first and not _is_name(first)) or any(len(line) > MAX_LINE for line in header):
        return None
    block = _lab_block(lines)
    kinds = [_dated_kind(header, missing, block) for missing in range(MISSING_ADDRESS_LINES + 1)]
    return "hprim" if "hprim" in kinds else "hprim?" if "hprim?" in kinds else None


def _dated_kind(header: list[str], missing: int, block: bool) -> str | None:
    """What lines 7 (birth date), 8 (number) and 10 (date) say, `missing` address lines up the header
    (labs leave lines 4 and 5 out): both dates, or a RES block under date-shaped lines, make a header."""
    born, ssn, when = header[6 - missing], header[7 - missing], header[9 - missing]
    if len(ssn) > MAX_SSN_LINE or not all(_date_shaped(text) or not text for text in (born, when)):
        return None
    dated = [_is_date(born), _is_date(when)]
    if all(dated) or block:
        return "hprim"   # with a RES block, an impossible date (31/02) or none at all still is a header
    return "hprim?" if any(dated) else None


def _is_name(text: str) -> bool:
    """A name line: letters and the punctuation names have, a few words, no sentence's end."""
    return bool(_NAME.fullmatch(text)) and len(text) <= MAX_NAME and len(text.split()) <= MAX_NAME_WORDS \
        and not text.endswith((".", ",", ";", ":", "!", "?")) or bool(_INITIAL.fullmatch(text))


def _date_shaped(text: str) -> bool:
    return _DATE.fullmatch(text) is not None


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
