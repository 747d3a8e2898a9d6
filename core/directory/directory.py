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

from pli.core.directory.entry import BadEntry, DirectoryEntry, KeyRecord, format_time, from_json
from pli.core.directory.keyfile import BadKeyFile, fingerprint, raw_key
from pli.core.directory.signed import DirectoryRefused, malformed
from pli.core.errors import PliError
from pli.core.gc_pause import gc_paused


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


class _CombiningMarks(dict):
    """A str.translate table deleting combining marks, filled as characters are met (the search text of
    100,000 entries met 2.4 million characters one Python call each; listing all of Unicode takes 0.2 s)."""

    def __missing__(self, code: int) -> int | None:
        kept = self[code] = None if unicodedata.combining(chr(code)) else code
        return kept


_MARKS = _CombiningMarks()


def fold(text: str) -> str:
    """Accent-, case- and punctuation-insensitive form for search: "Saint-Étienne" -> "saint etienne"."""
    if not text.isascii():  # most names are ASCII: no decomposition to do (a 100,000-entry search folds 300,000)
        text = unicodedata.normalize("NFKD", text.translate(_LIGATURES)).translate(_MARKS)
    return " ".join(_SEPARATORS.sub(" ", text.casefold()).split())


class Directory:
    """An immutable set of entries with its indexes (by id, address, key fingerprint), each built at its first use.

    A national directory holds 100,000 entries; `pli send` wants two of them
    and opening a mail one.  So the directory keeps the signed JSON objects
    and makes a DirectoryEntry (checked by `from_json`) of one only when it is
    asked for; an index (plain fields read from the objects) is built the
    first time a look-up needs it, the order by name and the search text the
    first time something is listed or searched.  The installed file's entries
    were all checked at import (or at the first load of a file not marked
    checked: local.load_directory); should one still be malformed, it is
    refused (DirectoryRefused) when a look-up reaches it, never half-used.
    """

    def __init__(self, entries: Iterable[DirectoryEntry], serial: int = 0) -> None:
        given = list(entries)
        self.serial = serial
        self.source = "the directory"
        self._objects = [e.to_json() for e in given]
        self._built: dict[int, DirectoryEntry] = dict(enumerate(given))

    @classmethod
    def from_objects(cls, objects: list, serial: int, source: str,
                     built: tuple[DirectoryEntry, ...] = ()) -> "Directory":
        """The directory of a verified file's entry objects (signed.verify_directory), checked as they are reached;
        `built`, when given, holds every entry already built from them, in the same order."""
        directory = cls((), serial)
        directory.source = source
        directory._objects = objects
        directory._built = dict(enumerate(built))
        return directory

    def __len__(self) -> int:
        return len(self._objects)

    @functools.cached_property
    def entries(self) -> tuple[DirectoryEntry, ...]:
        """Every entry, people first, then by folded name (builds and checks them all: seconds for 100,000)."""
        listing = self._listing
        with gc_paused():   # 100,000 entries and their key records hold no cycle
            return tuple(self._entry_at(at) for _hay, at in listing)

    def entry(self, entry_id: str) -> DirectoryEntry | None:
        return self._found(self._by_id.get(entry_id))

    def by_address(self, address: str) -> DirectoryEntry | None:
        return self._found(self._by_address.get(address.strip().lower()))

    def by_fingerprint(self, fingerprint: str) -> DirectoryEntry | None:
        return self._found(self._by_fingerprint.get(fingerprint))

    def addresses(self) -> list[str]:
        return sorted(self._by_address)

    def members(self, group_id: str) -> list[DirectoryEntry]:
        """The entries listing `group_id` in their groups: a group's practitioners, the people a proxy serves."""
        try:
            found = [at for at, obj in enumerate(self._objects) if group_id in _strings(obj, "groups")]
        except (TypeError, AttributeError) as error:
            raise self._refused(error) from None
        return sorted((self._entry_at(at) for at in found), key=lambda e: _rank(e.kind, fold(e.name), e.id))

    def groups_of(self, entry: DirectoryEntry) -> list[DirectoryEntry]:
        return [g for g in (self.entry(i) for i in entry.groups) if g is not None]

    def _found(self, at: int | None) -> DirectoryEntry | None:
        return None if at is None else self._entry_at(at)

    def _entry_at(self, at: int) -> DirectoryEntry:
        entry = self._built.get(at)
        if entry is None:
            try:
                entry = from_json(self._objects[at])
            except BadEntry as error:
                raise malformed(self.source, error.message) from None
            self._built[at] = entry   # two threads may both build it: the same entry either way
        return entry

    def _refused(self, error: Exception) -> DirectoryRefused:
        """An index could not read a field: the entry at fault names it (from_json), else the error's type."""
        for at in range(len(self._objects)):
            self._entry_at(at)
        return malformed(self.source, type(error).__name__)

    @functools.cached_property
    def _by_id(self) -> dict[str, int]:
        index: dict[str, int] = {}
        try:
            for at, obj in enumerate(self._objects):
                if index.setdefault(_string(obj, "id"), at) != at:
                    raise DirectoryRefused(f"{self.source} lists entry {obj['id']} twice")
        except (KeyError, TypeError, AttributeError) as error:
            raise self._refused(error) from None
        return index

    @functools.cached_property
    def _by_address(self) -> dict[str, int]:
        index: dict[str, int] = {}
        try:
            for at, obj in enumerate(self._objects):
                for address in _strings(obj, "addresses"):
                    # from_json keeps addresses lower-cased: the index reads them the same way
                    if index.setdefault(address.lower(), at) != at:
                        raise DirectoryRefused(f"{self.source} gives address {address.lower()} to two entries")
        except (KeyError, TypeError, AttributeError) as error:
            raise self._refused(error) from None
        return index

    @functools.cached_property
    def _by_fingerprint(self) -> dict[str, int]:
        index: dict[str, int] = {}
        try:
            for at, obj in enumerate(self._objects):
                for key in obj.get("keys", ()):
                    # the same parse as from_json's, so a key is found under the fingerprint its entry shows
                    fpr = fingerprint(raw_key(key["alg"], key["key"], self.source))
                    if index.setdefault(fpr, at) != at:
                        raise DirectoryRefused(f"{self.source} gives key {fpr} to two entries")
        except (KeyError, TypeError, AttributeError, BadKeyFile) as error:
            raise self._refused(error) from None
        return index

    @functools.cached_property
    def _listing(self) -> list[tuple[str, int]]:
        """(search text, position) of every entry, people first, then by folded name, then by id.

        Built at the first search or listing, not at load: sealing and checking
        signers never search.  Towns, specialties and organisations repeat:
        each distinct text is folded once.
        """
        folded = _Folds()
        rows = []
        try:
            with gc_paused():   # 200,000 tuples, no cycle
                for at, obj in enumerate(self._objects):
                    name = folded(_string(obj, "name"))
                    rows.append((_rank(_string(obj, "kind"), name, _string(obj, "id")), _haystack(obj, folded), at))
        except (KeyError, TypeError, AttributeError) as error:
            raise self._refused(error) from None
        rows.sort(key=lambda row: row[0])
        return [(hay, at) for _order, hay, at in rows]

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

    def prepare_search(self) -> None:
        """Build the order by name and the search text now (seconds for 100,000 entries), off the UI thread,
        so that the first search or completion does not wait for it."""
        self._listing  # noqa: B018 - the cached property is built and kept

    def search(self, text: str, limit: int | None = None) -> list[DirectoryEntry]:
        """Entries matching every word of `text` in name, town, specialty, profession, organisation, id, address."""
        words = fold(text).split()
        found = [at for hay, at in self._listing if all(w in hay for w in words)]
        return [self._entry_at(at) for at in (found[:limit] if limit else found)]

    def complete(self, prefix: str, limit: int = 20) -> list[DirectoryEntry]:
        """Entries with an address, a name word or an id starting with `prefix` (for compose's To:)."""
        folded = fold(prefix)
        if not folded:
            return []
        found = []
        for hay, at in self._listing:
            if hay.startswith(folded) or f" {folded}" in hay:
                found.append(self._entry_at(at))
                if len(found) == limit:
                    break
        return found


