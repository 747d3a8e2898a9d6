"""HL7 v2 ORU^R01: segments, value types, flags, escapes, several OBR groups and patients, batches."""
from datetime import date, datetime

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
def test_a_control_character_after_an_mllp_frame_byte_is_refused_with_its_line(newline):
    data = ("\x0b" + message(PATIENT_2).replace("25.1", "25\x01").replace("\r", newline)).encode()
    with pytest.raises(MalformedReport) as error:
        parse(data)
    assert error.value.line == 4 and "0x01" in error.value.reason


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
    (message(PATIENT_2).replace("ORU^R01", "ADT^A01"), 1, "ORU^R01"),
    ("PID|1\r" + message(PATIENT_2), 1, "before the first MSH"),
    (message(["OBR|1", "OBX|1|NM|K^K^L||1"]), 2, "before any PID"),
    (message(["PID|1||1||FICTIF", "OBX|1|NM|K^K^L||1"]), 3, "before any OBR"),
    (message(["PID|1||1||FICTIF", "OBR|1", "OBX;1;NM;K;;1"]), 4, "wrong separator"),
    (message(["PID|1||1||FICTIF||1965x"]), 2, "birth date"),
    (message(["PID|1||1||FICTIF", "OBR|1", "OBX|1|NM|||1"]), 4, "identifier"),
    (message([]), 1, "without a PID"),
    ("MSH|\r", 1, "MSH"),
])
def test_malformed_messages_name_the_line_and_the_reason(text, line, reason):
    with pytest.raises(MalformedReport) as error:
        parse(text.encode())
    assert error.value.line == line and reason in error.value.reason, error.value


def test_round_trip_through_pli_s_own_writer():
    reports = parse(message(PATIENT_1, PATIENT_2).encode())
    for encoding in ("utf-8", "iso-8859-1"):
        assert parse(dumps(reports, encoding)) == reports


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
