"""HL7 v2.x ORU^R01 lab results: read them into Reports, and write them.

Segments used: MSH (sending lab, charset), PID (patient: one Report per PID),
PV1 (ignored), ORC/OBR (prescriber, request number, specimen date, status,
the panel an OBX belongs to, the parent result of a susceptibility OBR),
OBX (one Observation), NTE (comments: after an OBR for the report, after an
OBX for that result).  A file may hold several messages (a batch, with or
without FHS/BHS), each several patients.

As found in the wild, and read all the same: segments wrapped onto
continuation lines (a line that does not start with a segment name continues
the one above), a field pli cannot read (a birth date "196203520", a bad
OBR-7) degrades that field only (kept as written, with a warning), results
before any PID go to a report whose patient is uncertain, timestamps keep the
UTC offset they carry, SN values with "=", ranges with units or brackets, OBX-6
units with their coding system (UCUM codes go to FHIR as such).

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
from datetime import date, datetime, timedelta, timezone

from pli.core.lab import corrections, microbiology
from pli.core.lab.errors import MalformedReport
from pli.core.lab.model import Lab, Observation, Organism, Patient, Prescriber, ReferenceRange, Report
from pli.core.lab.text import Decoded, continuation_glue as _glue, decode_report, wrap_width, mend_junk, split_lines
from pli.core.lab.values import parse_quantity, starred

FORMAT = "HL7"
_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{2}")
#: Segment names a result message holds (and Z segments): a line starting with anything else continues
#: the segment above; three capitals alone would take a wrapped "LAB|..." for a segment.
_SEGMENTS = frozenset("""MSH SFT UAC PID PD1 PV1 PV2 NK1 NTE ORC OBR OBX TQ1 TQ2 CTD FT1 CTI SPM SAC EVN MSA ERR
    QRD QRF DSC IN1 IN2 IN3 GT1 AL1 DG1 PR1 ROL TXA BLG RXA RXR ARV PRT OBX PDA MRG ACC DB1 IAM QAK QPD RCP
    FHS BHS BTS FTS""".split())
_FRAME = "\x0b\x1c"  # MLLP start/end bytes a capture may still hold
_AROUND_SEGMENT = _FRAME + " \t"
_TS = re.compile(r"(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:\.\d+)?(?:([+-])(\d{2})(\d{2}))?")
_SSN_TYPES = {"NH", "SS", "INS", "INS-NIR", "INS-NIA", "NIR"}
#: The INS OIDs (ANS): INS-NIR, INS-NIA, and their test twins.
INS_OIDS = frozenset({"1.2.250.1.213.1.4.8", "1.2.250.1.213.1.4.9", "1.2.250.1.213.1.4.10", "1.2.250.1.213.1.4.11"})
_INS_TYPES = {"INS", "INS-NIR", "INS-NIA"}
_SIMPLE_ESCAPES = {"H": "", "N": "", ".br": "\n", ".sp": "\n"}
_UCUM = {"UCUM", "HTTP://UNITSOFMEASURE.ORG", "UNITSOFMEASURE"}
UCUM_SYSTEM = "http://unitsofmeasure.org"
_RESULT_MESSAGES = ("ORU", "OUL")
_NUMERIC_TYPES = ("NM", "SN", "")


# ---------------------------------------------------------------- reading

def parse(data: bytes) -> list[Report]:
    """Every patient's report in an HL7 v2 file (one message or a batch)."""
    return parse_decoded(decode_report(data))


def parse_decoded(decoded: Decoded) -> list[Report]:
    """parse() for text already decoded (the encoding's name goes into each report)."""
    lines, damaged = mend_junk(split_lines(decoded.text), FORMAT, allowed=_FRAME)
    reports: list[Report] = []
    skipped: list[str] = []
    messages = _messages(lines)
    cut = _cut_segment(messages[-1][1], decoded.text)
    for start, segments in messages:
        try:
            reports += _parse_message(start, segments, cut if segments is messages[-1][1] else None)
        except MalformedReport as error:
            skipped.append(str(error.reason) + f" (message at line {start}, skipped)")
            last_error = error
    if not reports:
        if skipped:
            raise last_error
        raise MalformedReport(FORMAT, 1, "no patient (PID) in the file")
    if damaged or skipped:
        reports[0] = replace(reports[0], warnings=tuple(damaged + skipped) + reports[0].warnings)
    reports = corrections.across(reports)
    for report in reports:
        object.__setattr__(report, "encoding", decoded.encoding)   # not part of the report's value
    return reports


