"""The one result model both parsers produce: Report, Patient, Lab, Prescriber, Observation, ReferenceRange,
and the antibiogram's Organism and Susceptibility.

Fields hold what the lab sent, as text where the lab wrote text (values keep
"12,5" as written), so that nothing is lost or rounded; numbers, flags and
severities are derived on demand (see flags.py).  Everything is frozen: a
report read from a message is a fact, not a working copy.

What the parsers could not read is said, never dropped: a field pli could not
understand keeps the lab's text (`Patient.birth_date_text`,
`Report.collected_text`) and a line in `Report.warnings`; a report read only
in part is `incomplete`; results whose patient the file leaves in doubt are in
a report marked `patient_uncertain`, attached to nobody.
"""
from __future__ import annotations

import functools
import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime

from pli.core import vocab
from pli.core.lab.flags import SUSCEPTIBILITY, Assessment, Flag, assess
from pli.core.lab.values import split_range, to_number
from pli.core.vocab import NOTABLE, SEVERITY_RANK, worst_severity

SUMMARY_ITEMS = 4  # abnormal results named in a summary; the rest are counted
_NOT_NIR = re.compile(r"[^0-9AB]")
#: Result statuses as labs send them (HPRIM RES status, HL7 OBX-11 and OBR-25), in plain words.
STATES = {"F": "final", "C": "corrected", "P": "preliminary", "R": "preliminary", "S": "preliminary",
          "I": "pending", "O": "pending", "X": "not done", "D": "entered in error", "W": "entered in error",
          "U": "final", "A": "preliminary"}
#: What labs write as the value of an analysis they did not do ("Non réalisé", "Non effectué"...).
_NOT_DONE = re.compile(r"(?:analyse |examen |dosage )?(?:non (?:r[ée]alis[ée]e?s?|effectu[ée]e?s?|fait|faite|dos[ée]e?|"
                       r"pratiqu[ée]e?|faisable)|annul[ée]e?|not (?:done|performed)|cancell?ed)\b.*", re.IGNORECASE)


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
    patient_id: str = ""     # the lab's own patient identifier (HL7 PID-3, HPRIM line 1 when it is a code)
    address1: str = ""
    address2: str = ""
    postcode: str = ""
    town: str = ""
    birth_date_text: str = ""  # the birth date as the lab wrote it, when pli could not read it
    #: The INS OID (urn:oid:1.2.250.1.213.1.4.8...) when the message marks `ssn` as a qualified INS
    #: (HL7: PID-3 of type INS under an INS OID, and PID-32 "VALI"); "" for a number nobody verified.
    ins_oid: str = ""

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

        A patient is a name, a birth date and a number together, never the number
        alone: in France a child is often sent under a parent's social-security
        number, and two people must never share a key (their tags and trends would
        merge).  The key is last name, first name and birth date
        ('dupont-jean-19650412'), followed with a number by 'n' + a hash of its
        13 significant characters, so that the number itself never lands in
        tags, logs or file names ('dupont-jean-19650412-n3f2a...').
        """
        born = self.birth_date
        born = f"{born.year:04d}{born.month:02d}{born.day:02d}" if born else "nodob"   # strftime: 5x slower
        names = slug(f"{self.last_name} {self.first_name}") or "unnamed"
        nir = self.nir
        return f"{names}-{born}-n{_nir_hash(nir)}" if nir else f"{names}-{born}"

    @property
    def nir(self) -> str:
        """The 13 significant characters of the social-security number, "" when there is none."""
        ssn = self.ssn
        # Most numbers come as plain digits: the regex only runs on spaced or Corsican (2A/2B) ones.
        nir = ssn if ssn.isdigit() and ssn.isascii() else _NOT_NIR.sub("", ssn.upper())
        return nir[:13] if len(nir) >= 13 else ""

    @property
    def born(self) -> str:
        """The birth date for display: DD/MM/YYYY, the lab's text when unreadable, or ''."""
        if self.birth_date:
            return self.birth_date.strftime("%d/%m/%Y")
        return self.birth_date_text


