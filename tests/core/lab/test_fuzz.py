"""Any bytes at all: each parser returns reports or raises MalformedReport, never anything else, never hangs.

Inputs: junk bytes, the generated corpus and the lab-wild corpus (tests/fixtures/lab-wild) truncated,
damaged, with lines deleted, duplicated, swapped or re-separated, text built from HPRIM's and HL7's
own pieces, and large files made of many of these.  Time is only a guard against hangs here (5 times
the target of a second per 100 KiB, with a floor for small inputs); speed itself is measured in
bench/test_bench_lab.py.
"""
import time
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings, strategies as st

from pli.core.lab import MalformedReport, hl7v2, hprim, parse_reports
from pli.core.lab.fhir import to_json
from pli.core.lab.generator import generate
from pli.core.lab.render import render_all

SAMPLES = [m.payload for m in generate(12, seed=99)]
WILD = sorted((Path(__file__).resolve().parents[2] / "fixtures" / "lab-wild").glob("[hl]*"))
WILD_SAMPLES = [p.read_bytes() for p in WILD]
PARSERS = {"any": parse_reports, "hprim": hprim.parse, "hl7": hl7v2.parse}
#: Seconds allowed per 100 KiB: 5 times the target (a second per 100 KiB), so only a hang fails.
SECONDS_PER_100_KIB = 5.0
FLOOR = 0.5


def survives(data: bytes, parser=parse_reports, use: bool = True) -> None:
    started = time.perf_counter()
    try:
        reports = parser(data)
    except MalformedReport as error:
        assert error.line >= 0 and error.reason
        assert str(error).startswith("malformed ")
        reports = None
    elapsed = time.perf_counter() - started
    assert elapsed < max(FLOOR, SECONDS_PER_100_KIB * len(data) / 102400), f"{elapsed:.2f} s for {len(data)} bytes"
    if reports is None:
        return
    assert reports
    for report in reports:   # what came out must be usable all the way
        report.summary(), report.severity, report.patient.key, report.entries()
        for observation in report.observations:
            observation.flag, observation.interpreted, str(observation.reference), observation.state
    if use:
        render_all(reports)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000), st.sampled_from(sorted(PARSERS)))
@example(b"MSH|", "any")
@example(b"MSH|^~\\&\rPID|1\rOBR|1\rOBX|1|SN|K^K^L||^\r", "any")
@example(b"****FIN****", "any")
@example(b"\xff\xfe\x00", "any")
@example(b"MSH" + bytes([0x80]) + b"^~\\&", "any")
@example(b"\xff\xfeM\x00S\x00H\x00|\x00", "hl7")
@example(b"RES|" + b"x" * 5000, "hprim")
def test_junk_bytes(data, parser):
    survives(data, PARSERS[parser])


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(SAMPLES + WILD_SAMPLES), st.data())
def test_truncations(sample, data):
    cut = data.draw(st.integers(0, len(sample)))
    survives(sample[:cut])


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(SAMPLES + WILD_SAMPLES), st.data())
def test_damaged_bytes(sample, data):
    damaged = bytearray(sample)
    for _ in range(data.draw(st.integers(1, 5))):
        damaged[data.draw(st.integers(0, len(damaged) - 1))] = data.draw(st.integers(0, 255))
    survives(bytes(damaged))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(SAMPLES + WILD_SAMPLES), st.data())
def test_lines_deleted_duplicated_moved_or_separators_swapped(sample, data):
    lines = sample.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(0, len(lines) - 1))
        action = data.draw(st.sampled_from(["delete", "swap", "duplicate", "move", "blank"]))
        if action == "delete" and len(lines) > 1:
            del lines[index]
        elif action == "swap":
            lines[index] = lines[index].replace(b"|", data.draw(st.sampled_from([b";", b"^", b"\t", b"", b"||"])))
        elif action == "duplicate":
            lines.insert(index, lines[index])
        elif action == "move":
            lines.insert(data.draw(st.integers(0, len(lines))), lines.pop(index))
        else:
            lines.insert(index, b"")
    survives(b"\r".join(lines) if sample.lstrip(b"\xef\xbb\xbf").startswith(b"MSH") else b"\r\n".join(lines))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(WILD_SAMPLES + SAMPLES), min_size=2, max_size=6))
def test_files_run_together(samples):
    # Reports one after the other with their end markers possibly lost: the boundaries must be found.
    survives(b"".join(s.replace(b"****FIN****", b"") for s in samples))