def _messages(lines: list[str]) -> list[tuple[int, list[tuple[int, str]]]]:
    """(line of MSH, [(line, segment text)...]) for each message; batch envelopes dropped.

    A line that does not start with a segment name and the field separator
    continues the segment above it (a message wrapped at 80 columns, or by a mail
    client): it is joined to it (text.continuation_glue says with what).
    """
    messages: list[tuple[int, list[tuple[int, str]]]] = []
    separator = "|"
    width = wrap_width(lines)
    for number, raw in enumerate(lines, 1):
        line = raw.strip(_AROUND_SEGMENT)
        if not line:
            continue
        kind = line[:3]
        if kind in ("FHS", "BHS", "FTS", "BTS"):
            continue
        if kind == "MSH":
            separator = line[3:4] or "|"
            messages.append((number, [(number, line)]))
        elif not messages:
            raise MalformedReport(FORMAT, number, "a segment before the first MSH header")
        elif _segment_start(line, separator) or _misseparated(line, separator):
            messages[-1][1].append((number, line))
        else:
            segments = messages[-1][1]
            at, previous = segments[-1]
            glue = _glue(lines[number - 2], width)
            segments[-1] = (at, previous + glue + raw.rstrip(_FRAME))
    if not messages:
        raise MalformedReport(FORMAT, 1, "no MSH header: not an HL7 v2 message")
    return messages


def _cut_segment(segments: list[tuple[int, str]], text: str) -> int | None:
    """The line of the file's last segment when a truncation may have cut it: the file does not end with
    a segment terminator, and that last OBX has fewer fields than the message's other OBX segments."""
    if text.endswith(("\r", "\n", "\x1c")) or not segments or not segments[-1][1].startswith("OBX"):
        return None
    separator = segments[0][1][3:4] or "|"
    widths = [len(text.split(separator)) for _, text in segments[:-1] if text.startswith("OBX")]
    last = len(segments[-1][1].split(separator))
    return segments[-1][0] if last < (min(widths) if widths else 6) else None


def _segment_start(line: str, separator: str) -> bool:
    """A segment name and the field separator (or a segment name alone, e.g. "PV1")."""
    name = line[:3]
    return (len(line) == 3 or line[3:4] == separator) and (name in _SEGMENTS or (name[:1] == "Z" and
                                                                              _SEGMENT_ID.fullmatch(name)))


def _misseparated(line: str, separator: str) -> bool:
    """A known segment written with another separator ("OBX;1;NM;..."): its own line, not a continuation,
    so that it is named as unreadable rather than glued to the segment above."""
    return line[:3] in _SEGMENTS and len(line) > 3 and not line[3].isalnum() and line[3] != separator


def _parse_message(start: int, segments: list[tuple[int, str]], cut: int | None = None) -> list[Report]:
    reader = _reader(*_encoding_characters(start, segments[0][1]))
    fields = [reader.fields(text) for _, text in segments]
    msh = fields[0]
    kind = reader.get(msh, 9) + "^" + reader.get(msh, 9, component=2)
    if not kind.upper().startswith(_RESULT_MESSAGES) and (kind != "^" or not any(f[0] == "OBX" for f in fields)):
        raise MalformedReport(FORMAT, start, f"message type {kind.strip('^') or '(none)'} is not a lab result "
                              "message (ORU, OUL)")
    lab = _lab(reader, msh)
    builder: _ReportBuilder | None = None
    reports: list[Report] = []
    for (number, _), segment in zip(segments, fields):
        name = segment[0]
        if number == cut and builder is not None:
            builder.warnings.append(f"line {number}: the file ends in the middle of this result: not read "
                                    "(ask the lab to resend the report)")
            builder.incomplete = True
            continue
        if len(name) != 3:
            if builder is not None:
                builder.warnings.append(f"line {number}: a segment pli cannot split (wrong separator?): "
                                        "not read")
                builder.incomplete = True
            continue
        if name == "PID":
            if builder is not None:
                reports.append(builder.build())
            builder = _ReportBuilder(reader, lab)
            builder.patient = _patient(reader, segment, number, builder.warnings)
        elif name in _GROUP_SEGMENTS:
            if builder is None:
                # Results before any patient: whose they are, the message does not say.
                builder = _ReportBuilder(reader, lab)
                builder.uncertain = True
                builder.warnings.append(f"line {number}: {name} segment before any PID (patient): "
                                        "results attached to nobody")
            _GROUP_SEGMENTS[name](builder, segment, number)
    if builder is None:
        raise MalformedReport(FORMAT, start, "message without a PID (patient) segment")
    reports.append(builder.build())
    return reports


