"""The signed directory file: a short text header with the authority's Ed25519 signature, then JSON.

    PLI-DIRECTORY 1\\n
    authority: ed25519 <base64 raw authority public key>\\n
    signature: <base64 Ed25519 signature of DOMAIN + PAYLOAD>\\n
    \\n
    PAYLOAD   (UTF-8 JSON: {"format": "pli-directory", "version": 1, "serial", "issued", "entries"})

The signature covers the payload bytes exactly as stored, so checking it never
re-encodes JSON.  docs/DIRECTORY.md has the byte-level description.
"""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime, timezone

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from pli.core.directory.entry import BadEntry, DirectoryEntry, format_time, from_json, parse_time
from pli.core.directory.keyfile import PublicKey
from pli.core.errors import PliError
from pli.core.gc_pause import gc_paused

MAGIC = b"PLI-DIRECTORY 1\n"
DOMAIN = b"pli-directory-v1\n"
FORMAT = "pli-directory"


class DirectoryRefused(PliError):
    """A directory file pli will not use; nothing was imported."""

    exit_code = 4


class UnsignedDirectory(DirectoryRefused):
    pass


class BadDirectorySignature(DirectoryRefused):
    pass


class WrongAuthority(DirectoryRefused):
    pass


@dataclass(frozen=True)
class SignedDirectory:
    """The verified content of a directory file."""

    authority: PublicKey
    serial: int
    issued: datetime
    entries: tuple[DirectoryEntry, ...]


@dataclass(frozen=True)
class VerifiedDirectory:
    """A directory file whose signature checked, its entries still the signed JSON objects.

    Each object becomes a DirectoryEntry (and is checked by `from_json`) only
    when someone asks for it: `pli send` wants two entries of 100,000.
    """

    authority: PublicKey
    serial: int
    issued: datetime
    objects: list
    source: str


def sign_directory(entries: list[DirectoryEntry], authority: Ed25519PrivateKey, serial: int,
                   issued: datetime | None = None) -> bytes:
    """The bytes of a directory file holding `entries`, signed by `authority`."""
    issued = issued or datetime.now(timezone.utc)
    payload = json.dumps({"format": FORMAT, "version": 1, "serial": serial, "issued": format_time(issued),
                          "entries": [e.to_json() for e in sorted(entries, key=lambda e: e.id)]},
                         sort_keys=True, ensure_ascii=False, indent=1).encode("utf-8") + b"\n"
    public = authority.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    header = (MAGIC + b"authority: ed25519 " + base64.b64encode(public) + b"\n"
              + b"signature: " + base64.b64encode(authority.sign(DOMAIN + payload)) + b"\n\n")
    return header + payload


def open_directory(data: bytes, anchor: PublicKey, source: str = "the directory file") -> SignedDirectory:
    """Check `data` was signed by the trust anchor, then parse and check every entry; DirectoryRefused otherwise."""
    verified = verify_directory(data, anchor, source)
    return SignedDirectory(anchor, verified.serial, verified.issued, checked_entries(verified))


def checked_entries(verified: VerifiedDirectory) -> tuple[DirectoryEntry, ...]:
    """Every entry of a verified file built and checked (fields, then no id, address or key twice), in file order."""
    try:
        with gc_paused():
            entries = tuple(from_json(e) for e in verified.objects)
    except BadEntry as error:
        raise malformed(verified.source, error.message) from None
    _check_unique(entries, verified.source)
    return entries


def verify_directory(data: bytes, anchor: PublicKey, source: str = "the directory file") -> VerifiedDirectory:
    """Check the whole of `data` was signed by the trust anchor, then read its JSON; DirectoryRefused otherwise.

    The entries are not checked one by one here: `open_directory` does it (at
    import), `Directory.from_objects` as each entry is first asked for.
    """
    authority, signature, payload = _split(data, source)
    if authority != anchor.raw:
        raise WrongAuthority(
            f"{source} is signed by another directory authority (ed25519 {_b64(authority)}) than the one "
            f"this home trusts (ed25519 {anchor.b64}): get the directory from your authority, "
            "or change the trust anchor with `pli dir trust`")
    try:
        Ed25519PublicKey.from_public_bytes(anchor.raw).verify(signature, DOMAIN + payload)
    except InvalidSignature:
        raise BadDirectorySignature(f"{source} does not match its authority's signature: it was altered "
                                    "or damaged; nothing imported") from None
    return _parse(payload, anchor, source)


def malformed(source: str, detail: str) -> DirectoryRefused:
    """The refusal of a file whose signature checks but whose content does not."""
    return DirectoryRefused(f"{source} is signed but its content is malformed ({detail}): "
                            "ask your directory authority for a correct file")


def claimed_authority(data: bytes, source: str = "the directory file") -> PublicKey:
    """The authority key a directory file names as its signer: NOT verified, to be confirmed by its fingerprint."""
    return PublicKey("ed25519", _split(data, source)[0])


def _split(data: bytes, source: str) -> tuple[bytes, bytes, bytes]:
    if not data.startswith(MAGIC):
        raise UnsignedDirectory(f"{source} is not a signed pli directory (no `PLI-DIRECTORY 1` header): "
                                "pli only imports directories signed by your directory authority")
    end = data.find(b"\n\n", len(MAGIC))   # no copy of the whole file but the payload's (tens of MB)
    lines = data[len(MAGIC):end].split(b"\n") if end >= 0 else []
    if len(lines) != 2 or not lines[0].startswith(b"authority: ed25519 ") \
            or not lines[1].startswith(b"signature: "):
        raise UnsignedDirectory(f"{source} has a malformed signature header: nothing imported")
    payload = data[end + 2:]
    try:
        authority = base64.b64decode(lines[0][len(b"authority: ed25519 "):], validate=True)
        signature = base64.b64decode(lines[1][len(b"signature: "):], validate=True)
    except binascii.Error:
        raise UnsignedDirectory(f"{source} has a malformed signature header: nothing imported") from None
    return authority, signature, payload


def _parse(payload: bytes, anchor: PublicKey, source: str) -> VerifiedDirectory:
    try:
        with gc_paused():   # two million dicts, lists and strings, no cycle: 1.3 s -> 0.7 s for 100,000 entries
            obj = json.loads(payload.decode("utf-8"))
        if obj.get("format") != FORMAT or obj.get("version") != 1:
            raise BadEntry("unsupported format or version")
        if not isinstance(obj["entries"], list):
            raise BadEntry("the entries must be a list")
        serial, issued = int(obj["serial"]), parse_time(obj["issued"])
    except (ValueError, KeyError, TypeError, AttributeError, BadEntry, RecursionError, OverflowError) as error:
        # RecursionError: arrays nested thousands deep; OverflowError: a serial of 1e400 (infinity)
        raise malformed(source, error.message if isinstance(error, BadEntry) else type(error).__name__) from None
    return VerifiedDirectory(anchor, serial, issued, obj["entries"], source)


def _check_unique(entries: tuple[DirectoryEntry, ...], source: str) -> None:
    seen_ids, seen_addresses, seen_keys = set(), {}, {}
    for entry in entries:
        if entry.id in seen_ids:
            raise DirectoryRefused(f"{source} lists entry {entry.id} twice")
        seen_ids.add(entry.id)
        for address in entry.addresses:
            if seen_addresses.setdefault(address, entry.id) != entry.id:
                raise DirectoryRefused(f"{source} gives address {address} to two entries")
        for key in entry.keys:
            if seen_keys.setdefault(key.key.raw, entry.id) != entry.id:
                raise DirectoryRefused(f"{source} gives key {key.fingerprint} to two entries")


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")
