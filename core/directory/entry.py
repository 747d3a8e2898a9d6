"""A directory entry: who a professional (or a group practice, a proxy establishment) is, and their keys.

Entries travel as JSON objects inside a signed directory file (docs/DIRECTORY.md);
`from_json` checks every field so that a malformed entry is refused at import,
never half-used later.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from pli.core.directory.keyfile import BadKeyFile, PublicKey, parse_key_line
from pli.core.errors import PliError

#: The same kinds as pli.core.crypto.identity: a professional, a group practice whose members share its
#: key-agreement key, an establishment whose server (proxy) opens the mail of its members.
KINDS = ("person", "group", "proxy")
REVOCATION_REASONS = ("superseded", "compromised", "retired")
_RPPS = re.compile(r"\d{11}")
_GROUP_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9.:-]{2,63}")
_ADDRESS = re.compile(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+")
_TEXT_FIELDS = ("title", "family_name", "given_name", "profession", "specialty", "organisation",
                "town", "town_code")


class BadEntry(PliError):
    """A directory entry with a missing or malformed field."""


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """One public key of an entry, with its life: added, and possibly revoked (when and why)."""

    key: PublicKey
    added: datetime | None = None
    revoked: datetime | None = None
    reason: str | None = None  # one of REVOCATION_REASONS when revoked

    @property
    def fingerprint(self) -> str:
        return self.key.fingerprint

    def revoked_for(self, when: datetime) -> bool:
        """Is a signature made at `when` by this key to be distrusted?

        A compromised key is distrusted whatever the claimed signing time (a
        thief can backdate); a superseded or retired key only from its revocation on.
        """
        if self.revoked is None:
            return False
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        return self.reason == "compromised" or when >= self.revoked

    def to_json(self) -> dict:
        return {"alg": self.key.alg, "key": self.key.b64, "added": _time_out(self.added),
                "revoked": _time_out(self.revoked), "reason": self.reason}


@dataclass(frozen=True, slots=True)
class DirectoryEntry:
    """One professional, group practice or proxy establishment."""

    id: str                      # RPPS (11 digits) for a person; FINESS or local id for a group
    kind: str                    # "person" | "group" | "proxy"
    name: str                    # display name: "Dr Jeanne Martin", "Cabinet des Tilleuls"
    title: str = ""
    family_name: str = ""
    given_name: str = ""
    profession: str = ""
    specialty: str = ""
    organisation: str = ""
    town: str = ""
    town_code: str = ""          # INSEE commune code
    addresses: tuple[str, ...] = ()
    keys: tuple[KeyRecord, ...] = ()
    groups: tuple[str, ...] = ()  # ids of the groups / proxies this entry belongs to (is served by)

    def current_key(self, alg: str) -> KeyRecord | None:
        """The newest unrevoked key of `alg` ("ed25519" signs, "x25519" agrees), if any."""
        live = [k for k in self.keys if k.key.alg == alg and k.revoked is None]
        return max(live, key=lambda k: k.added or _EPOCH) if live else None

    def key_by_fingerprint(self, fingerprint: str) -> KeyRecord | None:
        return next((k for k in self.keys if k.fingerprint == fingerprint), None)

    def with_key(self, key: PublicKey, added: datetime) -> "DirectoryEntry":
        """This entry with `key` added; a previous current key of the same kind becomes superseded."""
        if any(k.key == key for k in self.keys):
            return self
        keys = tuple(replace(k, revoked=added, reason="superseded")
                     if k.key.alg == key.alg and k.revoked is None else k for k in self.keys)
        return replace(self, keys=keys + (KeyRecord(key, added=added),))

    def with_revocation(self, fingerprint: str, when: datetime, reason: str) -> "DirectoryEntry":
        if reason not in REVOCATION_REASONS:
            raise BadEntry(f"revocation reason must be one of {', '.join(REVOCATION_REASONS)}")
        if self.key_by_fingerprint(fingerprint) is None:
            raise BadEntry(f"entry {self.id} has no key with fingerprint {fingerprint}")
        keys = tuple(replace(k, revoked=when, reason=reason) if k.fingerprint == fingerprint else k
                     for k in self.keys)
        return replace(self, keys=keys)

    def to_json(self) -> dict:
        out = {"id": self.id, "kind": self.kind, "name": self.name}
        out.update({name: getattr(self, name) for name in _TEXT_FIELDS})
        out.update(addresses=list(self.addresses), keys=[k.to_json() for k in self.keys],
                   groups=list(self.groups))
        return out


def from_json(obj) -> DirectoryEntry:
    """Build and check an entry from its JSON object; BadEntry names the field at fault."""
    if not isinstance(obj, dict):
        raise BadEntry("a directory entry must be a JSON object")
    entry_id = _text(obj, "id")
    kind = _text(obj, "kind")
    if kind not in KINDS:
        raise BadEntry(f"entry {entry_id}: kind must be one of {', '.join(KINDS)}")
    if kind == "person" and not _RPPS.fullmatch(entry_id):
        raise BadEntry(f"entry {entry_id!r}: a person's id must be an 11-digit RPPS number")
    if kind != "person" and not _GROUP_ID.fullmatch(entry_id):
        raise BadEntry(f"entry {entry_id!r}: a group id is 3-64 letters, digits, '.', ':' or '-'")
    addresses = tuple(a.lower() for a in _list(obj, "addresses", entry_id))
    for address in addresses:
        if not _ADDRESS.fullmatch(address):
            raise BadEntry(f"entry {entry_id}: {address!r} is not a mail address")
    return DirectoryEntry(
        id=entry_id, kind=kind, name=_text(obj, "name"),
        **{name: _text(obj, name, required=False) for name in _TEXT_FIELDS},
        addresses=addresses,
        keys=tuple(_key(k, entry_id) for k in _records(obj, "keys", entry_id)),
        groups=tuple(_list(obj, "groups", entry_id)))


def parse_time(text: str) -> datetime:
    """`2025-03-01` (midnight UTC) or `2025-03-01T08:00:00Z`; ValueError otherwise."""
    when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return when.replace(tzinfo=timezone.utc) if when.tzinfo is None else when.astimezone(timezone.utc)


def format_time(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _time_out(when: datetime | None) -> str | None:
    return None if when is None else format_time(when)


def _key(obj, entry_id: str) -> KeyRecord:
    try:
        key = parse_key_line(obj["alg"], obj["key"], f"entry {entry_id}")
        added, revoked = (parse_time(obj[n]) if obj.get(n) else None for n in ("added", "revoked"))
    except (KeyError, TypeError, ValueError, AttributeError, BadKeyFile) as error:
        # AttributeError: a time that is a number, not a string
        raise BadEntry(f"entry {entry_id}: a key is malformed ({error})") from None
    reason = obj.get("reason")
    if revoked is not None and reason not in REVOCATION_REASONS:
        raise BadEntry(f"entry {entry_id}: a revoked key needs a reason ({', '.join(REVOCATION_REASONS)})")
    return KeyRecord(key, added, revoked, reason if revoked else None)


def _text(obj: dict, name: str, required: bool = True) -> str:
    value = obj.get(name, "")
    if not isinstance(value, str) or (required and not value):
        raise BadEntry(f"entry {obj.get('id', '?')}: field {name!r} must be a{' non-empty' if required else ''} string")
    return value


def _records(obj: dict, name: str, entry_id: str) -> list:
    value = obj.get(name, [])
    if not isinstance(value, list):
        raise BadEntry(f"entry {entry_id}: field {name!r} must be a list")
    return value


def _list(obj: dict, name: str, entry_id: str) -> list[str]:
    value = obj.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadEntry(f"entry {entry_id}: field {name!r} must be a list of strings")
    return value
