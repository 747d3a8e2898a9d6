"""The envelope's bytes: encoding and strict parsing of the binary format docs/FORMAT.md specifies.

All integers are big-endian; a string is a u16 length then UTF-8 bytes.

    envelope  = header recipients body signature
    header    = "PLIE" version:u8 mode:u8 flags:u16 message_id:16 timestamp:u64
                sender_fingerprint:16 sender_id:str sender_address:str nonce:12
                [content_pad:padref]                      (otp mode only)
    padref    = pad_id:16 lane:u16 offset:u64 length:u64
    recipients= count:u16 recipient*
    recipient = address:str wrap:u8 then by wrap:
                0 (otp content pad)  nothing
                1 (pad-wrapped key)  padref wrapped_key:32 tag:16
                2 (x25519)           key_fingerprint:16 ephemeral:32 wrapped_key:32 tag:16
    body      = length:u64 ciphertext tag:16
    signature = Ed25519 over SIGN_DOMAIN || every byte before the signature   (64 bytes)

Parsing checks magic, then version, then every length against what is left;
anything else (trailing bytes, a bad mode or wrap, a wrap not allowed in the
mode) is Malformed.  This module knows nothing of keys.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

from pli.core.crypto.refusals import Malformed, UnsupportedVersion

MAGIC = b"PLIE"
VERSION = 1
MODES = {1: "otp", 2: "stream"}
MODE_CODES = {name: code for code, name in MODES.items()}
WRAP_CONTENT_PAD, WRAP_PAD, WRAP_X25519 = 0, 1, 2
SIGN_DOMAIN = b"pli-envelope-v1\x00"
SIGNATURE_BYTES = 64
MAX_RECIPIENTS = 1024

_FIXED = struct.Struct(">4sBBH16sQ16s")   # magic, version, mode, flags, message id, timestamp, sender fpr
_PADREF = struct.Struct(">16sHQQ")
_U16 = struct.Struct(">H")
_U64 = struct.Struct(">Q")


@dataclass(frozen=True)
class PadRef:
    """Pad bytes [offset, offset+length) (absolute pad offsets) of `lane`."""

    pad_id: bytes
    lane: int
    offset: int
    length: int

    def pack(self) -> bytes:
        return _PADREF.pack(self.pad_id, self.lane, self.offset, self.length)


@dataclass(frozen=True)
class Header:
    mode: str
    message_id: bytes
    timestamp: int
    sender_fingerprint: bytes
    sender_id: str
    sender_address: str
    nonce: bytes
    content_pad: PadRef | None = None
    version: int = VERSION

    def pack(self) -> bytes:
        out = _FIXED.pack(MAGIC, self.version, MODE_CODES[self.mode], 0, self.message_id, self.timestamp,
                          self.sender_fingerprint)
        out += _str(self.sender_id) + _str(self.sender_address) + self.nonce
        return out + (self.content_pad.pack() if self.mode == "otp" else b"")


@dataclass(frozen=True)
class Recipient:
    address: str
    wrap: int
    pad: PadRef | None = None            # WRAP_PAD
    key_fingerprint: bytes = b""         # WRAP_X25519: the recipient's X25519 key
    ephemeral: bytes = b""               # WRAP_X25519
    wrapped_key: bytes = b""             # WRAP_PAD, WRAP_X25519
    tag: bytes = b""                     # WRAP_PAD, WRAP_X25519

    def prefix(self) -> bytes:
        """address and wrap byte: with the header, the AAD of this recipient's key wrapping."""
        return _str(self.address) + bytes([self.wrap])

    def pack(self) -> bytes:
        if self.wrap == WRAP_CONTENT_PAD:
            return self.prefix()
        if self.wrap == WRAP_PAD:
            return self.prefix() + self.pad.pack() + self.wrapped_key + self.tag
        return self.prefix() + self.key_fingerprint + self.ephemeral + self.wrapped_key + self.tag


@dataclass(frozen=True)
class Envelope:
    header: Header
    header_bytes: bytes
    recipients: tuple[Recipient, ...]
    ciphertext: bytes
    tag: bytes
    signed: bytes          # every byte the signature covers (without SIGN_DOMAIN)
    signature: bytes


