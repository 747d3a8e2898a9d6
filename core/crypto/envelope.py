"""Sealing and opening messages: the otp and stream modes, key wrapping, the mandatory signature.

    sealed = seal_mail(inner_message, keyring, ["dr.b@example.org"])      # RFC 5322 bytes
    opened = open_mail(sealed, keyring)        # worker-safe: verifies, decrypts, writes nothing
    SeenRanges(home).check_and_record(opened)  # the single writer: replay / pad reuse alert

Modes (docs/FORMAT.md has the bytes):
- otp: the content is XORed with pad bytes of one pad that the sender and every
  recipient hold (a pair's pad, or a group's); 32 more pad bytes are the
  one-time Poly1305 key.  Confidentiality does not rest on computational hardness.
- stream: a fresh 256-bit key and ChaCha20-Poly1305 (RFC 8439) for the content;
  the key is wrapped for each recipient with 64 pad bytes of a pad shared with
  that recipient (XOR + one-time Poly1305) where there is one with bytes left,
  else with X25519 (ephemeral) + HKDF-SHA256 + ChaCha20-Poly1305.
The default is otp where one pad with enough bytes left is shared with all the
recipients, else stream.  Pad bytes are reserved durably in the ledger before
they are used.  The sender's Ed25519 key signs every byte of the envelope.
"""
from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Callable

from pli.core.crypto import primitives
from pli.core.crypto.agreement import receiver_key, sender_key
from pli.core.crypto.envelope_format import (SIGN_DOMAIN, WRAP_CONTENT_PAD, WRAP_PAD, WRAP_X25519, Envelope,
                                             Header, PadRef, Recipient, parse, signed_part)
from pli.core.crypto.identity import Identity, PublicIdentity
from pli.core.crypto.keyring import Keyring
from pli.core.crypto.mime import extract_envelope, inner_mail, is_sealed, outer_mail
from pli.core.crypto.pads import PadError, PadExhausted, PadInfo
from pli.core.crypto.refusals import (BadMac, BadSignature, Malformed, NotForMe, NotSealed, OpenError,
                                      ReplayAlert, RevokedSender, UnknownSender, UnsupportedVersion)
from pli.core.crypto.seen import PadRange, SeenRanges
from pli.core.errors import PliError

__all__ = ["BadMac", "BadSignature", "Malformed", "NotForMe", "NotSealed", "OpenError", "Opened", "OtpImpossible",
           "PadRange", "ReplayAlert", "RevokedSender", "SealPreview", "SeenRanges", "UnknownSender",
           "UnsupportedVersion",
           "choose_mode", "is_sealed", "open_envelope", "open_mail", "open_mails", "preview", "seal", "seal_mail"]

X25519_INFO = b"pli-envelope-v1 x25519 key wrap"
MODES = ("otp", "stream")
Rng = Callable[[int], bytes]


class OtpImpossible(PadExhausted):
    """--mode otp was asked but no pad with enough bytes left is shared with every recipient."""


@dataclass(frozen=True)
class Opened:
    """A message that passed every check: its inner mail and who, provably, sent it."""

    inner: bytes
    sender_id: str
    sender_address: str
    sender_name: str
    fingerprint: str
    mode: str
    envelope_id: str
    recipients: tuple[str, ...]
    timestamp: int
    pad_ranges: tuple[PadRange, ...]
    digest: str            # SHA-256 of the envelope: the same message opened twice is no replay
    warning: str = ""      # signed before the directory revoked its key: shown with the message


# -- choosing ---------------------------------------------------------------------------------------


def choose_mode(keyring: Keyring, address: str, size: int = 0) -> str:
    """"otp" if a pad shared with `address` has 32+size bytes left in our lane, else "stream".

    UnknownRecipient if neither the keyring nor the directory has a key for the address
    (RevokedRecipient / NoDirectoryKey when the directory has it but no usable key).
    """
    owner = keyring.reach(address)
    return "otp" if _shared_pad(keyring, [owner], 32 + size) else "stream"


