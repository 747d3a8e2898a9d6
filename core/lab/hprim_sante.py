"""HPRIM Santé result files (`H|~^\\&|...ORU...`, HPRIM 2.x): read as the HL7 v2 messages they are an
ancestor of.

Besides the 12-line "HPRIM Médecins" report (core/lab/hprim.py), French labs and
hospital systems send results as HPRIM Santé records, one per line, as
MedinTux's C_BaseBioGest and Mediboard's hprim21 module read them:

    H|~^\\&|FILE.HPR||LABCODE~Lab name||ORU|||DEST~Practice||P|H2.2~C|202403151200
    P|1|0012345|||FICTIF~Zoé||19650412|F||1 rue des Essais~~VILLE~~00100
    OBR|1||R1|GLY~Glycémie~L|R||202403150800
    OBX|1|NM|GLY~Glycémie~L||7.9|mmol/l|3.9-6.1|H|||F
    C|1|L|a comment
    A|text continuing the record above
    L|1

Both descend from ASTM E1394: OBR, OBX and the comment record keep HL7's field
places, and H-2 gives the separators in HL7's order (component, repetition,
escape, subcomponent: `~^\\&`, or `\\^&~`).  So each record becomes its HL7
segment (H -> MSH, P -> PID with its fields put in their HL7 places, C -> NTE,
A joined to the record above, L dropped) and the HL7 reader does the rest:
flags, ranges, statuses, patients, warnings.  Never read as a 12-line header:
its critical potassium would have been shown as "no results".

Three fields are HPRIM Santé's own and are rewritten for that reader (found on the public HPRIM Santé
test files of libHprim and HL7 Europe's HAPI starter, tests/fixtures/lab-wild h38-h40): OBR-16's third
component is a coding system (`code~name~L`), not a given name; H-5's lab name names the lab of the
reports under it (the HL7 reader finds a lab's name only in OBX-23); an OBX of type FIC (a file sent beside
this one) is said in words.
"""
from __future__ import annotations

import re
from dataclasses import replace

from pli.core.lab import hl7v2
from pli.core.lab.errors import MalformedReport
from pli.core.lab.model import Report
from pli.core.lab.text import Decoded, split_lines

FORMAT = "HPRIM Santé"
# The header record: "H", the field separator, the four other separators, the separator again.
_HEADER = re.compile(r"H([|])([^|\w\s]{3,4})\1")
#: The records read, and the HL7 segment each becomes; any other (L, the end) holds no result and no patient
#: and is dropped, as the HL7 reader ignores PV1.
_RECORDS = {"H": "MSH", "P": "PID", "OBR": "OBR", "OBX": "OBX", "C": "NTE"}
# A part of a FIC result named like a file: "AL213202.j1", "0001.pdf".
_FILE_NAME = re.compile(r"[^\s]+\.\w{1,5}")


def is_hprim_sante(text: str) -> bool:
    """The text starts (after blank lines or a BOM) with an HPRIM Santé header record."""
    return _HEADER.match(text.lstrip("\ufeff \t\r\n")) is not None


def parse_decoded(decoded: Decoded) -> list[Report]:
    """Every patient's report in an HPRIM Santé file; MalformedReport when it holds none."""
    lines = split_lines(decoded.text)
    try:
        reports = hl7v2.parse_decoded(Decoded("\r".join(_segments(lines)), decoded.encoding))
    except MalformedReport as error:
        raise MalformedReport(FORMAT, error.line, _in_records(error.reason)) from None
    names = _lab_names(lines)
    reports = [replace(r, warnings=tuple(_in_records(w) for w in r.warnings),
                       lab=r.lab if r.lab.name else replace(r.lab, name=names.get(r.lab.code, "")))
               for r in reports]
    if not _ends(lines) and not reports[-1].incomplete:
        reports[-1] = replace(reports[-1], incomplete=True, warnings=reports[-1].warnings + (
            "the file has no end record (L): it may have been cut short (ask the lab to resend the report)",))
    return reports


def _lab_names(lines: list[str]) -> dict[str, str]:
    """Each header's lab code and name (H-5, `code~name`): the HL7 reader takes the code from MSH-4 but
    finds a lab's name only in OBX-23, which HPRIM Santé does not send."""
    names = {}
    for line in lines:
        if _HEADER.match(line.strip()):
            header = _Header.of(line.strip())
            names[header.lab_code or header.lab_name] = header.lab_name
    return names


def _ends(lines: list[str]) -> bool:
    """The file's last record is L, the end record every HPRIM Santé message closes with: without it,
    a file cut after a whole line would lose its last results unseen."""
    last = next((line.strip() for line in reversed(lines) if line.strip()), "")
    return re.match(r"L(?:[^\w\s]|$)", last) is not None


def _in_records(reason: str) -> str:
    """The HL7 reader's words in HPRIM Santé's (its records, not HL7's segments; P-8 is PID-7)."""
    for hl7_words, words in (("MSH encoding characters missing (expected e.g. MSH|^~\\&)",
                              "header (H) record's separators missing (expected 4, e.g. H|~^\\&|)"),
                             ("MSH encoding characters", "header (H) record's separators"),
                             ("a PID (patient) segment", "a patient (P) record"), ("MSH header", "header (H) record"),
                             ("PID-7", "P-8"), ("in PID", "in the P record"), ("PID", "P record"),
                             ("segment", "record")):
        reason = reason.replace(hl7_words, words)
    return reason


