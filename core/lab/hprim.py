"""HPRIM Médecins files (French labs): read them into Reports, as tolerantly as the field's own readers, and
write Reports back as HPRIM.

A file holds one or more reports.  Each report is:
  - a 12-line header: line 1 the patient's code in the lab (or a title),
    last name, first name, address 1, address 2, postcode and town, birth
    date, social-security number, the lab's reference, date, sender (code and
    name), recipient (code and name); a blank 13th line is accepted, missing
    trailing lines too (a marker or a result line ends the header early);
  - free text, kept as is;
  - optionally a `****LAB****` block of `RES|` result lines and `TEX|` comment
    lines, ended by `****FINLAB****`, or by the end of the report;
  - `****FIN****` or `****FINFICHIER****` (or the end of the file).
RES fields: label|code|type|value|unit|low|high|flag|status|value2|unit2|low2|high2.

What the field sends and this reader accepts (MedShakeEHR's msHprim,
FreeHealth's hprimparser and Mediboard's CHprim21 read the same way):
  - bare `TEX` lines, `RES||code|A` lines (no label, no value), blank lines and
    lines without a prefix inside the block (kept as comments), a `****LAB****`
    line with spaces around it, `RES` lines with `;` or tab separators;
  - lines wrapped at 80 columns (or by a mail client): a line that is not a
    result, a comment or a marker and follows a result or comment line at least
    72 characters long continues it (text.continuation_glue joins them);
  - TEX comments stay lines of the report in document order: labs write them
    before or after the result they describe, so pli never decides which; only
    their place among the results is kept (Report.comment_positions);
  - a new header after a LAB block (or after free text) starts a new report
    when `****FIN****` is missing: a *full* header, with a name on its second
    line and two of birth date, social-security number, postcode and date
    where a header has them.  Lines that name someone else without being a
    full header (a name above a date or a number) followed by results make the
    boundary ambiguous: those results go to a report marked
    `patient_uncertain`, attached to nobody, never to either patient;
  - dates in every form (core/lab/dates.py); a date pli cannot read is kept as
    written with a warning, the rest of the report is read;
  - a truncated file gives what it holds, marked incomplete.
Only a file with no text report at all (binary, no header, no result) raises
MalformedReport.
"""
from __future__ import annotations

import functools
import html
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from pli.core.lab import corrections, hprim_sante, microbiology
from pli.core.lab.dates import read_date
from pli.core.lab.errors import MalformedReport
from pli.core.lab.flags import susceptibility
from pli.core.lab.model import Lab, Observation, Patient, Prescriber, ReferenceRange, Report, slug
from pli.core.lab.text import Decoded, continuation_glue, decode_report, mend_junk, split_lines, wrap_width
from pli.core.lab.values import split_value_unit, to_number
from pli.core.plural import counted

FORMAT = "HPRIM"
HEADER_LINES = 12
WRAP = 72          # a line this long may have been wrapped: the next one can continue it
_MARKER = re.compile(r"\*{3,}\s*(FINFICHIER|FINLAB|FIN|LAB)\s*\*{3,}", re.IGNORECASE)
_POSTCODE_TOWN = re.compile(r"(\d[\dAB]\d{3})\s*(.*)")
_RES_FIELDS = 14
_ODD_SEPARATORS = (";", "\t")
_ENTITY = re.compile(r"&(?:[a-zA-Z]{2,8}|#\d{2,5}|#x[0-9a-fA-F]{2,4});")
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)   # HTML line breaks left in a body's lines
# A surname line: letters (any script), spaces, hyphens, apostrophes, dots; no digits.
_NAME = re.compile(r"[^\W\d_](?:[^\W\d_]|[ '’.()/-])*")
_NIR = re.compile(r"[12378][\s.]?\d{2}[\s.]?\d{2}[\s.]?(?:\d{2}|2[AB])[\s.]?\d{3}[\s.]?\d{3}(?:[\s.]?\d{2})?", re.I)
_CODE = re.compile(r"\S*\d\S*")
_DIGIT = re.compile(r"\d")


def _marker(line: str) -> str | None:
    if "***" not in line:
        return None  # most lines: no marker is shorter than ***X***, and this test is cheaper than strip
    match = _MARKER.fullmatch(line.strip())
    return match.group(1).upper() if match else None


