"""Lab reports known by their content: HPRIM headers and HL7 result messages are found, letters never are."""
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pli.core.lab.sniff import HEAD_BYTES, sniff, top_kind

from mail_bodies import HEADER, HL7_BODY, LAB, LETTERS, TEXT, encode, hprim_body


@pytest.mark.parametrize("encoding, newline", [("iso-8859-1", "\r\n"), ("utf-8", "\n"), ("utf-8-sig", "\r\n"),
                                               ("cp1252", "\r"), ("mac-roman", "\r"), ("utf-16", "\r\n")])
def test_an_hprim_report_is_found_in_every_encoding_and_line_end(encoding, newline):
    assert sniff(encode(hprim_body(), encoding, newline)) == "hprim"


@pytest.mark.parametrize("lines", [
    pytest.param(hprim_body(blank_13th=True), id="blank 13th line"),
    pytest.param([""] * 2 + hprim_body(), id="blank lines before the header"),
    pytest.param(hprim_body(lab=[], end=[]), id="free text only, both dates, no marker"),
    pytest.param(hprim_body(HEADER[:9] + [""] + HEADER[10:], lab=[]), id="birth date and ****FIN****"),
    pytest.param(hprim_body(HEADER[:6] + ["1965-04-12"] + HEADER[7:9] + ["04/03/24 08h30"] + HEADER[10:]),
                 id="ISO and two-digit-year dates, a time"),
    pytest.param(hprim_body(HEADER[:9] + ["M-5128-04/03/24"] + HEADER[10:]), id="a lab's prefix before the date"),
    pytest.param(hprim_body(HEADER[:8], text=[]), id="a short header ended by ****LAB****"),
    pytest.param(hprim_body(HEADER[:6] + ["31/02/1965"] + HEADER[7:]), id="an impossible birth date, a RES block"),
    pytest.param(hprim_body(HEADER[:2] + ["Zo&eacute;"] + HEADER[3:]), id="HTML entities"),
    pytest.param(hprim_body(HEADER[:1] + ["LEFÈVRE-D'ARC (ÉP. MARTIN)"] + HEADER[2:]), id="a compound name"),
    pytest.param(hprim_body(end=["****FIN****"]) + hprim_body(), id="two reports"),
    pytest.param(LAB + ["****FIN****"] + hprim_body(), id="results before any header"),
    pytest.param(["Bonjour,", "Veuillez trouver ci-dessous les résultats de votre patiente.", ""] + hprim_body(),
                 id="a lab's greeting above the header"),
    pytest.param(hprim_body(HEADER[:3] + HEADER[5:]), id="both address lines left out"),
    pytest.param(hprim_body(HEADER[:4] + HEADER[5:], lab=[]), id="one address line left out, no LAB block"),
    pytest.param(hprim_body(HEADER[:2] + ["Z."] + HEADER[3:]), id="a first name as an initial"),
    pytest.param(hprim_body([""] + HEADER[1:]), id="line 1 (the patient code) empty"),
])
def test_hprim_header_variants_labs_send_are_found(lines):
    assert sniff(encode(lines)) == "hprim"


def test_a_name_in_an_encoding_the_head_was_not_read_in_is_still_a_name():
    """"Anaïs" written in MacRoman (ï is 0x95) reads "Ana•s" in Windows-1252."""
    assert sniff(encode(hprim_body(HEADER[:2] + ["Anaïs"] + HEADER[3:]), "mac-roman")) == "hprim"


def test_a_body_whose_every_line_ends_cr_cr_lf_is_found():
    """A CRLF report copied once more in text mode: read as CR then CRLF, each line had a blank after it."""
    assert sniff(encode(hprim_body(), "cp1252", "\r\r\n")) == "hprim"


def test_a_letter_after_a_blank_line_is_still_no_report():
    """The empty-line-1 reading is the same test one line up: a letter under a blank line fails it too."""
    assert all(sniff(("\n" + letter).encode()) is None for letter in LETTERS.values())


@pytest.mark.parametrize("data", [
    pytest.param(HL7_BODY, id="ORU, CR segments"),
    pytest.param(HL7_BODY.replace(b"\r", b"\n"), id="LF segments"),
    pytest.param(b"\x0b" + HL7_BODY + b"\x1c\r", id="MLLP frame bytes"),
    pytest.param(b"FHS|^~\\&|LABO\rBHS|^~\\&|LABO\r" + HL7_BODY, id="batch"),
    pytest.param(b"\xef\xbb\xbf" + HL7_BODY.replace(b"ORU^R01", b"OUL^R22"), id="BOM, OUL"),
])
def test_hl7_result_messages_are_found(data):
    assert sniff(data) == "hl7"