def _shared_pad(keyring: Keyring, owners: list[PublicIdentity], need: int) -> PadInfo | None:
    """The pad held by us and every owner with `need` bytes left in our lane: fewest holders, most left."""
    me = keyring.identity.public.address
    wanted = {me, *(o.address for o in owners)}
    best = None
    for pad in keyring.pads.list():
        lane = pad.lane_of(me)
        if lane is None or not wanted <= set(pad.holders):
            continue
        left = keyring.ledger.left(pad, lane)
        if left >= need:
            rank = (len(pad.holders), -left)
            if best is None or rank < best[0]:
                best = (rank, pad)
    return best[1] if best else None


@dataclass(frozen=True)
class SealPreview:
    """How `seal` would seal for these recipients now: the mode, and per address how its key travels."""

    mode: str                                # "otp" | "stream"
    wraps: tuple[tuple[str, str], ...]       # (address, "content-pad" | "pad" | "x25519"), groups expanded


def preview(keyring: Keyring, to: list[str], size: int = 0, mode: str | None = None) -> SealPreview:
    """What sealing `size` bytes for `to` would do, reserving nothing (compose shows it before sending).

    The same plan as `seal`: otp where one pad with enough bytes left is shared
    with every recipient, else stream, each recipient's key wrapped with a pad
    shared with them where there is one, else with X25519.
    """
    plan = _plan(keyring, _recipients(to, keyring), size, mode)
    if plan.mode == "otp":
        return SealPreview("otp", tuple((address, "content-pad") for address, _, _ in plan.wraps))
    return SealPreview("stream", tuple((address, "pad" if pad else "x25519") for address, _, pad in plan.wraps))


@dataclass(frozen=True)
class _Plan:
    mode: str
    content_pad: PadInfo | None
    wraps: tuple[tuple[str, PublicIdentity, PadInfo | None], ...]   # address, key owner, pad (None: X25519)


def _plan(keyring: Keyring, to: list[str], size: int, mode: str | None) -> _Plan:
    owners = [keyring.reach(a) for a in to]
    if mode in (None, "otp"):
        pad = _shared_pad(keyring, owners, 32 + size)
        if pad is not None:
            return _Plan("otp", pad, tuple((a, o, None) for a, o in zip(to, owners)))
        if mode == "otp":
            raise OtpImpossible(f"otp mode needs a pad shared with {', '.join(to)} with at least "
                                f"{32 + size:,} bytes left; make one with `pli pad new` or use --mode stream")
    wraps = tuple((a, o, _shared_pad(keyring, [o], 64)) for a, o in zip(to, owners))
    return _Plan("stream", None, wraps)


# -- sealing ----------------------------------------------------------------------------------------


def seal(plaintext: bytes, keyring: Keyring, to: list[str], mode: str | None = None,
         rng: Rng = os.urandom, now: int | None = None) -> bytes:
    """The signed envelope of `plaintext` for `to`.  `rng` and `now` are injectable for test vectors.

    Pad bytes are reserved durably before use; if a pad runs out between
    planning and reserving (another process sent meanwhile) the default mode
    plans again, a forced mode fails with PadExhausted.
    """
    if mode not in (None, *MODES):
        raise PliError(f"unknown mode {mode!r}: use otp or stream")
    to = _recipients(to, keyring)
    for attempt in range(3):
        plan = _plan(keyring, to, len(plaintext), mode)
        try:
            reservations = keyring.ledger.reserve(_requests(keyring, plan, len(plaintext)))
            break
        except PadExhausted:
            if mode is not None or attempt == 2:
                raise
    now = int(time.time()) if now is None else now
    me = keyring.identity
    message_id = rng(16)
    if plan.mode == "otp":
        return _seal_otp(plaintext, keyring, me, plan, reservations[0], message_id, now)
    return _seal_stream(plaintext, keyring, me, plan, reservations, message_id, now, rng)


