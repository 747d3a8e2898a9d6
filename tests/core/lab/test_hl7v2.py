"""HL7 v2 ORU^R01: segments, value types, flags, escapes, several OBR groups and patients, batches."""
from datetime import date, datetime, timedelta, timezone

import hl7
import pytest

from pli.core.lab import MalformedReport, parse_reports
from pli.core.lab.flags import Flag
from pli.core.lab.hl7v2 import dumps, parse
from pli.core.lab.model import Lab, Patient, Prescriber, ReferenceRange

MSH = "MSH|^~\\&|LIS|CHG-BIOLOGIE|PLI|CAB|202401021030||ORU^R01^ORU_R01|MSG1|P|2.5|||||FRA|UNICODE UTF-8"
PATIENT_1 = [
    "PID|1||P123^^^CHG^PI~265040012345678^^^INSEE^NH||FICTIF^Zoé||19650412|F|||12 rue des Essais^Bât B^VILLE-FICTIVE^^00100",
    "PV1|1|O",
    "ORC|RE||R1|||||||||10000000001^MARTIN^Claire",
    "OBR|1||R1|IONO^Ionogramme|||202401020815|||||||||10000000001^MARTIN^Claire|||||||||F",
    "NTE|1|L|Prélèvement à jeun",
    "OBX|1|NM|K^Potassium^L^2823-3^Potassium^LN||6.8|mmol/L|3.5-5.0|HH|||F||||||||||||CHG Val Fictif",
    "NTE|1|L|Téléphoné au Dr MARTIN",
    "NTE|2|L|à 10h15",
    "OBX|2|SN|CRP^CRP^L||<^5|mg/L|<5||||F",
    "OBX|3|NM|NA^Sodium^L||128|mmol/L|136-145|||||F",
    "OBR|2||R1|NFS^Numération|||202401020815",
    "OBX|1|NM|718-7^Hémoglobine^LN||10.2|g/dL|12-16|L|||F",
    "OBX|2|CE|HBS^Ag HBs^L||NEG^Négatif^L||||||F",
    "OBX|3|TX|COM^Commentaire^L||Frottis: ligne 1~ligne 2||||||F",
    "OBX|4|ST|AGG^Agglutinats^L||présence \\H\\importante\\N\\|||W|||P",
]
PATIENT_2 = [
    "PID|2||P456^^^CHG^PI||EXEMPLE^Noël||19800101|M",
    "OBR|1||R2|GLY^Glycémie|||20240102",
    "OBX|1|NM|GLY^Glycémie^L||25.1|mmol/L|3.9-5.5|>|||F",
]


def message(*segment_lists, msh=MSH) -> str:
    return "\r".join([msh] + [s for segments in segment_lists for s in segments]) + "\r"


def test_one_message_with_two_obr_groups_makes_one_report_per_patient():
    report, = parse(message(PATIENT_1).encode())
    assert report.patient == Patient(last_name="FICTIF", first_name="Zoé", birth_date=date(1965, 4, 12),
                                     ssn="265040012345678", sex="F", patient_id="P123", address1="12 rue des Essais",
                                     address2="Bât B", postcode="00100", town="VILLE-FICTIVE")
    assert report.lab == Lab("CHG-BIOLOGIE", "CHG Val Fictif")
    assert report.prescriber == Prescriber("10000000001", "MARTIN", "Claire")
    assert (report.reference, report.collected, report.status) == ("R1", datetime(2024, 1, 2, 8, 15), "F")
    assert report.comments == ("Prélèvement à jeun",)
    assert [o.panel for o in report.observations] == ["Ionogramme"] * 3 + ["Numération"] * 4
    assert report.format == "hl7"


