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
    assert (creat.flag, creat.flag_source) == (Flag.HIGH, "pli")
    assert (crp.value, str(crp.reference), crp.flag) == ("<5", "<5", Flag.NORMAL)
    assert (aspect.value, aspect.interpreted) == ("lactescent", False)


def test_tex_comments_stay_report_lines_in_document_order_attached_to_no_result():
    # Labs write a comment before or after the result it describes: HPRIM does not say which,
    # so pli keeps each TEX line where it stands, never under a result.
    report = one(hprim(HEADER + BODY))
    assert all(not o.comment for o in report.observations)
    assert report.comments == ("Prélèvement à jeun", "Contrôle conseillé.", "Deuxième ligne.")
    assert report.comment_positions == (0, 2, 2)
    kinds = [(kind, entry if kind == "comment" else entry.code) for kind, entry in report.entries()]
    assert kinds == [("comment", "Prélèvement à jeun"), ("result", "K"), ("result", "Creat"),
                     ("comment", "Contrôle conseillé."), ("comment", "Deuxième ligne."), ("result", "CRP"),
                     ("result", "ASP")]


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


@pytest.mark.parametrize("lines, warning", [
    (HEADER + BODY[:6], "ends without ****FIN****"),                              # cut after a whole line
    (HEADER + BODY[:-1], "ends without ****FIN****"),                             # no end marker
    (HEADER + ["****FINLAB****"] + BODY[2:], None),                               # a FINLAB without LAB
])
def test_a_file_without_its_end_markers_gives_what_it_holds(lines, warning):
    report = one(hprim(lines, end=""))
    assert [o.code for o in report.observations][:2] == ["K", "Creat"]
    assert report.patient.last_name == "FICTIF" and not report.incomplete
    assert (warning is None) or any(warning in w for w in report.warnings)


def test_a_result_line_cut_by_a_truncation_is_kept_as_text_and_the_report_marked_incomplete():
    cut = HEADER + BODY[:4] + ["RES|Potassium|K|N|6,8|mmol/l|3,5|5,0|HH|F|", "RES|Créatinine|Creat|N|18"]
    data = hprim(cut, end="")[:-2]          # the file ends inside the last line
    report = one(data)
    assert [o.code for o in report.observations] == ["K"]      # never a value of 18 for a cut 180
    assert report.incomplete and "RES|Créatinine|Creat|N|18" in report.comments
    assert any("line 18" in w and "middle of this result" in w for w in report.warnings)


def test_result_lines_with_another_separator_are_read_and_named():
    lines = HEADER + BODY[:4] + ["RES;Potassium;K;N;6,8;mmol/l;3,5;5,0;HH;F;"] + BODY[5:]
    report = one(hprim(lines))
    assert (report.observations[0].value, report.observations[0].flag) == ("6,8", Flag.CRITICAL_HIGH)
    assert any("line 17" in w and "';'" in w for w in report.warnings)


def test_an_empty_result_line_is_kept_not_refused():
    report = one(hprim(HEADER + BODY[:4] + ["RES||IGET 005|A", "RES|Potassium|K"] + BODY[5:]))
    empty, named = report.observations[:2]
    assert (empty.code, empty.label, empty.value, empty.interpreted) == ("IGET 005", "", "", False)
    assert (named.label, named.code, named.value) == ("Potassium", "K", "")


def test_a_header_without_a_last_name_attaches_its_results_to_nobody():
    report = one(hprim(HEADER[:1] + [""] + HEADER[2:] + BODY))
    assert report.patient_uncertain and report.patient == Patient()
    assert report.candidates[0].ssn == "265040012345678"
    assert any("line 2" in w for w in report.warnings)


@pytest.mark.parametrize("data", [b"", b"\r\n\r\n", b"****FIN****\r\n****FINFICHIER****\r\n"])
def test_a_file_with_no_report_at_all_is_malformed(data):
    with pytest.raises(MalformedReport) as error:
        parse(data)
    assert error.value.line == 1 and "no report" in error.value.reason


def test_a_bad_date_degrades_that_field_only():
    header = HEADER.copy()
    header[6], header[9] = "31/02/1965", "le 3 mars"
    report = one(hprim(header + BODY))
    assert (report.patient.birth_date, report.patient.birth_date_text, report.patient.born) == \
        (None, "31/02/1965", "31/02/1965")
    assert (report.collected, report.collected_text) == (None, "le 3 mars")
    assert [w.split(":")[0] for w in report.warnings] == ["line 7", "line 10"]
    assert len(report.observations) == 4


@pytest.mark.parametrize("text, born", [("12/04/65", date(1965, 4, 12)), ("1965-04-12", date(1965, 4, 12)),
                                        ("M-5128-12/04/1965", date(1965, 4, 12)), ("12041965", date(1965, 4, 12)),
                                        ("19650412", date(1965, 4, 12)), ("", None)])
def test_birth_dates_in_every_form(text, born):
    header = HEADER.copy()
    header[6] = text
    report = one(hprim(header + BODY))
    assert report.patient.birth_date == born and not report.warnings