def _kind(line: str) -> str:
    """'RES', 'TEX' (also bare 'TEX'), 'MARK', 'BLANK' or 'TEXT'."""
    head = line[:4]
    if head == "RES|" or head == "TEX|":
        return head[:3]   # nearly every line of a LAB block: decided without a copy of the line
    if line[:1] in "RrTt":
        head = head.upper()
        if head == "RES|" or (head[:3] == "RES" and head[3:4] in _ODD_SEPARATORS):
            return "RES"
        if head == "TEX|" or (head[:3] == "TEX" and line.strip().upper() == "TEX"):
            return "TEX"
    if "***" in line and _marker(line):
        return "MARK"
    return "TEXT" if line.strip() else "BLANK"


# ---------------------------------------------------------------- reading

def parse(data: bytes) -> list[Report]:
    """Every report in an HPRIM file; MalformedReport when the bytes hold none."""
    return parse_decoded(decode_report(data))


def parse_decoded(decoded: Decoded) -> list[Report]:
    """parse() for text already decoded (the encoding's name goes into each report)."""
    if hprim_sante.is_hprim_sante(decoded.text[:64]):
        return hprim_sante.parse_decoded(decoded)   # records (H|, P|, OBX|...), not a 12-line header
    text, encoding = decoded.text, decoded.encoding
    file_warnings: list[str] = []
    if "&" in text and _ENTITY.search(text):
        text = html.unescape(text)   # a body sent as HTML-escaped text ("&eacute;", "&lt;5")
        encoding += ", HTML entities decoded"
    lines, damaged = mend_junk(split_lines(text), FORMAT)
    file_warnings += damaged
    if "<" in text and _BREAK.search(text):
        lines = _broken_at_tags(lines)
    reports = _Reader(lines).reports()
    if not reports:
        raise MalformedReport(FORMAT, 1, "no report in the file (no header lines and no results)")
    if file_warnings:
        reports[0] = replace(reports[0], warnings=tuple(file_warnings) + reports[0].warnings)
    reports = corrections.across(reports)
    for report in reports:
        object.__setattr__(report, "encoding", encoding)   # not part of the report's value (compare=False)
    return reports


def _broken_at_tags(lines: list[str]) -> list[str]:
    """Lines cut where a lab's HTML body wrote `<br />`: a comment's next pieces are comments
    too, so that no tag is shown and no piece of a comment reads as a stray line."""
    out: list[str] = []
    for line in lines:
        if "<" not in line or not _BREAK.search(line):
            out.append(line)
            continue
        pieces = [piece for piece in _BREAK.split(line)]
        while len(pieces) > 1 and not pieces[-1].strip():
            pieces.pop()   # a break ending the line ends nothing more
        prefix = "TEX|" if _kind(line) == "TEX" else ""
        out += [pieces[0]] + [prefix + piece for piece in pieces[1:]]
    return out


@dataclass
class _Draft:
    """One report being read."""

    start: int                                   # index of its first header line (-1: no header)
    header: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    observations: list[Observation] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    incomplete: bool = False
    uncertain: bool = False
    candidates: tuple[Patient, ...] = ()
    lab_block: bool = False                      # a LAB block (or results) has been read
    corrected: bool = False                      # a result has status C: corrections to apply
    cultures: bool = False                       # a result may be an antibiogram's S/I/R

    def comment(self, text: str) -> None:
        self.comments.append(text)
        self.positions.append(len(self.observations))


