"""HPRIM Médecins files (French labs): read them into Reports, and write Reports back as HPRIM.

A file holds one or more reports.  Each report is:
  - a 12-line header: title/index, last name, first name, address 1, address 2,
    postcode and town, birth date, social-security number, lab reference, date,
    sender (lab) code, recipient (doctor) code; a blank 13th line is accepted
    (several medical programs write one), missing trailing fields too;
  - free text, kept as is;
  - optionally a `****LAB****` ... `****FINLAB****` block of `RES|` result lines
    and `TEX|` comment lines;
  - `****FIN****`; the file ends with `****FINFICHIER****`.
RES fields: label|code|type|value|unit|low|high|flag|status|value2|unit2|low2|high2.
A TEX line comments the RES line above it (before any RES: the whole report).
"""
from __future__ import annotations

import functools
import re
from dataclasses import replace
from datetime import date, datetime

from pli.core.lab.errors import MalformedReport
from pli.core.lab.model import Lab, Observation, Patient, Prescriber, ReferenceRange, Report
from pli.core.lab.text import decode, refuse_junk, split_lines
from pli.core.plural import counted

FORMAT = "HPRIM"
HEADER_LINES = 12
_MARKER = re.compile(r"\*{3,}\s*(FINFICHIER|FINLAB|FIN|LAB)\s*\*{3,}", re.IGNORECASE)
_DATE = re.compile(r"(\d{2})[/.-]?(\d{2})[/.-]?(\d{2}|\d{4})(?:\s+(\d{1,2})[:hH](\d{2}))?")
_POSTCODE_TOWN = re.compile(r"(\d[\dAB]\d{3})\s+(.*)")
_RES_MIN_FIELDS = 5  # RES|label|code|type|value


def _marker(line: str) -> str | None:
    if "***" not in line:
        return None  # most lines: no marker is shorter than ***X***, and this test is cheaper than strip
    stripped = line.strip()
    if not stripped.startswith("*"):
        return None
    match = _MARKER.fullmatch(stripped)
    return match.group(1).upper() if match else None


# ---------------------------------------------------------------- reading

def parse(data: bytes) -> list[Report]:
    """Every report in an HPRIM file; MalformedReport naming the line otherwise."""
    lines = split_lines(decode(data))
    refuse_junk(lines, FORMAT)
    reports: list[Report] = []
    index = 0
    while index < len(lines):
        if not lines[index].strip() or _marker(lines[index]) in ("FIN", "FINFICHIER"):
            index += 1  # blank lines around reports, and end markers of empty sections
            continue
        report, index = _parse_report(lines, index)
        reports.append(report)
    if not reports:
        raise MalformedReport(FORMAT, 1, "no report in the file (no header lines)")
    return reports


def _parse_report(lines: list[str], start: int) -> tuple[Report, int]:
    header: list[str] = []
    index = start
    while index < len(lines) and len(header) < HEADER_LINES and _marker(lines[index]) is None:
        header.append(lines[index].strip())
        index += 1
    if index < len(lines) and len(header) == HEADER_LINES and not lines[index].strip():
        index += 1  # the optional blank 13th header line
    header += [""] * (HEADER_LINES - len(header))
    text_lines: list[str] = []
    observations: list[Observation] = []
    comments: list[str] = []
    while True:
        if index >= len(lines):
            raise MalformedReport(FORMAT, len(lines), "the file ends before ****FIN****: it looks truncated")
        marker = _marker(lines[index])
        if marker in ("FIN", "FINFICHIER"):
            break
        if marker == "LAB":
            index = _parse_lab_block(lines, index + 1, observations, comments)
        elif marker == "FINLAB":
            raise MalformedReport(FORMAT, index + 1, "****FINLAB**** without ****LAB****")
        else:
            text_lines.append(lines[index])
        index += 1
    report = _report_from(header, start, observations, comments, "\n".join(text_lines))
    return report, index + 1


def _report_from(header: list[str], start: int, observations, comments, text: str) -> Report:
    (title, last, first, address1, address2, town_line, born, ssn, reference, when, sender,
     recipient) = header
    if not last:
        raise MalformedReport(FORMAT, start + 2, "no patient last name on header line 2")
    match = _POSTCODE_TOWN.fullmatch(town_line)
    postcode, town = (match.group(1), match.group(2).strip()) if match else ("", town_line)
    birth = _parse_date(born, start + 7, "birth date")
    collected = _parse_date(when, start + 10, "date")
    patient = Patient(last_name=last, first_name=first, birth_date=birth.date() if birth else None,
                      ssn=ssn, address1=address1, address2=address2, postcode=postcode, town=town)
    return Report(patient=patient, observations=tuple(observations), lab=Lab(code=sender),
                  prescriber=Prescriber(code=recipient), reference=reference, collected=collected,
                  title=title, comments=tuple(comments), text=text, format="hprim")


