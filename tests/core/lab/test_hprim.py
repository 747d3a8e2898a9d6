"""HPRIM files as French labs send them: header variants, free text, the LAB block, several reports."""
from dataclasses import replace
from datetime import date, datetime

import pytest

from pli.core.lab import MalformedReport, parse_reports
from pli.core.lab.flags import Flag
from pli.core.lab.hprim import dumps, parse
from pli.core.lab.model import Lab, Observation, Patient, Prescriber, ReferenceRange, Report

HEADER = ["BIOLOGIE", "FICTIF", "Zoé", "12 rue des Essais", "Bâtiment B", "00100 VILLE-FICTIVE", "12/04/1965",
          "265040012345678", "R240101", "02/01/2024", "LABM-ESTUAIRE", "10000000001"]
BODY = ["Laboratoire de l'Estuaire", "  Résultats validés.", "****LAB****", "TEX|Prélèvement à jeun",
        "RES|Potassium|K|N|6,8|mmol/l|3,5|5,0|HH|F|",
        "RES|Créatinine|Creat|N|180|µmol/l|60|110||F|20,3|mg/l|6,8|12,4|",
        "TEX|Contrôle conseillé.", "TEX|Deuxième ligne.",
        "RES|CRP|CRP|N|<5|mg/l||5|||", "RES|Aspect du sérum|ASP|A|lactescent|||||F|",
        "****FINLAB****", "Fin du compte rendu.", "****FIN****"]


def hprim(lines, encoding="iso-8859-1", newline="\r\n", end="****FINFICHIER****") -> bytes:
    return (newline.join(lines + ([end] if end else [])) + newline).encode(encoding)


def one(data: bytes) -> Report:
    reports = parse(data)
    assert len(reports) == 1
    return reports[0]


def test_the_twelve_header_lines_fill_the_patient_and_the_request():
    report = one(hprim(HEADER + [""] + BODY))
    assert report.patient == Patient(last_name="FICTIF", first_name="Zoé", birth_date=date(1965, 4, 12),
                                     ssn="265040012345678", address1="12 rue des Essais", address2="Bâtiment B",
                                     postcode="00100", town="VILLE-FICTIVE")
    assert (report.title, report.reference, report.collected) == ("BIOLOGIE", "R240101", datetime(2024, 1, 2))
    assert report.lab == Lab(code="LABM-ESTUAIRE") and report.prescriber == Prescriber(code="10000000001")
    assert report.format == "hprim"


def test_the_lab_block_gives_results_second_values_and_comments():
    report = one(hprim(HEADER + BODY))
    k, creat, crp, aspect = report.observations
    assert k == Observation(code="K", label="Potassium", value="6,8", unit="mmol/l",
                            reference=ReferenceRange("3,5", "5,0"), lab_flag="HH", status="F", value_type="N")
    assert (k.flag, k.flag_source, report.severity) == (Flag.CRITICAL_HIGH, "lab", "critical")
    assert (creat.value2, creat.unit2, creat.reference2) == ("20,3", "mg/l", ReferenceRange("6,8", "12,4"))
    assert creat.comment == "Contrôle conseillé.\nDeuxième ligne."
    assert (creat.flag, creat.flag_source) == (Flag.HIGH, "pli")
    assert (crp.value, str(crp.reference), crp.flag) == ("<5", "<5", Flag.NORMAL)
    assert (aspect.value, aspect.interpreted) == ("lactescent", False)
    assert report.comments == ("Prélèvement à jeun",)


def test_free_text_is_kept_as_is_around_the_block():
    report = one(hprim(HEADER + BODY))
    assert report.text == "Laboratoire de l'Estuaire\n  Résultats validés.\nFin du compte rendu."


def test_a_blank_thirteenth_line_belongs_to_the_header():
    assert one(hprim(HEADER + [""] + BODY)) == one(hprim(HEADER + BODY))


def test_blank_lines_before_and_between_reports_are_skipped():
    data = hprim(["", ""] + HEADER + BODY + ["", ""] + HEADER + BODY)
    assert len(parse(data)) == 2


def test_missing_trailing_header_fields_are_empty():
    report = one(hprim(HEADER[:3] + ["****LAB****", "RES|Sodium|Na|N|140|mmol/l|136|145|||",
                                     "****FINLAB****", "****FIN****"]))
    assert (report.patient.last_name, report.patient.birth_date, report.reference, report.collected) == \
        ("FICTIF", None, "", None)
    assert report.observations[0].value == "140"


def test_short_and_dotted_dates_and_a_time_are_read():
    header = HEADER.copy()
    header[6], header[9] = "120465", "02.01.2024 10:15"
    report = one(hprim(header + BODY))
    assert (report.patient.birth_date, report.collected) == (date(1965, 4, 12), datetime(2024, 1, 2, 10, 15))


