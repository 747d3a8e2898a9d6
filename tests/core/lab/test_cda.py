"""CDA R2 documents: the CI-SIS header, INS, narrative, and CR-BIO lab results into pli's lab model.

Fixture: tests/fixtures/mssante/cr-bio-fictif.xml (structure of the ANS CI-SIS
CR-BIO examples, invented patient; see the README there).  The ANS examples
themselves are read by test_ans_examples when PLI_CISIS_EXAMPLES names a
folder holding them (ansforge/TestContenuCDA-3-0, ExemplesCDA/).
"""
from __future__ import annotations

import os
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from pli.core.lab.cda import MalformedCda, read_cda
from pli.core.lab.cda_results import lab_report
from pli.core.lab.flags import Flag
from pli.core.lab.model import Patient
from pli.core.lab.trends import series

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "mssante"
CR_BIO = (FIXTURES / "cr-bio-fictif.xml").read_bytes()
INS = b'root="1.2.250.1.213.1.4.8" extension="265040000123407"'


def with_ins_root(root: str) -> bytes:
    return CR_BIO.replace(INS, f'root="{root}" extension="265040000123407"'.encode())


def test_the_header_names_the_document_the_patient_and_the_author():
    document = read_cda(CR_BIO)
    assert (document.code, document.title, document.is_lab_report) == (
        "11502-2", "Compte rendu d'examens biologiques", True)
    assert document.unique_id == "1.2.250.1.213.1.1.9.999.2026.42^CRBIO-0042"
    assert document.effective_time == datetime(2026, 3, 2, 10, 15, tzinfo=timezone(timedelta(hours=1)))
    patient = document.patient
    assert (patient.family, patient.used_family, patient.given, patient.given_names) == (
        "FICTIF", "EXEMPLE", "Zoé", "Zoé Marie")          # the birth name (BR), as INS traits use it
    assert (patient.birth_date, patient.sex, patient.postcode, patient.town) == (
        date(1965, 4, 12), "F", "00100", "VILLE-FICTIVE")
    assert [i.extension for i in patient.local_ids] == ["IPP-77812"]
    assert (document.author.rpps, document.author.name, document.author.organisation) == (
        "10000000123", "Paul ESSAI", "Laboratoire d'essai des Tilleuls")


@pytest.mark.parametrize("root, kind, qualified", [
    ("1.2.250.1.213.1.4.8", "INS-NIR", True),
    ("1.2.250.1.213.1.4.9", "INS-NIA", True),
    ("1.2.250.1.213.1.4.10", "INS-NIR-TEST", False),
    ("1.2.250.1.213.1.4.11", "INS-NIA-TEST", False),
])
def test_the_ins_is_recognised_by_its_oid_and_only_the_national_ones_are_qualified(root, kind, qualified):
    ins = read_cda(with_ins_root(root)).patient.ins
    assert (ins.kind, ins.qualified, ins.extension) == (kind, qualified, "265040000123407")


def test_an_identifier_under_any_other_oid_is_a_local_one_not_an_ins():
    document = read_cda(with_ins_root("1.2.250.1.213.1.1.9.999.77"))
    assert document.patient.ins is None
    patient = lab_report(document).patient
    assert patient.ssn == "" and patient.key == "fictif-zoe-19650412"


def test_an_ins_nir_is_the_patient_key_an_hprim_report_with_that_nir_gets():
    patient = lab_report(read_cda(CR_BIO)).patient
    assert patient.ssn == "265040000123407" and patient.patient_id == "IPP-77812"
    # a patient is name + birth date + number (issue 18): the same person read from HPRIM gets the same key
    hprim = Patient(last_name="FICTIF", first_name="Zoé", birth_date=date(1965, 4, 12), ssn="2 65 04 00 001 234 07")
    assert patient.key == hprim.key
    assert patient.ins_oid == "1.2.250.1.213.1.4.8"                  # qualified: FHIR may call it the INS
    assert "265040000123407" not in patient.key