class _Reader:
    """Reads the lines of a file into reports, one draft at a time."""

    def __init__(self, lines: list[str]):
        self.lines = lines
        self.kinds = [_kind(line) for line in lines]   # each line's kind, worked out once
        self._width: int | None = None   # the wrap width, worked out when a wrapped line is first met
        self.index = 0
        self.done: list[Report] = []
        self._ahead: list[bool] | None = None
        self.pending: _Draft | None = None

    def reports(self) -> list[Report]:
        lines = self.lines
        while self.index < len(lines) or self.pending is not None:
            if self.pending is not None:
                draft, self.pending = self.pending, None   # results after an unclear boundary
                self._body(draft)
                continue
            kind = self.kinds[self.index]
            if kind == "BLANK" and _blank_first_line(lines, self.index, self.kinds):
                kind = "TEXT"     # the header's line 1 (the lab's patient code) left empty
            if kind == "BLANK" or (kind == "MARK" and _marker(lines[self.index]) != "LAB"):
                self.index += 1   # blank lines around reports, end markers of empty sections
                continue
            if kind == "TEXT":
                draft = self._report_start()
                if draft is None:
                    continue   # text after the last report, kept with it
            else:
                # Results before any header: whose they are, the file does not say.
                draft = _Draft(start=-1, uncertain=True)
                draft.warnings.append(f"line {self.index + 1}: results without a patient header before them")
            self._body(draft)
        return self.done

    # -- a report's parts

    def _report_start(self) -> _Draft:
        """The draft of the report whose first line is at the cursor.

        Text before the file's first full header (a mail's greeting) is kept as
        that report's text, with a warning; after a report, lines that are no
        plausible header (a mail's signature, a disclaimer) make a report attached
        to nobody rather than a patient named "Dr Martin"; and so does a first
        header whose line 2 is no name.
        """
        index, lines, kinds = self.index, self.lines, self.kinds
        if not self.done and not _full_header(lines, index, kinds, blank_first=True):
            found = self._full_header_within(index, 40)
            if found is not None:
                self.index = found
                draft = self._header()
                draft.text = lines[index:found]
                draft.warnings.append(f"lines {index + 1}-{found}: text before the first patient header "
                                      "(kept as the report's text)")
                return draft
        # A first header needs what a header after a report needs, or a short header (a name, then the
        # LAB block or an end marker within its twelve lines): never a patient named after a letter's lines.
        plausible = _plausible_header(lines, index, kinds) or not self.done and _short_header(lines, index, kinds)
        if not plausible and self.done and not self._results_follow(index):
            self._trailing_text()
            return None
        draft = self._header()
        if not plausible and draft.header[1]:
            draft.uncertain = True
            draft.candidates = ()
            draft.warnings.append(f"line {draft.start + 1}: these lines are no patient header (no name, "
                                  "birth date or number where a header has them): attached to nobody")
            draft.start, draft.text = -1, [line for line in draft.header if line] + draft.text
        return draft

    def _trailing_text(self) -> None:
        """Lines after a report that are no header and hold no result (a signature, a disclaimer): the
        last report's text, with a warning; up to the next marker or full header."""
        start = self.index
        lines, kinds = self.lines, self.kinds
        while self.index < len(lines) and kinds[self.index] in ("TEXT", "BLANK") and \
                (self.index == start or not _full_header(lines, self.index, kinds)):
            self.index += 1
        last = self.done[-1]
        text = "\n".join(([last.text] if last.text else []) + lines[start:self.index])
        warning = f"lines {start + 1}-{self.index}: text after the report's end (kept as its text)"
        self.done[-1] = replace(last, text=text, warnings=last.warnings + (warning,))

    def _full_header_within(self, index: int, count: int) -> int | None:
        """The first line of a full header among the next `count` text lines, None when none (or when a
        result or a marker comes first)."""
        for at in range(index, min(index + count, len(self.lines))):
            if self.kinds[at] in ("RES", "TEX", "MARK"):
                return None
            if _full_header(self.lines, at, self.kinds):
                return at
        return None


    def _header(self) -> _Draft:
        draft = _Draft(start=self.index)
        lines = self.lines
        while self.index < len(lines) and len(draft.header) < HEADER_LINES and \
                self.kinds[self.index] in ("TEXT", "BLANK"):
            draft.header.append(lines[self.index].strip())
            self.index += 1
        missing = _missing_lines(draft.header)
        if missing is not None:
            # Line 7 holds no date but line 6 (or 5) does: address lines are missing, as some labs send them.
            at, count = missing
            draft.warnings.append(f"line {draft.start + 7 - count}: the birth date comes {counted(count, 'line')} early: "
                                  "read as if address lines were missing")
            read = len(draft.header)
            draft.header = (draft.header[:at] + [""] * count + draft.header[at:])[:HEADER_LINES]
            self.index -= max(0, read + count - HEADER_LINES)   # lines read past the header go back to the body
        if len(draft.header) == HEADER_LINES and self.index < len(lines) and not lines[self.index].strip():
            self.index += 1  # the optional blank 13th header line
        draft.header += [""] * (HEADER_LINES - len(draft.header))
        return draft

    def _body(self, draft: _Draft) -> None:
        """Free text and LAB blocks up to the report's end; the draft is then finished."""
        lines = self.lines
        while self.index < len(lines):
            line = lines[self.index]
            kind = self.kinds[self.index]
            if kind == "MARK":
                marker = _marker(line)
                if marker in ("FIN", "FINFICHIER"):
                    self.index += 1
                    return self._finish(draft, ended=True)
                self.index += 1
                if marker == "LAB" and self._block(draft):
                    return
                continue   # a FINLAB without LAB: nothing to close
            if kind in ("RES", "TEX"):
                if self._block(draft):   # results without a ****LAB**** line: read them all the same
                    return
                continue
            if kind == "TEXT" and self._starts_elsewhere(draft):
                return
            draft.text.append(line)
            self.index += 1
        self._finish(draft, ended=False)

    def _block(self, draft: _Draft) -> bool:
        """RES/TEX lines up to ****FINLAB****, the report's end, or a line that is not the block's.
        True when another report starts inside the block (the draft is then finished)."""
        draft.lab_block = True
        lines = self.lines
        while self.index < len(lines):
            line = lines[self.index]
            kind = self.kinds[self.index]
            if kind == "BLANK":
                self.index += 1
            elif kind == "RES":
                self._result(draft, self.index + 1, self._joined())
            elif kind == "TEX":
                self._comment(draft, self._joined())
            elif kind == "MARK":
                marker = _marker(line)
                if marker == "FINLAB":
                    self.index += 1
                    return False
                if marker == "LAB":
                    self.index += 1   # a second ****LAB**** line: the block goes on
                    continue
                return False   # ****FIN**** without ****FINLAB****: the report's end
            else:
                if self._starts_elsewhere(draft):
                    return True
                draft.warnings.append(f"line {self.index + 1}: text in the LAB block without TEX| (kept as a comment)")
                draft.comment(self._joined().rstrip())
        return False

    def _joined(self) -> str:
        """The line at the cursor with the lines that continue it (wrapped at 80 columns); moves past them."""
        lines = self.lines
        line = lines[self.index]
        self.index += 1
        previous = line
        while self.index < len(lines) and len(previous.rstrip("\r")) >= WRAP and self.kinds[self.index] == "TEXT" \
                and not self._header_at(self.index):
            if self._width is None:
                self._width = wrap_width(lines)
            glue = continuation_glue(previous, self._width)
            previous = lines[self.index]
            line += glue + previous
            self.index += 1
        return line

    def _result(self, draft: _Draft, number: int, line: str) -> None:
        if self.index >= len(self.lines) and self._cut(draft, line):
            draft.incomplete = True
            draft.warnings.append(f"line {number}: the file ends in the middle of this result line: it is "
                                  "kept as text, not as a result (ask the lab to resend the report)")
            draft.comment(line)
            return
        observation = _parse_res(line)
        if observation is None:
            draft.warnings.append(f"line {number}: a RES line with neither label nor code (kept as a comment)")
            draft.comment(line)
            return
        if line[3:4] in _ODD_SEPARATORS:
            draft.warnings.append(f"line {number}: RES line with '{_shown(line[3])}' separators instead of '|'")
        draft.corrected = draft.corrected or observation.status.upper() == "C"
        draft.cultures = draft.cultures or observation.lab_flag.upper() in ("S", "I", "R") or \
            (len(observation.value) < 17 and susceptibility(observation.value) is not None)
        draft.observations.append(observation)

    def _comment(self, draft: _Draft, line: str) -> None:
        draft.comment(line[4:].rstrip().rstrip("|").rstrip() if len(line) > 3 else "")

    def _cut(self, draft: _Draft, line: str) -> bool:
        """The file's last line is a result line a truncation cut: no value field, or without the
        status or the closing '|' that every other result line of the file has."""
        parsed = _parse_res(line)
        if parsed is None or line.count(line[3:4] or "|") < 4:
            return True
        others = [raw.rstrip() for raw, kind in zip(self.lines[:-1], self.kinds) if kind == "RES"]
        if others and all(o.endswith("|") for o in others) and not line.rstrip().endswith("|"):
            return True
        return bool(draft.observations) and all(o.status for o in draft.observations) and not parsed.status

    # -- where a report ends without ****FIN****

    def _starts_elsewhere(self, draft: _Draft) -> bool:
        """True (and the draft finished) when the line at the cursor starts another patient's report:
        a full header (a new report), or a partial one followed by results (an uncertain report)."""
        index = self.index
        if self._header_at(index):
            draft.warnings.append(f"line {index + 1}: ****FIN**** missing before the next patient's header")
            self._finish(draft, ended=False, boundary=True)
            return True
        if not draft.lab_block:
            return False   # the header above is the free text's patient: only results can be in doubt
        specimen = _header_fields(tuple(draft.header), draft.start)[2] if draft.start >= 0 else None
        named = _partial_identity(self.lines, index, self.kinds, specimen.date() if specimen else date.today())
        if named is None or _same_person(named, _patient(draft)) or not self._results_follow(index):
            return False
        draft.warnings.append(f"line {index + 1}: ****FIN**** missing, and what follows names another patient "
                              "without a full header")
        current = _patient(draft)
        self._finish(draft, ended=False, boundary=True)
        uncertain = _Draft(start=-1, uncertain=True, candidates=(current, named))
        uncertain.warnings.append(f"lines {index + 1}-: results after an unclear boundary between two patients: "
                                  "attached to neither")
        uncertain.text.append(self.lines[index])
        self.index += 1
        self.pending = uncertain   # read by reports(), not here: a file of many such boundaries nests no calls
        return True

    def _header_at(self, index: int) -> bool:
        return _full_header(self.lines, index, self.kinds)

    def _results_follow(self, index: int) -> bool:
        """A RES line or a LAB block before the next end marker or full header."""
        if self._ahead is None:
            self._ahead = self._results_ahead()
        return self._ahead[index]

    def _results_ahead(self) -> list[bool]:
        """_results_follow for every line, in one pass from the end (asked line after line, it would be
        quadratic in a file of many names and dates)."""
        lines = self.lines
        ahead = [False] * len(lines)
        found = False
        for at in range(len(lines) - 1, -1, -1):
            kind = self.kinds[at]
            if kind == "RES" or (kind == "MARK" and _marker(lines[at]) == "LAB"):
                found = True
            elif kind == "MARK" or (kind == "TEXT" and _full_header(lines, at, self.kinds)):
                found = False
            ahead[at] = found
        return ahead

    def _finish(self, draft: _Draft, ended: bool, boundary: bool = False) -> None:
        if not ended and not boundary:
            draft.warnings.append("the file ends without ****FIN****: if results are missing, ask the lab")
        if draft.start < 0 and not draft.observations and not any(c.strip() for c in draft.comments) and \
                not any(t.strip() for t in draft.text):
            return   # an empty section: nothing to report
        self.done.append(_report_from(draft))



