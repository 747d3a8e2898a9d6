"""FHIR R4 export: a valid Bundle (fhir.resources R4B), codes, values, interpretations."""
import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from fhir.resources.R4B.bundle import Bundle

from pli.core.lab import Observation, Patient, ReferenceRange, Report
from pli.core.lab.export import export_report
from pli.core.lab.fhir import INTERPRETATION_SYSTEM, LOINC_SYSTEM, to_json
from pli.core.lab.generator import generate
from pli.core.lab.model import Lab, Organism, Susceptibility


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
    # The lab's own code has no system (no URI is invented for it); the LOINC code has LOINC's.
    assert k["code"]["coding"] == [{"system": LOINC_SYSTEM, "code": "2823-3", "display": "Potassium"},
                                   {"code": "K", "display": "Potassium"}]
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
    # A number nobody marked as a qualified INS is a plain identifier, not under the INS OID.
    nir = patient["identifier"][0]
    assert nir["value"] == "265040012345678" and "system" not in nir and nir["type"]["coding"][0]["code"] == "SS"
    assert (patient["gender"], patient["name"][0]["family"]) == ("female", "FICTIF")
    assert report["effectiveDateTime"].startswith("2024-01-02T08:15:00+01:00")
    assert report["conclusion"] == "À jeun" and report["performer"][0]["display"] == "Laboratoire de l'Estuaire"
    assert len(report["result"]) == 4 and report["presentedForm"][0]["contentType"].startswith("text/plain")


def test_the_same_report_exports_to_the_same_bytes():
    assert to_json([example()]) == to_json([example()])


def test_a_qualified_ins_goes_under_its_oid():
    report = example()
    qualified = replace(report, patient=replace(report.patient, ins_oid="1.2.250.1.213.1.4.8"))
    patient, = resources(to_json([qualified]), "Patient")
    assert patient["identifier"][0]["system"] == "urn:oid:1.2.250.1.213.1.4.8"


def test_loinc_codes_are_not_repeated_and_a_lab_oid_is_the_local_system():
    loinc_only = Observation("2823-3", "Potassium", "4.1", "mmol/L", loinc="2823-3")
    report = Report(Patient("FICTIF", "Zoé"), (loinc_only, Observation("K2", "K", "4")),
                    lab=Lab("LAB", oid="1.2.250.1.999.1.2"))
    first, second = resources(to_json([report]), "Observation")
    assert first["code"]["coding"] == [{"system": LOINC_SYSTEM, "code": "2823-3", "display": "Potassium"}]
    assert second["code"]["coding"] == [{"system": "urn:oid:1.2.250.1.999.1.2", "code": "K2", "display": "K"}]


def test_ucum_units_times_with_offsets_and_not_done_results():
    when = datetime(2008, 8, 15, 10, 30, tzinfo=timezone(-timedelta(hours=7)))
    report = Report(Patient("FICTIF", "Zoé"), (
        Observation("K", "Potassium", "5.4", "mmol/L", unit_code="mmol/L", unit_system="http://unitsofmeasure.org"),
        Observation("B12", "Vitamine B12", "Non réalisé"),
    ), collected=when)
    k, b12 = resources(to_json([report]), "Observation")
    assert k["valueQuantity"] == {"value": 5.4, "unit": "mmol/L", "system": "http://unitsofmeasure.org",
                                  "code": "mmol/L"}
    assert k["effectiveDateTime"] == "2008-08-15T10:30:00-07:00"
    assert b12["status"] == "cancelled" and "valueString" not in b12
    assert b12["dataAbsentReason"]["coding"][0]["code"] == "not-performed"


def test_a_replaced_result_is_not_exported_and_the_correction_says_what_it_replaced():
    old = Observation("K", "Potassium", "6.9", "mmol/L", lab_flag="HH", status="F", superseded=True)
    new = Observation("K", "Potassium", "4.4", "mmol/L", lab_flag="N", status="C")
    data = to_json([Report(Patient("FICTIF", "Zoé"), (old, new))])
    k, = resources(data, "Observation")
    assert (k["valueQuantity"]["value"], k["status"]) == (4.4, "corrected")
    assert "6.9 mmol/L" in k["note"][0]["text"]
    assert len(resources(data, "DiagnosticReport")[0]["result"]) == 1


def test_an_uncertain_patient_gets_no_patient_resource_and_says_why():
    report = Report(Patient(), (Observation("K", "Potassium", "6.9", lab_flag="HH"),), patient_uncertain=True,
                    candidates=(Patient("FICTIF", "Zoé"), Patient("EXEMPLE", "Noël")))
    data = to_json([report])
    assert resources(data, "Patient") == []
    diagnostic, = resources(data, "DiagnosticReport")
    observation, = resources(data, "Observation")
    assert "subject" not in diagnostic and "subject" not in observation
    assert diagnostic["conclusion"].startswith("PATIENT UNCERTAIN") and "EXEMPLE Noël" in diagnostic["conclusion"]


def test_susceptibilities_interpretations_and_the_organism_members():
    observations = (Observation("ORG", "Germe", "Escherichia coli"), Observation("AMX", "Amoxicilline", "R"),
                    Observation("IPM", "Imipénème", "S"))
    organism = Organism("Escherichia coli", observation=0, note="BLSE", susceptibilities=(
        Susceptibility("Amoxicilline", "AMX", "R", observation=1), Susceptibility("Imipénème", "IPM", "S", observation=2)))
    data = to_json([Report(Patient("FICTIF", "Zoé"), observations, organisms=(organism,))])
    germ, amx, ipm = resources(data, "Observation")
    assert [c["code"] for c in (amx["interpretation"][0]["coding"] + ipm["interpretation"][0]["coding"])] == ["R", "S"]
    assert len(germ["hasMember"]) == 2 and "BLSE" in germ["note"][0]["text"]


def test_a_lab_code_padded_with_spaces_is_a_valid_fhir_code():
    """HPRIM Santé labs pad their codes ("N    020"): FHIR allows single spaces only, the export used to fail."""
    report = replace(example(), observations=(Observation("N    020", "globules blancs", "5960", "/mm3"),))
    observation, = resources(to_json([report]), "Observation")   # to_json validates the bundle
    assert observation["code"]["coding"] == [{"code": "N 020", "display": "globules blancs"}]