def seal_mail(inner: bytes | EmailMessage, keyring: Keyring, to: list[str], mode: str | None = None,
              rng: Rng = os.urandom, now: int | None = None) -> bytes:
    """The outer RFC 5322 mail (neutral Subject) carrying the sealed inner message."""
    to = _recipients(to, keyring)
    now = int(time.time()) if now is None else now
    me = keyring.identity.public
    envelope = seal(inner_mail(inner, me.name, me.address, to, now), keyring, to, mode, rng, now)
    return outer_mail(envelope, me.name, me.address, to, now, _envelope_id(envelope))


def _recipients(to: list[str], keyring: Keyring) -> list[str]:
    """The recipients' addresses, checked, once each; a keyless directory group stands for its members."""
    out = []
    for address in to:
        for expanded in keyring.expand(address):
            if expanded not in out:
                out.append(expanded)
    if not out:
        raise PliError("no recipient given")
    return out


def _requests(keyring: Keyring, plan: _Plan, size: int) -> list[tuple[PadInfo, int, int]]:
    me = keyring.identity.public.address
    if plan.mode == "otp":
        return [(plan.content_pad, plan.content_pad.lane_of(me), 32 + size)]
    return [(pad, pad.lane_of(me), 64) for _, _, pad in plan.wraps if pad is not None]


def _header(me: Identity, mode: str, message_id: bytes, now: int, nonce: bytes,
            content_pad: PadRef | None = None) -> Header:
    return Header(mode, message_id, now, me.public.signing_fingerprint, me.public.id, me.public.address, nonce,
                  content_pad)


def _ref(reservation) -> PadRef:
    return PadRef(reservation.pad_id, reservation.lane, reservation.offset, reservation.length)


def _seal_otp(plaintext, keyring, me, plan, reservation, message_id, now) -> bytes:
    header = _header(me, "otp", message_id, now, bytes(12), _ref(reservation))
    header_bytes = header.pack()
    pad = keyring.pads.read(reservation.pad_id, reservation.offset, reservation.length)
    ciphertext, tag = primitives.otp_seal(pad[32:], bytes(pad[:32]), plaintext, header_bytes)
    recipients = [Recipient(address, WRAP_CONTENT_PAD) for address, _, _ in plan.wraps]
    return _sign(me, signed_part(header_bytes, recipients, ciphertext, tag))


def _seal_stream(plaintext, keyring, me, plan, reservations, message_id, now, rng) -> bytes:
    key, nonce = rng(32), rng(12)
    header_bytes = _header(me, "stream", message_id, now, nonce).pack()
    ciphertext, tag = primitives.aead_seal(key, nonce, plaintext, header_bytes)
    reserved = iter(reservations)
    recipients = []
    for address, owner, pad in plan.wraps:
        if pad is not None:
            ref = _ref(next(reserved))
            aad = header_bytes + Recipient(address, WRAP_PAD).prefix()
            pad_bytes = keyring.pads.read(ref.pad_id, ref.offset, ref.length)
            wrapped, wrap_tag = primitives.otp_seal(pad_bytes[32:64], bytes(pad_bytes[:32]), key, aad)
            recipients.append(Recipient(address, WRAP_PAD, pad=ref, wrapped_key=bytes(wrapped), tag=wrap_tag))
        else:
            eph_public, wrap_key = sender_key(owner.agree_public, X25519_INFO, rng)
            aad = header_bytes + Recipient(address, WRAP_X25519).prefix()
            wrapped, wrap_tag = primitives.aead_seal(wrap_key, bytes(12), key, aad)
            recipients.append(Recipient(address, WRAP_X25519, key_fingerprint=owner.agree_fingerprint,
                                        ephemeral=eph_public, wrapped_key=bytes(wrapped), tag=wrap_tag))
    return _sign(me, signed_part(header_bytes, recipients, ciphertext, tag))


def _sign(me: Identity, signed: bytes) -> bytes:
    return signed + me.sign(SIGN_DOMAIN + signed)


