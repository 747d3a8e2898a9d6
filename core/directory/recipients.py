"""Sealing to people found in the directory: an entry's current keys as the identity the envelope seals to.

The installed directory is signed by the home's trust anchor, so the keys it
lists are trusted for the addresses it lists, as if they had been imported
into the keyring.  The keyring wins where it knows an address (keys exchanged
in person), except that a key the directory revokes is never sealed to: the
directory's newer key is used instead, or the address is refused with the
date of the revocation.

    reach(directory, "dr.b@example.org")       # -> PublicIdentity | None (not in the directory)
    expand(directory, "cabinet@example.org")   # a group with no key of its own -> its members' addresses
    check_not_revoked(directory, public)       # RevokedRecipient for a revoked key-agreement key
    signer(directory, address, fingerprint, when)   # who signed, per the directory (opening mail)
    installed(home)                            # the home's directory, loaded once per change of the file
"""
from __future__ import annotations

import threading
from pathlib import Path

from pli.core.crypto.identity import PublicIdentity
from pli.core.directory.directory import Directory
from pli.core.directory.entry import DirectoryEntry, KeyRecord, format_time
from pli.core.directory.local import installed_path, load_directory
from pli.core.errors import PliError
from pli.core.home import Home


class RevokedRecipient(PliError):
    """The only key the directory knows for a recipient was revoked: sealing to it is refused."""

    exit_code = 7

    def __init__(self, message: str, key: KeyRecord):
        super().__init__(message)
        self.revoked = key.revoked
        self.revocation_reason = key.reason


class NoDirectoryKey(PliError):
    """The directory lists the address but no key-agreement key to seal to."""

    exit_code = 7


def reach(directory: Directory, address: str) -> PublicIdentity | None:
    """The identity sealing to `address` per the directory: its own key, else the proxy serving it."""
    entry = directory.by_address(address)
    if entry is None:
        return None
    if entry.current_key("x25519") is None:
        proxy = next((g for g in directory.groups_of(entry)
                      if g.kind == "proxy" and g.current_key("x25519") is not None and g.addresses), None)
        if proxy is not None:
            return public_identity(directory, proxy, proxy.addresses[0])
    return public_identity(directory, entry, address)


def public_identity(directory: Directory, entry: DirectoryEntry, address: str) -> PublicIdentity:
    """`entry` as the envelope sees a correspondent, under `address` (one of its addresses)."""
    agree = entry.current_key("x25519")
    if agree is None:
        revoked = _latest_revoked(entry, "x25519")
        if revoked is not None:
            raise _revoked(entry, address, revoked)
        raise NoDirectoryKey(f"{entry.name} <{address}> is in the directory without a key to seal to: "
                             "ask them (or your directory authority) to publish one")
    sign = entry.current_key("ed25519")
    serves = tuple(a for m in directory.members(entry.id) for a in m.addresses) if entry.kind == "proxy" else ()
    return PublicIdentity(id=entry.id, address=address.strip().lower(), name=entry.name, kind=entry.kind,
                          agree_public=agree.key.raw,
                          sign_public=sign.key.raw if sign is not None and entry.kind != "group" else None,
                          serves=serves)


def signer(directory: Directory, address: str, fingerprint: str, when) -> PublicIdentity | None:
    """The sender of a mail from `address` signed at `when` by the Ed25519 key `fingerprint`, per the directory.

    None if the directory does not list that key (the caller's "unknown sender");
    SignerProblem (RevokedSigner, with the date; SignerMismatch) when it lists
    it but not for this address at this time.
    """
    if directory.by_fingerprint(fingerprint) is None:
        return None
    entry = directory.check_signer(address, fingerprint, when)
    agree = entry.current_key("x25519")
    return PublicIdentity(id=entry.id, address=address.strip().lower(), name=entry.name, kind="person",
                          # only the signing key is used to open; sealing to them goes through reach()
                          agree_public=agree.key.raw if agree is not None else bytes(32),
                          sign_public=entry.key_by_fingerprint(fingerprint).key.raw)


def expand(directory: Directory, address: str) -> list[str]:
    """A group practice without a key of its own stands for its members: their addresses; else [address]."""
    entry = directory.by_address(address)
    if entry is None or entry.kind != "group" or entry.keys:
        return [address]
    members = [m.addresses[0] for m in directory.members(entry.id) if m.addresses]
    return members or [address]


def check_not_revoked(directory: Directory, public: PublicIdentity) -> None:
    """RevokedRecipient if the directory revoked `public`'s key-agreement key (however it was learnt)."""
    fingerprint = public.agree_fingerprint.hex()
    entry = directory.by_fingerprint(fingerprint)
    key = entry.key_by_fingerprint(fingerprint) if entry is not None else None
    if key is not None and key.revoked is not None:
        raise _revoked(entry, public.address, key)


def installed(home: Home) -> Directory | None:
    """The home's installed directory (None if there is none), re-read only when its file changes.

    Checking the signature and parsing a national directory takes a while:
    compose asks at every key press, so the checked result is kept.
    """
    path = installed_path(home)
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    stamp = (info.st_mtime_ns, info.st_size, info.st_ino)
    with _LOADING:   # compose looks from several threads at once: load once, the others wait for it
        cached = _CACHE.get(path)
        if cached is None or cached[0] != stamp:
            cached = (stamp, load_directory(home))
            _CACHE[path] = cached
    return cached[1]


_CACHE: dict[Path, tuple[tuple[int, int, int], Directory]] = {}
_LOADING = threading.Lock()


def _latest_revoked(entry: DirectoryEntry, alg: str) -> KeyRecord | None:
    revoked = [k for k in entry.keys if k.key.alg == alg and k.revoked is not None]
    return max(revoked, key=lambda k: k.revoked) if revoked else None


def _revoked(entry: DirectoryEntry, address: str, key: KeyRecord) -> RevokedRecipient:
    return RevokedRecipient(f"the key of {entry.name} <{address}> was revoked on {format_time(key.revoked)} "
                            f"({key.reason}) and the directory lists no newer one: nothing was sealed; "
                            "import the updated directory (`pli dir import`) or contact them", key)
