"""The lab-wild corpus: every file parses, renders and exports to FHIR exactly as its truth says.

tests/fixtures/lab-wild/ holds files laid out as labs send them (README.md
there says where each layout comes from); truth.json, written by hand from
each file, gives its reports, patients, values, units, flags and what else
matters.  One test per file runs the whole path (parse, table, FHIR) and
compares; a last test counts, over the whole corpus, the four numbers the
issue names: results dropped, wrong patient, missed abnormal, wrong value or
unit, which must all be 0.
"""
from __future__ import annotations

import json
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import pytest

from pli.core.lab import Patient, parse_reports
from pli.core.lab.fhir import to_json
from pli.core.lab.model import identity_conflicts
from pli.core.lab.render import render_all

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "lab-wild"
TRUTH = json.loads((CORPUS / "truth.json").read_text(encoding="utf-8"))
KINDS = {"critical": "critical", "abnormal": "abnormal", "normal": "normal", "not interpreted": "unknown"}


def test_the_corpus_has_every_file_and_a_truth_for_each():
    files = sorted(p.name for p in CORPUS.iterdir() if p.is_file() and p.name not in ("truth.json", "README.md"))
    assert files == sorted(TRUTH) and len(files) >= 30
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    assert all(name in readme for name in files), "the README names the source of every file"


def compare(name: str) -> tuple[list[str], Counter]:
    """Every difference between a file's reports and its truth, and the corpus counts it adds to."""
    truth = TRUTH[name]
    reports = parse_reports((CORPUS / name).read_bytes())
    problems: list[str] = []
    counts: Counter = Counter()
    if len(reports) != len(truth["reports"]):
        problems.append(f"{len(reports)} reports, truth says {len(truth['reports'])}")
    for number, (report, expected) in enumerate(zip(reports, truth["reports"]), 1):
        where = f"report {number}"
        problems += [f"{where}: {p}" for p in _patient(report, expected, counts)]
        problems += [f"{where}: {p}" for p in _results(report, expected, counts)]
        problems += [f"{where}: {p}" for p in _details(report, expected, truth)]
    if "conflicts" in truth and len(identity_conflicts([r.patient for r in reports])) != truth["conflicts"]:
        problems.append("identity conflicts not named")
    return problems, counts


def _patient(report, expected, counts) -> list[str]:
    if expected.get("uncertain"):
        problems = []
        if not report.patient_uncertain or report.patient != Patient():
            counts["wrong patient"] += len(expected["results"])
            problems.append("results attached to a patient although the file leaves it uncertain")
        if [p.last_name for p in report.candidates] != expected["candidates"]:
            problems.append(f"candidates {[p.last_name for p in report.candidates]}")
        return problems
    want = expected["patient"]
    patient = report.patient
    born = date.fromisoformat(want["born"]) if want["born"] else None
    got = (patient.last_name, patient.first_name, patient.birth_date, patient.nir)
    if report.patient_uncertain or got != (want["last"], want["first"], born, want["nir"]):
        counts["wrong patient"] += len(expected["results"])
        return [f"patient {got}, truth {want}"]
    return []


def _results(report, expected, counts) -> list[str]:
    problems = []
    observations = list(report.observations)
    counts["results"] += len(expected["results"])
    if len(observations) < len(expected["results"]):
        counts["dropped"] += len(expected["results"]) - len(observations)
    for index, want in enumerate(expected["results"]):
        code, value, unit, flag, kind = want[:5]
        if index >= len(observations):
            problems.append(f"result {code} missing")
            continue
        o = observations[index]
        if (o.code, o.value, o.unit) != (code, value, unit):
            counts["wrong value or unit"] += 1
            problems.append(f"result {index + 1}: {(o.code, o.value, o.unit)}, truth {(code, value, unit)}")
        problems += [f"result {code}: {p}" for p in _kind(o, flag, kind, counts)]
        if len(want) > 5 and o.state != want[5]:
            problems.append(f"result {code}: state {o.state!r}, truth {want[5]!r}")
    if len(observations) > len(expected["results"]):
        problems.append(f"{len(observations) - len(expected['results'])} results the truth does not have")
    return problems


def _kind(o, flag: str, kind: str, counts) -> list[str]:
    if kind == "replaced":
        return [] if o.superseded else ["not marked replaced"]
    if o.superseded:
        return ["marked replaced"]
    if kind == "not done":
        return [] if o.not_done and o.flag.value == "" else ["not shown as not done"]
    severity = o.severity
    if kind in ("critical", "abnormal") and severity not in ("critical", "abnormal"):
        counts["missed abnormal"] += 1
    if severity != KINDS[kind] or o.flag.value != flag:
        return [f"flag {o.flag.value!r} ({severity}), truth {flag!r} ({kind})"]
    return []


