"""FHIR R4 export: a Bundle of Patient + DiagnosticReport + Observations, validated by fhir.resources.

fhir.resources' default import is FHIR R5; its R4B subpackage (4.3, the
current R4 release line, identical to R4 for these resources) is what this
module builds and validates against.  The bundle is a `collection`; entries
reference each other through urn:uuid full URLs that are derived from the
report's content, so exporting the same report twice gives the same JSON.

Mapping (docs/LAB.md):
- Observation.code: the lab's own code (system urn:pli:lab-code:<lab>) and,
  where the report gives one, the LOINC code; text = the lab's label.
- value: valueQuantity (with comparator for "<0.5"), else valueString.
- flags: Observation.interpretation with the v3 ObservationInterpretation
  codes (L, H, LL, HH, A, AA, N, <, >); a flag pli computed says so in the
  interpretation's text; a flag pli does not know is kept as text only.
"""
from __future__ import annotations

import base64
import uuid
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pli.core.errors import PliError
from pli.core.lab.flags import Flag
from pli.core.lab.model import Observation, Patient, ReferenceRange, Report, slug
from pli.core.lab.values import parse_quantity, to_number

INTERPRETATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
LOINC_SYSTEM = "http://loinc.org"
NIR_SYSTEM = "urn:oid:1.2.250.1.213.1.4.8"   # INS-NIR, the French national health identifier
_NAMESPACE = uuid.UUID("6f1d0c2e-6a53-4b0e-9d7e-2f5c1a7e4b10")
_INTERPRETATION = {
    Flag.NORMAL: "Normal", Flag.LOW: "Low", Flag.HIGH: "High", Flag.CRITICAL_LOW: "Critical low",
    Flag.CRITICAL_HIGH: "Critical high", Flag.ABNORMAL: "Abnormal", Flag.CRITICAL_ABNORMAL: "Critical abnormal",
    Flag.BELOW_SCALE: "Off scale low", Flag.ABOVE_SCALE: "Off scale high",
}
_STATUS = {"F": "final", "P": "preliminary", "C": "corrected", "X": "cancelled", "I": "registered",
           "R": "preliminary", "D": "entered-in-error", "W": "entered-in-error"}
_GENDER = {"F": "female", "M": "male", "U": "unknown", "O": "other", "A": "other"}


class FhirExportError(PliError):
    """A report that does not make a valid FHIR resource (a bug in pli, or data FHIR cannot hold)."""


def _lab_time_zone():
    # Labs write local times without a zone; FHIR wants one on a date-time.  pli is French.
    try:
        return ZoneInfo("Europe/Paris")
    except ZoneInfoNotFoundError:
        return datetime.now().astimezone().tzinfo


def bundle(reports: list[Report]):
    """The Bundle as a validated fhir.resources R4B model."""
    entries: list[dict] = []
    patients: dict[str, str] = {}
    for number, report in enumerate(reports):
        key = report.patient.key
        if key not in patients:
            patients[key] = _urn("patient", key)
            entries.append(_entry(patients[key], _patient(report.patient)))
        report_urn = _urn("report", key, report.lab.code, report.reference, str(number))
        observation_urns = []
        for index, observation in enumerate(report.observations):
            urn = _urn("observation", report_urn, str(index))
            observation_urns.append(urn)
            entries.append(_entry(urn, _observation(observation, report, patients[key])))
        entries.insert(len(entries) - len(observation_urns),
                       _entry(report_urn, _diagnostic_report(report, patients[key], observation_urns)))
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


def _patient(p: Patient) -> dict:
    resource: dict = {"resourceType": "Patient"}
    identifiers = []
    if p.ssn:
        identifiers.append({"system": NIR_SYSTEM, "value": p.ssn.replace(" ", "")})
    if p.patient_id:
        identifiers.append({"value": p.patient_id})
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
        zoned = value if value.tzinfo else value.replace(tzinfo=_lab_time_zone())
        return zoned.isoformat()
    return value.date().isoformat() if isinstance(value, datetime) else value.isoformat()


def _diagnostic_report(report: Report, patient_urn: str, observation_urns: list[str]) -> dict:
    statuses = {o.status for o in report.observations}
    status = _STATUS.get(report.status.upper()) or ("preliminary" if "P" in statuses else "final")
    resource: dict = {
        "resourceType": "DiagnosticReport",
        "status": status,
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074", "code": "LAB",
                                  "display": "Laboratory"}]}],
        "code": {"coding": [{"system": LOINC_SYSTEM, "code": "11502-2", "display": "Laboratory report"}],
                 "text": report.title or "Laboratory report"},
        "subject": {"reference": patient_urn, "display": report.patient.display},
        "result": [{"reference": urn} for urn in observation_urns],
    }
    if report.reference:
        resource["identifier"] = [{"value": report.reference}]
    if report.collected:
        resource["effectiveDateTime"] = _when(report.collected)
    if str(report.lab) != "?":
        resource["performer"] = [{"display": str(report.lab)}]
    if report.comments:
        resource["conclusion"] = "\n".join(report.comments)
    if report.text:
        # The free text of an HPRIM report travels whole, as the lab wrote it.
        resource["presentedForm"] = [{"contentType": "text/plain; charset=utf-8", "language": "fr",
                                      "data": base64.b64encode(report.text.encode()).decode("ascii")}]
    return resource


def _observation(o: Observation, report: Report, patient_urn: str) -> dict:
    codings = []
    if o.code:
        codings.append({"system": f"urn:pli:lab-code:{slug(report.lab.code) or 'unknown'}", "code": o.code,
                        "display": o.label or o.code})
    if o.loinc:
        codings.append({"system": LOINC_SYSTEM, "code": o.loinc, "display": o.label or o.loinc})
    resource: dict = {
        "resourceType": "Observation",
        "status": _STATUS.get(o.status.upper(), "final"),
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                  "code": "laboratory", "display": "Laboratory"}]}],
        "code": {"coding": codings, "text": o.label or o.code},
        "subject": {"reference": patient_urn},
    }
    if report.collected:
        resource["effectiveDateTime"] = _when(report.collected)
    resource.update(_value(o.value, o.unit))
    interpretation = _interpretation(o)
    if interpretation:
        resource["interpretation"] = [interpretation]
    reference = _reference_range(o.reference, o.unit)
    if reference:
        resource["referenceRange"] = [reference]
    notes = [o.comment] if o.comment else []
    if o.value2:
        notes.append(f"Second value: {o.value2} {o.unit2} ({o.reference2})".replace(" ()", ""))
    if notes:
        resource["note"] = [{"text": n} for n in notes]
    return resource


def _value(value: str, unit: str) -> dict:
    quantity = parse_quantity(value)
    if quantity is None:
        return {"valueString": value} if value else {}
    # Decimal from the lab's own digits: 6.80 stays 6.80, never 6.7999999.
    digits = value.strip().lstrip("<>=≤≥ ").replace(",", ".")
    result: dict = {"value": Decimal(digits)}
    if quantity.comparator:
        result["comparator"] = quantity.comparator
    if unit:
        result["unit"] = unit
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
            quantity: dict = {"value": Decimal(text.strip().replace(",", "."))}
            if unit:
                quantity["unit"] = unit
            result[name] = quantity
    result["text"] = str(reference)
    return result
