"""Who holds which key: a professional's (or a group's, a proxy's) identity and its public half.

An identity has an identifier (an RPPS number or any stable id), an address,
a display name, an Ed25519 signing key and an X25519 key-agreement key.
Three kinds, as the secure-messaging services offer them:

- "person": a professional handling her own mail;
- "group": a group practice; members share the X25519 secret (every member
  reads mail addressed to the group) but a group has no signing key: each
  member signs as herself, so the trace says who did what;
- "proxy": an establishment whose server opens the mail of its practitioners;
  `serves` lists the addresses it opens mail for (their senders wrap keys to
  the proxy's X25519 key).

Keys are kept as raw 32-byte strings so that an identity pickles into worker
processes; the `cryptography` key objects are built at first use and kept (building
one from bytes is a scalar multiplication: it would double the cost of each
signature and key exchange of a batch import), never pickled.
"""
from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import re
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from pli.core.errors import PliError

KINDS = ("person", "group", "proxy")
PUBLIC_FORMAT = "pli-public-identity"
FINGERPRINT_BYTES = 16
_ADDRESS = re.compile(r"[^@\s<>,;]+@[^@\s<>,;]+")


class BadIdentity(PliError):
    """An identity or public identity file with a missing or malformed field."""


def fingerprint_bytes(raw_public_key: bytes) -> bytes:
    """The first 16 bytes of SHA-256 of the raw 32-byte public key (the directory uses the same)."""
    return hashlib.sha256(raw_public_key).digest()[:FINGERPRINT_BYTES]


def fingerprint(raw_public_key: bytes) -> str:
    """How people read a key's fingerprint: 32 lowercase hex digits."""
    return fingerprint_bytes(raw_public_key).hex()


def check_address(address: str) -> str:
    address = address.strip()
    if not _ADDRESS.fullmatch(address):
        raise BadIdentity(f"{address!r} is not a mail address (expected name@domain)")
    return address.lower()


@functools.lru_cache(maxsize=4096)
def _verifier(sign_public: bytes) -> Ed25519PublicKey:
    """The key object of a correspondent's signing key, built once: an import checks every message of a
    sender with it (a frozen PublicIdentity cannot keep it)."""
    return Ed25519PublicKey.from_public_bytes(sign_public)


