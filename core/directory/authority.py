"""Directory authority tooling (tests, demos, a small network): its key, its unsigned entries, signing.

    AUTHORITY_DIR/authority.key   the Ed25519 private key, PKCS#8 PEM, mode 0600 (unencrypted:
                                  a real authority keeps it offline or in an HSM)
    AUTHORITY_DIR/authority.pub   its public key, `ed25519 BASE64`: the file homes trust

The authority's working set is an *entries file*, plain JSON
`{"format": "pli-directory-entries", "version": 1, "entries": [...]}` with the
same entry objects as a signed directory; `sign` turns it into a directory file.
"""
from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (Encoding, NoEncryption, PrivateFormat, PublicFormat,
                                                          load_pem_private_key)

from pli.core.crypto.identity import BadIdentity, PublicIdentity
from pli.core.directory.entry import BadEntry, DirectoryEntry, from_json
from pli.core.directory.keyfile import PublicKey, read_key_file, write_key_file
from pli.core.directory.signed import sign_directory
from pli.core.errors import PliError

ENTRIES_FORMAT = "pli-directory-entries"


class AuthorityError(PliError):
    """The authority's key or entries file is missing or unusable."""


def init_authority(folder: Path) -> PublicKey:
    """Create an authority key in `folder` (refusing to overwrite one); return its public key."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    key_path = folder / "authority.key"
    if key_path.exists():
        raise AuthorityError(f"{key_path} already exists: an authority key is never overwritten")
    key = Ed25519PrivateKey.generate()
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    public = PublicKey("ed25519", key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
    write_key_file(folder / "authority.pub", [public], "pli directory authority public key")
    return public


def load_authority(folder: Path) -> Ed25519PrivateKey:
    key_path = folder / "authority.key"
    try:
        key = load_pem_private_key(key_path.read_bytes(), password=None)
    except FileNotFoundError:
        raise AuthorityError(f"no authority key at {key_path}: run `pli dir authority init`") from None
    except ValueError:
        raise AuthorityError(f"{key_path} is not a readable private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise AuthorityError(f"{key_path} is not an Ed25519 key")
    return key


def load_entries(path: Path) -> list[DirectoryEntry]:
    """The entries of an entries file; an empty list if it does not exist yet."""
    try:
        obj = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return []
    except ValueError:
        raise AuthorityError(f"{path} is not valid JSON") from None
    if not isinstance(obj, dict) or obj.get("format") != ENTRIES_FORMAT:
        raise AuthorityError(f"{path} is not a pli entries file (format {ENTRIES_FORMAT!r})")
    try:
        return [from_json(e) for e in obj.get("entries", [])]
    except BadEntry as error:
        raise AuthorityError(f"{path}: {error}") from None


def save_entries(path: Path, entries: Iterable[DirectoryEntry]) -> None:
    data = json.dumps({"format": ENTRIES_FORMAT, "version": 1,
                       "entries": [e.to_json() for e in sorted(entries, key=lambda e: e.id)]},
                      ensure_ascii=False, indent=1, sort_keys=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(data + "\n", "utf-8")
    os.replace(tmp, path)


def merge(entries: Iterable[DirectoryEntry], updates: Iterable[DirectoryEntry]) -> list[DirectoryEntry]:
    """`entries` with `updates` replacing those of the same id (and added otherwise)."""
    by_id = {e.id: e for e in entries}
    by_id.update((e.id, e) for e in updates)
    return list(by_id.values())


def bind(entries: list[DirectoryEntry], entry_id: str, key_file: Path | None, address: str | None = None,
         when: datetime | None = None) -> DirectoryEntry:
    """Give entry `entry_id` the keys of `key_file` (and `address`); older keys become superseded.

    `key_file` is a key file (`ed25519 BASE64` lines, PEM) or the public
    identity `pli keys export-public` writes, whose address is bound too
    unless `address` is given.  Without a key file only the address is bound:
    a practitioner whose mail a proxy opens needs no keys of her own.
    """
    entry = next((e for e in entries if e.id == entry_id), None)
    if entry is None:
        raise AuthorityError(f"no entry {entry_id} in the entries file: import it first (`pli dir import-rpps`)")
    if key_file is None and not address:
        raise AuthorityError("nothing to bind: give a key file, an --address, or both")
    when = when or datetime.now(timezone.utc)
    keys, claimed = read_bound_keys(key_file) if key_file is not None else ([], None)
    if address and claimed and address.strip().lower() != claimed:
        raise AuthorityError(f"{key_file} is the identity of {claimed}, not of {address}: bind the right file, "
                             "or leave out --address to bind the file's own")
    for key in keys:
        entry = entry.with_key(key, when)
    address = (address or claimed or "").strip().lower()
    if address and address not in entry.addresses:
        entry = replace(entry, addresses=entry.addresses + (address,))
    try:
        from_json(entry.to_json())  # the bound entry must still be valid (e.g. a well-formed address)
    except BadEntry as error:
        raise AuthorityError(str(error)) from None
    return entry


def read_bound_keys(path: Path) -> tuple[list[PublicKey], str | None]:
    """The public keys of a key file, or of a public identity file (with the address it names)."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise AuthorityError(f"cannot read {path}: {error.strerror}") from None
    if not data.lstrip().startswith(b"{"):
        return read_key_file(path), None
    try:
        public = PublicIdentity.parse(data, str(path))
    except BadIdentity as error:
        raise AuthorityError(str(error)) from None
    keys = [PublicKey("ed25519", public.sign_public)] if public.sign_public else []
    return keys + [PublicKey("x25519", public.agree_public)], public.address


def sign(entries: list[DirectoryEntry], authority: Ed25519PrivateKey, serial: int | None = None) -> bytes:
    """A directory file of `entries`; the serial defaults to the current Unix time (always increasing)."""
    now = datetime.now(timezone.utc)
    return sign_directory(entries, authority, int(now.timestamp()) if serial is None else serial, now)