def _rank(kind: str, folded_name: str, entry_id: str) -> tuple:
    """The listing order: people first, then by folded name, then by id."""
    return kind != "person", folded_name, entry_id


class _Folds(dict):
    """fold() remembering its answers, for one pass over many entries sharing towns and specialties."""

    def __call__(self, text: str) -> str:
        found = self.get(text)
        if found is None:
            found = self[text] = fold(text)
        return found


_HAYSTACK_FIELDS = ("given_name", "family_name", "town", "specialty", "profession", "organisation", "id")


def _haystack(obj: dict, folded: _Folds) -> str:
    """What search and completion look in, from an entry's JSON object: name, the fields of _HAYSTACK_FIELDS,
    addresses, folded.  Folding each field apart gives the same text as folding them joined by spaces."""
    fields = [folded(obj["name"]), *(folded(obj.get(name) or "") for name in _HAYSTACK_FIELDS),
              *(fold(address) for address in _strings(obj, "addresses"))]
    return " ".join(f for f in fields if f)


def _string(obj: dict, name: str) -> str:
    value = obj[name]
    if not isinstance(value, str):
        raise TypeError(name)
    return value


def _strings(obj: dict, name: str) -> list[str]:
    """A list-of-strings field, [] when absent; TypeError when it is something else (from_json refuses it)."""
    value = obj.get(name, [])
    if not isinstance(value, list):
        raise TypeError(name)
    return value