def _filled(observation: Observation) -> tuple[str, ...]:
    """The RES fields a result filled, up to the last one filled."""
    fields = (observation.label, observation.code, observation.value_type, observation.value, observation.unit,
              observation.reference.low or observation.reference.text, observation.reference.high,
              observation.lab_flag, observation.status)
    last = max((i for i, f in enumerate(fields) if f), default=-1)
    return fields[:last + 1]


def _shown(char: str) -> str:
    return "tab" if char == "\t" else char


# ---------------------------------------------------------------- headers and identities

def _is_name(text: str) -> bool:
    return 2 <= len(text) <= 60 and _NAME.fullmatch(text) is not None and sum(c.isalpha() for c in text) >= 2


def _is_date(text: str) -> bool:
    return read_date(text) is not None


def _full_header(lines: list[str], index: int, kinds: list[str], blank_first: bool = False) -> bool:
    """A full 12-line header starts at `index`: a name on its line 2 and at least two of a birth date
    (line 7), a social-security number (line 8), a postcode and town (line 6), a date (line 10), one of
    them a date; or the same one line higher, when an address line is missing.  With `blank_first`,
    its line 1 may be blank (a lab that sends no patient code)."""
    first = kinds[index] if index < len(kinds) else ""
    if index + 6 >= len(lines) or (first != "TEXT" and not (blank_first and first == "BLANK")) \
            or kinds[index + 1] != "TEXT":
        return False
    if not any(_DIGIT.search(lines[i], 0, 16) for i in (index + 5, index + 6, index + 8, index + 9)
               if i < len(lines)):
        return False   # no date where a header has one: most text lines are rejected here
    name = lines[index + 1].strip()
    if not _is_name(name):
        return False
    window = [lines[i].strip() if i < len(lines) and kinds[i] in ("TEXT", "BLANK") else ""
              for i in range(index, index + HEADER_LINES)]
    first = window[2]
    if first and not _is_name(first):
        return False
    return _header_signs(window, 0) or _header_signs(window, 1)