def test_obx_value_types_units_ranges_and_flags():
    k, crp, na, hb, hbs, com, agg = parse(message(PATIENT_1).encode())[0].observations
    assert (k.code, k.loinc, k.label, k.value, k.unit, k.reference) == \
        ("K", "2823-3", "Potassium", "6.8", "mmol/L", ReferenceRange("3.5", "5.0"))
    assert (k.flag, k.flag_source, k.comment) == (Flag.CRITICAL_HIGH, "lab", "Téléphoné au Dr MARTIN\nà 10h15")
    assert (crp.value_type, crp.value, crp.flag) == ("SN", "<5", Flag.NORMAL)
    assert (na.flag, na.flag_source) == (Flag.LOW, "pli")
    assert (hb.code, hb.loinc, hb.flag) == ("718-7", "718-7", Flag.LOW)   # only a LOINC code: it is the code
    assert (hbs.value_type, hbs.value, hbs.interpreted) == ("CE", "Négatif", False)
    assert com.value == "Frottis: ligne 1\nligne 2"
    assert (agg.value, agg.flag, agg.lab_flag, agg.status) == ("présence importante", Flag.UNKNOWN, "W", "P")


def test_several_patients_in_one_message_and_several_messages_in_a_batch():
    one_message = message(PATIENT_1, PATIENT_2)
    assert [r.patient.last_name for r in parse(one_message.encode())] == ["FICTIF", "EXEMPLE"]
    batch = "FHS|^~\\&\rBHS|^~\\&\r" + message(PATIENT_1) + message(PATIENT_2, msh=MSH.replace("MSG1", "MSG2")) \
        + "BTS|2\rFTS|1\r"
    reports = parse(batch.encode())
    assert [r.patient.last_name for r in reports] == ["FICTIF", "EXEMPLE"]
    assert reports[1].observations[0].flag is Flag.ABOVE_SCALE


@pytest.mark.parametrize("newline", ["\r", "\n", "\r\n"])
def test_segment_ends_and_mllp_frames_are_accepted(newline):
    data = ("\x0b" + message(PATIENT_2).replace("\r", newline) + "\x1c\r").encode()
    assert parse(data)[0].observations[0].value == "25.1"


@pytest.mark.parametrize("newline", ["\r", "\n", "\r\n"])
def test_a_control_character_after_an_mllp_frame_byte_is_shown_damaged_with_its_line(newline):
    data = ("\x0b" + message(PATIENT_2).replace("25.1", "25\x01").replace("\r", newline)).encode()
    report, = parse(data)
    assert report.observations[0].value == "25\ufffd"
    assert any("line 4" in w and "damaged" in w for w in report.warnings)


def test_iso_8859_1_messages_read_the_same():
    text = message(PATIENT_2, msh=MSH.replace("UNICODE UTF-8", "8859/1"))
    assert parse(text.encode("latin-1"))[0].patient.first_name == "Noël"


@pytest.mark.parametrize("escaped, text", [
    ("a\\F\\b", "a|b"), ("a\\S\\b", "a^b"), ("a\\T\\b", "a&b"), ("a\\R\\b", "a~b"), ("a\\E\\b", "a\\b"),
    ("\\XC3A9\\t\\XE9\\", "été"), ("x\\.br\\y", "x\ny"), ("\\H\\gras\\N\\", "gras"), ("a\\Zfoo\\b", "a\\Zfoo\\b"),
])
def test_escape_sequences(escaped, text):
    data = message(["PID|1||1||FICTIF^Zoé", "OBR|1", f"OBX|1|ST|C^L^L||{escaped}"]).encode()
    assert parse(data)[0].observations[0].value == text


def test_why_pli_unescapes_leaves_itself():
    # The `hl7` package reads \X..\ one character per byte and turns highlighting into "_":
    # a UTF-8 "é" would come out as "Ã©" and "\H\gras\N\" as "_gras_".
    parsed = hl7.parse(message(["PID|1||1||FICTIF^Zoé", "OBR|1", "OBX|1|ST|C^L^L||\\XC3A9\\ \\H\\gras\\N\\"]))
    assert parsed.segments("OBX")[0].extract_field(1, 5) == "Ã© _gras_"