def _details(report, expected, truth) -> list[str]:
    """The file's other facts: encoding, header fields, comments, warnings, cultures, codes."""
    checks = []
    by_code = {o.code: o for o in report.observations if not o.superseded}
    checks.append(("encoding", report.encoding, truth["encoding"]))
    simple = {
        "patient_id": lambda: report.patient.patient_id, "reference": lambda: report.reference,
        "lab": lambda: [report.lab.code, report.lab.name],
        "prescriber": lambda: [report.prescriber.code, report.prescriber.family],
        "address": lambda: [report.patient.postcode, report.patient.town],
        "collected": lambda: report.collected.isoformat() if isinstance(report.collected, datetime) else None,
        "collected_text": lambda: report.collected_text, "birth_text": lambda: report.patient.birth_date_text,
        "incomplete": lambda: report.incomplete, "ins_oid": lambda: report.patient.ins_oid,
        "lab_oid": lambda: report.lab.oid, "comments": lambda: len(report.comments),
        "comment_texts": lambda: [c for c in report.comments if c.strip()],
        "comment_positions": lambda: list(report.comment_positions), "severity": lambda: report.severity,
        "labels": lambda: {c: by_code[c].label for c in expected["labels"]},
        "loinc": lambda: {c: by_code[c].loinc for c in expected["loinc"]},
        "ucum": lambda: {c: by_code[c].unit_code for c in expected["ucum"]
                         if by_code[c].unit_system == "http://unitsofmeasure.org"},
        "second": lambda: {c: [by_code[c].value2, by_code[c].unit2] for c in expected["second"]},
        "result_comments": lambda: {c: by_code[c].comment for c in expected["result_comments"]},
        "organisms": lambda: [_organism(o, report) for o in report.organisms],
    }
    for key, got in simple.items():
        if key in expected:
            want = expected[key]
            if key == "collected" and want and len(want) == 10:
                want += "T00:00:00"
            checks.append((key, got(), want))
    if not expected.get("incomplete"):
        checks.append(("incomplete", report.incomplete, False))
    problems = [f"{key} {got!r}, truth {want!r}" for key, got, want in checks if got != want]
    problems += [f"no warning about {w!r}" for w in expected.get("warnings", [])
                 if not any(w in line for line in report.warnings)]
    if "text_contains" in expected and expected["text_contains"] not in report.text:
        problems.append("free text lost")
    return problems


def _organism(organism, report) -> dict:
    codes = {s.code: s.interpretation for s in organism.susceptibilities}
    return {"name": organism.name, "resistant": organism.resistant, "marker": organism.note, "antibiotics": codes}


@pytest.mark.parametrize("name", sorted(TRUTH))
def test_each_file_parses_as_its_truth_says(name):
    problems, _ = compare(name)
    assert problems == [], f"{name}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("name", sorted(TRUTH))
def test_each_file_renders_every_current_value_and_what_the_reader_must_know(name):
    reports = parse_reports((CORPUS / name).read_bytes())
    table = render_all(reports)
    for report in reports:
        assert f"read as {report.encoding}" in table
        for observation in report.current:
            assert observation.value.split("\n")[0] in table
        if report.patient_uncertain:
            assert "PATIENT UNCERTAIN" in table
        else:
            assert f"patient:{report.patient.key}" in table
        assert all(f"⚠ {w}" in table for w in report.warnings)
        if report.incomplete:
            assert "INCOMPLETE: pli could read this report only in part" in table
        for organism in report.organisms:
            assert f"Culture: {organism.name}" in table
            assert ("RESISTANT" in table.split(f"Culture: {organism.name}")[1].split("\n")[0]) == organism.resistant
    if TRUTH[name].get("conflicts"):
        assert "kept as two patients" in table


@pytest.mark.parametrize("name", sorted(TRUTH))
def test_each_file_exports_to_a_valid_fhir_bundle_with_its_current_values(name):
    reports = parse_reports((CORPUS / name).read_bytes())
    entries = [e["resource"] for e in json.loads(to_json(reports))["entry"]]   # validated by to_json
    observations = [r for r in entries if r["resourceType"] == "Observation"]
    current = [o for report in reports for o in report.current]
    assert len(observations) == len(current)
    uncertain = sum(len(r.current) for r in reports if r.patient_uncertain)
    assert sum(1 for o in observations if "subject" not in o) == uncertain
    for resource, observation in zip(observations, current):
        if observation.not_done:
            assert resource["status"] == "cancelled" and "dataAbsentReason" in resource
            continue
        shown = resource.get("valueQuantity", {}).get("value", resource.get("valueString"))
        if observation.value:
            assert shown is not None
        if observation.severity in ("critical", "abnormal") and observation.flag.value != "?":
            assert resource["interpretation"][0]["coding"][0]["code"] == observation.flag.value
        for coding in resource["code"].get("coding", []):
            assert coding.get("system", "").startswith(("http://loinc.org", "urn:oid:")) or "system" not in coding


def test_the_whole_corpus_drops_nothing_and_gets_no_patient_value_or_flag_wrong():
    totals: Counter = Counter()
    for name in TRUTH:
        totals += compare(name)[1]
    assert totals["results"] >= 150
    assert (totals["dropped"], totals["wrong patient"], totals["missed abnormal"], totals["wrong value or unit"]) \
        == (0, 0, 0, 0), totals
