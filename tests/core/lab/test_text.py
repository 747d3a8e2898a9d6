"""Lab file text: line ends of every kind, and control characters refused with their line."""
import pytest

from pli.core.lab.errors import MalformedReport
from pli.core.lab.text import refuse_junk, split_lines


@pytest.mark.parametrize("text, lines", [
    ("a\nb\n", ["a", "b"]), ("a\rb\r", ["a", "b"]), ("a\r\nb\r\n", ["a", "b"]),
    ("a\r\nb\nc\rd", ["a", "b", "c", "d"]), ("a\n\nb", ["a", "", "b"]), ("a\r\r\nb", ["a", "", "b"]),
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