def _blank_first_line(lines: list[str], index: int, kinds: list[str]) -> bool:
    """The blank line at `index` is line 1 of a header (the lab's patient code, left empty): a full
    header starts there, and none starts on the next line.  Skipped as a blank line, it would shift
    the header by one line and make a patient of the first name and the address."""
    return index + 1 < len(lines) and kinds[index + 1] == "TEXT" and \
        _full_header(lines, index, kinds, blank_first=True) and not _full_header(lines, index + 1, kinds)


def _plausible_header(lines: list[str], index: int, kinds: list[str]) -> bool:
    """A name on line 2 and a birth date, a date or a number where a header has them (or one line
    higher): what a report's header must be at least, after another report."""
    if index + 1 >= len(lines) or kinds[index + 1] != "TEXT" or not _is_name(lines[index + 1].strip()):
        return False
    window = [lines[i].strip() if i < len(lines) and kinds[i] in ("TEXT", "BLANK") else ""
              for i in range(index, index + HEADER_LINES)]
    if any(_is_date(window[i]) for i in (4, 5, 6, 8, 9)) or any(_NIR.fullmatch(window[i]) for i in (6, 7)):
        return True
    if any(_POSTCODE_TOWN.fullmatch(window[i]) for i in (3, 4, 5)):
        return True
    # Twelve lines exactly, then the LAB block: the shape of a header, whatever its lines hold.
    return any(kinds[i] in ("RES", "MARK") for i in range(index + 11, min(index + 14, len(lines))))