def test_stray_control_bytes_are_shown_as_damaged_and_the_rest_is_read():
    data = hprim(HEADER + BODY).replace(b"6,8", b"6\x00\x01")
    report = one(data)
    damaged = report.observations[0]
    assert damaged.value == "6\ufffd\ufffd" and damaged.number is None
    assert (damaged.flag, damaged.flag_source) == (Flag.CRITICAL_HIGH, "lab")   # the lab's flag still stands
    assert any("line 17" in w and "damaged" in w for w in report.warnings)
    assert len(report.observations) == 4


def test_a_binary_file_is_refused():
    with pytest.raises(MalformedReport) as error:
        parse(bytes(range(256)) * 8)
    assert "binary" in error.value.reason


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
    # A result's comment travels as TEX lines after its RES line, which read back as report lines in place.
    na, gly, sero = report.observations
    expected = replace(report, observations=(replace(na, comment=""), gly, sero),
                       comments=("À jeun.", "Contrôle conseillé."), comment_positions=(0, 1))
    other = replace(report, reference="R-78")    # the same order twice would be a correction of the first
    assert parse(dumps([report, other], encoding, newline)) == [expected, replace(expected, reference="R-78")]
    assert parse(dumps([expected], encoding, newline)) == [expected]


def test_a_later_report_of_the_same_order_in_the_file_replaces_the_earlier_values():
    report = report_for_round_trip()
    first, second = parse(dumps([report, report]))
    assert all(o.superseded for o in first.observations) and not any(o.superseded for o in second.observations)
    assert first.summary() == "3 results replaced by a later correction" and first.severity == "normal"
    from pli.core.lab.render import render
    assert "REPLACED: 3 results replaced by a later correction" in render(first)   # never "NORMAL"


def test_the_writer_never_lets_a_field_break_the_line():
    report = report_for_round_trip()
    odd = replace(report.observations[0], label="Na|K", comment="a\nb")
    data = dumps([replace(report, observations=(odd,))])
    back = parse(data)[0]
    assert back.observations[0].label == "Na/K"
    assert back.comments == ("À jeun.", "a", "b")


def test_the_writer_writes_current_results_only():
    report = report_for_round_trip()
    na = report.observations[0]
    old = replace(na, value="118", superseded=True)
    data = dumps([replace(report, observations=(old, replace(na, status="C")))])
    assert b"|118|" not in data and [o.value for o in parse(data)[0].observations] == ["128"]


def block(*results: str) -> list[str]:
    return ["****LAB****", *results, "****FINLAB****"]


K_HIGH = "RES|Potassium|K|N|6,9|mmol/l|3,5|5,0|HH|F|"
NA = "RES|Sodium|NA|N|140|mmol/l|136|145||F|"


def test_a_full_header_after_a_lab_block_starts_a_new_report_without_fin():
    second = HEADER.copy()
    second[1], second[2], second[6], second[7] = "EXEMPLE", "Noël", "01/01/1980", "1800100555666"
    first, other = parse(hprim(HEADER + block(NA) + second + block(K_HIGH) + ["****FIN****"]))
    assert (first.patient.last_name, [o.code for o in first.observations]) == ("FICTIF", ["NA"])
    assert (other.patient.last_name, [o.code for o in other.observations]) == ("EXEMPLE", ["K"])
    assert any("FIN**** missing" in w for w in first.warnings)


@pytest.mark.parametrize("identity", [["EXEMPLE", "Noël", "01/01/1980"], ["EXEMPLE", "1800100555666"],
                                      ["EXEMPLE", "", "01/01/80"]])
def test_results_after_a_partial_identity_are_attached_to_nobody(identity):
    first, uncertain = parse(hprim(HEADER + block(NA) + identity + block(K_HIGH) + ["****FIN****"]))
    assert [o.code for o in first.observations] == ["NA"] and not first.patient_uncertain
    assert uncertain.patient_uncertain and uncertain.patient == Patient()
    assert [p.last_name for p in uncertain.candidates] == ["FICTIF", "EXEMPLE"]
    assert [o.value for o in uncertain.observations] == ["6,9"] and uncertain.severity == "critical"


@pytest.mark.parametrize("lines", [
    ["HEMATOLOGIE", "Prélevé le", "02/01/2024"],          # a section title and the specimen date: nobody
    ["FICTIF ZOÉ", "12/04/1965"],                          # the report's own patient again (a printed page)
    ["Commentaire du biologiste :", "à contrôler"],
])
def test_text_between_blocks_that_names_nobody_else_keeps_the_results_with_the_patient(lines):
    report, = parse(hprim(HEADER + block(NA) + lines + block(K_HIGH) + ["****FIN****"]))
    assert not report.patient_uncertain and [o.code for o in report.observations] == ["NA", "K"]


def test_an_address_line_missing_from_the_header_is_put_back():
    header = HEADER[:3] + HEADER[4:]        # one address line fewer: the birth date on line 6
    report = one(hprim(header + BODY))
    assert (report.patient.birth_date, report.patient.nir, report.reference) == \
        (date(1965, 4, 12), "2650400123456", "R240101")
    assert (report.patient.postcode, report.lab.code, report.prescriber.code) == ("00100", "LABM-ESTUAIRE",
                                                                                  "10000000001")
    assert any("address lines were missing" in w for w in report.warnings)