def test_several_reports_per_file_each_with_its_patient():
    second = HEADER.copy()
    second[1], second[2] = "EXEMPLE", "Noël"
    reports = parse(hprim(HEADER + BODY + second + BODY))
    assert [r.patient.display for r in reports] == ["FICTIF Zoé", "EXEMPLE Noël"]


@pytest.mark.parametrize("encoding", ["iso-8859-1", "utf-8", "cp1252"])
@pytest.mark.parametrize("newline", ["\r\n", "\n"])
def test_encodings_and_line_ends_give_the_same_report(encoding, newline):
    assert one(hprim(HEADER + BODY, encoding, newline)) == one(hprim(HEADER + BODY))


def test_fin_alone_or_three_star_markers_end_a_report():
    lines = HEADER + BODY[:-1] + ["****FIN***"]
    assert one(hprim(lines, end="")).patient.last_name == "FICTIF"


def test_parse_reports_detects_hprim():
    assert parse_reports(hprim(HEADER + BODY))[0].observations[0].code == "K"


@pytest.mark.parametrize("lines, line, reason", [
    (HEADER + BODY[:6], 18, "truncated"),                                          # cut inside the block
    (HEADER + BODY[:-1], 24, "truncated"),                                         # no end marker
    (HEADER + BODY[:4] + ["RES;Potassium;K;N;6,8;mmol/l"] + BODY[5:], 17, "wrong separator"),
    (HEADER + BODY[:4] + ["RES|Potassium|K"] + BODY[5:], 17, "fields"),
    (HEADER + ["****FINLAB****", "****FIN****"], 13, "without ****LAB****"),
    (HEADER[:1] + [""] + HEADER[2:] + BODY, 2, "last name"),
])
def test_malformed_files_name_the_line_and_the_reason(lines, line, reason):
    with pytest.raises(MalformedReport) as error:
        parse(hprim(lines, end=""))
    assert error.value.line == line and reason in error.value.reason
    assert f"line {line}" in str(error.value)


def test_a_bad_date_is_refused_with_its_line():
    header = HEADER.copy()
    header[6] = "31/02/1965"
    with pytest.raises(MalformedReport) as error:
        parse(hprim(header + BODY))
    assert error.value.line == 7 and "birth date" in error.value.reason


def test_binary_junk_is_refused_with_its_line():
    data = hprim(HEADER + BODY)
    junk = data.replace(b"6,8", b"6\x00\x01")
    with pytest.raises(MalformedReport) as error:
        parse(junk)
    assert error.value.line == 17 and "binary" in error.value.reason


def test_an_empty_file_is_malformed():
    with pytest.raises(MalformedReport):
        parse(b"")


def report_for_round_trip() -> Report:
    patient = Patient(last_name="ESSAI", first_name="Hélène", birth_date=date(1950, 1, 31), ssn="",
                      address1="1 place du Modèle", postcode="00300", town="SAINT-ESSAI")
    observations = (
        Observation("Na", "Sodium", "128", "mmol/l", ReferenceRange("136", "145"), "L", "F", "N",
                    comment="Contrôle conseillé."),
        Observation("Gly", "Glycémie à jeun", "7,25", "mmol/l", ReferenceRange("3,90", "5,50"), "", "F", "N",
                    value2="1,31", unit2="g/l", reference2=ReferenceRange("0,70", "0,99")),
        Observation("SERO", "Sérologie", "voir commentaire", "", ReferenceRange(text="négatif"), "", "P", "A"),
    )
    return Report(patient=patient, observations=observations, lab=Lab("BIO-COLLINES"),
                  prescriber=Prescriber("10000000002"), reference="R-77", collected=datetime(2025, 3, 4),
                  title="Résultats", comments=("À jeun.",), text="Ligne un\n\n  Ligne trois", format="hprim")


@pytest.mark.parametrize("encoding", ["iso-8859-1", "utf-8"])
@pytest.mark.parametrize("newline", ["\r\n", "\n"])
def test_round_trip_model_to_hprim_to_model(encoding, newline):
    report = report_for_round_trip()
    # The unsplittable range travels whole in the low field, and reads back as a low bound text.
    expected = replace(report, observations=report.observations[:2] + (
        replace(report.observations[2], reference=ReferenceRange("négatif", "")),))
    assert parse(dumps([report, report], encoding, newline)) == [expected, expected]


def test_the_writer_never_lets_a_field_break_the_line():
    report = report_for_round_trip()
    odd = replace(report.observations[0], label="Na|K", comment="a\nb")
    data = dumps([replace(report, observations=(odd,))])
    back = parse(data)[0].observations[0]
    assert (back.label, back.comment) == ("Na/K", "a\nb")