def test_custom_separators_from_msh_are_honoured():
    text = "MSH#$*@!#LIS#LAB###2024##ORU$R01#1#P#2.5\rPID#1##1##FICTIF$Zoé\rOBR#1\rOBX#1#NM#K$Potassium$L##3.1#mmol/L#3.5-5.0#L\r"
    report, = parse(text.encode())
    assert (report.patient.first_name, report.observations[0].flag) == ("Zoé", Flag.LOW)


def test_parse_reports_detects_hl7():
    assert parse_reports(("\r\n" + message(PATIENT_2)).encode())[0].patient.last_name == "EXEMPLE"


@pytest.mark.parametrize("text, line, reason", [
    (message(PATIENT_2).replace("ORU^R01", "ADT^A01"), 1, "not a lab result message"),
    ("PID|1\r" + message(PATIENT_2), 1, "before the first MSH"),
    (message([]), 1, "without a PID"),
    ("MSH|\r", 1, "MSH"),
])
def test_malformed_messages_name_the_line_and_the_reason(text, line, reason):
    with pytest.raises(MalformedReport) as error:
        parse(text.encode())
    assert error.value.line == line and reason in error.value.reason, error.value


def test_results_before_any_pid_are_attached_to_nobody():
    report, = parse(message(["OBR|1", "OBX|1|NM|K^K^L||1"]).encode())
    assert report.patient_uncertain and report.patient == Patient() and report.observations[0].value == "1"
    assert any("line 2" in w and "before any PID" in w for w in report.warnings)


def test_a_result_before_any_obr_is_read():
    report, = parse(message(["PID|1||1||FICTIF", "OBX|1|NM|K^K^L||1"]).encode())
    assert [(o.code, o.value, o.panel) for o in report.observations] == [("K", "1", "")]


def test_a_segment_with_another_separator_is_named_and_the_report_marked_incomplete():
    report, = parse(message(["PID|1||1||FICTIF", "OBR|1", "OBX;1;NM;K;;1", "OBX|2|NM|NA^Na^L||140"]).encode())
    assert report.incomplete and [o.code for o in report.observations] == ["NA"]
    assert any("line 4" in w and "wrong separator" in w for w in report.warnings)


@pytest.mark.parametrize("segments, field, warning", [
    (["PID|1||1||FICTIF||196203520"], "birth", "line 2: birth date (PID-7)"),
    (["PID|1||1||FICTIF||19650412", "OBR|1||R||||2024022X"], "collected", "line 3: specimen date (OBR-7)"),
])
def test_a_bad_field_degrades_that_field_only(segments, field, warning):
    report, = parse(message(segments + ["OBR|2", "OBX|1|NM|K^K^L||4.1|mmol/L|3.5-5.0"]).encode())
    assert any(w.startswith(warning) for w in report.warnings)
    assert report.patient.last_name == "FICTIF" and report.observations[0].value == "4.1"
    if field == "birth":
        assert (report.patient.birth_date, report.patient.birth_date_text) == (None, "196203520")
    else:
        assert (report.collected, report.collected_text) == (None, "2024022X")


def test_a_result_without_a_test_name_is_kept_and_named():
    report, = parse(message(["PID|1||1||FICTIF", "OBR|1", "OBX|1|NM|||1"]).encode())
    assert (report.observations[0].label, report.observations[0].value) == ("(no test name)", "1")
    assert any("line 4" in w for w in report.warnings)


def test_segments_wrapped_onto_continuation_lines_are_joined():
    wrapped = "\r\n".join(s[i:i + 40] for s in [MSH] + PATIENT_2 for i in range(0, len(s), 40)) + "\r\n"
    assert parse(wrapped.encode()) == parse(message(PATIENT_2).encode())


def test_timestamps_keep_their_own_utc_offset():
    report, = parse(message(["PID|1||1||FICTIF", "OBR|1||R||||200808151030-0700", "OBX|1|NM|K^K^L||4"]).encode())
    assert report.collected == datetime(2008, 8, 15, 10, 30, tzinfo=timezone(-timedelta(hours=7)))
    assert report.collected.utcoffset() == -timedelta(hours=7)