def test_lines_wrapped_at_80_columns_are_joined():
    res = "RES|Débit de filtration glomérulaire estimé (CKD-EPI), patient non afro-américain|DFG|N|38|ml/min|60||L|F|"
    wrapped = [res[:80], res[80:], "RES|" + "x" * 76, "y|A|1|"]
    report = one(hprim(HEADER + block(*wrapped) + ["****FIN****"]))
    dfg, long = report.observations
    assert (dfg.code, dfg.value, dfg.unit, dfg.flag) == ("DFG", "38", "ml/min", Flag.LOW)
    assert long.label == "x" * 76 + "y"


def test_lines_11_and_12_are_a_code_then_a_name_and_line_1_a_patient_code():
    header = HEADER.copy()
    header[0], header[10], header[11] = "0000418260", "   C LabEssai", "MED4521   Dr Martin Claire"
    report = one(hprim(header + BODY))
    assert report.patient.patient_id == "0000418260" and report.title == "0000418260"
    assert (report.lab.code, report.lab.name) == ("C", "LabEssai")
    assert (report.prescriber.code, report.prescriber.family) == ("MED4521", "Dr Martin Claire")
    assert one(hprim(HEADER + BODY)).patient.patient_id == ""      # "BIOLOGIE" is a title, not a code


@pytest.mark.parametrize("codec, name", [("latin-1", "Windows-1252"), ("mac_roman", "MacRoman"),
                                         ("utf-16", "UTF-16 LE (with BOM)"), ("utf-8-sig", "UTF-8 (with BOM)")])
def test_the_report_says_which_encoding_was_read(codec, name):
    report = one(hprim(HEADER + BODY, encoding=codec))
    assert report.encoding == name and report.patient.first_name == "Zoé"


def test_html_entities_in_a_body_are_decoded():
    lines = [line.replace("é", "&eacute;").replace("<", "&lt;") for line in HEADER + BODY]
    report = one(hprim(lines))
    assert report.patient.first_name == "Zoé" and report.observations[2].value == "<5"
    assert report.encoding.endswith("HTML entities decoded")


def test_a_culture_groups_its_antibiotics_under_its_organism():
    report = one(hprim(HEADER + block("RES|Germe identifié|GERM|A|Escherichia coli|||||F|",
                                      "TEX|Souche productrice de BLSE.", "RES|Amoxicilline|AMX|A|R|||||F|",
                                      "RES|Imipénème|IPM|A|Sensible|||||F|") + ["****FIN****"]))
    organism, = report.organisms
    assert (organism.name, organism.note, organism.resistant, organism.observation) == \
        ("Escherichia coli", "BLSE", True, 0)
    assert [(s.code, s.interpretation) for s in organism.susceptibilities] == [("AMX", "R"), ("IPM", "S")]
    assert report.severity == "abnormal" and report.summary().startswith("Escherichia coli BLSE")


def test_a_denied_marker_does_not_make_an_organism_multi_resistant():
    report = one(hprim(HEADER + block("RES|Germe|GERM|A|Klebsiella pneumoniae|||||F|",
                                      "RES|Recherche de BLSE|RBLSE|A|Négatif|||||F|", "RES|AMX|AMX|A|R|||||F|")
                       + ["****FIN****"]))
    organism, = report.organisms
    assert (organism.note, organism.resistant, organism.multi_resistant) == ("", True, False)


def test_a_mail_greeting_before_the_header_and_a_signature_after_the_report_are_its_text():
    lines = ["Bonjour,", "Voici les résultats.", ""] + HEADER + BODY + ["", "--", "Dr Martin Claire",
                                                                     "01 23 45 67 89"]
    report = one(hprim(lines, end=""))
    assert report.patient.last_name == "FICTIF" and len(report.observations) == 4
    assert report.text.startswith("Bonjour,") and report.text.endswith("01 23 45 67 89")
    assert [w.split(":")[0] for w in report.warnings] == ["lines 1-3", "lines 30-32"]


def test_results_after_lines_that_are_no_header_are_attached_to_nobody():
    lines = HEADER + BODY + ["Suite du courrier", "Dr Martin", "voir ci-dessous"] + block(K_HIGH) + ["****FIN****"]
    first, uncertain = parse(hprim(lines))
    assert first.patient.last_name == "FICTIF" and len(first.observations) == 4
    assert uncertain.patient_uncertain and [o.value for o in uncertain.observations] == ["6,9"]
    assert "Suite du courrier" in uncertain.text


def test_a_letter_read_as_hprim_names_no_patient_after_its_lines():
    """A letter in a .hpr attachment: its second line reads like a name, but nothing else is a header's
    (no date, number or postcode where a header has them, no LAB block): no patient "VOICI UNE LETTRE"."""
    report, = parse_reports("Bonjour,\nvoici une lettre.\nCordialement\n\nDr Essai\n".encode())
    assert report.patient_uncertain and report.patient == Patient() and "voici une lettre." in report.text