@functools.lru_cache(maxsize=4096)
def _nir_hash(nir: str) -> str:
    return hashlib.blake2b(nir.encode(), digest_size=5).hexdigest()


def identity_conflicts(patients) -> list[str]:
    """What a reader must be told about patients pli keeps apart although they look alike.

    Two patients with the same social-security number but another name or birth
    date (a child under a parent's number, or a typing error), or with the same
    name and birth date but other numbers: they stay two patients (two keys),
    and each pair is named once, e.g. 'same social-security number for FICTIF
    Zoé (12/04/1965) and FICTIF Léo (03/02/2015): kept as two patients'.
    """
    seen: dict[str, Patient] = {}
    for patient in patients:
        seen.setdefault(patient.key, patient)
    people = list(seen.values())
    notes = []
    for index, one in enumerate(people):
        for other in people[index + 1:]:
            same_number = one.nir and one.nir == other.nir
            same_person = slug(one.last_name) == slug(other.last_name) and one.birth_date == other.birth_date \
                and slug(one.first_name) == slug(other.first_name)
            if same_number:
                what = "same social-security number"
            elif same_person and one.nir and other.nir:
                what = "same name and birth date, other social-security numbers"
            else:
                continue
            notes.append(f"{what} for {one.display} ({one.born or 'no birth date'}) and {other.display} "
                         f"({other.born or 'no birth date'}): kept as two patients")
    return notes


@dataclass(frozen=True, slots=True)
class Lab:
    code: str = ""
    name: str = ""
    oid: str = ""            # the lab's ISO OID when it gives one (HL7 MSH-4 universal id of type ISO)

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
    comment: str = ""        # the comment that belongs to it without doubt (HL7 NTE after its OBX)
    value2: str = ""         # HPRIM's optional second value in another unit
    unit2: str = ""
    reference2: ReferenceRange = ReferenceRange()
    unit_code: str = ""      # the unit's code in a coding system the lab named (HL7 OBX-6), e.g. "mmol/L"
    unit_system: str = ""    # that system's URI: "http://unitsofmeasure.org" for UCUM, else ""
    superseded: bool = False  # a later corrected result for the same test replaces this one (history only)

    @property
    def assessment(self) -> Assessment:
        """The flag, from the lab or computed from whichever range the lab gave.

        The first unit's range is read first; where it says nothing (no range, or
        a value pli cannot read against it), HPRIM's second-unit range is; and
        where both judge, an abnormal answer from either wins: the two ranges
        describe the same quantity, so a disagreement must be looked at.
        """
        if self.not_done:
            return _NOT_JUDGED
        ref = self.reference
        first = assess(self.lab_flag, self.value, ref.low, ref.high)
        if first.source == "lab" or not self.value2 or not self.reference2:
            return first
        ref2 = self.reference2
        second = assess("", self.value2, ref2.low, ref2.high)
        if not first.interpreted or (second.severity == "abnormal" and first.severity != "abnormal"):
            return second if second.interpreted else first
        return first

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
        # A lab's mnemonic ('Creat') is shorter and as clear as its label; a numeric code (LOINC '1554-5')
        # tells a practitioner nothing, so the label stands.
        short = self.code and len(self.code) < len(self.label) and any(c.isalpha() for c in self.code)
        return self.code if short else (self.label or self.code)

    @property
    def state(self) -> str:
        """'final', 'corrected', 'preliminary', 'pending', 'not done', 'entered in error' or '' (not said)."""
        if self.not_done:
            return "not done"
        return STATES.get(self.status.strip().upper()[:1], "")

    @property
    def not_done(self) -> bool:
        """The analysis was not done or was cancelled (status X, or "Non réalisé" as the value):
        what the line holds is never a value."""
        return _not_done(self.status, self.value)

    @property
    def identity(self) -> str:
        """What makes two results the same test, for corrections: the lab's code, else LOINC, else the label."""
        return self.code or self.loinc or slug(self.label)

    @property
    def susceptibility(self) -> Flag | None:
        """S, I or R for an antibiogram line, None otherwise."""
        flag = self.flag
        return flag if flag in SUSCEPTIBILITY else None


