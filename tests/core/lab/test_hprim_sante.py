"""HPRIM Santé result files (H|, P|, OBR|, OBX|, C|, A|, L| records): read as the HL7 messages they
descend from, never as a 12-line HPRIM header (which showed their critical results as "no results")."""
import pytest

from pli.core.lab import MalformedReport, parse_reports
from pli.core.lab.hprim_sante import is_hprim_sante

HEADER = "H|~^\\&|R.HPR||LAB01~Laboratoire Fictif||ORU|||CAB01~Cabinet||P|H2.2~C|202403151200"
PATIENT = "P|1|0012345|||FICTIF~Zoé||19650412|F||1 rue des Essais~~VILLE-FICTIVE~~00100"
RESULTS = ["OBR|1||R1|IONO~Ionogramme~L|R||202403150800",
           "OBX|1|NM|K~Potassium~L||6.8|mmol/l|3.5-5.0|HH|||F",
           "C|1|L|Hémolyse|G",
           "OBX|2|NM|NA~Sodium~L||128|mmol/l|136-145||||F",
           "L|1"]


def hprim_sante(*records: str, newline: str = "\r\n") -> bytes:
    return (newline.join(records) + newline).encode("iso-8859-1")


def test_records_give_the_patient_the_results_their_flags_and_comments():
    report, = parse_reports(hprim_sante(HEADER, PATIENT, *RESULTS))
    patient = report.patient
    assert (patient.last_name, patient.first_name, str(patient.birth_date), patient.sex) == \
        ("FICTIF", "Zoé", "1965-04-12", "F")
    assert (patient.patient_id, patient.postcode, patient.town) == ("0012345", "00100", "VILLE-FICTIVE")
    k, na = report.observations
    assert (k.code, k.label, k.value, k.unit, k.flag.value, k.comment) == ("K", "Potassium", "6.8", "mmol/l",
                                                                         "HH", "Hémolyse")
    assert (na.flag.value, na.flag_source) == ("L", "pli")       # no lab flag: computed from the range
    assert report.severity == "critical" and report.reference == "R1" and report.lab.code == "LAB01"


def test_the_separators_are_the_header_s_own():
    swapped = [r.replace("~", "\\") for r in (PATIENT, *RESULTS)]
    report, = parse_reports(hprim_sante("H|\\^&~|R.HPR||LAB01\\Labo||ORU|||CAB01\\Cab||P|H2.0\\C|202403151200",
                                        *swapped))
    assert report.patient.last_name == "FICTIF" and [o.code for o in report.observations] == ["K", "NA"]


def test_an_a_record_continues_the_record_above_and_warnings_name_the_file_s_lines():
    split = ["OBR|1||R1|IONO~Ionogramme~L|R||2024031", "A|50800", "OBX|1|NM||", "A||6.8|mmol/l|3.5-5.0|HH|||F"]
    report, = parse_reports(hprim_sante(HEADER, PATIENT, *split))
    assert report.collected.isoformat() == "2024-03-15T08:00:00"
    assert report.observations[0].value == "6.8"
    assert any(w.startswith("line 5:") for w in report.warnings)   # the OBX without a test name, as written


def test_two_patients_in_one_file_are_two_reports_each_with_its_results():
    other = "P|2|0067890|||EXEMPLE~Luc||19800101|M"
    first, second = parse_reports(hprim_sante(HEADER, PATIENT, *RESULTS[:2], other, *RESULTS[3:]))
    assert [o.code for o in first.observations] == ["K"] and first.patient.last_name == "FICTIF"
    assert [o.code for o in second.observations] == ["NA"] and second.patient.last_name == "EXEMPLE"


def test_results_before_any_patient_are_attached_to_nobody():
    report, = parse_reports(hprim_sante(HEADER, *RESULTS))
    assert report.patient_uncertain and report.observations[0].value == "6.8"


