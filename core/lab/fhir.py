"""FHIR R4 export: a Bundle of Patient + DiagnosticReport + Observations, validated by fhir.resources.

fhir.resources' default import is FHIR R5; its R4B subpackage (4.3, the
current R4 release line, identical to R4 for these resources) is what this
module builds and validates against.  The bundle is a `collection`; entries
reference each other through urn:uuid full URLs that are derived from the
report's content, so exporting the same report twice gives the same JSON.

Mapping (docs/LAB.md):
- Observation.code: the LOINC code where the report gives one, and the lab's
  own code when it is not that LOINC code again, under the lab's OID
  (urn:oid:...) when the lab gives one, else with no system (FHIR's way of
  saying "a code of the sender's"): pli invents no code system URI.
- value: valueQuantity (with comparator for "<0.5"; the UCUM system and code
  when the lab coded its unit in UCUM), else valueString; an analysis not done
  has no value but status cancelled and dataAbsentReason not-performed.
- flags: Observation.interpretation with the v3 ObservationInterpretation
  codes (L, H, LL, HH, A, AA, N, <, >, and S, I, R for antibiograms); a flag
  pli computed says so in the interpretation's text; a flag pli does not know
  is kept as text only.
- Patient: a social-security number goes under the INS OID only when the
  message marks it as a qualified INS; otherwise it is a plain identifier
  typed SS (v2-0203), with no system.  A report whose patient is uncertain has
  no subject (no Patient is made up): its conclusion says why.
- A corrected result is exported as the current value (status corrected, the
  replaced value in a note); the replaced result itself is not exported.
- Cultures: the organism's Observation lists its antibiotics in hasMember.
"""
from __future__ import annotations

import base64
import uuid
from datetime import date, datetime
from decimal import Decimal

from pli.core.errors import PliError
from pli.core.lab.dates import instant
from pli.core.lab.flags import Flag
from pli.core.lab.model import Observation, Patient, ReferenceRange, Report
from pli.core.lab.values import decimal_digits, parse_quantity, to_number

INTERPRETATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
LOINC_SYSTEM = "http://loinc.org"
NIR_SYSTEM = "urn:oid:1.2.250.1.213.1.4.8"   # INS-NIR, the French national health identifier
IDENTIFIER_TYPES = "http://terminology.hl7.org/CodeSystem/v2-0203"
DATA_ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
_NAMESPACE = uuid.UUID("6f1d0c2e-6a53-4b0e-9d7e-2f5c1a7e4b10")
_INTERPRETATION = {
    Flag.NORMAL: "Normal", Flag.LOW: "Low", Flag.HIGH: "High", Flag.CRITICAL_LOW: "Critical low",
    Flag.CRITICAL_HIGH: "Critical high", Flag.ABNORMAL: "Abnormal", Flag.CRITICAL_ABNORMAL: "Critical abnormal",
    Flag.BELOW_SCALE: "Off scale low", Flag.ABOVE_SCALE: "Off scale high", Flag.SUSCEPTIBLE: "Susceptible",
    Flag.INTERMEDIATE: "Intermediate", Flag.RESISTANT: "Resistant",
}
_STATUS = {"F": "final", "P": "preliminary", "C": "corrected", "X": "cancelled", "I": "registered",
           "R": "preliminary", "D": "entered-in-error", "W": "entered-in-error"}
_GENDER = {"F": "female", "M": "male", "U": "unknown", "O": "other", "A": "other"}


class FhirExportError(PliError):
    """A report that does not make a valid FHIR resource (a bug in pli, or data FHIR cannot hold)."""


def bundle(reports: list[Report]):
    """The Bundle as a validated fhir.resources R4B model."""
    entries: list[dict] = []
    patients: dict[str, str] = {}
    for number, report in enumerate(reports):
        key = "" if report.patient_uncertain else report.patient.key
        if key and key not in patients:
            patients[key] = _urn("patient", key)
            entries.append(_entry(patients[key], _patient(report.patient)))
        subject = patients.get(key, "")
        report_urn = _urn("report", key or "uncertain", report.lab.code, report.reference, str(number))
        urns = {index: _urn("observation", report_urn, str(index)) for index, o in enumerate(report.observations)
                if not o.superseded}
        members = _members(report, urns)
        observation_entries = [_entry(urn, _observation(report.observations[index], report, subject,
                                                        members.get(index, ()), index))
                               for index, urn in urns.items()]
        entries.append(_entry(report_urn, _diagnostic_report(report, subject, list(urns.values()))))
        entries += observation_entries
    data = {"resourceType": "Bundle", "id": _urn("bundle", *(e["fullUrl"] for e in entries))[9:],
            "type": "collection", "entry": entries}
    return _validate(data)