def _envelope_id(envelope: bytes) -> str:
    return envelope[8:24].hex()  # the message id: after magic, version, mode and flags


# -- opening ----------------------------------------------------------------------------------------


@dataclass
class Verified:
    """An envelope whose signature checked and whose content key is at hand: only decryption is left."""

    envelope: Envelope
    sender: PublicIdentity
    kind: str                 # "otp" | "stream" (primitives.Record kinds)
    key: bytes                # otp: one-time Poly1305 key; stream: the content key
    pad: bytes | None         # otp: XOR bytes
    pad_ranges: tuple[PadRange, ...]
    digest: str
    warning: str = ""         # the directory revoked the key after the message was signed (directory/resolve.py)

    def opened(self, inner: bytes) -> Opened:
        h = self.envelope.header
        return Opened(inner=bytes(inner), sender_id=h.sender_id, sender_address=h.sender_address,
                      sender_name=self.sender.name, fingerprint=self.sender.fingerprint, mode=h.mode,
                      envelope_id=h.message_id.hex(), recipients=tuple(r.address for r in self.envelope.recipients),
                      timestamp=h.timestamp, pad_ranges=self.pad_ranges, digest=self.digest,
                      warning=self.warning)


def verify_envelope(data: bytes, keyring: Keyring) -> Verified:
    """Every check up to (not including) the replay check and the content MAC; raises OpenError only."""
    try:
        return _verify(data, keyring)
    except OpenError:
        raise
    except Exception as error:  # noqa: BLE001 - opening raises nothing but OpenErrors, whatever the bytes
        raise Malformed(f"the envelope could not be read ({type(error).__name__})") from None


def decrypt(verified: Verified) -> Opened:
    """The content, after its MAC checked (BadMac otherwise)."""
    envelope = verified.envelope
    try:
        if verified.kind == "otp":
            inner = primitives.otp_open(verified.pad, verified.key, envelope.ciphertext, envelope.tag,
                                        envelope.header_bytes)
        else:
            inner = primitives.aead_open(verified.key, envelope.header.nonce, envelope.ciphertext, envelope.tag,
                                         envelope.header_bytes)
    except primitives.BadTag:
        raise BadMac(f"the content of the message from {envelope.header.sender_address} fails its MAC "
                     "check (damaged or altered)") from None
    return verified.opened(inner)


def open_envelope(data: bytes, keyring: Keyring) -> Opened:
    verified = verify_envelope(data, keyring)
    try:
        return decrypt(verified)
    except OpenError:
        raise
    except Exception as error:  # noqa: BLE001
        raise Malformed(f"the envelope could not be decrypted ({type(error).__name__})") from None


def open_mail(raw_mail: bytes, keyring: Keyring) -> Opened:
    """Parse the mail, verify, decrypt, check the MAC.  Writes nothing: safe in worker processes.

    The replay check is the caller's (the single writer): SeenRanges(home).check_and_record(opened).
    """
    return open_envelope(extract_envelope(raw_mail), keyring)


def open_mails(raw_mails: list[bytes], keyring: Keyring) -> list[Opened | OpenError]:
    """Open many mails with ONE native batch call for the content; per mail an Opened or the OpenError."""
    results: list[Opened | OpenError | None] = [None] * len(raw_mails)
    pending, records = [], []
    for index, raw in enumerate(raw_mails):
        try:
            verified = verify_envelope(extract_envelope(raw), keyring)
        except OpenError as error:
            results[index] = error
            continue
        pending.append((index, verified))
        records.append(_record(verified))
    for (index, verified), record, ok in zip(pending, records, primitives.open_batch(records) if records else []):
        results[index] = verified.opened(record.data) if ok else BadMac(
            f"the content of the message from {verified.envelope.header.sender_address} fails its MAC check")
    return results


def _record(verified: Verified):
    envelope = verified.envelope
    return primitives.Record(kind=verified.kind, data=bytearray(envelope.ciphertext), key=verified.key,
                             nonce=envelope.header.nonce if verified.kind == "stream" else bytes(12),
                             pad=verified.pad, aad=envelope.header_bytes, tag=envelope.tag)


