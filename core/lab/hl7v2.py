"""HL7 v2.x ORU^R01 lab results: read them into Reports, and write them.

Segments used: MSH (sending lab, charset), PID (patient: one Report per PID),
PV1 (ignored), ORC/OBR (prescriber, request number, specimen date, status,
the panel an OBX belongs to), OBX (one Observation), NTE (comments: after an
OBR for the report, after an OBX for that result).  A file may hold several
messages (a batch, with or without FHS/BHS), each several patients.

The `hl7` package (python-hl7) was the first choice; it falls short in three
ways, shown in tests/core/lab/test_hl7v2.py and bench/test_bench_lab.py, so this
module splits and unescapes itself (a differential test checks that its
splitting matches hl7's on every field):
  - speed: hl7 builds an object per field and component, 3.7 ms for a
    15-segment message, twenty times pli's whole parse;
  - `\\X..\\` hex bytes become one character per byte (so UTF-8 "\\XC3A9\\" gives
    "Ã©", not "é");
  - highlight on/off `\\H\\`/`\\N\\` become "_" inside the text.
"""
from __future__ import annotations

import functools
import re
from dataclasses import replace
from datetime import date, datetime

from pli.core.lab.errors import MalformedReport
from pli.core.lab.model import Lab, Observation, Patient, Prescriber, ReferenceRange, Report
from pli.core.lab.text import decode, refuse_junk, split_lines
from pli.core.lab.values import parse_quantity

FORMAT = "HL7"
_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{2}")
_USED_SEGMENTS = frozenset({"MSH", "PID", "PV1", "ORC", "OBR", "OBX", "NTE"})  # well-formed: no regex needed
_FRAME = "\x0b\x1c"  # MLLP start/end bytes a capture may still hold
_AROUND_SEGMENT = _FRAME + " \t"
_TS = re.compile(r"(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.\d+)?(?:[+-]\d{4})?")
_SSN_TYPES = {"NH", "SS", "INS", "INS-NIR", "NIR"}
_SIMPLE_ESCAPES = {"H": "", "N": "", ".br": "\n", ".sp": "\n"}


# ---------------------------------------------------------------- reading

def parse(data: bytes) -> list[Report]:
    """Every patient's report in an HL7 v2 file (one message or a batch)."""
    text = decode(data)
    lines = split_lines(text)
    refuse_junk(lines, FORMAT, allowed=_FRAME)
    reports: list[Report] = []
    for start, segments in _messages(lines):
        reports += _parse_message(start, segments)
    if not reports:
        raise MalformedReport(FORMAT, 1, "no patient (PID) in the file")
    return reports


def _messages(lines: list[str]) -> list[tuple[int, list[tuple[int, str]]]]:
    """(line of MSH, [(line, segment text)...]) for each message; batch envelopes dropped."""
    messages: list[tuple[int, list[tuple[int, str]]]] = []
    for number, raw in enumerate(lines, 1):
        line = raw.strip(_AROUND_SEGMENT)
        if not line:
            continue
        kind = line[:3]
        if kind in ("FHS", "BHS", "FTS", "BTS"):
            continue
        if kind == "MSH":
            messages.append((number, [(number, line)]))
        elif not messages:
            raise MalformedReport(FORMAT, number, "a segment before the first MSH header")
        else:
            messages[-1][1].append((number, line))
    if not messages:
        raise MalformedReport(FORMAT, 1, "no MSH header: not an HL7 v2 message")
    return messages


def _parse_message(start: int, segments: list[tuple[int, str]]) -> list[Report]:
    reader = _reader(*_encoding_characters(start, segments[0][1]))
    fields = [reader.fields(text) for _, text in segments]
    msh = fields[0]
    kind = reader.get(msh, 9) + "^" + reader.get(msh, 9, component=2)
    if kind != "ORU^R01":
        raise MalformedReport(FORMAT, start, "message type is not ORU^R01 (lab results)")
    lab_code = reader.get(msh, 4)
    builder: _ReportBuilder | None = None
    reports: list[Report] = []
    for (number, _), segment in zip(segments, fields):
        name = segment[0]
        if name not in _USED_SEGMENTS and not _SEGMENT_ID.fullmatch(name):
            raise MalformedReport(FORMAT, number, "segment name not understood (wrong separator?)")
        if name == "PID":
            if builder is not None:
                reports.append(builder.build())
            builder = _ReportBuilder(reader, lab_code, _patient(reader, segment, number))
        elif name in _GROUP_SEGMENTS:
            if builder is None:
                raise MalformedReport(FORMAT, number, f"{name} segment before any PID (patient)")
            _GROUP_SEGMENTS[name](builder, segment, number)
    if builder is None:
        raise MalformedReport(FORMAT, start, "message without a PID (patient) segment")
    reports.append(builder.build())
    return reports


