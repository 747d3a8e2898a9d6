"""The directory in use: look professionals up, search and complete, and check who signed a mail.

`check_signer` is what the envelope and the store call after a signature
verifies: it says whether the key that signed belongs, at that time, to the
address the mail claims, and raises a typed error carrying the revocation date
when it does not.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime

from pli.core.directory.entry import DirectoryEntry, KeyRecord, format_time
from pli.core.errors import PliError


class SignerProblem(PliError):
    """The key that signed a mail is not (or no longer) the sender's, per the directory.

    `reason` is a short token, like the envelope's OpenError reasons.
    """

    reason = "signer"


class UnknownSigner(SignerProblem):
    reason = "unknown-sender"


class SignerMismatch(SignerProblem):
    """The key is in the directory, but under another entry than the claimed address."""

    reason = "signer-mismatch"

    def __init__(self, message: str, owner: DirectoryEntry):
        super().__init__(message)
        self.owner = owner


class RevokedSigner(SignerProblem):
    """The key was revoked: `revoked` is when, `revocation_reason` why, `entry` whose it was."""

    reason = "revoked-key"

    def __init__(self, message: str, entry: DirectoryEntry, key: KeyRecord):
        super().__init__(message)
        self.entry = entry
        self.key = key
        self.revoked = key.revoked
        self.revocation_reason = key.reason


_LIGATURES = str.maketrans({"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae"})  # NFKD leaves these whole


_SEPARATORS = re.compile(r"[^\w@.]|_")  # \w is str.isalnum() plus "_"


def fold(text: str) -> str:
    """Accent-, case- and punctuation-insensitive form for search: "Saint-Étienne" -> "saint etienne"."""
    if not text.isascii():  # most names are ASCII: no decomposition to do (a 100,000-entry load folds 200,000 times)
        decomposed = unicodedata.normalize("NFKD", text.translate(_LIGATURES))
        text = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(_SEPARATORS.sub(" ", text.casefold()).split())


class Directory:
    """An immutable set of entries with its indexes (by id, address, key fingerprint)."""

    def __init__(self, entries: Iterable[DirectoryEntry], serial: int = 0) -> None:
        self.entries = tuple(sorted(entries, key=lambda e: (e.kind != "person", fold(e.name), e.id)))
        self.serial = serial
        self._by_id = {e.id: e for e in self.entries}
        self._by_address = {a: e for e in self.entries for a in e.addresses}
        self._by_fingerprint = {k.fingerprint: e for e in self.entries for k in e.keys}

    @functools.cached_property
    def _haystacks(self) -> list[tuple[str, DirectoryEntry]]:
        # Built at the first search, not at load: sealing and checking signers never search.
        return [(_haystack(e), e) for e in self.entries]

    def __len__(self) -> int:
        return len(self.entries)

    def entry(self, entry_id: str) -> DirectoryEntry | None:
        return self._by_id.get(entry_id)

    def by_address(self, address: str) -> DirectoryEntry | None:
        return self._by_address.get(address.strip().lower())

    def by_fingerprint(self, fingerprint: str) -> DirectoryEntry | None:
        return self._by_fingerprint.get(fingerprint)

    def addresses(self) -> list[str]:
        return sorted(self._by_address)

    def members(self, group_id: str) -> list[DirectoryEntry]:
        """The entries listing `group_id` in their groups: a group's practitioners, the people a proxy serves."""
        return [e for e in self.entries if group_id in e.groups]

    def groups_of(self, entry: DirectoryEntry) -> list[DirectoryEntry]:
        return [g for g in (self._by_id.get(i) for i in entry.groups) if g is not None]

    def check_signer(self, address: str, fingerprint: str, when: datetime) -> DirectoryEntry:
        """The entry whose Ed25519 key `fingerprint` signed, at `when`, mail from `address`.

        That is the entry of `address`, or, for the address of a group or a
        proxy (which have no signing key of their own), the member who signed.
        Raises UnknownSigner (no such address, or not one of its keys),
        SignerMismatch (the key is someone else's) or RevokedSigner (with the date).
        """
        entry = self.by_address(address)
        owner = self.by_fingerprint(fingerprint)
        if entry is None:
            raise UnknownSigner(f"{address} is not in the directory: the sender cannot be confirmed")
        if owner is not None and entry.kind != "person" and entry.id in owner.groups:
            entry = owner  # a member writing for her group signs as herself
        if owner is not None and owner.id != entry.id:
            raise SignerMismatch(f"mail from {address} is signed with the key of {owner.name} ({owner.id}), "
                                 f"not of {entry.name}: treat it as forged", owner)
        key = entry.key_by_fingerprint(fingerprint)
        if key is None or key.key.alg != "ed25519":
            raise UnknownSigner(f"mail from {address} is signed with key {fingerprint}, which the directory "
                                f"does not list for {entry.name}: update the directory (`pli dir import`)")
        if key.revoked_for(when):
            raise RevokedSigner(f"mail from {entry.name} <{address}> is signed with key {fingerprint}, revoked on "
                                f"{format_time(key.revoked)} ({key.reason}): do not trust it", entry, key)
        return entry

    def search(self, text: str, limit: int | None = None) -> list[DirectoryEntry]:
        """Entries matching every word of `text` in name, town, specialty, profession, organisation, id, address."""
        words = fold(text).split()
        found = [e for hay, e in self._haystacks if all(w in hay for w in words)]
        return found[:limit] if limit else found

    def complete(self, prefix: str, limit: int = 20) -> list[DirectoryEntry]:
        """Entries with an address, a name word or an id starting with `prefix` (for compose's To:)."""
        folded = fold(prefix)
        if not folded:
            return []
        found = []
        for hay, entry in self._haystacks:
            if hay.startswith(folded) or f" {folded}" in hay:
                found.append(entry)
                if len(found) == limit:
                    break
        return found


def _haystack(entry: DirectoryEntry) -> str:
    fields = (entry.name, entry.given_name, entry.family_name, entry.town, entry.specialty, entry.profession,
              entry.organisation, entry.id, *entry.addresses)
    return fold(" ".join(f for f in fields if f))