_NOT_JUDGED = Assessment(Flag.NONE, "", False)


@functools.lru_cache(maxsize=4096)
def _not_done(status: str, value: str) -> bool:
    """Observation.not_done, cached: asked with every assessment, on the few statuses and values labs write."""
    if status.strip().upper() == "X":
        return True
    value = value.strip()
    return len(value) < 120 and value[:1] in "NnAaCcEeDd" and _NOT_DONE.match(value) is not None


@dataclass(frozen=True, slots=True)
class Susceptibility:
    """One antibiotic of an antibiogram: the lab's S/I/R for one organism."""

    antibiotic: str          # as the lab names it
    code: str
    interpretation: str      # "S", "I", "R" ("" when the lab gave only a measure)
    value: str = ""          # the MIC or diameter as written, when the lab gives one
    unit: str = ""
    observation: int = -1    # its result in Report.observations


#: Markers labs write for multi-resistant organisms (BLSE = ESBL, SARM = MRSA, EPC/BHRe...).
MULTI_RESISTANCE = re.compile(r"\b(BLSE|BMR|BHRe?|SARM|MRSA|ESBL|EPC|ERV|ERG|VRE|carbap[ée]n[ée]mase|"
                              r"multi-?r[ée]sistant\w*)\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Organism:
    """An organism a culture grew, with its antibiogram."""

    name: str
    code: str = ""
    observation: int = -1    # the result naming it in Report.observations (-1: named only by the link)
    susceptibilities: tuple[Susceptibility, ...] = ()
    note: str = ""           # the multi-resistance marker the lab wrote about it (BLSE, SARM...), if any

    @property
    def multi_resistant(self) -> bool:
        return bool(self.note)

    @property
    def resistant(self) -> bool:
        """Resistant to at least one antibiotic tested, or marked multi-resistant by the lab."""
        return self.multi_resistant or any(s.interpretation == "R" for s in self.susceptibilities)


@dataclass(frozen=True, slots=True)
class Report:
    """One patient's results from one lab request."""

    patient: Patient
    observations: tuple[Observation, ...] = ()
    lab: Lab = Lab()
    prescriber: Prescriber = Prescriber()
    reference: str = ""                  # the lab's request number (the order: what a correction refers to)
    collected: datetime | None = None    # specimen date (HPRIM: date only); aware when the lab gave an offset
    title: str = ""                      # HPRIM line 1 (index or title)
    status: str = ""                     # report status (HL7 OBR-25)
    comments: tuple[str, ...] = ()       # comments not tied to one result, in document order
    text: str = ""                       # HPRIM free text, kept as is (newlines as \n)
    format: str = field(default="", compare=False)   # "hprim" or "hl7": where it came from
    #: Where each comment stands among the results: comments[i] comes after observations[:positions[i]].
    #: Empty: all comments come before the results.
    comment_positions: tuple[int, ...] = ()
    collected_text: str = ""             # the specimen date as the lab wrote it, when pli could not read it
    organisms: tuple[Organism, ...] = ()  # cultures: organisms and their antibiograms
    #: The file does not say whose results these are (an ambiguous boundary between two reports, or no
    #: patient header): they are attached to nobody.  `patient` is then empty; `candidates` names the
    #: patients the file's nearby headers name, for the reader to decide.
    patient_uncertain: bool = False
    candidates: tuple[Patient, ...] = ()
    warnings: tuple[str, ...] = ()       # what pli could not read or had to guess, one line each, no patient data
    incomplete: bool = False             # pli read only part of the report (see warnings): show the raw text too
    encoding: str = field(default="", compare=False)   # how the file's bytes were read ("UTF-8", "MacRoman"...)

    @property
    def current(self) -> tuple[Observation, ...]:
        """The results that stand: corrected values replace the ones they correct."""
        observations = self.observations
        if not any(o.superseded for o in observations):
            return observations
        return tuple(o for o in observations if not o.superseded)

    @property
    def severity(self) -> str:
        """'critical', 'abnormal' or 'normal' for the whole report (its worst interpreted current result)."""
        return _worst([o.assessment for o in self.current], self.organisms)

    def ranked(self) -> list[Observation]:
        """The current observations critical first, then abnormal, not interpreted, normal (lab order within)."""
        return sorted(self.current, key=lambda o: SEVERITY_RANK[o.severity])

    def summary(self, items: int = SUMMARY_ITEMS) -> str:
        """'K 6.8 HH, Creat 180 H': the abnormal results, critical first, short; what pli could not
        interpret and what was not done are counted, never shown as normal."""
        current = self.current
        return _summary(current, [o.assessment for o in current], items, self.organisms,
                        len(self.observations) - len(current))

    def overview(self, items: int = SUMMARY_ITEMS) -> tuple[str, str]:
        """(severity, summary) from one assessment of each result: what the store keeps of every
        report it imports, so worked out in one pass rather than two."""
        current = self.current
        assessments = [o.assessment for o in current]
        return _worst(assessments, self.organisms), _summary(current, assessments, items, self.organisms,
                                                             len(self.observations) - len(current))

    def entries(self) -> list[tuple[str, object]]:
        """The report's results and unattached comments in document order: ('result', Observation)
        and ('comment', str) pairs (superseded results included, for history)."""
        positions = self.comment_positions or (0,) * len(self.comments)
        entries: list[tuple[str, object]] = []
        waiting = sorted(zip(positions, range(len(self.comments))))
        index = 0
        for number, observation in enumerate(self.observations):
            while index < len(waiting) and waiting[index][0] <= number:
                entries.append(("comment", self.comments[waiting[index][1]]))
                index += 1
            entries.append(("result", observation))
        entries += [("comment", self.comments[i]) for _, i in waiting[index:]]
        return entries


def _worst(assessments: list[Assessment], organisms=()) -> str:
    worst = worst_severity(a.severity for a in assessments)
    if worst not in NOTABLE and any(o.resistant for o in organisms):
        return vocab.ABNORMAL
    return worst if worst in NOTABLE else "normal"   # a report is never "unknown": its results say so


def _summary(observations: tuple[Observation, ...], assessments: list[Assessment], items: int,
             organisms=(), replaced: int = 0) -> str:
    parts = [f"{o.name} {o.note or 'resistant'}".strip() for o in organisms if o.resistant][:items]
    # An antibiogram's R lines are summed up by their organism when pli found it.
    hidden = SUSCEPTIBILITY if organisms else frozenset()
    notable = sorted(((o, a) for o, a in zip(observations, assessments)
                      if a.severity in NOTABLE and a.flag not in hidden),
                     key=lambda pair: SEVERITY_RANK[pair[1].severity])
    parts += [f"{o.short_name} {o.value} {_shown_flag(o, a.flag)}".strip() for o, a in notable[:items]]
    if len(notable) > items:
        parts.append(f"+{len(notable) - items} more")
    not_done = unknown = 0
    for o, a in zip(observations, assessments):
        if a.severity == "unknown":   # a result not done is never judged: it is among these
            if o.not_done:
                not_done += 1
            else:
                unknown += 1
    counts = [f"{n} {what}" for n, what in ((unknown, "not interpreted"), (not_done, "not done")) if n]
    count = len(observations)
    if parts:
        return ", ".join(parts) + (f"; {', '.join(counts)}" if counts else "")
    if not count:
        if replaced:
            return f"{replaced} result{'s' if replaced != 1 else ''} replaced by a later correction"
        return "no results (text only)" if not organisms else "normal"
    results = f"{count} result{'s' if count != 1 else ''}"
    if counts:
        normal = count - unknown - not_done
        return f"{results}: " + ", ".join(([f"{normal} normal"] if normal else []) + counts)
    return f"normal ({results})"


def _shown_flag(observation: Observation, flag: Flag) -> str:
    """The flag as a summary shows it: a flag pli does not know is shown as the lab wrote it, with '?'."""
    if flag is Flag.UNKNOWN:
        return f"{observation.lab_flag.strip()}?"
    return flag.value
