"""Checking a sealed mail without being able to read it: structure, signature, a sender we know.

    trust = Trust.of_home(Home("/var/lib/pli-gateway"))   # directory + correspondents, no passphrase
    checked = verify_mail(raw, trust)                       # -> Checked, or an OpenError

What a receiving gateway (or anyone holding only public keys) can prove about
a mail: it carries exactly one pli envelope that parses (envelope_format), the
envelope is signed over every byte by an Ed25519 key that the directory (or a
trusted correspondents list) gives to the claimed sender at the claimed time.
It cannot decrypt, so it says nothing of the content's MAC: the recipient's
`open_mail` still checks everything.  Parsing is the envelope's own
(`extract_envelope`, `parse`); this module adds only the key lookup.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from pli.core.crypto.envelope_format import SIGN_DOMAIN, Header, parse
from pli.core.crypto.identity import PublicIdentity
from pli.core.crypto.mime import extract_envelope
from pli.core.crypto.refusals import BadSignature, Malformed, OpenError, RevokedSender  # noqa: F401 - callers'
from pli.core.crypto.senders import sender_of
from pli.core.home import Home


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


@dataclass
class Trust:
    """The public keys a verifier trusts: a checked directory and/or a list of public identities.

    Correspondents (keys exchanged by hand) are looked up first, then the
    directory; the directory's revocations apply to both (senders.sender_of).
    """

    directory: object | None = None                                  # pli.core.directory.Directory
    correspondents: dict[bytes, PublicIdentity] = field(default_factory=dict)   # by signing fingerprint
    _keys: dict[bytes, Ed25519PublicKey] = field(default_factory=dict, repr=False)

    @classmethod
    def of_home(cls, home: Home) -> "Trust":
        """The installed directory (if the home trusts an authority) and the home's correspondents."""
        from pli.core.crypto.keyring import KeyringFiles, load_correspondents
        from pli.core.directory import load_directory
        from pli.core.directory.local import anchor_path

        directory = load_directory(home) if anchor_path(home).exists() else None
        publics = list(load_correspondents(home).values())
        own = KeyringFiles(home).public
        if own.exists():
            from pli.core.crypto.keyring import public_view
            me, _groups = public_view(home)
            publics.append(me)
        return cls.of(publics, directory)

    @classmethod
    def of(cls, publics: list[PublicIdentity], directory=None) -> "Trust":
        return cls(directory, {p.signing_fingerprint: p for p in publics if p.sign_public})

    def signer_key(self, header: Header) -> Ed25519PublicKey:
        """The key that must have signed an envelope with this header; UnknownSender / RevokedSender.

        The claims (address, id, signing time) and the directory's revocations are
        checked every time (senders.sender_of); only the key objects are cached, by their raw bytes.
        """
        raw = sender_of(header, self.correspondents.get(header.sender_fingerprint), self.directory).public.sign_public
        key = self._keys.get(raw)
        if key is None:
            key = self._keys[raw] = Ed25519PublicKey.from_public_bytes(raw)
        return key


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