def _encoding_characters(start: int, header: str) -> tuple[str, str, str, str, str]:
    """(field, repetition, component, subcomponent, escape) separators from MSH-1 and MSH-2."""
    end = header.find(header[3:4], 4) if len(header) > 3 else -1
    declared = header[4:end] if end >= 0 else header[4:]
    if len(declared) < 4:
        raise MalformedReport(FORMAT, start, "MSH encoding characters missing (expected e.g. MSH|^~\\&)")
    field, (component, repetition, escape, sub) = header[3], declared[:4]
    chosen = field + component + repetition + escape + sub
    if len(set(chosen)) != 5 or any(c.isalnum() or c.isspace() for c in chosen):
        raise MalformedReport(FORMAT, start, "MSH encoding characters repeated or not punctuation")
    return field, repetition, component, sub, escape


class _Reader:
    """Fields of segments split with the message's own separators, and pli's unescape of each leaf.

    The `hl7` package does this splitting too, but builds a container object per
    field and component: about 3.7 ms for a 15-segment result message, twenty
    times pli's whole parse (bench/test_bench_lab.py measures both in the same
    run); tests/core/lab/test_hl7v2.py checks that both split identically.
    """

    def __init__(self, field_sep: str, rep_sep: str, comp_sep: str, sub_sep: str, esc: str):
        self.field_sep, self.rep_sep, self.comp_sep, self.sub_sep = field_sep, rep_sep, comp_sep, sub_sep
        self.esc = esc
        quoted = re.escape(esc)
        self._pattern = re.compile(f"{quoted}([^{quoted}]*){quoted}")
        self._map = {"F": field_sep, "S": comp_sep, "T": sub_sep, "R": rep_sep, "E": esc, **_SIMPLE_ESCAPES}

    def fields(self, segment: str) -> list[str]:
        """A segment's raw fields, numbered as HL7 numbers them (MSH-1 is the field separator itself)."""
        fields = segment.split(self.field_sep)
        if fields[0] == "MSH":
            fields.insert(1, self.field_sep)
        return fields

    def reps(self, segment: list[str], index: int) -> list[list[list[str]]]:
        """Field `index` as repetitions -> components -> subcomponents (raw, escaped text)."""
        if index >= len(segment):
            return []
        comp, sub = self.comp_sep, self.sub_sep
        return [[c.split(sub) for c in r.split(comp)] for r in segment[index].split(self.rep_sep)]

    def repetitions(self, segment: list[str], index: int) -> list[list[str]]:
        """Field `index` as repetitions -> components, each unescaped and stripped ([] when absent).

        The parser wants several components of one field (OBX-3's two coding
        triplets, PID-11's address): the field is split once for all of them,
        not once per component asked (the import parses every result message).
        """
        if index >= len(segment):
            return []
        raw, comp, unescape = segment[index], self.comp_sep, self.unescape
        if self.esc not in raw:  # the usual field: nothing to unescape
            return [[c.strip() for c in r.split(comp)] for r in raw.split(self.rep_sep)]
        return [[unescape(c).strip() for c in r.split(comp)] for r in raw.split(self.rep_sep)]

    def components(self, segment: list[str], index: int) -> list[str]:
        """The components of a field's first repetition, as get() gives each ([] when absent)."""
        if index < len(segment) and self.rep_sep not in segment[index] and self.esc not in segment[index]:
            return list(map(str.strip, segment[index].split(self.comp_sep)))  # the usual field, split once
        reps = self.repetitions(segment, index)
        return reps[0] if reps else []

    def firsts(self, segment: list[str], *indexes: int) -> list[str]:
        """get(segment, index) for each index, in one call: a result segment asks for several fields,
        and most are one plain value (no separator, nothing escaped), read without a call each."""
        values = []
        for index in indexes:
            raw = segment[index] if index < len(segment) else ""
            if self.comp_sep in raw or self.rep_sep in raw or self.esc in raw:
                values.append(self.get(segment, index))
            else:
                values.append(raw.strip())
        return values

    def first_filled(self, segment: list[str], index: int) -> str:
        """The first component of the first repetition that has one (OBX-8: the first flag sent)."""
        if index >= len(segment) or self.rep_sep not in segment[index]:
            return self.get(segment, index)
        return next((rep[0] for rep in self.repetitions(segment, index) if rep[0]), "")

    def get(self, segment: list[str], index: int, component: int = 1, rep: int = 1) -> str:
        """One component of one repetition, unescaped (its subcomponents kept as sent)."""
        if index >= len(segment):
            return ""
        raw = segment[index]
        if rep > 1 or self.rep_sep in raw:
            reps = raw.split(self.rep_sep)
            if rep > len(reps):
                return ""
            raw = reps[rep - 1]
        if component > 1 or self.comp_sep in raw:
            components = raw.split(self.comp_sep)
            if component > len(components):
                return ""
            raw = components[component - 1]
        return (self.unescape(raw) if self.esc in raw else raw).strip()

    def text(self, segment, index: int) -> str:
        """A whole field as text: repetitions on separate lines, components rejoined as sent."""
        return self.unescape(segment[index].replace(self.rep_sep, "\n")) if index < len(segment) else ""

    def unescape(self, text: str) -> str:
        if self.esc not in text:
            return text
        return self._pattern.sub(self._escape, text)

    def _escape(self, match: re.Match) -> str:
        body = match.group(1)
        if body in self._map:
            return self._map[body]
        if body[:1] == "X" and len(body) % 2 == 1:
            try:
                raw = bytes.fromhex(body[1:])
            except ValueError:
                return match.group(0)
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                return raw.decode("latin-1")
        return match.group(0)  # an escape pli does not know stays visible, never silently dropped