def _lab(reader: "_Reader", msh) -> Lab:
    """The sending lab from MSH-4 (namespace^universal id^type): its OID when the type is ISO."""
    namespace, oid, kind = _padded(reader.components(msh, 4), 3)[:3]
    return Lab(code=namespace or oid, oid=oid if kind.upper() == "ISO" and _is_oid(oid) else "")


def _is_oid(text: str) -> bool:
    return bool(re.fullmatch(r"[0-2](?:\.\d+)+", text))


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


def _patient(reader: _Reader, pid, number: int, warnings: list[str]) -> Patient:
    patient_id, ssn, ins_oid = "", reader.get(pid, 19), ""
    qualified = "VALI" in reader.get(pid, 32).upper()
    for identifier in reader.repetitions(pid, 3):
        value = identifier[0]
        type_code = identifier[4].upper() if len(identifier) > 4 else ""
        authority = identifier[3].split(reader.sub_sep) if len(identifier) > 3 else []
        oid = authority[1] if len(authority) > 1 else ""
        if type_code in _INS_TYPES and oid in INS_OIDS and qualified and value:
            ssn, ins_oid = value, oid   # a qualified INS wins over any other number
        elif type_code in _SSN_TYPES and not ssn:
            ssn = value
        elif not patient_id:
            patient_id = value
    born_text = reader.get(pid, 7)
    born = _timestamp(born_text, number, "birth date (PID-7)", warnings)
    name = _padded(_person_name(reader.repetitions(pid, 5)), 2)
    address = _padded(reader.components(pid, 11), 5)
    return Patient(last_name=name[0], first_name=name[1], birth_date=born.date() if born else None, ssn=ssn,
                   sex=reader.get(pid, 8), patient_id=patient_id, address1=address[0], address2=address[1],
                   town=address[2], postcode=address[4], birth_date_text="" if born or not born_text else born_text,
                   ins_oid=ins_oid)


def _person_name(names: list[list[str]]) -> list[str]:
    """PID-5's components of the patient's name: the legal name (type L) when it has a family name,
    else the first repetition that has one.  Senders leave the first repetition empty and give the
    name in another (the ELR guide's examples do): those repetitions name the same person."""
    filled = [name for name in names if name and name[0]]
    legal = [name for name in filled if len(name) > 6 and name[6].upper() == "L"]
    return (legal or filled or names or [[]])[0]


def _padded(components: list[str], count: int) -> list[str]:
    """At least `count` components: the ones a sender left out are empty, as get() gives them."""
    return components + [""] * (count - len(components))


def _timestamp(text: str, number: int, what: str, warnings: list[str]) -> datetime | None:
    """An HL7 TS; its own UTC offset kept (an aware datetime), else the lab's wall time (naive).
    A text pli cannot read is None and a warning: the field is lost, never the message."""
    if not text:
        return None
    value = _read_ts(text)
    if value is None:
        warnings.append(f"line {number}: {what} not understood (kept as written)")
    return value


@functools.lru_cache(maxsize=1024)
def _read_ts(text: str) -> datetime | None:
    match = _TS.fullmatch(text)
    if match is None:
        return None
    groups = match.groups()
    parts = [int(p) if p else d for p, d in zip(groups[:6], (0, 1, 1, 0, 0, 0))]
    try:
        value = datetime(*parts)
    except ValueError:
        return None
    sign, hours, minutes = groups[6:]
    if sign:
        offset = timedelta(hours=int(hours), minutes=int(minutes))
        if offset > timedelta(hours=14):
            return None
        value = value.replace(tzinfo=timezone(-offset if sign == "-" else offset))
    return value