HPRIM_PIECES = ["BIOLOGIE", "FICTIF", "EXEMPLE", "Zoé", "", " ", "00100 VILLE-FICTIVE", "12/04/1965", "01/01/80",
                "2650400123456", "R1", "02/01/2024", "M-5128-23/10/06", "LABM01 Laboratoire", "10000000001",
                "****LAB****", " ****LAB**** ", "****FINLAB****", "****FIN****", "****FINFICHIER****", "TEX",
                "TEX|commentaire", "RES|Sodium|NA|N|140|mmol/l|136|145||F|", "RES||X|A",
                "RES|Potassium|K|N|6,8|mmol/l|3,5|5,0|HH|C|", "RES|Germe|G|A|Escherichia coli|||||F|",
                "RES|AMX|AMX|A|R|||||F|", "RES;a;b;N;1", "RES|" + "x" * 90, "suite de la ligne",
                "RES|Lympho|LY|N|33|%||||F|964|/mm3|1000|4000|", "Non réalisé", "&eacute;&lt;1"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(HPRIM_PIECES), max_size=80), st.sampled_from(["\r\n", "\n", "\r"]),
       st.sampled_from(["utf-8", "cp1252", "utf-16", "mac_roman"]))
def test_text_built_from_hprim_pieces(pieces, newline, encoding):
    survives(newline.join(pieces).encode(encoding, errors="replace"), hprim.parse)


HL7_PIECES = ["MSH|^~\\&|LIS|LAB^1.2.3^ISO|||202401021030||ORU^R01|1|P|2.5", "MSH|^~\\&|||||||ADT^A01", "FHS|^~\\&",
              "PID|1||P1^^^LAB^PI~2650400123456^^^INSEE^NH||FICTIF^Zoé||19650412|F", "PID|1||||||196203520",
              "OBR|1|P1|F1|CULT^Culture|||200808151030-0700", "OBR|2|P1|F2|S^S|||||||||||||||||||||O&O^1^E||P1^F1",
              "OBX|1|NM|K^K^L^2823-3^K^LN||6.8|mmol/L^^UCUM|3.5 - 5.0 mmol/L|HH|||F",
              "OBX|2|SN|X^X^L||=^128|u|[1-2]", "OBX|3|CWE|O^O^L|1|E^E^L", "OBX|4|ST|A^A^L||R|||S||||C",
              "OBX|5|NM|||", "NTE|1|L|note", "OBX;1;NM", "continued text", "PV1|1|O", "ZZZ|1"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(HL7_PIECES), max_size=60), st.sampled_from(["\r", "\n", "\r\n"]))
def test_text_built_from_hl7_pieces(pieces, newline):
    survives(newline.join(pieces).encode(), hl7v2.parse)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("MSH|^~\\&\rPIDOBXRNTE0123.<>-,:LHA*FINLAB\nTEX /é")), max_size=400))
def test_structured_junk(text):
    survives(text.encode())


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(WILD_SAMPLES + SAMPLES), st.integers(100, 300), st.data())
def test_large_files_are_read_in_time(sample, kib, data):
    # Many reports, some of them damaged: the time guard catches a parser gone quadratic.
    big = bytearray(sample * (kib * 1024 // len(sample) + 1))
    for _ in range(20):
        big[data.draw(st.integers(0, len(big) - 1))] = data.draw(st.sampled_from(b"|\r\n*XR0"))
    survives(bytes(big), use=False)


def test_pathological_shapes_are_read_in_time():
    header = ["BIOLOGIE", "FICTIF", "Zoé", "", "", "00100 VILLE", "12/04/1965", "2650400123456", "R", "02/01/2024",
              "L", "M", "****LAB****", "RES|Na|NA|N|140|mmol/l|136|145||F|", "****FINLAB****"]
    shapes = [
        header + ["EXEMPLE", "01/01/1980"] * 10000,                                       # names and dates, no results
        header[:13] + ["RES|Na|NA|N|140|mmol/l|136|145||F|", "EXEMPLE", "01/01/1980"] * 5000,  # many boundaries
        header[:13] + ["RES|Na|NA|N|140|mmol/l|136|145||C|"] * 20000,                  # many corrections
        (header + ["****FIN****"]) * 3000,                                               # one order, many reports
        header[:13] + ["RES|Germe|G|A|Escherichia coli", "RES|AMX|AMX|A|R", "TEX|x"] * 5000,   # many cultures
        header[:13] + ["RES|" + "x" * 100 + "|A|1"] + ["suite " * 20] * 5000,            # one line wrapped forever
    ]
    for lines in shapes:
        survives("\r\n".join(lines).encode(), use=False)
    segments = ["MSH|^~\\&|L|L|||2024||ORU^R01|1|P|2.5", "PID|1||1||FICTIF"]
    segments += ["OBR|1|P|F|C^C", "OBX|1|CWE|O^O^L|1|E^E^L", "OBR|2|P|F2|S^S|||||||||||||||||||||O&O^1^E||P^F",
                 "OBX|1|ST|A^A^L||R"] * 3000
    survives("\r".join(segments).encode(), use=False)
    # Messages whose every segment is followed by a continuation line.
    survives((("MSH|^~\\&|L|L|||2024||ORU^R01|1|P|2.5\rPID|1\r" + "x" * 80 + "\r") * 2000).encode(), use=False)


def test_every_wild_file_exports_and_renders():
    for sample in WILD_SAMPLES:
        reports = parse_reports(sample)
        to_json(reports), render_all(reports)
