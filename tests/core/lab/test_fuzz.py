"""Any bytes at all: parse_reports returns reports or raises MalformedReport, never anything else."""
from hypothesis import example, given, settings, strategies as st

from pli.core.lab import MalformedReport, parse_reports
from pli.core.lab.generator import generate

SAMPLES = [m.payload for m in generate(12, seed=99)]


def survives(data: bytes) -> None:
    try:
        reports = parse_reports(data)
    except MalformedReport as error:
        assert error.line >= 0 and error.reason
        assert str(error).startswith("malformed ")
        return
    assert reports
    for report in reports:   # what came out must be usable all the way
        report.summary(), report.severity, report.patient.key
        for observation in report.observations:
            observation.flag, observation.interpreted, str(observation.reference)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
@example(b"MSH|")
@example(b"MSH|^~\\&\rPID|1\rOBR|1\rOBX|1|SN|K^K^L||^\r")
@example(b"****FIN****")
@example(b"\xff\xfe\x00")
@example(b"MSH" + bytes([0x80]) + b"^~\\&")
def test_junk_bytes(data):
    survives(data)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(SAMPLES), st.data())
def test_truncations(sample, data):
    cut = data.draw(st.integers(0, len(sample)))
    survives(sample[:cut])


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(SAMPLES), st.data())
def test_damaged_bytes(sample, data):
    damaged = bytearray(sample)
    for _ in range(data.draw(st.integers(1, 5))):
        damaged[data.draw(st.integers(0, len(damaged) - 1))] = data.draw(st.integers(0, 255))
    survives(bytes(damaged))


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(SAMPLES), st.data())
def test_lines_deleted_or_separators_swapped(sample, data):
    lines = sample.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
    index = data.draw(st.integers(0, len(lines) - 1))
    action = data.draw(st.sampled_from(["delete", "swap", "duplicate"]))
    if action == "delete":
        del lines[index]
    elif action == "swap":
        lines[index] = lines[index].replace(b"|", data.draw(st.sampled_from([b";", b"^", b"\t", b""])))
    else:
        lines.insert(index, lines[index])
    survives(b"\r".join(lines) if sample.startswith(b"MSH") else b"\n".join(lines))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("MSH|^~\\&\rPIDOBXRNTE0123.<>-,:LHA*FINLAB\n")), max_size=400))
def test_structured_junk(text):
    survives(text.encode())