def test_the_narrative_reads_as_text_tables_rows_paragraphs_and_lists():
    text = read_cda(CR_BIO).text()
    assert "# HEMATOLOGIE" in text and "# BIOCHIMIE" in text
    assert "Hémoglobine | 10.9 g/dL | (12.0 - 16.0)" in text
    assert "Antigène HBs | Négatif\n" in text                       # no trailing empty cell
    assert "Résultats validés par Dr Paul ESSAI.\nAppel du prescripteur le 02/03/2026 à 10h20." in text
    assert "- Kaliémie critique : contrôle recommandé, hémolyse exclue.\n- Fonction rénale à surveiller." in text
    assert "<" not in text.replace("<5", "").replace("(< 5)", "")    # no markup left


def test_lab_results_become_observations_with_the_labs_flags_ranges_and_units():
    report = lab_report(read_cda(CR_BIO))
    rows = {o.label: o for o in report.observations}
    assert list(rows) == ["Hémoglobine", "Leucocytes", "Plaquettes", "Potassium", "Créatinine",
                          "Protéine C réactive", "Antigène HBs"]
    k = rows["Potassium"]
    assert (k.value, k.unit, str(k.reference), k.lab_flag, k.loinc, k.status) == (
        "6.8", "mmol/L", "3.5-5.0", "HH", "2823-3", "F")
    assert (k.flag, k.flag_source, k.comment) == (Flag.CRITICAL_HIGH, "lab", "contrôle recommandé, hémolyse exclue.")
    assert rows["Hémoglobine"].panel == "Numération formule sanguine" and rows["Potassium"].panel == "BIOCHIMIE"
    assert (rows["Plaquettes"].flag, rows["Plaquettes"].flag_source) == (Flag.HIGH, "pli")   # no code: computed
    crp = rows["Protéine C réactive"]
    assert (crp.value, crp.flag, str(crp.reference)) == ("<5", Flag.NORMAL, "<5")
    hbs = rows["Antigène HBs"]
    assert (hbs.value, hbs.value_type, hbs.status, hbs.interpreted) == ("Négatif", "CD", "P", False)


def test_the_report_is_triaged_like_any_hprim_or_hl7_report():
    report = lab_report(read_cda(CR_BIO))
    assert report.format == "cda" and report.severity == "critical"
    # 'Antigène HBs: Négatif' comes with no flag and no range: counted, never called normal
    assert report.summary() == ("Potassium 6.8 HH, Hémoglobine 10.9 L, Plaquettes 412 H, Créatinine 180 H; "
                                "1 not interpreted")
    assert report.collected == datetime(2026, 3, 2, 7, 30, tzinfo=timezone(timedelta(hours=1)))
    assert (report.reference, report.prescriber.name, report.lab.name) == (
        "LAB-2026-0042", "Jeanne EXEMPLE", "Laboratoire d'essai des Tilleuls")


def test_cda_results_trend_by_loinc_code():
    first = lab_report(read_cda(CR_BIO))
    later = lab_report(read_cda(CR_BIO.replace(b'value="6.8"', b'value="4.1"')
                                .replace(b'<interpretationCode code="HH"', b'<interpretationCode code="N"')
                                .replace(b'<high value="202603020730+0100"/>', b'<high value="202604020730+0100"/>')))
    points = series([later, first], first.patient.key, "2823-3")           # the LOINC code: CDA has no lab code
    assert [(p.when.month, p.value, p.unit, p.flag) for p in points] == [
        (3, 6.8, "mmol/L", Flag.CRITICAL_HIGH), (4, 4.1, "mmol/L", Flag.NORMAL)]