@pytest.mark.parametrize("data, reason", [
    (hprim_sante(HEADER.replace("|ORU|", "|ADM|"), PATIENT), "not a lab result message"),
    (hprim_sante(HEADER, "L|1"), "without a patient (P) record"),
    # Three separators, as an ASTM E1394 analyzer writes its header (and a middleware generator found in
    # public code, H|\^~|): the error named HL7's MSH, which an HPRIM Santé file does not have.
    (hprim_sante("H|\\^&|||Analyseur|||ORU|||||P|1|20240101", PATIENT, *RESULTS),
     "header (H) record's separators missing (expected 4, e.g. H|~^\\&|)"),
])
def test_a_file_with_no_result_is_one_line_naming_hprim_sante(data, reason):
    with pytest.raises(MalformedReport) as error:
        parse_reports(data)
    assert error.value.format == "HPRIM Santé" and reason in str(error.value)
    assert "FICTIF" not in str(error.value) and "MSH" not in str(error.value)


def test_a_12_line_header_is_no_hprim_sante_file():
    assert is_hprim_sante(HEADER) and is_hprim_sante("\ufeff\r\n" + HEADER)
    assert not is_hprim_sante("HOPITAL\nFICTIF\n") and not is_hprim_sante("H|bonjour|")


# The next three come from outside files (tests/fixtures/lab-wild h38, h39): libHprim's parser test and the
# HL7 Europe HAPI starter's HPRIM reader test write OBR-16 as code~name~L, name the lab in H-5, and send an
# OBX of type FIC.

def test_the_prescriber_s_third_component_l_is_a_coding_system_not_a_given_name():
    obr = "OBR|1||R1|IONO~Ionogramme~L|R||202403150800||||N|||202403150800||PILO~DR ESSAI~L~SERV1~Service~L"
    report, = parse_reports(hprim_sante(HEADER, PATIENT, obr, *RESULTS[1:]))
    assert (report.prescriber.code, report.prescriber.family, report.prescriber.given) == ("PILO", "DR ESSAI", "")
    assert str(report.prescriber) == "DR ESSAI"      # it showed "for L DR ESSAI"


@pytest.mark.parametrize("cna, name", [
    ("MAB~DUPONT&Jean~L", ("DUPONT", "Jean")),        # the name a PN: family&given
    ("12345~DR ESSAI~ADELI", ("DR ESSAI", "")),      # another type of code: no given name either
])
def test_the_prescriber_is_read_as_hprim_s_cna_code_name_type_of_code(cna, name):
    # Mediboard's HPRIM 2.1 definitions (hprv2_1/compositeCNA.xml, compositePN.xml): CNA is
    # identifier~name~type of code, the name a PN whose parts are subcomponents.
    obr = "OBR|1||R1|IONO~Ionogramme~L|R||202403150800||||N|||202403150800||" + cna
    report, = parse_reports(hprim_sante(HEADER, PATIENT, obr, *RESULTS[1:]))
    assert (report.prescriber.family, report.prescriber.given) == name   # was "DUPONT&Jean", "ADELI"


def test_the_prescriber_cut_by_an_a_record_is_read_whole():
    obr = "OBR|1||R1|IONO~Ionogramme~L|R||202403150800||||N|||202403150800||PILO~DR ESSAI~L~SERV1~Cli"
    report, = parse_reports(hprim_sante(HEADER, PATIENT, obr, "A|nique~L|0000000000", *RESULTS[1:]))
    assert (report.prescriber.family, report.prescriber.given) == ("DR ESSAI", "")


