"""Lab files as text: the encoding (UTF-8 or ISO-8859-1), line ends, and refusing binary junk.

Labs send UTF-8 or ISO-8859-1 without saying which.  Valid UTF-8 is read as
UTF-8 (ISO-8859-1 French text is almost never valid UTF-8); anything else as
Windows-1252, the superset of ISO-8859-1 that French software really writes
("œ" in "cœur").  Control characters other than tab and form feed mean the
bytes are not a text report: the file is refused with the line they are on.
"""
from __future__ import annotations

import re

from pli.core.lab.errors import MalformedReport

#: Control characters a text report may hold: tab, form feed (page breaks in printed reports).
_JUNK = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
_LINE_END = re.compile(r"\r\n|\n|\r")


def decode(data: bytes) -> str:
    """The text of a lab file; the BOM a UTF-8 file may start with is dropped."""
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")  # the 5 bytes cp1252 leaves undefined become C1 controls: refused below


def split_lines(text: str) -> list[str]:
    """Lines whatever the line ends (CRLF, LF, or HL7's lone CR); a final line end ends the last line."""
    # One kind of line end (the usual file) is a plain split: no regex.
    if "\r" not in text:
        lines = text.split("\n")
    elif "\n" not in text:
        lines = text.split("\r")
    elif text.count("\r\n") == text.count("\r") == text.count("\n"):
        lines = text.split("\r\n")
    else:
        lines = _LINE_END.split(text)
    if len(lines) > 1 and lines[-1] == "":
        lines.pop()
    return lines


def refuse_junk(lines: list[str], fmt: str, allowed: str = "") -> None:
    """MalformedReport naming the first line that holds a control character.

    `allowed` lists further control characters the format uses (HL7's MLLP frame bytes).
    """
    # One search over the whole text rather than one per line: almost every file
    # is clean, and only a file about to be refused needs the line counted.
    whole = "\n".join(lines)
    match = _JUNK.search(whole)
    while match is not None and match.group(0) in allowed:
        match = _JUNK.search(whole, match.end())
    if match is not None:
        number = whole.count("\n", 0, match.start()) + 1
        raise MalformedReport(fmt, number, f"binary data (control character 0x{ord(match.group(0)):02x}), "
                              "not a text report")
