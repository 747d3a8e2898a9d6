"""Rewriting the header block of a raw message without re-serializing it.

The clear message pli stores is the sender's MIME message byte for byte, with
pli's X-Pli-* fields put in front.  Any X-Pli-* field already in the message is
dropped first: a sender (or a plain mail) must never be able to write
"X-Pli-Verified: yes" itself.
"""
from __future__ import annotations

import re
from email.header import Header

_SPLIT = re.compile(rb"\r?\n\r?\n")
_FIELD = re.compile(rb"[!-9;-~]+[ \t]*:")
_UNSAFE = re.compile(r"[\x00-\x1f\x7f]+")


def split(raw: bytes) -> tuple[bytes, bytes]:
    """(header block without its final line break, rest starting with the blank line)."""
    match = _SPLIT.search(raw)
    if match is None:
        return raw.rstrip(b"\r\n"), b"\n"
    return raw[: match.start()], raw[match.start():]


def fields(header_block: bytes) -> list[bytes]:
    """The header fields, each with its continuation lines."""
    out: list[bytes] = []
    for line in header_block.splitlines(keepends=True):
        if line[:1] in (b" ", b"\t") and out:
            out[-1] += line
        else:
            out.append(line)
    if out and not out[-1].endswith(b"\n"):
        out[-1] += b"\n"
    return out


def name_of(field: bytes) -> bytes:
    return field.split(b":", 1)[0].strip().lower()


def value_of(raw: bytes, name: str) -> str:
    """The first value of a header field, unfolded (empty when absent)."""
    return first_values(raw).get(name.lower(), "")


def first_values(raw: bytes) -> dict[str, str]:
    """Every header field's first value, by lower-case name, unfolded: one pass over the header."""
    found: dict[str, str] = {}
    for field in fields(split(raw)[0]):
        name, _, value = field.partition(b":")
        key = name.strip().lower().decode("ascii", "replace")
        if key not in found:
            found[key] = b" ".join(value.split()).decode("utf-8", "replace")
    return found


def clean(value: str) -> str:
    """A value safe to put on one header line (no control characters, no line breaks)."""
    return _UNSAFE.sub(" ", value).strip()


def encoded(value: str) -> str:
    """One header line's value: ASCII as is, anything else RFC 2047 encoded (UTF-8)."""
    value = clean(value)
    if value.isascii():
        return value
    return Header(value, "utf-8", maxlinelen=10_000).encode(linesep=" ")


def rewrite(raw: bytes, add: list[tuple[str, str]], drop: frozenset[str] = frozenset()) -> bytes:
    """Put `add` fields first, drop every X-Pli-* field and every field named in `drop`."""
    head, rest = split(raw)
    if head.startswith(b"From "):  # an mbox separator line that came along
        head = head.split(b"\n", 1)[1] if b"\n" in head else b""
    if not all(_FIELD.match(f) for f in fields(head)):
        # Not a mail header: keep every byte, as the body of a message notmuch can index.
        head, rest = b"Subject: (unreadable message)", b"\n\n" + raw
    drop_b = {d.lower().encode() for d in drop}
    kept = [f for f in fields(head)
            if not name_of(f).startswith(b"x-pli-") and name_of(f) not in drop_b]
    new = [f"{name}: {encoded(value)}\n".encode("ascii") for name, value in add]
    return b"".join(new + kept) + rest