def _short_header(lines: list[str], index: int, kinds: list[str]) -> bool:
    """A name on line 2 and a marker or a result line before the header's twelve lines are out."""
    return index + 1 < len(lines) and kinds[index + 1] == "TEXT" and _is_name(lines[index + 1].strip()) and \
        any(kinds[i] in ("RES", "MARK") for i in range(index + 2, min(index + HEADER_LINES + 1, len(lines))))


def _header_signs(window: list[str], shift: int) -> bool:
    born, nir, town, when = (window[6 - shift], window[7 - shift], window[5 - shift], window[9 - shift])
    signs = [_is_date(born), bool(_NIR.fullmatch(nir)), bool(_POSTCODE_TOWN.fullmatch(town)), _is_date(when)]
    return sum(signs) >= 2 and (signs[0] or signs[3])


def _missing_lines(header: list[str]) -> tuple[int, int] | None:
    """(where, how many) empty lines put a header's fields back in place when address lines are
    missing (its birth date on line 6 or 5, followed by a number or nothing); None for a header in place."""
    if len(header) < 7 or _is_date(header[6]):
        return None
    for born in (5, 4):
        after = header[born + 1] if born + 1 < len(header) else ""
        if header[born] and _is_date(header[born]) and (not after or _NIR.fullmatch(after)):
            count = 6 - born
            town = _POSTCODE_TOWN.fullmatch(header[born - 1]) is not None
            return (5 - count if town else born), count
    return None


def _partial_identity(lines: list[str], index: int, kinds: list[str], specimen: date | None) -> Patient | None:
    """A patient named without a full header: an upper-case name line, then within a few lines a line
    that is only a birth date or only a social-security number.  None when the lines name nobody.

    A date on or after the report's specimen date is no birth date (a section title followed by
    the date of the analysis, "HEMATOLOGIE / 02/01/2024", names nobody)."""
    for at in range(index, min(index + 4, len(lines))):
        name = lines[at].strip()
        if kinds[at] != "TEXT" or not _is_name(name) or name != name.upper():
            continue
        first, born, ssn = "", None, ""
        for ahead in range(at + 1, min(at + 7, len(lines))):
            text = lines[ahead].strip()
            if kinds[ahead] not in ("TEXT", "BLANK"):
                break
            when = read_date(text, birth=True) if born is None else None
            if not first and born is None and _is_name(text) and ahead == at + 1:
                first = text
            elif when is not None and (specimen is None or when.date() < specimen) and when.year >= 1900:
                born = when
            elif not ssn and _NIR.fullmatch(text):
                ssn = text
        if born is not None or ssn:
            return Patient(last_name=name, first_name=first, birth_date=born.date() if born else None, ssn=ssn)
    return None


def _same_person(one: Patient, other: Patient) -> bool:
    """The lines name the report's own patient again (a printed page repeating its identity)."""
    own = slug(other.last_name)
    if not own or f"-{own}-" not in f"-{slug(one.last_name)}-":
        return False
    return one.birth_date in (None, other.birth_date) and (not one.nir or one.nir == other.nir)