@pytest.mark.parametrize("value, shown, flag", [("=^128", "128", Flag.LOW), ("<^1", "<1", Flag.LOW),
                                                (">^1000", ">1000", Flag.HIGH), ("<=^0.5", "<=0.5", Flag.LOW),
                                                ("^182", "182", Flag.NORMAL)])
def test_structured_numbers(value, shown, flag):
    report, = parse(message(["PID|1||1||FICTIF", "OBR|1", f"OBX|1|SN|X^X^L||{value}|u|150 - 400 u"]).encode())
    assert (report.observations[0].value, report.observations[0].flag) == (shown, flag)


def test_units_coded_in_ucum_keep_their_code():
    report, = parse(message(["PID|1||1||FICTIF", "OBR|1",
                             "OBX|1|NM|K^K^L||5.4|mmol/L^millimole per liter^UCUM|3.5 - 5.0 mmol/L",
                             "OBX|2|NM|NA^Na^L||140|mEq/L^^L"]).encode())
    k, na = report.observations
    assert (k.unit, k.unit_code, k.unit_system, k.flag) == ("mmol/L", "mmol/L", "http://unitsofmeasure.org", Flag.HIGH)
    assert (na.unit, na.unit_code, na.unit_system) == ("mEq/L", "", "")


INS_PID = ("PID|1||248120000123456^^^ASIP-SANTE-INS-NIR&1.2.250.1.213.1.4.8&ISO^INS~P1^^^LAB^PI||FICTIF^Camille"
           "||19481203|F||||||||||||||||||||||||{status}")


@pytest.mark.parametrize("status, oid", [("VALI", "1.2.250.1.213.1.4.8"), ("PROV", ""), ("", "")])
def test_an_ins_is_qualified_only_when_the_message_says_so(status, oid):
    report, = parse(message([INS_PID.format(status=status), "OBR|1", "OBX|1|NM|K^K^L||4"]).encode())
    assert (report.patient.ssn, report.patient.ins_oid, report.patient.patient_id) == ("248120000123456", oid, "P1")


def test_a_susceptibility_obr_is_linked_to_its_organism():
    report, = parse(message(["PID|1||1||FICTIF", "OBR|1|P1|F1|CULT^Culture",
                             "OBX|1|CWE|ORG^Organism^L|1|EC^Escherichia coli^L",
                             "OBX|2|CWE|ORG^Organism^L|2|KP^Klebsiella pneumoniae^L",
                             "OBR|2|P1|F2|SUSC^ATB|||||||||||||||||||||ORG&Organism&L^2^Klebsiella pneumoniae|||P1^F1",
                             "OBX|1|SN|AMX^Amoxicilline^L||>^16|mg/L||R"]).encode())
    organism, = report.organisms
    assert (organism.name, organism.observation, organism.resistant) == ("Klebsiella pneumoniae", 1, True)
    assert [(s.antibiotic, s.interpretation, s.value) for s in organism.susceptibilities] == \
        [("Amoxicilline", "R", ">16")]


def test_without_links_an_antibiogram_goes_under_the_organism_named_before_it():
    report, = parse(message(["PID|1||1||FICTIF", "OBR|1|P1|F1|CULT^Culture",
                             "OBX|1|CWE|ORG^Organism identified^L|1|EC^Escherichia coli^L",
                             "OBX|2|ST|AMX^Amoxicilline^L||S", "OBX|3|ST|CIP^Ciprofloxacine^L||R"]).encode())
    organism, = report.organisms
    assert (organism.name, [s.interpretation for s in organism.susceptibilities]) == ("Escherichia coli", ["S", "R"])


