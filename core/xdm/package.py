"""IHE XDM packages (IHE_XDM.ZIP, IHE ITI TF-1 §16, TF-2b ITI-32): read one safely, write one.

    package = read_package(zip_bytes)          # XdmPackage; XdmRefused for anything unsafe or incomplete
    for document in package.documents:         # each checked against its metadata (size, SHA-1)
        document.entry.title, document.entry.type_code, document.entry.patient, document.data
    zip_bytes = write_package(submission, [(entry, data), ...], readme="...")

The layout: README.TXT and INDEX.HTM at the root, IHE_XDM/SUBSETnn/ holding
METADATA.XML and the documents its entries name by their URI slot.  A
package comes from outside, so before anything is decompressed pli refuses
what could hurt: member names that are absolute, climb out (..), use
backslashes or drive letters, or repeat; encrypted members; more members,
more bytes in total or a higher compression ratio than a real package has
(a zip bomb declares small and inflates big: the sizes are enforced while
reading, not trusted from the headers).  Then every document's size and
SHA-1 must match its metadata: a document altered in transit is refused,
never shown as the sender's.  The attachment itself stays in the message:
nothing is lost by a refusal.
"""
from __future__ import annotations

import hashlib
import io
import posixpath
import re
import zipfile
from dataclasses import dataclass

from pli.core.errors import PliError
from pli.core.safe_xml import XmlRefused
from pli.core.xdm.metadata import DocumentEntry, MalformedMetadata, SubmissionSet, metadata_xml, parse_metadata

ATTACHMENT_NAME = "IHE_XDM.ZIP"
MEDIA_TYPE = "application/zip"
MAX_PACKAGE_BYTES = 100 * 1024 * 1024
MAX_TOTAL_BYTES = 200 * 1024 * 1024      # all members, uncompressed
MAX_MEMBERS = 1000
MAX_RATIO = 100                          # uncompressed / compressed, for members above RATIO_FLOOR
RATIO_FLOOR = 1024 * 1024                # small members (XML of a few KB) may compress better than that
_SUBSET = re.compile(r"IHE_XDM/([^/]+)/METADATA\.XML", re.I)
_CHUNK = 64 * 1024


class XdmRefused(PliError):
    """An XDM package pli will not open; the message names the problem, never a document's content."""

    def __init__(self, reason: str):
        super().__init__(f"IHE XDM package refused: {reason}; the attachment is kept as received")
        self.reason = reason


@dataclass(frozen=True)
class XdmDocument:
    entry: DocumentEntry
    path: str                  # the member name in the zip
    data: bytes = b""


@dataclass(frozen=True)
class XdmPackage:
    submission: SubmissionSet
    documents: tuple[XdmDocument, ...]
    subset: str                # "SUBSET01"
    readme: str = ""


def read_package(data: bytes) -> XdmPackage:
    """Open an IHE_XDM.ZIP: one submission set (the first SUBSET), its documents verified."""
    if len(data) > MAX_PACKAGE_BYTES:
        raise XdmRefused(f"it is {len(data)} bytes, more than the {MAX_PACKAGE_BYTES} pli opens")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        raise XdmRefused("it is not a readable zip archive") from None
    with archive:
        _check_members(members)
        by_name = {m.filename: m for m in members}
        metadata_name = _metadata_member(by_name)
        subset_dir = posixpath.dirname(metadata_name)
        try:
            submission, entries = parse_metadata(_read(archive, by_name[metadata_name]))
        except XmlRefused as error:
            raise XdmRefused(f"its METADATA.XML is unreadable ({error.reason})") from None
        except MalformedMetadata as error:
            raise XdmRefused(f"its METADATA.XML is not XDS metadata ({error})") from None
        documents = tuple(_document(archive, by_name, subset_dir, entry) for entry in entries)
        readme = _text_member(archive, by_name, "README.TXT")
    return XdmPackage(submission, documents, posixpath.basename(subset_dir), readme)


def _check_members(members: list[zipfile.ZipInfo]) -> None:
    if len(members) > MAX_MEMBERS:
        raise XdmRefused(f"it holds {len(members)} files, more than the {MAX_MEMBERS} a package may")
    seen: set[str] = set()
    total = 0
    for member in members:
        name = member.filename
        # zipfile cuts a name at its first NUL (orig_filename keeps it): a name hiding one is refused too.
        if not _safe_name(name) or "\x00" in member.orig_filename:
            raise XdmRefused(f"a member name points outside the package ({_shown(name)})")
        if name.upper() in seen:
            raise XdmRefused(f"the member {_shown(name)} appears twice")
        seen.add(name.upper())
        if member.flag_bits & 0x1:
            raise XdmRefused(f"the member {_shown(name)} is encrypted")
        total += member.file_size
        if member.file_size > RATIO_FLOOR and member.file_size > MAX_RATIO * max(member.compress_size, 1):
            raise XdmRefused(f"the member {_shown(name)} inflates more than {MAX_RATIO} times (a zip bomb)")
    if total > MAX_TOTAL_BYTES:
        raise XdmRefused(f"its files add up to {total} bytes, more than the {MAX_TOTAL_BYTES} pli unpacks")