@functools.lru_cache(maxsize=16)
def _reader(field_sep: str, rep_sep: str, comp_sep: str, sub_sep: str, esc: str) -> _Reader:
    """The reader for one set of separators, made once: nearly every message uses |^~\\&, and a
    reader compiles its unescape pattern (a reader holds no state of the message it reads)."""
    return _Reader(field_sep, rep_sep, comp_sep, sub_sep, esc)


def _patient(reader: _Reader, pid, number: int) -> Patient:
    patient_id, ssn = "", reader.get(pid, 19)
    for identifier in reader.repetitions(pid, 3):
        value = identifier[0]
        type_code = identifier[4].upper() if len(identifier) > 4 else ""
        if type_code in _SSN_TYPES and not ssn:
            ssn = value
        elif not patient_id:
            patient_id = value
    born = _timestamp(reader.get(pid, 7), number, "birth date")
    name = _padded(reader.components(pid, 5), 2)
    address = _padded(reader.components(pid, 11), 5)
    return Patient(last_name=name[0], first_name=name[1], birth_date=born.date() if born else None, ssn=ssn,
                   sex=reader.get(pid, 8), patient_id=patient_id, address1=address[0], address2=address[1],
                   town=address[2], postcode=address[4])


def _padded(components: list[str], count: int) -> list[str]:
    """At least `count` components: the ones a sender left out are empty, as get() gives them."""
    return components + [""] * (count - len(components))


def _timestamp(text: str, number: int, what: str) -> datetime | None:
    if not text:
        return None
    match = _TS.fullmatch(text)
    if match is None:
        raise MalformedReport(FORMAT, number, f"{what} not understood (expected YYYYMMDD[HHMM])")
    parts = [int(p) if p else d for p, d in zip(match.groups(), (0, 1, 1, 0, 0, 0))]
    try:
        return datetime(*parts)
    except ValueError:
        raise MalformedReport(FORMAT, number, f"{what} is not a real date") from None