def test_the_lab_s_name_is_the_header_s_and_the_lab_s_own_name_in_obx_23_wins():
    report, = parse_reports(hprim_sante(HEADER, PATIENT, *RESULTS))
    assert (report.lab.code, report.lab.name) == ("LAB01", "Laboratoire Fictif")   # the name was dropped
    named = RESULTS[1] + "||||||||||||Labo Sous-traitant"
    report, = parse_reports(hprim_sante(HEADER, PATIENT, RESULTS[0], named, *RESULTS[2:]))
    assert report.lab.name == "Labo Sous-traitant"
    # A patient with nothing under it (libHprim's example, lab-wild h41) is the header's lab's too: the name
    # was carried by the results only.
    first, second = parse_reports(hprim_sante(HEADER, PATIENT, *RESULTS[:-1], "P|2|0067890|||EXEMPLE~Luc", "L|1"))
    assert first.lab.name == second.lab.name == "Laboratoire Fictif" and second.observations == ()


def test_a_fic_result_says_which_file_holds_it_instead_of_showing_raw_separators():
    fic = "OBX|3|FIC|TEXTE~~L||GALAXIE~AL0001.j1~TXT"
    report, = parse_reports(hprim_sante(HEADER, PATIENT, *RESULTS[:-1], fic, "L|1"))
    text = report.observations[-1]
    assert text.value == "in the file AL0001.j1 (GALAXIE, TXT), sent apart from this report"
    assert "~" not in text.value and text.severity == "unknown"


def test_a_fic_result_written_file_then_type_names_the_file_too():
    # A radiology system's HPRIM Santé report (MEDISPHINX to OSIRIS, a public Node.js sample, not copied):
    # OBX|1|FIC|CR^Echo du ...||14545486.pdf^PDF, with HL7's order of separators.
    records = ["H|^~\\&|||RADIO||ORU|||CAB||P|H2.3|", "P|1|1234|||FICTIF^Zoé||19650412||||||",
               "OBX|1|FIC|CR^Echo du 20140609||0001.pdf^PDF|||||||||||", "L|||1|4|"]
    report, = parse_reports(hprim_sante(*records))
    assert report.observations[0].value == "in the file 0001.pdf (PDF), sent apart from this report"
    assert report.patient.last_name == "FICTIF" and not report.incomplete


def test_each_h_record_s_separators_serve_the_records_under_it():
    second = [r.replace("~", "\\") for r in ("P|2|0067890|||EXEMPLE~Luc||19800101|M",
                                             "OBR|1||R2|GLY~Glycémie~L|R||202403150800||||N|||2024||CODE~DR AUTRE~L",
                                             "OBX|1|FIC|CR~~L||APPLI~CR0002.txt~TXT")]
    first, other = parse_reports(hprim_sante(HEADER, PATIENT, *RESULTS[:-1],
                                             "H|\\^&~|R2.HPR||LAB02\\Autre Labo||ORU|||CAB01\\Cab||P|H2.0", *second))
    assert first.lab.name == "Laboratoire Fictif" and other.lab.name == "Autre Labo"
    assert str(other.prescriber) == "DR AUTRE" and other.observations[0].value.startswith("in the file CR0002.txt")


def test_a_file_without_its_end_record_is_said_cut_short():
    # libHprim's example file (lab-wild h41) stops after a P record, with no L: a file cut after a whole
    # line, whose last results would be lost unseen.
    report, = parse_reports(hprim_sante(HEADER, PATIENT, *RESULTS[:-1]))
    assert report.incomplete and any("no end record (L)" in w for w in report.warnings)
    assert [o.code for o in report.observations] == ["K", "NA"]          # what it holds is still read
    report, = parse_reports(hprim_sante(HEADER, PATIENT, *RESULTS))
    assert not report.incomplete and report.warnings == ()


def test_warnings_name_hprim_sante_s_records_not_hl7_s_segments():
    report, = parse_reports(hprim_sante(HEADER, "P|0001", *RESULTS))   # h40: a P record with no name
    assert report.patient_uncertain
    assert report.warnings == ("no patient name or number in the P record: results attached to nobody",)
    report, = parse_reports(hprim_sante(HEADER, PATIENT.replace("19650412", "19651312"), *RESULTS))
    assert any("birth date (P-8)" in w for w in report.warnings) and not any("PID" in w for w in report.warnings)
