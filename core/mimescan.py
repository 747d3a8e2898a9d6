"""Finding the leaf parts of a MIME message by scanning its bytes: the bulk paths' shortcut past the `email` parser.

    parts = leaf_parts(raw)      # [Part(content_type, filename, encoding, body), ...] or None
    data = part.decoded()        # the body without its transfer encoding, or None

The `email` package builds a tree of objects and parses every header line of
every part; importing sealed lab mail only needs, per leaf part, its media type,
file name, transfer encoding and body.  `leaf_parts` finds them with a few byte
searches.  It answers None whenever it cannot be sure to read the message the
way the `email` parser (compat32 policy) does (a header it would read another
way, RFC 2231 or encoded-word parameters, a missing closing boundary, an
attached message, a lone CR, ...), and the caller then uses the parser: odd but
valid mail still reads the same, only well-formed mail (pli's own outer mail,
lab messages) takes the shortcut.  tests/core/test_mimescan.py feeds both the
same messages and compares.
"""
from __future__ import annotations

import base64
import binascii
import quopri
import re
from dataclasses import dataclass

MAX_DEPTH = 8                      # nested multiparts followed before giving up (the parser then decides)
# The end of a header block: a line end, then an empty line.  Searched from its LF (a CR before
# it is taken back afterwards): a pattern starting with a literal is found ten times quicker.
_BLANK_LINE = re.compile(rb"\n\r?\n")
# A header block the parser reads as this scan does: only field lines (a name of visible
# characters other than ':', then ':'), each followed by its continuation lines.
_HEADER_BLOCK = re.compile(rb"(?:[!-9;-~]+:.*\n(?:[ \t].*\n)*)*")
# A Content-* field pli reads, after the line end before it (a leading LF is a literal the
# search skips to; "^" in MULTILINE mode is tried at every byte).
_CONTENT_FIELD = re.compile(rb"\n(content-type|content-disposition|content-transfer-encoding):[ \t]*"
                            rb"(.*(?:\n[ \t].*)*)", re.IGNORECASE)
_DELIMITER_TAIL = re.compile(rb"(--)?[ \t]*(?:\r?\n|\Z)")
_KNOWN_ENCODINGS = frozenset({"", "7bit", "8bit", "binary", "base64", "quoted-printable"})