def _parse_date(text: str, line: int, what: str) -> datetime | None:
    if not text:
        return None
    match = _DATE.fullmatch(text)
    if match is None:
        raise MalformedReport(FORMAT, line, f"{what} not understood (expected DD/MM/YYYY)")
    day, month, year, hour, minute = match.groups()
    year_n = int(year)
    if len(year) == 2:
        # Two-digit years: a birth date is in the past; a report date is this century.
        year_n += 2000 if what != "birth date" or year_n <= date.today().year % 100 else 1900
    try:
        return datetime(year_n, int(month), int(day), int(hour or 0), int(minute or 0))
    except ValueError:
        raise MalformedReport(FORMAT, line, f"{what} is not a real date") from None


def _parse_lab_block(lines: list[str], index: int, observations: list[Observation],
                     comments: list[str]) -> int:
    """Reads RES/TEX lines up to ****FINLAB****; returns the index of that marker line."""
    while index < len(lines):
        line = lines[index]
        kind = line[:4].upper()
        if kind == "RES|":  # a result or comment line is never a marker: checked first, as most lines are
            observations.append(_parse_res(line, index + 1))
        elif kind == "TEX|":
            comment = line[4:].rstrip("|").rstrip()
            if observations:
                last = observations[-1]
                joined = f"{last.comment}\n{comment}" if last.comment else comment
                observations[-1] = _with_comment(last, joined)
            else:
                comments.append(comment)
        elif (marker := _marker(line)) == "FINLAB":
            return index
        elif marker is not None:
            raise MalformedReport(FORMAT, index + 1, f"****{marker}**** inside the ****LAB**** block "
                                  "(****FINLAB**** missing)")
        elif line.strip():
            raise MalformedReport(FORMAT, index + 1, "expected a RES| or TEX| line in the ****LAB**** block "
                                  "(wrong separator?)")
        index += 1
    raise MalformedReport(FORMAT, len(lines), "the file ends inside the ****LAB**** block: it looks truncated")


def _with_comment(observation: Observation, comment: str) -> Observation:
    return replace(observation, comment=comment)


def _parse_res(line: str, number: int) -> Observation:
    fields = list(map(str.strip, line.split("|")))
    if fields and fields[-1] == "":
        fields.pop()  # the trailing "|" most labs write
    if len(fields) < _RES_MIN_FIELDS:
        raise MalformedReport(FORMAT, number, f"RES line with {counted(len(fields) - 1, 'field')}, at least "
                              f"{_RES_MIN_FIELDS - 1} expected (label|code|type|value)")
    fields += [""] * (14 - len(fields))
    (_, label, code, value_type, value, unit, low, high, flag, status, value2, unit2, low2,
     high2) = fields[:14]
    if not (label or code):
        raise MalformedReport(FORMAT, number, "RES line with neither label nor code")
    return Observation(code=code, label=label, value=value, unit=unit,
                       reference=_range(low, high), lab_flag=flag, status=status,
                       value_type=value_type, value2=value2, unit2=unit2,
                       reference2=_range(low2, high2))


#: ReferenceRange(low, high), one object per distinct range: a lab writes the same ranges on
#: every report (and the second range is nearly always empty), and a range is frozen.
_range = functools.lru_cache(maxsize=4096)(ReferenceRange)


# ---------------------------------------------------------------- writing

def dumps(reports: list[Report], encoding: str = "iso-8859-1", newline: str = "\r\n") -> bytes:
    """An HPRIM file holding these reports.

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
              town, _date(patient.birth_date), patient.ssn, report.reference, _date(report.collected),
              report.lab.code, report.prescriber.code, ""]
    lines = [_one_line(h) for h in header]
    if report.text:
        lines += report.text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if report.observations or report.comments:
        lines.append("****LAB****")
        lines += [f"TEX|{_one_line(c)}" for c in report.comments]
        for observation in report.observations:
            lines.append(_res_line(observation))
            if observation.comment:
                lines += [f"TEX|{_one_line(c)}" for c in observation.comment.split("\n")]
        lines.append("****FINLAB****")
    lines.append("****FIN****")
    return lines


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
    # A range pli could not split travels whole in the low field: the reader sees the lab's words.
    return (reference.text, "") if reference.text else (reference.low, reference.high)


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