def _safe_name(name: str) -> bool:
    if not name or "\x00" in name or "\\" in name or name.startswith("/") or re.match(r"[A-Za-z]:", name):
        return False
    return ".." not in name.split("/")


def _metadata_member(by_name: dict[str, zipfile.ZipInfo]) -> str:
    found = sorted(name for name in by_name if _SUBSET.fullmatch(name))
    if not found:
        if not any(name.upper().startswith("IHE_XDM/") for name in by_name):
            raise XdmRefused("it has no IHE_XDM folder: it is a zip, not an XDM package")
        raise XdmRefused("it has no IHE_XDM/SUBSETnn/METADATA.XML")
    return found[0]


def _document(archive: zipfile.ZipFile, by_name: dict[str, zipfile.ZipInfo], subset_dir: str,
              entry: DocumentEntry) -> XdmDocument:
    label = entry.title or entry.uri or entry.entry_id
    if not entry.uri:
        raise XdmRefused(f"the metadata of document {_shown(label)} gives no URI (file name)")
    path = posixpath.normpath(posixpath.join(subset_dir, entry.uri))
    if not _safe_name(entry.uri) or not path.startswith(subset_dir + "/"):
        raise XdmRefused(f"the URI of document {_shown(label)} points outside its folder")
    member = by_name.get(path) or _case_insensitive(by_name, path)
    if member is None:
        raise XdmRefused(f"the document {_shown(entry.uri)} listed in METADATA.XML is missing")
    data = _read(archive, member)
    if entry.size is not None and entry.size != len(data):
        raise XdmRefused(f"the document {_shown(entry.uri)} is {len(data)} bytes, its metadata says {entry.size}: "
                         "it was altered or damaged")
    if entry.hash and hashlib.sha1(data).hexdigest() != entry.hash:
        raise XdmRefused(f"the SHA-1 of document {_shown(entry.uri)} does not match its metadata: it was "
                         "altered or damaged")
    return XdmDocument(entry, member.filename, data)


def _case_insensitive(by_name: dict[str, zipfile.ZipInfo], path: str) -> zipfile.ZipInfo | None:
    """XDM names are 8.3 upper case, but some writers lower-case the URI slot or the member."""
    matches = [m for name, m in by_name.items() if name.upper() == path.upper()]
    return matches[0] if len(matches) == 1 else None


def _read(archive: zipfile.ZipFile, member: zipfile.ZipInfo) -> bytes:
    """The member's bytes, never more than it declared (a lying header cannot make pli inflate more)."""
    out = bytearray()
    try:
        with archive.open(member) as stream:
            while chunk := stream.read(_CHUNK):
                out += chunk
                if len(out) > member.file_size or len(out) > MAX_TOTAL_BYTES:
                    raise XdmRefused(f"the member {_shown(member.filename)} inflates beyond its declared size")
    except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError, ValueError) as error:
        raise XdmRefused(f"the member {_shown(member.filename)} cannot be unpacked "
                         f"({type(error).__name__})") from None
    return bytes(out)


def _text_member(archive: zipfile.ZipFile, by_name: dict[str, zipfile.ZipInfo], name: str) -> str:
    member = by_name.get(name) or _case_insensitive(by_name, name)
    if member is None or member.file_size > 64 * 1024:
        return ""
    return _read(archive, member).decode("utf-8", "replace")


def _shown(name: str) -> str:
    """A member name fit for a one-line message: printable, short."""
    clean = "".join(c if c.isprintable() else "?" for c in name)
    return repr(clean[:80] + ("..." if len(clean) > 80 else ""))


# -- writing ------------------------------------------------------------------------------------------------

def write_package(submission: SubmissionSet, documents: list[tuple[DocumentEntry, bytes]], readme: str) -> bytes:
    """An IHE_XDM.ZIP: README.TXT, INDEX.HTM, IHE_XDM/SUBSET01/METADATA.XML and the documents (by URI)."""
    subset = "IHE_XDM/SUBSET01"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.TXT", readme.replace("\n", "\r\n").encode("utf-8"))
        archive.writestr("INDEX.HTM", _index(submission, [entry for entry, _ in documents]).encode("utf-8"))
        archive.writestr(f"{subset}/METADATA.XML", metadata_xml(submission, [entry for entry, _ in documents]))
        for entry, data in documents:
            archive.writestr(f"{subset}/{entry.uri}", data)
    return buffer.getvalue()


def _index(submission: SubmissionSet, entries: list[DocumentEntry]) -> str:
    """INDEX.HTM (ITI TF-1 §16.1.2): a page listing the package's documents, for a person with a browser."""
    from html import escape

    rows = "\n".join(f'<li><a href="IHE_XDM/SUBSET01/{escape(e.uri)}">{escape(e.title or e.uri)}</a> '
                     f"({escape(e.mime_type)})</li>" for e in entries)
    return ("<!DOCTYPE html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(submission.title or 'IHE XDM')}</title></head>\n<body>\n"
            f"<h1>{escape(submission.title or 'Documents')}</h1>\n<ul>\n{rows}\n</ul>\n"
            '<p><a href="README.TXT">README.TXT</a></p>\n</body></html>\n')