class _ReportBuilder:
    """Collects one PID's OBR groups, results and comments into a Report."""

    def __init__(self, reader: _Reader, lab_code: str, patient: Patient):
        self.reader = reader
        self.patient = patient
        self.lab = Lab(code=lab_code)
        self.prescriber = Prescriber()
        self.reference = ""
        self.collected: datetime | None = None
        self.status = ""
        self.panel: str | None = None   # None: no OBR yet
        self.after_obx = False          # an NTE here comments the last result, else the report
        self.observations: list[Observation] = []
        self.comments: list[str] = []

    def _orc(self, orc, number: int) -> None:
        self.after_obx = False
        self._prescriber(orc, 12)

    def _obr(self, obr, number: int) -> None:
        r = self.reader
        self.after_obx = False
        service = _padded(r.components(obr, 4), 2)
        self.panel = service[1] or service[0]
        self.reference = self.reference or r.get(obr, 3) or r.get(obr, 2)
        self.collected = self.collected or _timestamp(r.get(obr, 7), number, "specimen date")
        self.status = self.status or r.get(obr, 25)
        self._prescriber(obr, 16)

    def _prescriber(self, segment, index: int) -> None:
        if not self.prescriber.code and not self.prescriber.family:
            code, family, given = _padded(self.reader.components(segment, index), 3)[:3]
            self.prescriber = Prescriber(code=code, family=family, given=given)

    def _obx(self, obx, number: int) -> None:
        if self.panel is None:
            raise MalformedReport(FORMAT, number, "OBX result before any OBR request")
        r = self.reader
        value_type, unit, reference, status = r.firsts(obx, 2, 6, 7, 11)
        value_type = value_type.upper()
        code, label, loinc = _identifier(r.components(obx, 3))
        if not (code or label):
            raise MalformedReport(FORMAT, number, "OBX without an observation identifier (OBX-3)")
        if not self.lab.name:
            lab_name = r.get(obx, 23)
            if lab_name:
                self.lab = Lab(code=self.lab.code, name=lab_name)
        self.after_obx = True
        self.observations.append(Observation(
            code=code, label=label, value=_value(r, obx, value_type), unit=unit or r.get(obx, 6, 2),
            reference=ReferenceRange.parse(reference), lab_flag=r.first_filled(obx, 8),
            status=status, value_type=value_type, loinc=loinc, panel=self.panel))

    def _nte(self, nte, number: int) -> None:
        comment = self.reader.text(nte, 3)
        if self.after_obx:
            last = self.observations[-1]
            self.observations[-1] = _replace_comment(last, f"{last.comment}\n{comment}" if last.comment
                                                     else comment)
        else:
            self.comments.append(comment)

    def build(self) -> Report:
        return Report(patient=self.patient, observations=tuple(self.observations), lab=self.lab,
                      prescriber=self.prescriber, reference=self.reference, collected=self.collected,
                      status=self.status, comments=tuple(self.comments), format="hl7")


#: What each segment of a patient's group does to the report being built.
_GROUP_SEGMENTS = {"ORC": _ReportBuilder._orc, "OBR": _ReportBuilder._obr, "OBX": _ReportBuilder._obx,
                   "NTE": _ReportBuilder._nte}


def _replace_comment(observation: Observation, comment: str) -> Observation:
    return replace(observation, comment=comment)


def _identifier(components: list[str]) -> tuple[str, str, str]:
    """(lab code, label, LOINC) from OBX-3's two coding triplets, whichever order they come in."""
    code1, text1, system1, code2, text2, system2 = _padded(components, 6)[:6]
    lab_1, lab_2 = system1.upper() != "LN", system2.upper() != "LN"
    loinc = code1 if not lab_1 and code1 else code2 if not lab_2 and code2 else ""
    if lab_1 and (code1 or text1):
        return code1, text1 or text2, loinc
    if lab_2 and (code2 or text2):
        return code2, text2 or text1, loinc
    return loinc, text1 or text2, loinc


def _value(r: _Reader, obx, value_type: str) -> str:
    if value_type in ("CE", "CWE", "CNE", "CF"):
        return r.get(obx, 5, 2) or r.get(obx, 5, 1)
    if value_type == "SN":
        # A structured number's components, joined: "<^1" is "<1", ">^1000" is ">1000".
        first = obx[5].split(r.rep_sep)[0] if len(obx) > 5 else ""
        return r.unescape(first.replace(r.comp_sep, "")).strip()
    return r.text(obx, 5).strip() if value_type in ("NM", "") else r.text(obx, 5)


# ---------------------------------------------------------------- writing

def dumps(reports: list[Report], encoding: str = "utf-8", when: datetime | None = None,
          control_id: str = "1") -> bytes:
    """One ORU^R01 message per report, in one batch file (segments end with CR, as HL7 wants)."""
    charset = "UNICODE UTF-8" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else "8859/1"
    codec = "utf-8" if charset == "UNICODE UTF-8" else "cp1252"
    segments: list[str] = []
    for number, report in enumerate(reports, 1):
        segments += _message_segments(report, charset, when, f"{control_id}.{number}")
    return ("\r".join(segments) + "\r").encode(codec, errors="replace")


_NEEDS_ESCAPE = re.compile(r"[\\|^&~\r\n]")


def escape(text: str) -> str:
    """Text as an HL7 field value with the default separators (|^~\\&)."""
    if not _NEEDS_ESCAPE.search(text):
        return text
    out = text.replace("\\", "\\E\\").replace("|", "\\F\\").replace("^", "\\S\\")
    out = out.replace("&", "\\T\\").replace("~", "\\R\\")
    return out.replace("\r\n", "\\.br\\").replace("\n", "\\.br\\").replace("\r", "\\.br\\")