def signed_part(header_bytes: bytes, recipients: list[Recipient], ciphertext: bytes, tag: bytes) -> bytes:
    return b"".join([header_bytes, _U16.pack(len(recipients)), *(r.pack() for r in recipients),
                     _U64.pack(len(ciphertext)), ciphertext, tag])


def _str(text: str) -> bytes:
    raw = text.encode("utf-8")
    if len(raw) > 0xFFFF:
        raise ValueError("string field longer than 65535 bytes")
    return _U16.pack(len(raw)) + raw


class _Reader:
    def __init__(self, data: bytes):
        self.data = memoryview(data)
        self.at = 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.at + n > len(self.data):
            raise Malformed("the envelope is truncated")
        out = bytes(self.data[self.at:self.at + n])
        self.at += n
        return out

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        return _U16.unpack(self.take(2))[0]

    def u64(self) -> int:
        return _U64.unpack(self.take(8))[0]

    def text(self) -> str:
        try:
            return self.take(self.u16()).decode("utf-8")
        except UnicodeDecodeError:
            raise Malformed("the envelope holds a string that is not UTF-8") from None

    def padref(self) -> PadRef:
        return PadRef(*_PADREF.unpack(self.take(_PADREF.size)))


def parse(data: bytes) -> Envelope:
    """The envelope in `data`; Malformed or UnsupportedVersion if it is not a well-formed v1 envelope."""
    if len(data) < 5 or bytes(data[:4]) != MAGIC:
        raise Malformed("this is not a pli envelope (bad magic or truncated)")
    if data[4] != VERSION:
        raise UnsupportedVersion(f"envelope format version {data[4]} is not supported (this pli reads "
                                 f"version {VERSION}): update pli")
    reader = _Reader(data)
    _, version, mode_code, flags, message_id, timestamp, sender_fpr = _FIXED.unpack(reader.take(_FIXED.size))
    if mode_code not in MODES or flags != 0:
        raise Malformed("the envelope names an unknown mode or flags")
    mode = MODES[mode_code]
    sender_id, sender_address, nonce = reader.text(), reader.text(), reader.take(12)
    content_pad = reader.padref() if mode == "otp" else None
    header = Header(mode, message_id, timestamp, sender_fpr, sender_id, sender_address, nonce, content_pad)
    header_bytes = bytes(data[:reader.at])
    recipients = tuple(_recipient(reader, mode) for _ in range(_count(reader)))
    ciphertext = reader.take(reader.u64())
    tag = reader.take(16)
    signed_end = reader.at
    signature = reader.take(SIGNATURE_BYTES)
    if reader.at != len(data):
        raise Malformed("the envelope has trailing bytes")
    if mode == "otp" and content_pad.length != 32 + len(ciphertext):
        raise Malformed("the envelope's pad range does not match its length")
    return Envelope(header, header_bytes, recipients, ciphertext, tag, bytes(data[:signed_end]), signature)


def _count(reader: _Reader) -> int:
    count = reader.u16()
    if not 1 <= count <= MAX_RECIPIENTS:
        raise Malformed("the envelope names no recipient (or too many)")
    return count


def _recipient(reader: _Reader, mode: str) -> Recipient:
    address, wrap = reader.text(), reader.u8()
    if wrap == WRAP_CONTENT_PAD and mode == "otp":
        return Recipient(address, wrap)
    if wrap == WRAP_PAD and mode == "stream":
        pad = reader.padref()
        if pad.length != 64:
            raise Malformed("a pad-wrapped key must use 64 pad bytes")
        return Recipient(address, wrap, pad=pad, wrapped_key=reader.take(32), tag=reader.take(16))
    if wrap == WRAP_X25519 and mode == "stream":
        return Recipient(address, wrap, key_fingerprint=reader.take(16), ephemeral=reader.take(32),
                         wrapped_key=reader.take(32), tag=reader.take(16))
    raise Malformed(f"the envelope uses key wrapping {wrap} where {mode} mode does not allow it")
