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
"""
from __future__ import annotations

import re

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


def is_hprim_sante(text: str) -> bool:
    """The text starts (after blank lines or a BOM) with an HPRIM Santé header record."""
    return _HEADER.match(text.lstrip("\ufeff \t\r\n")) is not None


def parse_decoded(decoded: Decoded) -> list[Report]:
    """Every patient's report in an HPRIM Santé file; MalformedReport when it holds none."""
    lines = split_lines(decoded.text)
    try:
        return hl7v2.parse_decoded(Decoded("\r".join(_segments(lines)), decoded.encoding))
    except MalformedReport as error:
        raise MalformedReport(FORMAT, error.line, _in_records(error.reason)) from None


def _in_records(reason: str) -> str:
    """The HL7 reader's reason in HPRIM Santé's words (its records, not HL7's segments)."""
    for hl7_words, words in (("a PID (patient) segment", "a patient (P) record"), ("MSH header", "header (H) record"),
                             ("PID", "P record"), ("segment", "record")):
        reason = reason.replace(hl7_words, words)
    return reason


def _segments(lines: list[str]) -> list[str]:
    """The HL7 segment of each record, line for line (a joined or dropped record leaves a blank line,
    so that warnings name the line of the file)."""
    segments: list[str] = []
    last = -1   # the segment an A record continues
    separator = "|"
    for line in lines:
        record = line.strip()
        kind, _, rest = record.partition(separator)
        header = _HEADER.match(record)
        if header:
            separator = header.group(1)
            kind, rest = "H", record[1:]
        if kind == "A" and last >= 0:
            segments[last] += rest   # a record continued: its text goes on without a separator
            segments.append("")
            continue
        segment = _segment(kind, rest, separator)
        segments.append(segment)
        last = len(segments) - 1 if segment else -1
    return segments


def _segment(kind: str, rest: str, separator: str) -> str:
    name = _RECORDS.get(kind)
    if name is None:
        return ""   # L (end), blank lines, records that hold no result
    if kind == "H":
        return _msh(rest, separator)
    if kind == "P":
        return _pid(rest, separator)
    return name + separator + rest


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
