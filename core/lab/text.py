"""Lab files as text: which encoding the bytes are in (and saying which), line ends, stray control bytes.

Labs send UTF-8, ISO-8859-1, Windows-1252, now and then MacRoman (old Mac
lab software) or UTF-16 (Windows "Unicode" exports), without saying which.
The guess is made safely, in this order (as Mediboard's CHprim21 does):
  1. a byte-order mark (UTF-8, UTF-16 LE/BE) says it;
  2. UTF-16 without a mark shows as a NUL byte beside every ASCII letter;
  3. valid UTF-8 is UTF-8 (ISO-8859-1 French text is almost never valid UTF-8);
  4. otherwise a single-byte encoding, chosen by how French the text reads in
     each: Windows-1252 (the superset of ISO-8859-1 French software writes:
     "œ", "’"), or MacRoman when only it gives French letters ("é" is 0x8E there,
     "Ž" in Windows-1252).
`decode_report` returns the text and the encoding it used, so that `pli lab
show` can say it.  Control characters other than tab and form feed do not
belong in a text report: a file made mostly of them is refused as binary; a
few stray ones (a damaged byte) are replaced by U+FFFD and named in a
warning, so that the rest of the report is still read.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from pli.core.lab.errors import MalformedReport

#: Control characters a text report may hold: tab, form feed (page breaks in printed reports).
_JUNK = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
_LINE_END = re.compile(r"\r\n|\n|\r")
_C1_BYTES = re.compile(rb"[\x80-\x9f]")   # where Windows-1252, ISO-8859-1 and MacRoman differ
_BOMS = ((b"\xef\xbb\xbf", "utf-8", "UTF-8 (with BOM)"), (b"\xff\xfe", "utf-16-le", "UTF-16 LE (with BOM)"),
         (b"\xfe\xff", "utf-16-be", "UTF-16 BE (with BOM)"))
#: A file with more junk than this share of its characters is not a damaged text but something else.
BINARY_SHARE = 0.02
_FRENCH = re.compile("[éèàùâêîôûçëïüœ]")
#: What a wrong single-byte guess gives instead of French letters: symbols no lab writes in words
#: (MacRoman bytes read as Windows-1252), or a capital accent inside a lowercase word ("rÈsultat").
_UNLIKELY = re.compile("[ŽžŠšˆ‰™•Ÿ‡◊ƒ≈∆¬\ufffd]|(?<=[a-zà-ÿ])[ÀÈÉÊËÌÍÎÏÒÓÔÙÚÛÜ]")


@dataclass(frozen=True, slots=True)
class Decoded:
    text: str
    encoding: str        # as shown to the user: "UTF-8", "Windows-1252", "MacRoman", "UTF-16 LE (with BOM)"...


def decode_report(data: bytes) -> Decoded:
    """The text of a lab file and the encoding pli read it in (see the module's docstring)."""
    for bom, codec, name in _BOMS:
        if data.startswith(bom):
            return Decoded(data[len(bom):].decode(codec, errors="replace"), name)
    wide = _utf16_without_bom(data)
    if wide:
        return Decoded(data.decode(wide, errors="replace"), "UTF-16 " + wide[-2:].upper())
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return _single_byte(data)
    return Decoded(text, "UTF-8" if not text.isascii() else "ASCII")


def decode(data: bytes) -> str:
    """The text of a lab file (decode_report without the encoding's name)."""
    return decode_report(data).text


def _utf16_without_bom(data: bytes) -> str:
    """'utf-16-le' or 'utf-16-be' when every other byte of the start is NUL (ASCII text in UTF-16)."""
    head = data[:128]
    if len(head) < 8 or b"\x00" not in head[:16]:
        return ""
    half = len(head) // 2
    evens, odds = head[0:2 * half:2].count(0), head[1:2 * half:2].count(0)
    if odds >= 0.9 * half and evens == 0:
        return "utf-16-le"
    if evens >= 0.9 * half and odds == 0:
        return "utf-16-be"
    return ""


def _single_byte(data: bytes) -> Decoded:
    cp1252 = data.decode("cp1252", errors="replace")
    if _C1_BYTES.search(data, 0, 1 << 16) is None and "\ufffd" not in cp1252:
        return Decoded(cp1252, "Windows-1252")   # plain ISO-8859-1 bytes: the usual case, decided at once
    mac = data.decode("mac_roman")
    if _frenchness(mac) > _frenchness(cp1252):
        return Decoded(mac, "MacRoman")
    if "\ufffd" in cp1252:
        # The 5 bytes cp1252 leaves undefined: ISO-8859-1 gives them C1 controls, which are named below.
        return Decoded(data.decode("latin-1"), "ISO-8859-1")
    return Decoded(cp1252, "Windows-1252")


def _frenchness(text: str) -> int:
    """French letters, minus what a wrong guess produces (undefined bytes included)."""
    sample = text[:1 << 16]
    return len(_FRENCH.findall(sample)) - 3 * len(_UNLIKELY.findall(sample))


def split_lines(text: str) -> list[str]:
    """Lines whatever the line ends (CRLF, LF, or HL7's lone CR); a final line end ends the last line."""
    # One kind of line end (the usual file) is a plain split: no regex.
    if "\r" not in text:
        lines = text.split("\n")
    elif "\n" not in text:
        lines = text.split("\r")
    elif text.count("\r\n") == text.count("\r") == text.count("\n"):
        lines = text.split("\r\n")
    elif 2 * text.count("\r\r\n") == text.count("\r") == 2 * text.count("\n") > 2:
        # Every line ended CR CR LF: a CRLF file passed once more through a text-mode copy (a lab's
        # mail gateway on Windows). Read as CR, then CRLF, each line would have a blank line after it.
        lines = text.split("\r\r\n")
    else:
        lines = _LINE_END.split(text)
    if len(lines) > 1 and lines[-1] == "":
        lines.pop()
    if len(lines) >= DOUBLED_MIN and _double_spaced(lines):
        # Every other line blank: each line end was doubled on the way (a CR CR LF file whose bare CR a
        # mail server turned into a line end of its own). The blank lines the file had are still there.
        lines = lines[0::2]
    return lines


#: Lines a text needs before "every other line is blank" says its line ends were doubled (an HPRIM
#: header has a name on line 2, an HL7 message no blank segment: no report has lines 2, 4, 6... blank).
DOUBLED_MIN = 4


def _double_spaced(lines: list[str]) -> bool:
    return not any(line.strip() for line in lines[1::2]) and any(line.strip() for line in lines[0::2])


HARD_WRAP = 80   # the width lab software cuts lines at, when nothing in the file says another


def wrap_width(lines: list[str]) -> int:
    """The width a file's lines were cut at: its longest length when several lines have it (a fixed
    cut), else HARD_WRAP."""
    longest = max(map(len, lines), default=0)
    if longest >= 40 and sum(1 for line in lines if len(line) == longest) >= 2:
        return longest
    return HARD_WRAP


def continuation_glue(previous: str, width: int) -> str:
    """What joins a wrapped line to the line it continues.

    A line cut at the file's fixed width (wrap_width) lost nothing: nothing is
    added.  A shorter one was broken at a space by a mail client, which dropped
    that space (unless it kept it at the line's end): a space is put back.
    """
    if len(previous) == width or previous.endswith(" "):
        return ""
    return " "


def refuse_junk(lines: list[str], fmt: str, allowed: str = "") -> None:
    """MalformedReport naming the first line that holds a control character.

    `allowed` lists further control characters the format uses (HL7's MLLP frame bytes).
    """
    match = _first_junk("\n".join(lines), allowed)
    if match is not None:
        whole, position, char = match
        number = whole.count("\n", 0, position) + 1
        raise MalformedReport(fmt, number, f"binary data (control character 0x{ord(char):02x}), "
                              "not a text report")


def mend_junk(lines: list[str], fmt: str, allowed: str = "") -> tuple[list[str], list[str]]:
    """(lines, warnings): stray control characters replaced by U+FFFD, each line named once.

    MalformedReport when the file is mostly control characters (a binary file, not a damaged report).
    """
    whole = "\n".join(lines)
    if _first_junk(whole, allowed) is None:
        return lines, []   # nearly every file: one search, nothing to mend
    junk = [m for m in _JUNK.finditer(whole) if m.group(0) not in allowed]
    if len(junk) > BINARY_SHARE * len(whole):
        refuse_junk(lines, fmt, allowed)
    mended, warnings = [], []
    for number, line in enumerate(lines, 1):
        clean = "".join("\ufffd" if _JUNK.match(c) and c not in allowed else c for c in line) \
            if _JUNK.search(line) else line
        if clean != line:
            warnings.append(f"line {number}: damaged bytes (control characters) shown as \ufffd")
        mended.append(clean)
    return mended, warnings


def _first_junk(whole: str, allowed: str) -> tuple[str, int, str] | None:
    # One search over the whole text rather than one per line: almost every file is clean.
    match = _JUNK.search(whole)
    while match is not None and match.group(0) in allowed:
        match = _JUNK.search(whole, match.end())
    return None if match is None else (whole, match.start(), match.group(0))
