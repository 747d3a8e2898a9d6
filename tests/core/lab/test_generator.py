"""The traffic generator: what it generates is exactly what pli's parsers read back; seeded, realistic."""
from collections import Counter

from hypothesis import given, settings, strategies as st

from pli.core.lab import parse_reports, reports_in_mail
from pli.core.lab.generator import ENCODINGS, FORMATS, Generator, generate


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32), fmt=st.sampled_from(FORMATS), encoding=st.sampled_from(ENCODINGS))
def test_generated_reports_parse_back_to_exactly_what_was_generated(seed, fmt, encoding):
    for message in Generator(seed, patients=20, formats=[fmt], encodings=[encoding]).messages(8):
        assert (message.format, message.encoding) == (fmt, encoding)
        assert tuple(parse_reports(message.payload)) == message.reports
        assert tuple(reports_in_mail(message.message)) == message.reports


def test_the_encoding_is_really_the_one_announced():
    for message in generate(60, seed=5):
        text = message.payload.decode(message.encoding)
        if message.encoding == "iso-8859-1":
            assert any(c in text for c in "éèàçëïô"), "an ISO-8859-1 sample should hold accents"
            assert b"\xc3" not in message.payload  # no UTF-8 sequences


def test_same_seed_same_bytes_other_seed_other_bytes():
    first = [m.inner_bytes for m in generate(30, seed=11)]
    assert first == [m.inner_bytes for m in generate(30, seed=11)]
    assert first != [m.inner_bytes for m in generate(30, seed=12)]


def test_the_inner_mail_is_from_the_lab_to_the_prescriber_with_the_attachment():
    message = generate(1, seed=3)[0]
    mail = message.message
    assert message.lab.address in mail["From"] and message.practitioner.address in mail["To"]
    assert mail["Subject"].startswith("Résultats ") and message.reports[0].patient.display in mail["Subject"]
    body, attachment = [p for p in mail.walk() if not p.is_multipart()]
    assert "résultats" in body.get_content()
    assert attachment.get_filename() == message.filename
    assert attachment.get_payload(decode=True) == message.payload


def test_traffic_looks_like_a_practice_s_week():
    messages = generate(400, seed=1, patients=40)
    reports = [r for m in messages for r in m.reports]
    severities = Counter(r.severity for r in reports)
    assert severities["critical"] > 0 and severities["normal"] > 0 and severities["abnormal"] > 0
    assert severities["critical"] < len(reports) * 0.2
    assert Counter(m.format for m in messages).keys() == {"hprim", "hl7"}
    assert Counter(m.encoding for m in messages).keys() == {"iso-8859-1", "utf-8"}
    assert any(len(m.reports) > 1 for m in messages), "some files hold several patients"
    flags = Counter(o.flag_source for r in reports for o in r.observations if o.severity == "abnormal")
    assert flags["lab"] and flags["pli"], "some labs flag, others leave it to pli"
    # Series: patients come back over months.
    visits = Counter(r.patient.key for r in reports)
    assert max(visits.values()) >= 5
    dates = [r.collected for r in reports if r.patient.key == visits.most_common(1)[0][0]]
    assert (max(dates) - min(dates)).days > 90
    assert [m.date for m in messages] == sorted(m.date for m in messages)


def test_patients_are_clearly_invented():
    from pli.core.lab.generator import _LAST
    for message in generate(100, seed=2):
        for report in message.reports:
            patient = report.patient
            assert patient.last_name.split("-")[0] in _LAST
            assert not patient.ssn or patient.ssn[5:7] == "00"   # département 00 does not exist
