"""Checking a sealed mail without being able to read it: structure, signature, a sender we know.

    trust = Trust.of_home(Home("/var/lib/pli-gateway"))   # core/directory/resolve.py: no passphrase
    checked = verify_mail(raw, trust)                       # -> Checked, or an OpenError

What a receiving gateway (or anyone holding only public keys) can prove about
a mail: it carries exactly one pli envelope that parses (envelope_format), the
envelope is signed over every byte by an Ed25519 key that the directory (or a
trusted correspondents list) gives to the claimed sender at the claimed time.
It cannot decrypt, so it says nothing of the content's MAC: the recipient's
`open_mail` still checks everything.  Parsing is the envelope's own
(`extract_envelope`, `parse`); the key that must have signed comes from
`trust.signer_key(header)` (core/directory/resolve.py's Trust: keyring, directory, revocations).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from pli.core.crypto.envelope_format import SIGN_DOMAIN, Header, parse
from pli.core.crypto.mime import extract_envelope
from pli.core.crypto.refusals import BadSignature, Malformed, OpenError, RevokedSender  # noqa: F401 - callers'


@dataclass(frozen=True)
class Checked:
    """What verifying proved about a sealed mail (identifiers only: nothing of the content)."""

    envelope_id: str          # hex of the envelope's message id (the outer Message-ID's local part)
    sender_address: str
    sender_id: str
    fingerprint: str          # hex fingerprint of the signing key
    mode: str                 # "otp" | "stream"
    recipients: tuple[str, ...]
    timestamp: int
    digest: str               # SHA-256 of the envelope: what a receiver uses to recognise a copy


class Trust(Protocol):
    """Who a verifier trusts (core/directory/resolve.py's Trust): the key that must have signed a header."""

    def signer_key(self, header: Header) -> Ed25519PublicKey: ...


def verify_mail(raw_mail: bytes, trust: Trust) -> Checked:
    """Structure + signature + known sender of a sealed mail, without any secret key.

    Raises NotSealed (plain mail), Malformed, UnsupportedVersion, UnknownSender,
    RevokedSender or BadSignature: OpenErrors with a tag-safe `.reason`.
    """
    envelope_bytes = extract_envelope(raw_mail)
    try:
        envelope = parse(envelope_bytes)
    except OpenError:
        raise
    except Exception as error:  # noqa: BLE001 - whatever the bytes, only OpenErrors leave
        raise Malformed(f"the envelope could not be read ({type(error).__name__})") from None
    header = envelope.header
    key = trust.signer_key(header)
    try:
        key.verify(envelope.signature, SIGN_DOMAIN + envelope.signed)
    except (InvalidSignature, ValueError):
        raise BadSignature(f"the signature of the mail from {header.sender_address} does not verify: "
                           "it was altered or forged") from None
    return Checked(envelope_id=header.message_id.hex(), sender_address=header.sender_address.lower(),
                   sender_id=header.sender_id, fingerprint=header.sender_fingerprint.hex(), mode=header.mode,
                   recipients=tuple(r.address.lower() for r in envelope.recipients),
                   timestamp=header.timestamp, digest=hashlib.sha256(envelope_bytes).hexdigest())