def _patient(draft: _Draft) -> Patient:
    if draft.start < 0:
        return Patient()
    return _header_fields(tuple(draft.header), draft.start)[0]


@functools.lru_cache(maxsize=256)
def _header_fields(header: tuple[str, ...], start: int) -> tuple[Patient, tuple[str, ...], datetime | None, str]:
    """(patient, warnings, specimen date, its text when unreadable) from the 12 header lines."""
    (code, last, first, address1, address2, town_line, born, ssn, _reference, when, _sender,
     _recipient) = header
    warnings = []
    match = _POSTCODE_TOWN.fullmatch(town_line)
    postcode, town = (match.group(1), match.group(2).strip()) if match else ("", town_line)
    birth = read_date(born, birth=True)
    if born and birth is None:
        warnings.append(f"line {start + 7}: birth date not understood (shown as written)")
    collected = read_date(when)
    if when and collected is None:
        warnings.append(f"line {start + 10}: date not understood (shown as written)")
    patient_id = code if _CODE.fullmatch(code) else ""
    patient = Patient(last_name=last, first_name=first, birth_date=birth.date() if birth else None, ssn=ssn,
                      patient_id=patient_id, address1=address1, address2=address2, postcode=postcode, town=town,
                      birth_date_text=born if birth is None else "")
    return patient, tuple(warnings), collected, when if collected is None else ""


def _report_from(draft: _Draft) -> Report:
    header = draft.header or [""] * HEADER_LINES
    warnings = list(draft.warnings)
    if draft.start >= 0:
        patient, header_warnings, collected, collected_text = _header_fields(tuple(header), draft.start)
        warnings = list(header_warnings) + warnings
    else:
        patient, collected, collected_text = Patient(), None, ""
    uncertain = draft.uncertain
    if not uncertain and not patient.last_name:
        uncertain = True
        warnings.append(f"line {draft.start + 2}: no patient last name on header line 2: results attached to nobody")
    if uncertain and draft.start >= 0 and not draft.candidates:
        draft.candidates = (patient,) if patient.last_name or patient.nir else ()
    observations = corrections.within(draft.observations) if draft.corrected else draft.observations
    organisms = microbiology.find_organisms(observations, draft.comments, draft.positions) if draft.cultures else ()
    lab, prescriber = _party(header[10], Lab), _party(header[11], Prescriber)
    return Report(patient=Patient() if uncertain else patient, observations=tuple(observations), lab=lab,
                  prescriber=prescriber, reference=header[8], collected=collected, title=header[0],
                  comments=tuple(draft.comments), text="\n".join(draft.text), format="hprim",
                  comment_positions=tuple(draft.positions) if any(draft.positions) else (),
                  collected_text=collected_text, organisms=organisms, patient_uncertain=uncertain,
                  candidates=draft.candidates if uncertain else (), warnings=tuple(warnings),
                  incomplete=draft.incomplete)


def _party(line: str, kind):
    """Header lines 11 and 12: a code, then a name ("LABM01 Laboratoire de l'Estuaire")."""
    code, _, name = line.partition(" ")
    name = name.strip()
    if name and not _looks_like_code(code):
        code, name = "", line   # a name alone ("Laboratoire Central")
    if kind is Lab:
        return Lab(code=code, name=name)
    return Prescriber(code=code, family=name)


def _looks_like_code(word: str) -> bool:
    return any(c.isdigit() for c in word) or word.isupper() or any(c in word for c in ".-_/")


def _parse_res(line: str) -> Observation | None:
    separator = line[3] if len(line) > 3 else "|"
    fields = list(map(str.strip, line.split(separator)))
    if fields and fields[-1] == "":
        fields.pop()  # the trailing "|" most labs write
    fields += [""] * (_RES_FIELDS - len(fields))
    (_, label, code, value_type, value, unit, low, high, flag, status, value2, unit2, low2,
     high2) = fields[:_RES_FIELDS]
    if not (label or code):
        return None
    if value and not unit:
        split = split_value_unit(value)   # "< 0.12  mg/l" in the value field, the unit field empty
        if split is not None:
            value, unit = split
    return Observation(code=code, label=label, value=value, unit=unit, reference=_range(low, high),
                       lab_flag=flag, status=status, value_type=value_type, value2=value2, unit2=unit2,
                       reference2=_range(low2, high2))


