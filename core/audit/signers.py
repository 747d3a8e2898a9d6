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

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from pli.core.audit.entry import JournalTampered
from pli.core.durable import append_durably
from pli.core.errors import PliError
from pli.core.home import Home


class UnauthorizedSigner(PliError):
    """A key not listed in trace/signers tried to write to the trace."""


class BadSigners(JournalTampered):
    """trace/signers is not a list pli wrote: the trust anchor itself was edited or damaged."""


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
    except UnicodeDecodeError:
        raise BadSigners(f"{signers_path(home)} holds non-ASCII bytes: it is not the list pli wrote; restore it") \
            from None
    found = set()
    for number, line in enumerate(text.splitlines(), 1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        if len(fields) < 2 or fields[0] != "ed25519":
            raise BadSigners(f"{signers_path(home)} line {number} is not `ed25519 KEY [note]`: fix or remove it")
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


class TrustedKeys:
    """The keys trusted to have signed a trace (its entries and its head), each parsed once."""

    def __init__(self, trusted: set[str]) -> None:
        self.trusted = trusted
        self._parsed: dict[str, Ed25519PublicKey] = {}

    def check(self, signer, signature: bytes, data: bytes) -> str | None:
        """None if `signer` is trusted and the signature holds, else what is wrong (whatever `signer` is)."""
        if not isinstance(signer, str) or signer not in self.trusted:
            shown = signer if isinstance(signer, str) else f"a {type(signer).__name__}, not a key"
            return f"is signed by a key not allowed to sign this trace ({shown[:64]}): forged or re-signed"
        key = self._parsed.get(signer)
        if key is None:
            try:
                key = self._parsed[signer] = key_from_b64(signer)
            except ValueError:
                return f"names a signer that is no Ed25519 key ({signer[:64]}): trace/signers was edited"
        try:
            key.verify(signature, data)
        except InvalidSignature:
            return "does not match its signature: it was edited"
        return None