def _verify(data: bytes, keyring: Keyring) -> Verified:
    envelope = parse(data)
    header = envelope.header
    checked = keyring.sender_of(header)
    sender = checked.public
    if not sender.verify(envelope.signature, SIGN_DOMAIN + envelope.signed):
        raise BadSignature(f"the signature of the message from {header.sender_address} does not verify: "
                           "it was altered or forged")
    readable = keyring.readable()
    mine = [r for r in envelope.recipients if r.address.lower() in readable]
    if not mine:
        raise NotForMe(f"the message from {header.sender_address} is addressed to "
                       f"{', '.join(r.address for r in envelope.recipients)}, not to this keyring")
    digest = hashlib.sha256(data).hexdigest()
    ranges = _held_ranges(keyring, envelope, sender)
    if header.mode == "otp":
        pad = _pad_bytes(keyring, header.content_pad, sender)
        return Verified(envelope, sender, "otp", bytes(pad[:32]), bytes(pad[32:]), ranges, digest, checked.warning)
    problem = None
    for recipient in mine:
        try:
            key = _unwrap(keyring, envelope, recipient, readable[recipient.address.lower()], sender)
            return Verified(envelope, sender, "stream", key, None, ranges, digest, checked.warning)
        except NotForMe as error:
            problem = error  # another entry of ours (a group we also belong to) may still open
    raise problem


def _unwrap(keyring: Keyring, envelope: Envelope, recipient: Recipient, identity: Identity,
            sender: PublicIdentity) -> bytes:
    aad = envelope.header_bytes + recipient.prefix()
    try:
        if recipient.wrap == WRAP_PAD:
            pad = _pad_bytes(keyring, recipient.pad, sender)
            return primitives.otp_open(pad[32:64], bytes(pad[:32]), recipient.wrapped_key, recipient.tag, aad)
        if recipient.key_fingerprint != identity.public.agree_fingerprint:
            raise NotForMe(f"the key for {recipient.address} was wrapped for another key "
                           f"({recipient.key_fingerprint.hex()}): your keyring has a newer or older key")
        try:
            wrap_key = receiver_key(identity, recipient.ephemeral, X25519_INFO)
        except ValueError:
            raise BadMac("the message's key wrapping uses an invalid ephemeral key") from None
        return primitives.aead_open(wrap_key, bytes(12), recipient.wrapped_key, recipient.tag, aad)
    except primitives.BadTag:
        raise BadMac(f"the message key wrapped for {recipient.address} fails its MAC check") from None


def _pad_bytes(keyring: Keyring, ref: PadRef, sender: PublicIdentity) -> bytearray:
    pad = keyring.pads.get(ref.pad_id)
    if pad is None:
        raise NotForMe(f"the message from {sender.address} is sealed with pad {ref.pad_id.hex()}, "
                       "which this keyring does not hold")
    if pad.lane_of(sender.address) != ref.lane:
        raise Malformed(f"the message from {sender.address} uses lane {ref.lane} of pad {pad.hex}, "
                        "which is not the sender's lane")
    start, end = pad.lane_bounds(ref.lane)
    if not start <= ref.offset <= ref.offset + ref.length <= end:
        raise Malformed(f"the message from {sender.address} names a range outside its lane of pad {pad.hex}")
    try:
        return keyring.pads.read(ref.pad_id, ref.offset, ref.length)
    except PadError as error:
        raise NotForMe(str(error)) from None


def _held_ranges(keyring: Keyring, envelope: Envelope, sender: PublicIdentity) -> tuple[PadRange, ...]:
    refs = [envelope.header.content_pad] if envelope.header.content_pad else []
    refs += [r.pad for r in envelope.recipients if r.pad is not None]
    return tuple(PadRange(ref.pad_id.hex(), ref.lane, ref.offset, ref.length, sender.address)
                 for ref in refs if keyring.pads.get(ref.pad_id) is not None)