@dataclass(frozen=True, slots=True)
class Part:
    """One leaf part: what the `email` parser's get_content_type, get_filename and get_payload give."""

    content_type: str        # lower case "type/subtype"; text/plain when the part names none
    filename: str | None     # Content-Disposition's filename, else Content-Type's name
    encoding: str            # Content-Transfer-Encoding, lower case ("" when absent)
    body: bytes              # as in the message, still encoded

    def decoded(self) -> bytes | None:
        """The body without its transfer encoding; None when only the lenient parser could decode it."""
        if self.encoding == "base64":
            try:
                return base64.b64decode(self.body.translate(None, b"\r\n"), validate=True)
            except (binascii.Error, ValueError):
                return None
        if self.encoding == "quoted-printable":
            return quopri.decodestring(self.body)
        return self.body

    def decoded_head(self, size: int) -> bytes | None:
        """The first `size` bytes of decoded() (a little less for quoted-printable, which stops at a
        line end), decoding only those: a large attachment is looked at, not decoded whole.
        None when only the lenient parser could decode them."""
        if self.encoding == "base64":
            encoded = self.body[:size * 4 // 3 + size // 16 + 8].translate(None, b"\r\n")
            try:
                return base64.b64decode(encoded[:len(encoded) // 4 * 4], validate=True)[:size]
            except (binascii.Error, ValueError):
                return None
        if self.encoding == "quoted-printable":
            cut = self.body.rfind(b"\n", 0, size * 3)   # whole lines: never half an "=XX"
            return quopri.decodestring(self.body[:cut + 1] if cut >= 0 else self.body[:size * 3])[:size]
        return self.body[:size]


class _Unsure(Exception):
    """The scan cannot be sure to read the message as the parser does."""


def leaf_parts(raw: bytes) -> list[Part] | None:
    """Every leaf part of `raw` in document order, or None: parse it with the `email` package instead."""
    if b"\r" in raw and raw.count(b"\r") != raw.count(b"\r\n"):
        return None  # a lone CR ends a line for the parser, not here
    try:
        head, body = split_head(raw)
        parts: list[Part] = []
        _collect(_content_fields(head), body, parts, depth=0)
        return parts
    except _Unsure:
        return None


def split_head(data: bytes) -> tuple[bytes, bytes]:
    """(header block, body) at the first empty line (LF or CRLF); a block may be empty."""
    if data.startswith((b"\n", b"\r\n")):
        return b"", data[data.index(b"\n") + 1:]
    match = _BLANK_LINE.search(data)
    if match is None:
        return data, b""
    start = match.start() - 1 if data[match.start() - 1] == 0x0D else match.start()
    return data[:start], data[match.end():]


def fields(header_block: bytes) -> list[bytes]:
    """The header fields of a block, each with its continuation lines and its line end."""
    out: list[bytes] = []
    for line in header_block.splitlines(keepends=True):
        if line[:1] in (b" ", b"\t") and out:
            out[-1] += line
        else:
            out.append(line)
    if out and not out[-1].endswith(b"\n"):
        out[-1] += b"\n"
    return out


def _content_fields(head: bytes) -> dict[bytes, str]:
    """The first value of each Content-* field pli reads, as the parser keeps it (folds included).

    Two regex passes over the block rather than a loop over its fields: this runs
    for every part of every message an import opens.
    """
    block = head if not head or head.endswith(b"\n") else head + b"\n"
    if not _HEADER_BLOCK.fullmatch(block):
        raise _Unsure  # a continuation first, an "mbox From " line, a line that is no field
    found: dict[bytes, str] = {}
    for match in _CONTENT_FIELD.finditer(b"\n" + block):
        name = match.group(1).lower()
        if name not in found:
            try:
                found[name] = match.group(2).rstrip(b"\r\n").decode("ascii")
            except UnicodeDecodeError:
                raise _Unsure from None
    return found


def _collect(content: dict[bytes, str], body: bytes, parts: list[Part], depth: int) -> None:
    value = content.get(b"content-type")
    content_type = _media_type(value) if value is not None else "text/plain"
    maintype = content_type.partition("/")[0]
    params = _params(value) if value is not None else {}
    if maintype == "multipart":
        if depth >= MAX_DEPTH or content_type == "multipart/digest":
            raise _Unsure  # digest parts default to message/rfc822
        boundary = params.get("boundary", "").rstrip()
        if not boundary:
            raise _Unsure
        for chunk in _split_multipart(body, boundary.encode("ascii")):
            part_head, part_body = split_head(chunk)
            _collect(_content_fields(part_head), part_body, parts, depth + 1)
        return
    if maintype == "message":
        raise _Unsure  # an attached message: the parser walks into it
    encoding = content.get(b"content-transfer-encoding", "").lower()
    if encoding not in _KNOWN_ENCODINGS:
        raise _Unsure
    disposition = content.get(b"content-disposition")
    filename = _params(disposition).get("filename") if disposition is not None else None
    if filename is None:
        filename = params.get("name")
    parts.append(Part(content_type, filename.strip() if filename is not None else None, encoding, body))


def _media_type(value: str) -> str:
    media = value.partition(";")[0].strip().lower()
    return media if media.count("/") == 1 else "text/plain"  # RFC 2045 5.2, as the parser does


def _params(value: str) -> dict[str, str]:
    """The parameters after the first ';' of a Content-Type or Content-Disposition value."""
    if "\\" in value or "(" in value or "*" in value or "=?" in value or "<" in value:
        raise _Unsure  # quoted pairs, comments, RFC 2231, encoded words, <unquoting>: the parser's business
    first, *pieces = value.split(";")
    if "=" in first or '"' in first:
        raise _Unsure  # no plain type first: the parser reads it as a parameter, or quotes across the ';'
    params: dict[str, str] = {}
    for piece in pieces:
        if not piece.strip():
            continue
        name, equals, raw = piece.partition("=")
        name, raw = name.strip().lower(), raw.strip()
        if not equals or name in params or raw.count('"') not in (0, 2):
            raise _Unsure  # a bare word, a repeated name, a ';' inside quotes
        if raw.count('"') == 2:
            if not (raw.startswith('"') and raw.endswith('"')):
                raise _Unsure
            raw = raw[1:-1]
        params[name] = raw
    return params


def _split_multipart(body: bytes, boundary: bytes) -> list[bytes]:
    """The parts between the delimiter lines; the line end before a delimiter belongs to it (RFC 2046)."""
    separator = b"--" + boundary
    edges: list[tuple[int, int]] = []   # (start of the delimiter line, end of it)
    closed = False
    position = 0
    while not closed:
        found = body.find(separator, position)
        if found < 0:
            break
        position = found + 1
        if found and body[found - 1] != 0x0A:
            continue  # not at the start of a line: content
        tail = _DELIMITER_TAIL.match(body, found + len(separator))
        if tail is None:
            continue
        edges.append((found, tail.end()))
        closed = tail.group(1) is not None
        position = tail.end()
    if not closed or len(edges) < 2:
        raise _Unsure  # no closing delimiter, or no part at all
    chunks = []
    for (_, start), (end, _) in zip(edges, edges[1:]):
        chunk = body[start:end]
        if not chunk:
            raise _Unsure  # two delimiters in a row: the parser makes no part of them
        chunks.append(chunk[:-2] if chunk.endswith(b"\r\n") else chunk[:-1] if chunk.endswith(b"\n") else chunk)
    return chunks