def test_an_unknown_interpretation_code_is_kept_raw_and_not_interpreted():
    report = lab_report(read_cda(CR_BIO.replace(b'<interpretationCode code="H" ', b'<interpretationCode code="W" ')))
    creatinine = next(o for o in report.observations if o.loinc == "2160-0")
    assert (creatinine.lab_flag, creatinine.flag, creatinine.interpreted) == ("W", Flag.UNKNOWN, False)


# -- what pli refuses, and how it says so --------------------------------------------------------------------

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<ClinicalDocument xmlns="urn:hl7-org:v3"><title>&lol3;</title></ClinicalDocument>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<ClinicalDocument xmlns="urn:hl7-org:v3"><title>&secret;</title></ClinicalDocument>"""


@pytest.mark.parametrize("data, words", [
    (BILLION_LAUGHS, "DTD or entities"),
    (EXTERNAL_ENTITY, "DTD or entities"),
    (CR_BIO[:len(CR_BIO) // 2], r"not well-formed XML \(line"),
    (b"", "empty"),
    (CR_BIO.replace(b"<ClinicalDocument ", b"<Document ").replace(b"</ClinicalDocument>", b"</Document>"),
     "not a ClinicalDocument"),
    (CR_BIO.replace(b"urn:hl7-org:v3", b"urn:example:other"), "not a ClinicalDocument"),
    (re.sub(rb"<recordTarget>.*</recordTarget>", b"", CR_BIO, flags=re.S), "names no patient"),
], ids=["billion-laughs", "external-entity", "truncated", "empty", "other-root", "other-namespace", "no-patient"])
def test_unsafe_or_unreadable_documents_are_one_line_without_their_content(data, words):
    with pytest.raises(MalformedCda, match=words) as refused:
        read_cda(data)
    message = str(refused.value)
    assert "\n" not in message and "FICTIF" not in message and "root:" not in message


def test_a_document_over_the_size_limit_is_refused_before_parsing():
    with pytest.raises(MalformedCda, match="more than the 1000 pli reads"):
        read_cda(CR_BIO, max_bytes=1000)


def test_a_narrative_nested_without_end_is_refused():
    deep = b"<content>" * 500 + b"x" + b"</content>" * 500
    data = CR_BIO.replace(b"<paragraph>R", b"<paragraph>" + deep + b"R")
    with pytest.raises(MalformedCda, match="nested too deeply"):
        read_cda(data)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, len(CR_BIO)), st.binary(max_size=40))
def test_damaged_documents_give_a_document_or_malformed_cda_never_anything_else(cut, junk):
    data = CR_BIO[:cut] + junk + CR_BIO[cut + len(junk):]
    try:
        document = read_cda(data)
    except MalformedCda as error:
        assert str(error).startswith("malformed CDA document: ")
        return
    report = lab_report(document)
    report.summary(), report.severity, report.patient.key, document.text()


# -- outside material ---------------------------------------------------------------------------------------

ANS_EXAMPLES = os.environ.get("PLI_CISIS_EXAMPLES", "")


@pytest.mark.skipif(not ANS_EXAMPLES, reason="set PLI_CISIS_EXAMPLES to the ANS ExemplesCDA folder to run")
def test_ans_examples():
    examples = sorted(Path(ANS_EXAMPLES).glob("BIO-CR-BIO_*.xml"))
    assert examples
    for path in examples:
        data = path.read_bytes()
        if b"<xsl:stylesheet" in data[:5000]:      # the "auto-présentable" variant is an XSL sheet, not a CDA
            with pytest.raises(MalformedCda):
                read_cda(data)
            continue
        document = read_cda(data)
        assert document.is_lab_report and document.patient.ins is not None
        lab_report(document).summary()
    tsh = lab_report(read_cda((Path(ANS_EXAMPLES) / "BIO-CR-BIO_2024.01_TSH_1.xml").read_bytes()))
    assert [(o.loinc, o.value, o.lab_flag) for o in tsh.observations] == [("3016-3", "1.950", "N"),
                                                                          ("3024-7", "7.67", "L")]