def _ts(value: date | datetime | None, with_time: bool = True) -> str:
    if value is None:
        return ""
    day = f"{value.year:04d}{value.month:02d}{value.day:02d}"   # 5x quicker than strftime, in bulk
    if isinstance(value, datetime) and with_time:
        return f"{day}{value.hour:02d}{value.minute:02d}" + (f"{value.second:02d}" if value.second else "")
    return day


def _message_segments(report: Report, charset: str, when: datetime | None, control_id: str) -> list[str]:
    p = report.patient
    e = escape
    ids = []
    if p.patient_id:
        ids.append(f"{e(p.patient_id)}^^^{e(report.lab.code)}^PI")
    if p.ssn:
        ids.append(f"{e(p.ssn)}^^^INSEE^NH")
    stamp = _ts(when or report.collected)
    doctor = report.prescriber
    xcn = f"{e(doctor.code)}^{e(doctor.family)}^{e(doctor.given)}" if (doctor.code or doctor.family) else ""
    segments = [
        f"MSH|^~\\&|PLI|{e(report.lab.code)}|||{stamp}||ORU^R01^ORU_R01|{control_id}|P|2.5|||||FRA|{charset}",
        f"PID|1||{'~'.join(ids)}||{e(p.last_name)}^{e(p.first_name)}||{_ts(p.birth_date, False)}|{e(p.sex)}"
        f"|||{e(p.address1)}^{e(p.address2)}^{e(p.town)}^^{e(p.postcode)}",
        "PV1|1|O",
        f"ORC|RE||{e(report.reference)}|||||||||{xcn}",
    ]
    groups: list[tuple[str, list[Observation]]] = []
    for observation in report.observations:
        if not groups or groups[-1][0] != observation.panel:
            groups.append((observation.panel, []))
        groups[-1][1].append(observation)
    if not groups:
        groups.append(("", []))
    for number, (panel, observations) in enumerate(groups, 1):
        segments.append(f"OBR|{number}||{e(report.reference)}|^{e(panel)}|||{_ts(report.collected)}"
                        f"|||||||||{xcn}|||||||||{e(report.status)}")
        if number == 1:
            segments += [f"NTE|{i}|L|{e(c)}" for i, c in enumerate(report.comments, 1)]
        for index, observation in enumerate(observations, 1):
            segments += _obx_segments(observation, index, report.lab.name)
    return segments


def _hl7_type(o: Observation) -> str:
    """HL7's value type for an observation, translating HPRIM's N/A types."""
    if o.value_type in ("NM", "SN", "ST", "TX", "FT", "CE", "CWE", "CNE", "CF"):
        return o.value_type
    if o.value_type == "N" or (not o.value_type and parse_quantity(o.value)):
        quantity = parse_quantity(o.value)
        if quantity is None:
            return "ST"
        return "NM" if not quantity.comparator and "," not in o.value else "SN"
    return "TX" if "\n" in o.value else "ST"


def _obx_segments(o: Observation, index: int, lab_name: str) -> list[str]:
    texts = (o.code, o.label, o.loinc, o.value, o.unit, o.reference.low, o.reference.high, o.reference.text,
             o.lab_flag, o.status, lab_name)
    # Most results need no escaping at all: check once rather than field by field.
    e = escape if _NEEDS_ESCAPE.search("".join(texts)) else str
    identifier = f"{e(o.code)}^{e(o.label)}^L"
    if o.loinc:
        identifier += f"^{e(o.loinc)}^{e(o.label)}^LN"
    value_type = _hl7_type(o)
    if value_type in ("CE", "CWE", "CNE", "CF"):
        value = f"^{e(o.value)}"
    elif value_type == "SN":
        match = re.fullmatch(r"(<=|>=|<>|<|>|=)?(.*)", o.value)
        value = f"{e(match.group(1) or '')}^{e(match.group(2))}"
    elif value_type in ("TX", "FT"):
        value = "~".join(e(line) for line in o.value.split("\n"))
    else:
        value = e(o.value)
    fields = ["OBX", str(index), value_type, identifier, "", value, e(o.unit), e(str(o.reference)),
              e(o.lab_flag), "", "", e(o.status)]
    if lab_name:
        fields += [""] * 11 + [e(lab_name)]
    lines = ["|".join(fields)]
    if o.comment:
        lines += [f"NTE|{i}|L|{e(c)}" for i, c in enumerate(o.comment.split("\n"), 1)]
    return lines
