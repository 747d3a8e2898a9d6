"""The byte-level MIME scan reads every message it accepts exactly as the `email` parser (compat32) does."""
import email
import email.policy
import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pli.core.crypto.mime import ENVELOPE_TYPE, outer_mail
from pli.core.lab.generator import Generator
from pli.core.mimescan import leaf_parts


def parser_view(raw: bytes) -> list[tuple]:
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    return [(p.get_content_type(), p.get_filename(), p.get_payload(decode=True))
            for p in msg.walk() if not p.is_multipart()]


def scan_view(raw: bytes) -> list[tuple] | None:
    parts = leaf_parts(raw)
    if parts is None:
        return None
    decoded = [p.decoded() for p in parts]
    if None in decoded:
        return None
    return [(p.content_type, p.filename, d) for p, d in zip(parts, decoded)]


def assert_same_or_unsure(raw: bytes) -> bool:
    """True when the scan took the message (and then read it as the parser does)."""
    scanned = scan_view(raw)
    if scanned is not None:
        assert scanned == parser_view(raw)
    return scanned is not None


def lab_mails(count: int = 40) -> list[bytes]:
    return [m.inner_bytes for m in Generator(7, patients=20).messages(count)]


def test_generated_lab_mails_take_the_scan_and_read_the_same():
    for raw in lab_mails():
        assert assert_same_or_unsure(raw), raw[:300]


def test_pli_outer_mail_takes_the_scan_and_reads_the_same():
    for size in (0, 1, 57, 3000, 100_000):
        envelope = os.urandom(size)
        raw = outer_mail(envelope, "Lab Ä", "lab@example.org", ["a@example.org", "b@example.org"],
                         1_700_000_000, os.urandom(16).hex())
        assert assert_same_or_unsure(raw)
        assert [p.decoded() for p in leaf_parts(raw) if p.content_type == ENVELOPE_TYPE] == [envelope]


def test_crlf_line_ends_read_the_same():
    for raw in lab_mails(10):
        assert assert_same_or_unsure(raw.replace(b"\n", b"\r\n"))


NESTED = b"""\
From: a@example.org
Content-Type: multipart/mixed;
 boundary="outer"

preamble text
--outer
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

caf=C3=A9 --outer is not a delimiter mid-line
--inner\t
Content-Type: text/html

<p>hi</p>
--inner--
inner epilogue
--outer
Content-Type: application/octet-stream; name="res.HL7"
Content-Disposition: attachment; filename=" spaced.hl7 "
Content-Transfer-Encoding: base64

TVNIfF5+XCZ8
--outer
Content-Type: text/x-hprim

8bit body \xe9\xe8 kept as bytes

--outer--
epilogue
"""


def test_nested_multipart_with_preamble_epilogue_and_odd_spacing_reads_the_same():
    assert assert_same_or_unsure(NESTED)
    assert [p.content_type for p in leaf_parts(NESTED)] == ["text/plain", "text/html", "application/octet-stream",
                                                          "text/x-hprim"]


UNSURE = {
    "no closing delimiter": b"Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n",
    "attached message": b"Content-Type: message/rfc822\n\nSubject: x\n\nbody\n",
    "rfc 2231 filename": b"Content-Type: text/plain; name*=utf-8''r%C3%A9s.hl7\n\nx\n",
    "encoded-word filename": b"Content-Type: text/plain; name=\"=?utf-8?q?r=C3=A9s.hl7?=\"\n\nx\n",
    "mbox From line": b"From someone Mon Jan  1 00:00:00 2024\nSubject: x\n\nbody\n",
    "lone CR": b"Subject: x\rTo: y\n\nbody\n",
    "line that is no field": b"Subject: x\nnot a header\n\nbody\n",
    "multipart without boundary": b"Content-Type: multipart/mixed\n\nbody\n",
    "semicolon in quotes": b"Content-Type: multipart/mixed; boundary=\"a;b\"\n\n--a;b\n\nx\n--a;b--\n",
    "quote in the type": b'Content-Type: multipart/m"ixed; boundary="b"\n\n--b\n\nx\n--b--\n',
    "unknown encoding": b"Content-Transfer-Encoding: x-uuencode\n\nbody\n",
    "base64 needing the lenient decoder": b"Content-Transfer-Encoding: base64\n\nTVNI\nfF5\n",
}


def test_messages_the_scan_cannot_be_sure_of_go_to_the_parser():
    for name, raw in UNSURE.items():
        assert scan_view(raw) is None, name


def test_a_boundary_text_inside_a_base64_line_is_content():
    raw = (b"Content-Type: multipart/mixed; boundary=zz\n\n--zz\nContent-Transfer-Encoding: base64\n\n"
           b"QUJD--zz\n--zz--\n")
    assert scan_view(raw) is None or assert_same_or_unsure(raw)
    assert len(leaf_parts(raw)) == 1


_PIECES = [b"\n", b"\r\n", b" ", b"\t", b"--", b"--b", b"--b--", b";", b"=", b'"', b":", b"Content-Type: ",
           b"multipart/mixed; boundary=b", b"text/plain", b"name=x.hl7", b"Content-Transfer-Encoding: ",
           b"base64", b"quoted-printable", b"QUJD", b"=41", b"From ", b"\r", b"\xe9", b"message/rfc822",
           b"Content-Disposition: attachment; filename=", b"multipart/alternative; boundary=c", b"--c", b"--c--",
           b"boundary=", b'boundary="', b"--=_pli-lab-part", b"--=_pli-lab-part--", b"\n\n", b"\n ", b"<", b"'"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_PIECES), max_size=40))
def test_random_mime_like_bytes_never_read_differently(pieces):
    assert_same_or_unsure(b"".join(pieces))


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 39), st.integers(0, 10_000), st.sampled_from(_PIECES + [b""]), st.integers(0, 3))
def test_mutated_lab_mails_never_read_differently(which, at, insert, cut):
    raw = _LAB[which]
    at %= len(raw) + 1
    assert_same_or_unsure(raw[:at] + insert + raw[at + cut:])


_LAB = lab_mails()


@given(st.binary(max_size=3000), st.sampled_from(["base64", "quoted-printable", "8bit"]),
       st.integers(min_value=1, max_value=4096))
def test_the_decoded_head_is_the_start_of_the_decoded_body(data, encoding, size):
    """What the importer sniffs of a text part before deciding to decode it whole."""
    import base64
    import quopri

    from pli.core.mimescan import Part

    body = {"base64": base64.encodebytes, "quoted-printable": lambda d: quopri.encodestring(d),
            "8bit": lambda d: d}[encoding](data)
    part = Part("text/plain", None, encoding, body)
    head, whole = part.decoded_head(size), part.decoded()
    assert whole.startswith(head) and len(head) <= size
    assert len(head) >= min(size, len(whole)) - 80  # a QP head stops at a line end (76 characters at most)