def test_a_corrected_result_replaces_the_one_before_it():
    report, = parse(message(["PID|1||1||FICTIF", "OBR|1", "OBX|1|NM|K^K^L||7.1|mmol/L|3.5-5.0|HH|||F",
                             "OBX|2|NM|K^K^L||4.4|mmol/L|3.5-5.0|N|||C", "OBX|3|NM|B^B^L||||||||X"]).encode())
    old, new, bili = report.observations
    assert old.superseded and not new.superseded and [o.value for o in report.current] == ["4.4", ""]
    assert (report.severity, new.state, bili.state) == ("normal", "corrected", "not done")


def test_a_file_cut_in_its_last_result_does_not_show_the_cut_value():
    text = message(["PID|1||1||FICTIF", "OBR|1", "OBX|1|NM|NA^Na^L||140|mmol/L|136-145||||F",
                    "OBX|2|NM|CREA^Créatinine^L||18"]).rstrip("\r")
    report, = parse(text.encode())
    assert [o.code for o in report.observations] == ["NA"] and report.incomplete


def test_round_trip_through_pli_s_own_writer():
    reports = parse(message(PATIENT_1, PATIENT_2).encode())
    for encoding in ("utf-8", "iso-8859-1"):
        assert parse(dumps(reports, encoding)) == reports


def test_a_starred_hprim_value_is_written_as_text_and_read_back_with_its_flag():
    hprim = ("BIOLOGIE\r\nFICTIF\r\nZoé\r\n\r\n\r\n00100 VILLE\r\n12/04/1965\r\n\r\nR1\r\n04/03/2024\r\n"
             "LABO\r\n100\r\n****LAB****\r\nRES|Plaquettes|PLAQ|N|*141000*|/mm3|150000|400000||F|\r\n****FIN****\r\n")
    reports = parse_reports(hprim.encode("cp1252"))
    written = dumps(reports)
    assert b"|ST|PLAQ^Plaquettes^L||*141000*|" in written   # "141000*" is no HL7 NM
    platelets, = parse(written)[0].observations
    assert (platelets.value, platelets.flag.value, platelets.severity) == ("*141000*", "L", "abnormal")


def _hl7_tree(node, depth):
    """python-hl7 leaves a level out when it has no separator: put it back."""
    if depth == 0:
        return str(node)
    children = [node] if isinstance(node, str) else list(node)
    return [_hl7_tree(child, depth - 1) for child in children]


def test_pli_splits_every_field_exactly_as_the_hl7_package_does():
    from pli.core.lab.generator import generate
    from pli.core.lab.hl7v2 import _Reader

    texts = [message(PATIENT_1, PATIENT_2)] + [m.payload.decode(m.encoding.replace("iso-8859-1", "cp1252"))
                                              for m in generate(30, seed=17) if m.format == "hl7"]
    reader = _Reader("|", "~", "^", "&", "\\")
    compared = 0
    for text in texts:
        for one in hl7.split_file(text):
            parsed = hl7.parse(one)
            for segment, raw in zip(parsed, one.strip("\r").split("\r")):
                fields = reader.fields(raw)
                assert len(fields) == len(segment)
                for index in range(3 if fields[0] == "MSH" else 1, len(fields)):
                    assert reader.reps(fields, index) == _hl7_tree(segment[index], 3)
                    compared += 1
    assert compared > 1000


@pytest.mark.parametrize("names, last, first", [
    ("^^^^^^L~TEMOIN^Zoé^^^^^D", "TEMOIN", "Zoé"),                  # the ELR guide's empty first repetition
    ("USAGE^Zoé^^^^^D~NAISSANCE^Zoé^^^^^L", "NAISSANCE", "Zoé"),    # the legal name wins wherever it stands
    ("FICTIF^Zoé", "FICTIF", "Zoé"),
])
def test_the_patient_name_is_the_legal_name_or_the_first_repetition_that_has_one(names, last, first):
    pid = f"PID|1||P1^^^LABO^PI||{names}||19650412|F"
    report, = parse(message([pid, "OBR|1||R1|GLY", "OBX|1|NM|GLY||5.1|mmol/L|3.9-5.5|||F"]).encode())
    assert (report.patient.last_name, report.patient.first_name) == (last, first)
    assert not report.patient_uncertain