def to_json(reports: list[Report]) -> bytes:
    """The Bundle as indented JSON (UTF-8)."""
    return bundle(reports).model_dump_json(exclude_none=True, indent=2).encode("utf-8") + b"\n"


def _validate(data: dict):
    from fhir.resources.R4B.bundle import Bundle   # heavy import: only when exporting

    try:
        return Bundle.model_validate(data)
    except Exception as error:  # noqa: BLE001 - pydantic's ValidationError; its text may quote data
        fields = sorted({".".join(str(p) for p in e.get("loc", ())) for e in getattr(error, "errors", list)()})
        raise FhirExportError(f"the report does not make a valid FHIR R4 bundle ({'; '.join(fields)[:200]}); "
                              "please report this") from None


def _urn(*parts: str) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, chr(31).join(parts))}"


def _entry(urn: str, resource: dict) -> dict:
    return {"fullUrl": urn, "resource": resource}


def _members(report: Report, urns: dict[int, str]) -> dict[int, list[str]]:
    """For each organism's result, the references of its antibiotics' results."""
    members: dict[int, list[str]] = {}
    for organism in report.organisms:
        if organism.observation in urns:
            members[organism.observation] = [urns[s.observation] for s in organism.susceptibilities
                                             if s.observation in urns]
    return members


def _patient(p: Patient) -> dict:
    resource: dict = {"resourceType": "Patient"}
    identifiers = []
    if p.ssn and p.ins_oid:
        identifiers.append({"type": {"text": "INS (qualified)"}, "system": f"urn:oid:{p.ins_oid}",
                            "value": p.ssn.replace(" ", "")})
    elif p.ssn:
        # A number nobody verified (it may be a parent's): not under the INS OID.
        identifiers.append({"type": {"coding": [{"system": IDENTIFIER_TYPES, "code": "SS"}],
                                     "text": "social-security number as sent by the lab (not a qualified INS)"},
                            "value": p.ssn.replace(" ", "")})
    if p.patient_id:
        identifiers.append({"type": {"coding": [{"system": IDENTIFIER_TYPES, "code": "PI"}],
                                     "text": "the lab's patient identifier"}, "value": p.patient_id})
    if identifiers:
        resource["identifier"] = identifiers
    name = {k: v for k, v in (("family", p.last_name), ("given", [p.first_name] if p.first_name else None)) if v}
    if name:
        resource["name"] = [name]
    if p.sex.upper() in _GENDER:
        resource["gender"] = _GENDER[p.sex.upper()]
    if p.birth_date:
        resource["birthDate"] = p.birth_date.isoformat()
    lines = [line for line in (p.address1, p.address2) if line]
    address = {k: v for k, v in (("line", lines), ("city", p.town), ("postalCode", p.postcode)) if v}
    if address:
        resource["address"] = [address]
    return resource


def _when(value: datetime | date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime) and (value.hour or value.minute or value.second):
        # A time with its own UTC offset keeps it; a lab-local time is Paris time.
        return instant(value).isoformat()
    return value.date().isoformat() if isinstance(value, datetime) else value.isoformat()


def _diagnostic_report(report: Report, patient_urn: str, observation_urns: list[str]) -> dict:
    statuses = {o.status for o in report.current}
    status = _STATUS.get(report.status.upper()) or ("preliminary" if statuses & {"P", "R"} else
                                                    "corrected" if "C" in statuses else "final")
    resource: dict = {
        "resourceType": "DiagnosticReport",
        "status": status,
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "LAB",
                                  "display": "Laboratory"}]}],
        "code": {"coding": [{"system": LOINC_SYSTEM, "code": "11502-2", "display": "Laboratory report"}],
                 "text": report.title or "Laboratory report"},
        "result": [{"reference": urn} for urn in observation_urns],
    }
    if patient_urn:
        resource["subject"] = {"reference": patient_urn, "display": report.patient.display}
    if report.reference:
        resource["identifier"] = [{"value": report.reference}]
    if report.collected:
        resource["effectiveDateTime"] = _when(report.collected)
    if str(report.lab) != "?":
        resource["performer"] = [{"display": str(report.lab)}]
    conclusion = _conclusion(report)
    if conclusion:
        resource["conclusion"] = conclusion
    if report.text:
        # The free text of an HPRIM report travels whole, as the lab wrote it.
        resource["presentedForm"] = [{"contentType": "text/plain; charset=utf-8", "language": "fr",
                                      "data": base64.b64encode(report.text.encode()).decode("ascii")}]
    return resource