class _ReportBuilder:
    """Collects one PID's OBR groups, results and comments into a Report."""

    def __init__(self, reader: _Reader, lab: Lab):
        self.reader = reader
        self.patient = Patient()
        self.uncertain = False
        self.lab = lab
        self.prescriber = Prescriber()
        self.reference = ""
        self.collected: datetime | None = None
        self.collected_text = ""
        self.status = ""
        self.panel: str | None = None   # None: no OBR yet
        self.after_obx = False          # an NTE here comments the last result, else the report
        self.observations: list[Observation] = []
        self.comments: list[str] = []
        self.positions: list[int] = []
        self.warnings: list[str] = []
        self.incomplete = False
        self.groups: list[_Group] = []  # the OBR groups, for cultures' parent-child links

    def _orc(self, orc, number: int) -> None:
        self.after_obx = False
        self._prescriber(orc, 12)

    def _obr(self, obr, number: int) -> None:
        r = self.reader
        self.after_obx = False
        service = _padded(r.components(obr, 4), 2)
        self.panel = service[1] or service[0]
        self.reference = self.reference or r.get(obr, 3) or r.get(obr, 2)
        if self.collected is None and not self.collected_text:
            when = r.get(obr, 7)
            self.collected = _timestamp(when, number, "specimen date (OBR-7)", self.warnings)
            self.collected_text = when if self.collected is None else ""
        self.status = self.status or r.get(obr, 25)
        self._prescriber(obr, 16)
        if len(obr) > 26 and (obr[26] or (len(obr) > 29 and obr[29])):   # a child order: a culture's antibiogram
            parent = _padded(r.components(obr, 26), 3)
            self.groups.append(_Group(len(self.observations), (r.get(obr, 2), r.get(obr, 3)),
                                      parent[0].split(r.sub_sep)[0], parent[1], parent[2],
                                      _padded(r.components(obr, 29), 2)[:2]))
        else:
            self.groups.append(_Group(len(self.observations), (r.get(obr, 2), r.get(obr, 3))))

    def _prescriber(self, segment, index: int) -> None:
        if not self.prescriber.code and not self.prescriber.family:
            code, family, given = _padded(self.reader.components(segment, index), 3)[:3]
            self.prescriber = Prescriber(code=code, family=family, given=given)

    def _obx(self, obx, number: int) -> None:
        if self.panel is None:
            self.panel = ""
            self.groups.append(_Group(len(self.observations)))
        r = self.reader
        value_type, sub_id, reference, status = r.firsts(obx, 2, 4, 7, 11)
        value_type = value_type.upper()
        code, label, loinc = _identifier(r.components(obx, 3))
        if not (code or label):
            self.warnings.append(f"line {number}: a result without a test name (OBX-3)")
            label = "(no test name)"
        if not self.lab.name:
            lab_name = r.get(obx, 23)
            if lab_name:
                self.lab = Lab(code=self.lab.code, name=lab_name, oid=self.lab.oid)
        self.after_obx = True
        raw_unit = obx[6] if len(obx) > 6 else ""
        if r.comp_sep in raw_unit or r.esc in raw_unit:
            unit, unit_code, unit_system = _unit(_padded(r.components(obx, 6), 6))
        else:
            unit, unit_code, unit_system = raw_unit.strip(), "", ""   # the usual unit: one plain component
        self.groups[-1].members.append((len(self.observations), code, sub_id))
        self.observations.append(Observation(
            code=code, label=label, value=_value(r, obx, value_type), unit=unit,
            reference=ReferenceRange.parse(reference), lab_flag=r.first_filled(obx, 8),
            status=status, value_type=value_type, loinc=loinc, panel=self.panel, unit_code=unit_code,
            unit_system=unit_system))

    def _nte(self, nte, number: int) -> None:
        comment = self.reader.text(nte, 3)
        if self.after_obx:
            last = self.observations[-1]
            self.observations[-1] = _replace_comment(last, f"{last.comment}\n{comment}" if last.comment
                                                     else comment)
        else:
            self.comments.append(comment)
            self.positions.append(len(self.observations))

    def build(self) -> Report:
        observations = corrections.within(self.observations)
        patient = self.patient
        uncertain = self.uncertain or not (patient.last_name or patient.nir)
        if uncertain and not self.uncertain:
            self.warnings.append("no patient name or number in PID: results attached to nobody")
        return Report(patient=Patient() if uncertain else patient, observations=tuple(observations), lab=self.lab,
                      prescriber=self.prescriber, reference=self.reference, collected=self.collected,
                      status=self.status, comments=tuple(self.comments), format="hl7",
                      comment_positions=tuple(self.positions) if any(self.positions) else (),
                      collected_text=self.collected_text, organisms=self._organisms(observations),
                      patient_uncertain=uncertain,
                      candidates=(patient,) if uncertain and (patient.last_name or patient.nir) else (),
                      warnings=tuple(self.warnings), incomplete=self.incomplete)

    def _organisms(self, observations: list[Observation]) -> tuple[Organism, ...]:
        """Cultures: each susceptibility OBR linked to the OBX naming its organism (OBR-26/OBR-29);
        without such links, the organisms found the way HPRIM's are."""
        children = [g for g in self.groups if g.parent_code or any(g.parent_order)]
        if not children:
            return microbiology.find_organisms(observations, self.comments, self.positions)
        organisms = []
        for child in children:
            named = self._parent_result(child)
            members = [index for index, _, _ in child.members]
            organisms.append(microbiology.linked_organism(observations, named, members, child.parent_text,
                                                          self.comments, self.positions))
        return tuple(organisms)

    def _parent_result(self, child: "_Group") -> int:
        """The OBX naming the organism of a susceptibility group: OBR-26's code and sub-id in the
        parent order (OBR-29's number), else anywhere before; -1 when none matches."""
        parents = [g for g in self.groups if g is not child and not (g.parent_code or any(g.parent_order))]
        wanted = {n for n in child.parent_order if n}
        ordered = [g for g in parents if wanted & {n for n in g.numbers if n}] or parents
        for group in ordered:
            for index, code, sub_id in group.members:
                if code == child.parent_code and (not child.parent_sub_id or sub_id == child.parent_sub_id):
                    return index
        return -1