@dataclass(frozen=True)
class PublicIdentity:
    """What correspondents know of an identity: enough to seal to it and check its signatures."""

    id: str
    address: str
    name: str
    kind: str
    agree_public: bytes                 # X25519, 32 bytes
    sign_public: bytes | None = None    # Ed25519, 32 bytes; None for a group
    serves: tuple[str, ...] = ()        # proxy only: the addresses it opens mail for

    @property
    def signing_fingerprint(self) -> bytes | None:
        return fingerprint_bytes(self.sign_public) if self.sign_public else None

    @property
    def agree_fingerprint(self) -> bytes:
        return fingerprint_bytes(self.agree_public)

    @property
    def fingerprint(self) -> str:
        """The identity's fingerprint: its signing key's, or (a group) its agreement key's."""
        return fingerprint(self.sign_public or self.agree_public)

    def verify(self, signature: bytes, data: bytes) -> bool:
        if self.sign_public is None:
            return False
        try:
            _verifier(self.sign_public).verify(signature, data)
        except Exception:  # noqa: BLE001 - InvalidSignature or a malformed signature: both are "no"
            return False
        return True

    def to_json(self) -> dict:
        return {"format": PUBLIC_FORMAT, "version": 1, "kind": self.kind, "id": self.id,
                "address": self.address, "name": self.name, "x25519": _b64(self.agree_public),
                "ed25519": _b64(self.sign_public) if self.sign_public else None, "serves": list(self.serves)}

    def export(self) -> bytes:
        """The public identity file `pli keys export-public` writes (JSON, UTF-8)."""
        return (json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n").encode("utf-8")

    @classmethod
    def from_json(cls, obj, where: str = "the public identity") -> "PublicIdentity":
        if not isinstance(obj, dict) or obj.get("format") != PUBLIC_FORMAT:
            raise BadIdentity(f"{where} is not a pli public identity (format {PUBLIC_FORMAT!r} expected)")
        if obj.get("version") != 1:
            raise BadIdentity(f"{where} has an unsupported version {obj.get('version')!r}")
        kind = obj.get("kind")
        if kind not in KINDS:
            raise BadIdentity(f"{where}: kind must be one of {', '.join(KINDS)}")
        sign = _key(obj.get("ed25519"), "ed25519", where) if kind != "group" else None
        serves = obj.get("serves") or []
        if not isinstance(serves, list):
            raise BadIdentity(f"{where}: serves must be a list of addresses")
        return cls(id=_text(obj, "id", where), address=check_address(_text(obj, "address", where)),
                   name=_text(obj, "name", where), kind=kind,
                   agree_public=_key(obj.get("x25519"), "x25519", where), sign_public=sign,
                   serves=tuple(check_address(str(a)) for a in serves))

    @classmethod
    def parse(cls, data: bytes, where: str = "the public identity file") -> "PublicIdentity":
        try:
            obj = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise BadIdentity(f"{where} is not a pli public identity (not JSON)") from None
        return cls.from_json(obj, where)


@dataclass(frozen=True)
class Identity:
    """An identity with its secrets: only ever in memory or sealed in the vault."""

    public: PublicIdentity
    agree_secret: bytes                      # X25519 private, 32 bytes
    sign_secret: bytes | None = field(default=None, repr=False)  # Ed25519 private seed, 32 bytes
    _keys: dict = field(default_factory=dict, init=False, repr=False, compare=False)  # key objects

    def __repr__(self) -> str:  # never show secrets, even in a debugger's repr
        return f"Identity({self.public.kind} {self.public.address} {self.public.fingerprint})"

    def __getstate__(self) -> dict:
        return {"public": self.public, "agree_secret": self.agree_secret, "sign_secret": self.sign_secret}

    def __setstate__(self, state: dict) -> None:
        for name, value in state.items():
            object.__setattr__(self, name, value)
        object.__setattr__(self, "_keys", {})

    @classmethod
    def generate(cls, id: str, address: str, name: str, kind: str = "person",
                 serves: tuple[str, ...] = ()) -> "Identity":
        if kind not in KINDS:
            raise BadIdentity(f"kind must be one of {', '.join(KINDS)}")
        if not id.strip() or not name.strip():
            raise BadIdentity("an identity needs a non-empty id and name")
        agree = X25519PrivateKey.generate()
        sign = Ed25519PrivateKey.generate() if kind != "group" else None
        return cls.from_secrets(id.strip(), check_address(address), name.strip(), kind,
                                _raw_private(agree), _raw_private(sign) if sign else None,
                                tuple(check_address(a) for a in serves))

    @classmethod
    def from_secrets(cls, id: str, address: str, name: str, kind: str, agree_secret: bytes,
                     sign_secret: bytes | None, serves: tuple[str, ...] = ()) -> "Identity":
        agree_public = _raw_public(X25519PrivateKey.from_private_bytes(agree_secret).public_key())
        sign_public = (_raw_public(Ed25519PrivateKey.from_private_bytes(sign_secret).public_key())
                       if sign_secret else None)
        public = PublicIdentity(id, address, name, kind, agree_public, sign_public, serves)
        return cls(public, agree_secret, sign_secret)

    def sign(self, data: bytes) -> bytes:
        if self.sign_secret is None:
            raise BadIdentity(f"{self.public.address} is a group identity: members sign as themselves")
        key = self._keys.get("sign")
        if key is None:
            key = self._keys["sign"] = Ed25519PrivateKey.from_private_bytes(self.sign_secret)
        return key.sign(data)

    def agree(self, peer_public: bytes) -> bytes:
        """The X25519 shared secret with `peer_public` (ValueError on a low-order peer key)."""
        key = self._keys.get("agree")
        if key is None:
            key = self._keys["agree"] = X25519PrivateKey.from_private_bytes(self.agree_secret)
        return key.exchange(X25519PublicKey.from_public_bytes(peer_public))

    def secrets_json(self) -> dict:
        return {"public": self.public.to_json(), "x25519_secret": _b64(self.agree_secret),
                "ed25519_secret": _b64(self.sign_secret) if self.sign_secret else None}

    @classmethod
    def from_secrets_json(cls, obj: dict) -> "Identity":
        public = PublicIdentity.from_json(obj["public"], "the keyring")
        agree = base64.b64decode(obj["x25519_secret"])
        sign = base64.b64decode(obj["ed25519_secret"]) if obj.get("ed25519_secret") else None
        identity = cls.from_secrets(public.id, public.address, public.name, public.kind, agree, sign,
                                    public.serves)
        if identity.public != public:
            raise BadIdentity("the keyring's secret keys do not match its public keys: the keyring is damaged")
        return identity


def _raw_private(key) -> bytes:
    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def _raw_public(key) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def _key(text, alg: str, where: str) -> bytes:
    try:
        raw = base64.b64decode(text or "", validate=True)
    except (binascii.Error, TypeError, ValueError):
        raw = b""
    if len(raw) != 32:
        raise BadIdentity(f"{where}: {alg} must be a base64 32-byte public key")
    return raw


def _text(obj: dict, name: str, where: str) -> str:
    value = obj.get(name)
    if not isinstance(value, str) or not value.strip():
        raise BadIdentity(f"{where}: {name} is missing")
    return value.strip()
