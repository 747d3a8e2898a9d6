"""The keys allowed to sign a home's trace: the anchor `pli audit verify` checks every signer against.

`trace/signers` holds one key per line, `ed25519 <base64 raw public key> [note]`.
The first key that writes to an empty journal is pinned there (trust on first
use) unless `pli init` pinned the home's identity before; other keys (a
rotated identity, a gateway writing into the same trace) are added with
`authorize_signer` / `pli audit authorize`.
"""
from __future__ import annotations

import base64
import binascii

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from pli.core.durable import append_durably
from pli.core.errors import PliError
from pli.core.home import Home


class UnauthorizedSigner(PliError):
    """A key not listed in trace/signers tried to write to the trace."""


def signers_path(home: Home):
    return home.trace / "signers"


def public_b64(public_key: Ed25519PublicKey) -> str:
    return base64.b64encode(public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode("ascii")


def key_from_b64(text: str) -> Ed25519PublicKey:
    """The public key a base64 string names; ValueError if it is not one."""
    try:
        raw = base64.b64decode(text, validate=True)
    except binascii.Error:
        raise ValueError("not base64") from None
    return Ed25519PublicKey.from_public_bytes(raw)


def load_signers(home: Home) -> set[str]:
    """The base64 public keys allowed to sign this home's trace (empty if none pinned yet)."""
    try:
        text = signers_path(home).read_text("ascii")
    except FileNotFoundError:
        return set()
    found = set()
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        if len(fields) < 2 or fields[0] != "ed25519":
            raise PliError(f"{signers_path(home)} line {number} is not `ed25519 KEY [note]`: fix or remove it")
        found.add(fields[1])
    return found


def authorize_signer(home: Home, public_key: Ed25519PublicKey, note: str = "") -> None:
    """Allow `public_key` to sign this home's trace (idempotent)."""
    key = public_b64(public_key)
    if key in load_signers(home):
        return
    home.trace.mkdir(mode=0o700, parents=True, exist_ok=True)
    line = f"ed25519 {key} {' '.join(note.split())}".rstrip() + "\n"
    append_durably(signers_path(home), line.encode("ascii", "replace"))