def _conclusion(report: Report) -> str:
    lines = []
    if report.patient_uncertain:
        named = " or ".join(p.display for p in report.candidates) or "no patient header"
        lines.append(f"PATIENT UNCERTAIN: the file does not say whose results these are ({named}); "
                     "they are attached to no patient.")
    if report.incomplete:
        lines.append("pli could read this report only in part: see the lab's original.")
    lines += list(report.comments)
    return "\n".join(lines)


def _observation(o: Observation, report: Report, patient_urn: str, members=(), index: int = 0) -> dict:
    codings = []
    if o.loinc:
        codings.append({"system": LOINC_SYSTEM, "code": o.loinc, "display": o.label or o.loinc})
    if o.code and o.code != o.loinc:
        # A FHIR code has single spaces only: labs pad theirs ("N    020", as HPRIM Santé files have them).
        local = {"code": " ".join(o.code.split()), "display": o.label or o.code}
        if report.lab.oid:
            local = {"system": f"urn:oid:{report.lab.oid}", **local}
        codings.append(local)
    status = "cancelled" if o.not_done else _STATUS.get(o.status.upper(), "final")
    resource: dict = {
        "resourceType": "Observation",
        "status": status,
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": "laboratory", "display": "Laboratory"}]}],
        "code": {"coding": codings, "text": o.label or o.code} if codings else {"text": o.label or o.code},
    }
    if patient_urn:
        resource["subject"] = {"reference": patient_urn}
    if report.collected:
        resource["effectiveDateTime"] = _when(report.collected)
    if o.not_done:
        resource["dataAbsentReason"] = {"coding": [{"system": DATA_ABSENT, "code": "not-performed",
                                                    "display": "Not Performed"}], "text": o.value or "not done"}
    else:
        resource.update(_value(o.value, o.unit, o.unit_system, o.unit_code))
        interpretation = _interpretation(o)
        if interpretation:
            resource["interpretation"] = [interpretation]
        reference = _reference_range(o.reference, o.unit)
        if reference:
            resource["referenceRange"] = [reference]
    notes = [o.comment] if o.comment else []
    if o.value2:
        notes.append(f"Second value: {o.value2} {o.unit2} ({o.reference2})".replace(" ()", ""))
    replaced = [p for p in report.observations[:index] if p.superseded and p.identity == o.identity]
    if replaced:
        notes.append("Corrects the earlier value " + ", ".join(f"{p.value} {p.unit}".strip() for p in replaced))
    organism = next((g for g in report.organisms if g.observation == index), None)
    if organism is not None and organism.resistant:
        notes.append(f"Resistant organism{': ' + organism.note if organism.note else ''}")
    if notes:
        resource["note"] = [{"text": n} for n in notes]
    if members:
        resource["hasMember"] = [{"reference": urn} for urn in members]
    return resource


def _value(value: str, unit: str, system: str = "", code: str = "") -> dict:
    quantity = parse_quantity(value)
    if quantity is None:
        return {"valueString": value} if value else {}
    result: dict = {"value": Decimal(decimal_digits(value))}   # the lab's own digits
    if quantity.comparator:
        result["comparator"] = quantity.comparator
    if unit:
        result["unit"] = unit
    if system and code:
        result["system"], result["code"] = system, code
    return {"valueQuantity": result}
def _interpretation(o: Observation) -> dict | None:
    assessment = o.assessment
    if assessment.flag is Flag.UNKNOWN:
        return {"text": f"lab flag '{o.lab_flag.strip()}' (not interpreted by pli)"}
    if assessment.flag is Flag.NONE:
        return None
    code = assessment.flag.value
    concept = {"coding": [{"system": INTERPRETATION_SYSTEM, "code": code, "display": _INTERPRETATION[assessment.flag]}]}
    if assessment.source == "pli":
        concept["text"] = f"{_INTERPRETATION[assessment.flag]} (computed by pli from the reference range, " \
                          "not flagged by the lab)"
    return concept


def _reference_range(reference: ReferenceRange, unit: str) -> dict | None:
    if not reference:
        return None
    result: dict = {}
    for name, text in (("low", reference.low), ("high", reference.high)):
        number = to_number(text)
        if number is not None:
            quantity: dict = {"value": Decimal(decimal_digits(text))}
            if unit:
                quantity["unit"] = unit
            result[name] = quantity
    result["text"] = str(reference)
    return result