def _segments(lines: list[str]) -> list[str]:
    """The HL7 segment of each record, line for line (a joined or dropped record leaves a blank line,
    so that warnings name the line of the file)."""
    segments: list[str] = []
    headers: list[_Header] = []   # the H record each segment comes under
    last = -1   # the segment an A record continues
    header = _Header()
    for line in lines:
        record = line.strip()
        kind, _, rest = record.partition(header.field)
        if _HEADER.match(record):
            header = _Header.of(record)
            kind, rest = "H", record[1:]
        if kind == "A" and last >= 0:
            segments[last] += rest   # a record continued: its text goes on without a separator
            segment = ""
        else:
            segment = _segment(kind, rest, header)
            last = len(segments) if segment else -1
        segments.append(segment)
        headers.append(header)
    # An A record may complete an OBR or OBX: their HPRIM-only fields are rewritten once whole.
    return [_hprim_fields(segment, header) for segment, header in zip(segments, headers)]


class _Header:
    """What an H record says that the records under it need: its separators, the lab's code and name."""

    __slots__ = ("field", "component", "subcomponent", "lab_code", "lab_name")

    def __init__(self, field: str = "|", separators: str = "~^\\&", sender: str = ""):
        self.field, self.component = field, separators[0]
        self.subcomponent = separators[3] if len(separators) > 3 else ""
        code, _, name = sender.partition(self.component)   # H-5: lab code~lab name
        self.lab_code, self.lab_name = code.strip(), name.split(self.component)[0].strip()

    @classmethod
    def of(cls, record: str) -> "_Header":
        match = _HEADER.match(record)
        fields = record.split(match.group(1))
        return cls(match.group(1), match.group(2), fields[4] if len(fields) > 4 else "")


def _segment(kind: str, rest: str, header: _Header) -> str:
    name = _RECORDS.get(kind)
    if name is None:
        return ""   # L (end), blank lines, records that hold no result
    if kind == "H":
        return _msh(rest, header.field)
    if kind == "P":
        return _pid(rest, header.field)
    return name + header.field + rest


def _hprim_fields(segment: str, header: _Header) -> str:
    """The OBR and OBX fields HPRIM Santé fills otherwise than HL7, put as the HL7 reader reads them."""
    if segment.startswith("OBR" + header.field):
        return _obr(segment, header)
    if segment.startswith("OBX" + header.field):
        return _obx(segment, header)
    return segment


def _obr(segment: str, header: _Header) -> str:
    """OBR-16, the prescriber, is a CNA: code~name~type of code (`L`, a local code, as in OBX-3), then the
    service the same way; its name is family&given, if given at all.  Read as HL7's code^family^given, the
    type of code was shown as a given name ("for L DR PITO OLIV") and a name DUPONT&Jean with its `&`."""
    fields = segment.split(header.field)
    if len(fields) > 16 and fields[16]:
        prescriber = fields[16].split(header.component) + ["", ""]
        name = prescriber[1].split(header.subcomponent) if header.subcomponent else [prescriber[1]]
        prescriber[1], prescriber[2] = name[0], name[1] if len(name) > 1 else ""
        fields[16] = header.component.join(prescriber[:3])
    return header.field.join(fields)


def _obx(segment: str, header: _Header) -> str:
    """A FIC result (OBX-2) names a file sent beside this one (application~file~type), which pli does
    not have: it is said in words, not shown as raw components."""
    fields = segment.split(header.field)
    if len(fields) > 5 and fields[2].strip().upper() == "FIC" and fields[5].strip():
        fields[2], fields[5] = "TX", _file_reference(fields[5].split(header.component))
    return header.field.join(fields)


def _file_reference(components: list[str]) -> str:
    """A FIC value in words.  Senders order its parts differently (libHprim's test: application~file~type,
    a radiology system's: file^type): the part named like a file is the file, the others are said beside."""
    parts = [part.strip() for part in components if part.strip()]
    file = next((part for part in parts if _FILE_NAME.fullmatch(part)), "")
    others = ", ".join(part for part in parts if part != file)
    if not file:
        return f"in a file ({others}), sent apart from this report"
    return f"in the file {file}" + (f" ({others})" if others else "") + ", sent apart from this report"


def _msh(rest: str, separator: str) -> str:
    """H|enc|file|password|sender|address|type|phone|characteristics|receiver|comment|mode|version|date
    as MSH|enc|file|sender|receiver||date||type|file|mode|version."""
    fields = rest.split(separator)   # fields[0] is empty (the text after H), fields[1] the separators
    fields += [""] * (15 - len(fields))
    encoding, file, sender, kind, receiver, mode, version, when = (
        fields[1], fields[2], fields[4], fields[6], fields[9], fields[11], fields[12], fields[13])
    return separator.join(["MSH", encoding, file, sender, receiver, "", when, "", kind or "ORU", file,
                           mode, version])


def _pid(rest: str, separator: str) -> str:
    """P-2..P-9 are PID-1..PID-8 (sequence, ids, name, maiden name, birth date, sex: ASTM counts the
    record's type as its field 1), P-11 is PID-11 (address).  The lab's patient id is P-4, else P-3
    (the requester's): it goes into PID-3, where the HL7 reader takes it."""
    fields = rest.split(separator)   # fields[0] is P-2
    pid = [""] * 12                  # pid[n] is PID-n
    for place, value in enumerate(fields[:8], 1):
        pid[place] = value
    if len(fields) > 9:
        pid[11] = fields[9]
    pid[3] = pid[3] or pid[2]
    pid[2] = pid[4] = ""
    return separator.join(["PID"] + pid[1:])