@functools.lru_cache(maxsize=4096)
def _range(low: str, high: str) -> ReferenceRange:
    """ReferenceRange(low, high), one object per distinct range; a bound written in words
    ("inf. à 34" in the high field) or a whole range in one field is read as such."""
    if low and high:
        return ReferenceRange(low, high)
    if not (low or high):
        return ReferenceRange()
    one = low or high
    if _plain_number(one):
        return ReferenceRange(low, high)   # a number in the low field is a low bound, in the high one a high
    parsed = ReferenceRange.parse(one)
    if parsed.text or not (parsed.low or parsed.high):
        return ReferenceRange(text=one)    # words pli cannot read as bounds ("négatif"), shown as written
    return ReferenceRange(parsed.low, parsed.high, one)


def _plain_number(text: str) -> bool:
    return to_number(text) is not None


# ---------------------------------------------------------------- writing

def dumps(reports: list[Report], encoding: str = "iso-8859-1", newline: str = "\r\n") -> bytes:
    """An HPRIM file holding these reports (their current results; replaced ones are pli's history).

    ISO-8859-1 is written as Windows-1252 (its superset, what French software
    reads); a character neither can hold becomes '?'.
    """
    lines: list[str] = []
    for report in reports:
        lines += _report_lines(report)
    lines.append("****FINFICHIER****")
    codec = "cp1252" if encoding.lower().replace("_", "-") in ("iso-8859-1", "latin-1", "latin1") else encoding
    return (newline.join(lines) + newline).encode(codec, errors="replace")


def _report_lines(report: Report) -> list[str]:
    patient = report.patient
    town = f"{patient.postcode} {patient.town}".strip()
    # A blank first line would read as a blank line between reports: a report always has a title.
    header = [report.title or "Biologie", patient.last_name, patient.first_name, patient.address1, patient.address2,
              town, _date(patient.birth_date) or patient.birth_date_text, patient.ssn, report.reference,
              _date(report.collected) or report.collected_text, _party_line(report.lab.code, report.lab.name),
              _party_line(report.prescriber.code, report.prescriber.family), ""]
    lines = [_one_line(h) for h in header]
    if report.text:
        lines += report.text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if report.observations or report.comments:
        lines.append("****LAB****")
        for kind, entry in report.entries():
            if kind == "comment":
                lines.append(f"TEX|{_one_line(entry)}")
            elif not entry.superseded:
                lines.append(_res_line(entry))
                if entry.comment:
                    lines += [f"TEX|{_one_line(c)}" for c in entry.comment.split("\n")]
        lines.append("****FINLAB****")
    lines.append("****FIN****")
    return lines


def _party_line(code: str, name: str) -> str:
    return f"{code} {name}".strip()


def _res_line(o: Observation) -> str:
    low, high = _bounds(o.reference)
    low2, high2 = _bounds(o.reference2)
    fields = [o.label, o.code, _hprim_type(o.value_type), o.value, o.unit, low, high, o.lab_flag, o.status]
    if o.value2 or o.unit2 or low2 or high2:
        fields += [o.value2, o.unit2, low2, high2]
    line = "|".join(fields)
    if line.count("|") != len(fields) - 1 or "\n" in line or "\r" in line:
        line = "|".join(_field(f) for f in fields)  # the rare field that needs mending
    return f"RES|{line}|"


def _hprim_type(value_type: str) -> str:
    """HPRIM's N (numeric) / A (text) for an HL7 value type; HPRIM's own types kept."""
    if value_type in ("NM", "SN"):
        return "N"
    if value_type in ("ST", "TX", "FT", "CE", "CWE", "CNE", "CF"):
        return "A"
    return value_type


def _bounds(reference: ReferenceRange) -> tuple[str, str]:
    if reference.low or reference.high:
        return reference.low, reference.high
    # A range pli could not split travels whole in the low field: the reader sees the lab's words.
    return reference.text, ""


def _date(value: date | datetime | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def _one_line(text: str) -> str:
    if "\n" not in text and "\r" not in text:
        return text.strip()
    return " ".join(split_lines(text)).strip()


def _field(text: str) -> str:
    # HPRIM has no escape for "|": a lab never writes one in a field, and neither do we.
    text = _one_line(text)
    return text.replace("|", "/") if "|" in text else text
