"""Lab file text: line ends of every kind, and control characters refused with their line."""
import pytest

from pli.core.lab.errors import MalformedReport
from pli.core.lab.text import (Decoded, continuation_glue, decode_report, mend_junk, refuse_junk, split_lines,
                               wrap_width)


@pytest.mark.parametrize("text, lines", [
    ("a\nb\n", ["a", "b"]), ("a\rb\r", ["a", "b"]), ("a\r\nb\r\n", ["a", "b"]),
    ("a\r\nb\nc\rd", ["a", "b", "c", "d"]), ("a\n\nb", ["a", "", "b"]), ("a\r\r\nb", ["a", "", "b"]),
    ("a\r\r\nb\r\r\nc\r\r\n", ["a", "b", "c"]),   # every line CR CR LF: a CRLF file copied in text mode
    ("a\r\n\r\n\r\n\r\nb\r\n\r\nc\r\n\r\n", ["a", "", "b", "c"]),   # every line end doubled on the way
    ("", [""]), ("\n", [""]), ("a", ["a"]),
])
def test_split_lines_reads_every_line_end(text, lines):
    assert split_lines(text) == lines


def test_refuse_junk_names_the_first_line_with_a_control_character():
    with pytest.raises(MalformedReport) as error:
        refuse_junk(["clean", "tab\tand form feed\f are text", "bell \x07 here", "nul \x00"], "HPRIM")
    assert error.value.line == 3 and "0x07" in error.value.reason


def test_refuse_junk_skips_the_characters_a_format_allows():
    refuse_junk(["\x0bMSH|x", "OBX|1\x1c"], "HL7", allowed="\x0b\x1c")
    with pytest.raises(MalformedReport) as error:
        refuse_junk(["\x0bMSH|x", "OBX|\x0b|\x1f"], "HL7", allowed="\x0b\x1c")
    assert error.value.line == 2 and "0x1f" in error.value.reason


FRENCH = "Résultats validés ; œdème, l’hémoglobine à contrôler. Créatinine élevée. NOËL"


@pytest.mark.parametrize("codec, name", [
    ("utf-8", "UTF-8"), ("utf-8-sig", "UTF-8 (with BOM)"), ("cp1252", "Windows-1252"), ("mac_roman", "MacRoman"),
    ("utf-16", "UTF-16 LE (with BOM)"), ("utf-16-be", "UTF-16 BE"), ("utf-16-le", "UTF-16 LE"),
])
def test_each_encoding_labs_send_is_read_and_named(codec, name):
    data = FRENCH.encode(codec)
    if codec == "utf-16":
        assert data[:2] == b"\xff\xfe"
    assert decode_report(data) == Decoded(FRENCH, name)


def test_iso_8859_1_reads_as_windows_1252_and_plain_ascii_says_so():
    assert decode_report("Glycémie élevée".encode("latin-1")) == Decoded("Glycémie élevée", "Windows-1252")
    assert decode_report(b"RES|Na|NA|N|140|") == Decoded("RES|Na|NA|N|140|", "ASCII")


def test_bytes_windows_1252_leaves_undefined_are_kept_visible():
    decoded = decode_report(b"caf\xe9 \x81")
    assert decoded.text == "café \x81" and decoded.encoding == "ISO-8859-1"


def test_stray_control_characters_are_mended_and_named_binary_files_refused():
    text = ["RES|Sodium|NA|N|140|mmol/l|136|145||F|"] * 3
    lines, warnings = mend_junk(text[:1] + ["RES|Potassium|K|N|4\x01|mmol/l|3,5|5,0||F|"] + text[1:], "HPRIM")
    assert lines[1] == "RES|Potassium|K|N|4\ufffd|mmol/l|3,5|5,0||F|" and lines[2] == text[1]
    assert warnings == ["line 2: damaged bytes (control characters) shown as \ufffd"]
    with pytest.raises(MalformedReport) as error:
        mend_junk(["\x00\x01\x02\x03\x04\x05" * 10], "HPRIM")
    assert "binary" in error.value.reason


@pytest.mark.parametrize("previous, width, glue", [
    ("x" * 80, 80, ""), ("x" * 76, 80, " "), ("x" * 75 + " ", 80, ""), ("x" * 40, 40, ""),
])
def test_continuation_glue(previous, width, glue):
    assert continuation_glue(previous, width) == glue


def test_wrap_width_is_a_fixed_cut_when_several_lines_share_the_longest_length():
    assert wrap_width(["x" * 64, "x" * 64, "x" * 10]) == 64
    assert wrap_width(["x" * 76, "x" * 74, "x" * 10]) == 80