class _Group:
    """One OBR: where its results start, its own numbers, and the parent result it hangs from (cultures)."""

    __slots__ = ("first", "numbers", "parent_code", "parent_sub_id", "parent_text", "parent_order", "members")

    def __init__(self, first: int, numbers=("", ""), parent_code: str = "", parent_sub_id: str = "",
                 parent_text: str = "", parent_order=("", "")):
        self.first, self.numbers = first, tuple(numbers)
        self.parent_code, self.parent_sub_id, self.parent_text = parent_code, parent_sub_id, parent_text
        self.parent_order = tuple(n.split("&")[0] for n in parent_order)
        self.members: list[tuple[int, str, str]] = []   # (observation index, OBX-3 code, OBX-4 sub-id)


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


def _unit(components: list[str]) -> tuple[str, str, str]:
    """(unit shown, its code, the code system's URI) from OBX-6: 'mmol/L^millimole per liter^UCUM'."""
    code1, text1, system1, code2, text2, system2 = components[:6]
    for code, system in ((code1, system1), (code2, system2)):
        if code and system.strip().upper() in _UCUM:
            return code1 or text1 or code, code, UCUM_SYSTEM
    return code1 or text1, "", ""


#: Structured numbers' comparators: "=" says "exactly", so "=^128" is 128.
_SN_EXACT = "="


def _value(r: _Reader, obx, value_type: str) -> str:
    if value_type in ("CE", "CWE", "CNE", "CF"):
        return r.get(obx, 5, 2) or r.get(obx, 5, 1)
    raw = obx[5] if len(obx) > 5 else ""
    if value_type == "NM" and r.comp_sep not in raw and r.rep_sep not in raw and r.esc not in raw:
        return raw.strip()   # the usual result: a plain number
    raw = raw.split(r.rep_sep)[0]
    if value_type == "SN" or (value_type not in _TEXT_TYPES and r.comp_sep in raw and _structured(raw, r)):
        # A structured number's components, joined: "<^1" is "<1", ">^1000" is ">1000", "^182" is "182",
        # "1^:^40" is "1:40"; "=^128" is 128.
        joined = r.unescape(raw.replace(r.comp_sep, "")).strip()
        return joined[1:].strip() if joined.startswith(_SN_EXACT) and not joined.startswith("=<") \
            and not joined.startswith("=>") else joined
    return r.text(obx, 5).strip() if value_type in _NUMERIC_TYPES else r.text(obx, 5)


_TEXT_TYPES = frozenset({"ST", "TX", "FT", "CE", "CWE", "CNE", "CF", "ED", "RP"})
_SN_PARTS = re.compile(r"(<=|>=|<>|<|>|=)?\^[+-]?[\d.,]+(?:\^(?:[-+/.:])\^?[\d.,]*)?")


def _structured(raw: str, r: _Reader) -> bool:
    """A value of an unusual type (FN...) written as a structured number: "^182", "<^5"."""
    return _SN_PARTS.fullmatch(raw.replace(r.comp_sep, "^")) is not None


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
        if quantity is None or starred(o.value):
            return "ST"   # "141000*" is no HL7 number: kept as the lab wrote it
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
