"""FHIR R4 export: a valid Bundle (fhir.resources R4B), codes, values, interpretations."""
import json
from datetime import datetime

from fhir.resources.R4B.bundle import Bundle

from pli.core.lab import Observation, Patient, ReferenceRange, Report
from pli.core.lab.export import export_report
from pli.core.lab.fhir import INTERPRETATION_SYSTEM, LOINC_SYSTEM, to_json
from pli.core.lab.generator import generate
from pli.core.lab.model import Lab


def resources(data: bytes, kind: str) -> list[dict]:
    return [e["resource"] for e in json.loads(data)["entry"] if e["resource"]["resourceType"] == kind]


def test_generated_reports_export_as_valid_r4_bundles():
    for message in generate(15, seed=8):
        data = to_json(list(message.reports))
        bundle = Bundle.model_validate_json(data)        # validates again, from the JSON text
        kinds = [e.resource.__resource_type__ for e in bundle.entry]
        assert kinds.count("DiagnosticReport") == len(message.reports)
        assert kinds.count("Observation") == sum(len(r.observations) for r in message.reports)


def example() -> Report:
    return Report(Patient("FICTIF", "Zoé", ssn="265040012345678", sex="F"), (
        Observation("K", "Potassium", "6,8", "mmol/l", ReferenceRange("3,5", "5,0"), "HH", "F", loinc="2823-3"),
        Observation("Creat", "Créatinine", "180", "µmol/l", ReferenceRange("60", "110"), "", "F"),
        Observation("CRP", "CRP", "<5", "mg/l", ReferenceRange("", "5"), "", "P"),
        Observation("ASP", "Aspect", "trouble", "", ReferenceRange(), "W", "F"),
    ), lab=Lab("LABM-ESTUAIRE", "Laboratoire de l'Estuaire"), reference="R1",
        collected=datetime(2024, 1, 2, 8, 15), text="Texte libre\nkept", comments=("À jeun",))


def test_codes_values_and_interpretations():
    data, suffix = export_report(example(), "fhir")
    assert suffix == ".json"
    k, creat, crp, aspect = resources(data, "Observation")
    assert {c["system"]: c["code"] for c in k["code"]["coding"]} == {
        "urn:pli:lab-code:labm-estuaire": "K", LOINC_SYSTEM: "2823-3"}
    assert k["valueQuantity"] == {"value": 6.8, "unit": "mmol/l"}
    assert k["interpretation"][0]["coding"] == [{"system": INTERPRETATION_SYSTEM, "code": "HH",
                                                 "display": "Critical high"}]
    assert "text" not in k["interpretation"][0]               # the lab's own flag
    assert creat["interpretation"][0]["coding"][0]["code"] == "H"
    assert "computed by pli" in creat["interpretation"][0]["text"]
    assert crp["valueQuantity"]["comparator"] == "<" and crp["status"] == "preliminary"
    assert crp["referenceRange"][0]["high"]["value"] == 5
    assert aspect["valueString"] == "trouble" and "not interpreted" in aspect["interpretation"][0]["text"]
    assert "coding" not in aspect["interpretation"][0]


def test_report_and_patient_resources():
    data = export_report(example(), "fhir")[0]
    report, = resources(data, "DiagnosticReport")
    patient, = resources(data, "Patient")
    assert patient["identifier"][0] == {"system": "urn:oid:1.2.250.1.213.1.4.8", "value": "265040012345678"}
    assert (patient["gender"], patient["name"][0]["family"]) == ("female", "FICTIF")
    assert report["effectiveDateTime"].startswith("2024-01-02T08:15:00+01:00")
    assert report["conclusion"] == "À jeun" and report["performer"][0]["display"] == "Laboratoire de l'Estuaire"
    assert len(report["result"]) == 4 and report["presentedForm"][0]["contentType"].startswith("text/plain")


def test_the_same_report_exports_to_the_same_bytes():
    assert to_json([example()]) == to_json([example()])
