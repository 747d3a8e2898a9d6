"""Public key files: how a key reaches the directory authority, a trust anchor or the trace signers.

A key file holds one or more public keys, each either as a PEM block
(`-----BEGIN PUBLIC KEY-----`, SubjectPublicKeyInfo, Ed25519 or X25519) or
as a line `ed25519 BASE64` / `x25519 BASE64` (the raw 32-byte key); lines
starting with `#` are comments.  `write_key_file` writes the line form.
"""
from __future__ import annotations

import base64
import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key

from pli.core.errors import PliError

ALGORITHMS = ("ed25519", "x25519")
_PEM = re.compile(rb"-----BEGIN PUBLIC KEY-----.+?-----END PUBLIC KEY-----", re.S)


class BadKeyFile(PliError):
    """A key file that holds no usable public key."""


@dataclass(frozen=True)
class PublicKey:
    """A raw public key and its algorithm ("ed25519" signs, "x25519" agrees keys)."""

    alg: str
    raw: bytes

    @property
    def b64(self) -> str:
        return base64.b64encode(self.raw).decode("ascii")

    def line(self) -> str:
        return f"{self.alg} {self.b64}"

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.raw)


def fingerprint(raw_public_key: bytes) -> str:
    """How people and the directory name a key: hex SHA-256 of the raw 32-byte public key, first 16 bytes.

    TODO(lead): pli.core.crypto.identity.fingerprint (not committed yet when this
    was written) computes the same thing; once it lands, this should delegate to it.
    """
    return hashlib.sha256(raw_public_key).hexdigest()[:32]


def read_key_file(path: str | os.PathLike) -> list[PublicKey]:
    """Every public key in the file, in order; BadKeyFile if there is none or one is broken."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise BadKeyFile(f"cannot read key file {path}: {error.strerror}") from None
    keys = [_from_pem(block, path) for block in _PEM.findall(data)]
    for number, line in enumerate(_PEM.sub(b"", data).decode("ascii", "replace").splitlines(), 1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        keys.append(parse_key_line(fields[0], fields[1] if len(fields) > 1 else "", f"{path} line {number}"))
    if not keys:
        raise BadKeyFile(f"{path} holds no public key (expected `ed25519 BASE64` lines or a PEM block)")
    return keys


def read_one(path: str | os.PathLike, alg: str) -> PublicKey:
    """The one key of algorithm `alg` in the file."""
    found = [k for k in read_key_file(path) if k.alg == alg]
    if len(found) != 1:
        raise BadKeyFile(f"{path} must hold exactly one {alg} public key (found {len(found)})")
    return found[0]


def parse_key_line(alg: str, text: str, where: str) -> PublicKey:
    return PublicKey(alg, raw_key(alg, text, where))


def raw_key(alg: str, text: str, where: str) -> bytes:
    """The 32 bytes of an `alg` key written in base64; BadKeyFile (naming `where`) for anything else."""
    if alg not in ALGORITHMS:
        raise BadKeyFile(f"{where}: unknown key type {alg!r} (expected {' or '.join(ALGORITHMS)})")
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:  # binascii.Error, or a str with non-ASCII characters (a pasted accent, full-width digits)
        raw = b""
    if len(raw) != 32:
        raise BadKeyFile(f"{where}: not a base64 32-byte {alg} public key")
    return raw


def write_key_file(path: str | os.PathLike, keys: list[PublicKey], comment: str = "") -> None:
    head = "".join(f"# {line}\n" for line in comment.splitlines())
    Path(path).write_text(head + "".join(k.line() + "\n" for k in keys), "utf-8")  # a comment may name someone


def _from_pem(block: bytes, path) -> PublicKey:
    try:
        key = load_pem_public_key(block)
    except ValueError:
        raise BadKeyFile(f"{path}: unreadable PEM public key") from None
    if isinstance(key, Ed25519PublicKey):
        alg = "ed25519"
    elif isinstance(key, X25519PublicKey):
        alg = "x25519"
    else:
        raise BadKeyFile(f"{path}: PEM key is neither Ed25519 nor X25519")
    return PublicKey(alg, key.public_bytes(Encoding.Raw, PublicFormat.Raw))