@pytest.mark.parametrize("data, kind", [
    (b"H|~^\\&|R.HPR||LAB01~Labo||ORU|||CAB||P|H2.2|202403151200\rP|1|||FICTIF~Zoe\rL|1\r", "hprim"),
    (b"H|\\^&~|R.hpr||LAB\\Labo||ORU|||CAB||P|H2.0|202403151200\r\n", "hprim"),
    (b"H|~^\\&|R.HPR||LAB01~Labo||ADM|||CAB||P|H2.2|202403151200\rP|1\r", None),
    (b"H|ello, voici les r\xe9sultats|\n", None),
    # The type one field late, as the HAPI starter's HPRIM test file has it (lab-wild h39): read as a file,
    # it was not found in a mail body.
    (b"H|^~\\&|||LABSYS^LAB|||ORU|||SITE01^HOSPITAL||P|H2.1^C|20260128121030\nP|0001\nL|1\n", "hprim"),
    (b"H|^~\\&|||LABSYS^LAB|||ADM|||SITE01^HOSPITAL||P|H2.1^C|20260128121030\nP|0001\nL|1\n", None),
])
def test_hprim_sante_result_files_are_found_by_their_header_record(data, kind):
    assert sniff(data) == kind


@pytest.mark.parametrize("name", sorted(LETTERS))
@pytest.mark.parametrize("encoding", ["utf-8", "cp1252"])
def test_letters_replies_forwards_and_signatures_are_not_reports(name, encoding):
    assert sniff(LETTERS[name].encode(encoding)) is None


@pytest.mark.parametrize("data", [
    pytest.param(HL7_BODY.replace(b"ORU^R01", b"ADT^A01"), id="an HL7 message that is no result"),
    pytest.param(b"MSH est le sigle de la maison de sant\xe9.\n", id="a letter starting with MSH"),
    pytest.param(encode(hprim_body(HEADER[:9] + [""] + HEADER[10:], lab=[], end=[])),
                 id="a header shape with one date and no marker"),
    pytest.param(encode(HEADER[:5] + ["****FIN****"]), id="five header lines"),
    pytest.param(encode(["Bonjour,", ""] + hprim_body(HEADER[:9] + [""] + HEADER[10:], lab=[])),
                 id="under a greeting, a header with one date only"),
    pytest.param(encode(["Salut Hugo,", "je te transfère les résultats de Mme Fictif pour avis.", ""] + hprim_body()),
                 id="a colleague forwarding a report in the text"),
    pytest.param(encode(["Pour avis.", "", "-------- Message transféré --------", "De : Labo", ""] + hprim_body()),
                 id="a forward's header lines above the report"),
    pytest.param(encode(["Merci pour ces résultats", "je te transmets celui de Mme Fictif pour avis aujourd'hui",
                         *HEADER[2:6], "12 rue des Essais", *HEADER[7:]] + LAB), id="a sentence on the name line"),
    pytest.param(b"", id="nothing"),
    pytest.param(b"\x00\x01\x02" * 500, id="binary"),
])
def test_texts_that_only_look_alike_are_not_reports(data):
    assert sniff(data) is None


_CPYTHON_MAIL = Path(__import__("email").__file__).parent.parent / "test" / "test_email" / "data"


@pytest.mark.skipif(not _CPYTHON_MAIL.is_dir(), reason="CPython's email test messages are not installed")
def test_no_message_of_cpythons_email_test_corpus_is_a_report():
    """Outside material: the messages CPython tests its email package with (Lib/test/test_email/data,
    PSF licence), read in place.  Every text part of them is a letter, a notice or junk mail."""
    import email
    import email.policy

    looked_at = 0
    for path in sorted(_CPYTHON_MAIL.glob("msg_*.txt")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.compat32)
        for part in message.walk():
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                looked_at += 1
                assert sniff(payload) is None, path.name
    assert looked_at > 40


_LINES = st.sampled_from(HEADER + LAB + TEXT + ["", "****FIN****", "RES|X|X|N|1|||||", "Bonjour,", "> DUPONT",
                                                "12/04/1965", "1965-04-12", "DUPONT", "a" * 90])


@given(st.lists(_LINES, max_size=30), st.sampled_from(["\n", "\r\n", "\r"]))
def test_the_head_alone_never_sets_aside_a_report(lines, newline):
    """The importer looks at a part's first bytes before decoding all of it: whatever those bytes
    set aside, sniffing the whole part would have set aside too."""
    data = encode(lines, "utf-8", newline)
    if top_kind(data[:HEAD_BYTES]) is None:
        assert sniff(data) is None
    assert sniff(data) in (None, "hprim", "hl7")
