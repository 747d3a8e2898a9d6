"""The one result model both parsers produce: Report, Patient, Lab, Prescriber, Observation, ReferenceRange.

Fields hold what the lab sent, as text where the lab wrote text (values keep
"12,5" as written), so that nothing is lost or rounded; numbers, flags and
severities are derived on demand (see flags.py).  Everything is frozen: a
report read from a message is a fact, not a working copy.
"""
from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime

from pli.core.lab.flags import SEVERITY_RANK, Assessment, Flag, assess
from pli.core.lab.values import split_range, to_number

SUMMARY_ITEMS = 4  # abnormal results named in a summary; the rest are counted
_NOT_NIR = re.compile(r"[^0-9AB]")
_NOTABLE = ("critical", "abnormal")


def slug(text: str) -> str:
    """Lowercase ascii words joined by '-': 'Lefèvre-Hélène  Zoé' -> 'lefevre-helene-zoe'."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


@dataclass(frozen=True, slots=True)
class Patient:
    last_name: str = ""
    first_name: str = ""
    birth_date: date | None = None
    ssn: str = ""            # French NIR (numéro de sécurité sociale) as sent, if any
    sex: str = ""            # HL7 PID-8: "F", "M", "U"...; HPRIM does not carry it
    patient_id: str = ""     # the lab's own patient identifier (HL7 PID-3)
    address1: str = ""
    address2: str = ""
    postcode: str = ""
    town: str = ""

    @property
    def display(self) -> str:
        """'DUPONT Jean' as French practices write patients."""
        return " ".join(part for part in (self.last_name.upper(), self.first_name) if part) or "?"

    @property
    def name(self) -> str:
        return self.display

    @property
    def key(self) -> str:
        """A stable, tag-safe identifier (lowercase ascii, no spaces) for `patient:<key>`.

        With a social-security number: 'n' + a hash of its 13 significant characters,
        so that the number itself never lands in tags, logs or file names.  Without
        one: last name, first name and birth date, e.g. 'dupont-jean-19650412'.
        """
        ssn = self.ssn
        # Most numbers come as plain digits: the regex only runs on spaced or Corsican (2A/2B) ones.
        nir = ssn if ssn.isdigit() and ssn.isascii() else _NOT_NIR.sub("", ssn.upper())
        if len(nir) >= 13:
            return "n" + hashlib.blake2b(nir[:13].encode(), digest_size=8).hexdigest()
        born = self.birth_date.strftime("%Y%m%d") if self.birth_date else "nodob"
        names = slug(f"{self.last_name} {self.first_name}") or "unnamed"
        return f"{names}-{born}"


@dataclass(frozen=True, slots=True)
class Lab:
    code: str = ""
    name: str = ""

    def __str__(self) -> str:
        return self.name or self.code or "?"


@dataclass(frozen=True, slots=True)
class Prescriber:
    code: str = ""           # RPPS/ADELI or the lab's code for the doctor
    family: str = ""         # HL7 only: HPRIM's header carries the code alone
    given: str = ""

    @property
    def name(self) -> str:
        return " ".join(part for part in (self.given, self.family.upper()) if part)

    def __str__(self) -> str:
        return self.name or self.code or "?"


@dataclass(frozen=True, slots=True)
class ReferenceRange:
    """A normal range.  low/high are number texts as the lab wrote them ("" = open end);
    `text` holds a range pli could not split (e.g. 'négatif'), shown as is."""

    low: str = ""
    high: str = ""
    text: str = ""

    @classmethod
    def parse(cls, text: str) -> "ReferenceRange":
        """The range a lab wrote: '3.5-5.0', '<5', or text pli cannot split ('négatif')."""
        return _parsed_range(text)

    @property
    def low_value(self) -> float | None:
        return to_number(self.low)

    @property
    def high_value(self) -> float | None:
        return to_number(self.high)

    def __bool__(self) -> bool:
        return bool(self.low or self.high or self.text)

    def __str__(self) -> str:
        if self.text:
            return self.text
        if self.low and self.high:
            return f"{self.low}-{self.high}"
        if self.high:
            return f"<{self.high}"
        if self.low:
            return f">{self.low}"
        return ""


@functools.lru_cache(maxsize=4096)
def _parsed_range(text: str) -> ReferenceRange:
    """ReferenceRange.parse, cached: a lab writes the same few hundred ranges on every report,
    and a range is frozen, so one object can stand for all of them."""
    stripped = text.strip()
    bounds = split_range(stripped)
    return ReferenceRange(*bounds) if bounds else ReferenceRange(text=stripped)


@dataclass(frozen=True, slots=True)
class Observation:
    """One result line: HPRIM `RES|`, HL7 `OBX`."""

    code: str                # the lab's own test code
    label: str
    value: str               # as written: "12,5", "<0.5", "Négatif"
    unit: str = ""
    reference: ReferenceRange = ReferenceRange()
    lab_flag: str = ""       # the flag exactly as the lab sent it ("" = none)
    status: str = ""         # result status as sent: F final, P preliminary, C corrected...
    value_type: str = ""     # HPRIM N/A/C, HL7 NM/ST/TX/CE/CWE/SN
    loinc: str = ""          # LOINC code where the report gives one
    panel: str = ""          # the HL7 OBR group it came in (e.g. "Ionogramme")
    comment: str = ""        # TEX / NTE lines that follow it, joined by newlines
    value2: str = ""         # HPRIM's optional second value in another unit
    unit2: str = ""
    reference2: ReferenceRange = ReferenceRange()

    @property
    def assessment(self) -> Assessment:
        ref = self.reference
        return assess(self.lab_flag, self.value, ref.low, ref.high)

    @property
    def flag(self) -> Flag:
        return self.assessment.flag

    @property
    def flag_source(self) -> str:
        """'lab' (the lab's flag), 'pli' (computed by pli from the range) or ''."""
        return self.assessment.source

    @property
    def interpreted(self) -> bool:
        return self.assessment.interpreted

    @property
    def severity(self) -> str:
        return self.assessment.severity

    @property
    def number(self) -> float | None:
        return to_number(self.value)

    @property
    def short_name(self) -> str:
        return self.code if self.code and len(self.code) < len(self.label) else (self.label or self.code)


@dataclass(frozen=True, slots=True)
class Report:
    """One patient's results from one lab request."""

    patient: Patient
    observations: tuple[Observation, ...] = ()
    lab: Lab = Lab()
    prescriber: Prescriber = Prescriber()
    reference: str = ""                  # the lab's request number
    collected: datetime | None = None    # specimen date (HPRIM: date only)
    title: str = ""                      # HPRIM line 1 (index or title)
    status: str = ""                     # report status (HL7 OBR-25)
    comments: tuple[str, ...] = ()       # report-level comments (HL7 NTE after OBR)
    text: str = ""                       # HPRIM free text, kept as is (newlines as \n)
    format: str = field(default="", compare=False)   # "hprim" or "hl7": where it came from

    @property
    def severity(self) -> str:
        """'critical', 'abnormal' or 'normal' for the whole report (its worst interpreted result)."""
        return _worst([o.assessment for o in self.observations])

    def ranked(self) -> list[Observation]:
        """The observations critical first, then abnormal, not interpreted, normal (lab order within)."""
        return sorted(self.observations, key=lambda o: SEVERITY_RANK[o.severity])

    def summary(self, items: int = SUMMARY_ITEMS) -> str:
        """'K 6.8 HH, Creat 180 H': the abnormal results, critical first, short."""
        return _summary(self.observations, [o.assessment for o in self.observations], items)

    def overview(self, items: int = SUMMARY_ITEMS) -> tuple[str, str]:
        """(severity, summary) from one assessment of each result: what the store keeps of every
        report it imports, so worked out in one pass rather than two."""
        assessments = [o.assessment for o in self.observations]
        return _worst(assessments), _summary(self.observations, assessments, items)


def _worst(assessments: list[Assessment]) -> str:
    worst = min([SEVERITY_RANK[a.severity] for a in assessments], default=3)
    return "critical" if worst == 0 else "abnormal" if worst == 1 else "normal"


def _summary(observations: tuple[Observation, ...], assessments: list[Assessment], items: int) -> str:
    notable = sorted(((o, a) for o, a in zip(observations, assessments) if a.severity in _NOTABLE),
                     key=lambda pair: SEVERITY_RANK[pair[1].severity])
    parts = [f"{o.short_name} {o.value} {_shown_flag(o, a.flag)}".strip() for o, a in notable[:items]]
    if len(notable) > items:
        parts.append(f"+{len(notable) - items} more")
    if parts:
        return ", ".join(parts)
    unknown = sum(1 for a in assessments if not a.interpreted)
    count = len(observations)
    tail = f", {unknown} not interpreted" if unknown else ""
    return f"normal ({count} result{'s' if count != 1 else ''}{tail})"


def _shown_flag(observation: Observation, flag: Flag) -> str:
    """The flag as a summary shows it: a flag pli does not know is shown as the lab wrote it, with '?'."""
    if flag is Flag.UNKNOWN:
        return f"{observation.lab_flag.strip()}?"
    return flag.value
