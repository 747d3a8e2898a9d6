"""Sealing to an X25519 public key: an ephemeral key, X25519, HKDF-SHA256, then an AEAD.

Used by the envelope's key wrapping (`wrap_key`) and, whole (`seal_to` /
`open_sealed`), for files one identity hands another: pad transport files and
group secrets.  The wrapping key is

    HKDF-SHA256(ikm = X25519(eph, recipient), salt = eph_public || recipient_public, info = info)

and the AEAD is ChaCha20-Poly1305 (RFC 8439).
"""
from __future__ import annotations

import os
from typing import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from pli.core.crypto.identity import Identity
from pli.core.errors import PliError

EPHEMERAL_BYTES = 32
NONCE_BYTES = 12


class SealedOpenFailed(PliError):
    """Something sealed to an X25519 key did not open: another recipient's, or damaged."""


def ephemeral(rng: Callable[[int], bytes] = os.urandom) -> tuple[X25519PrivateKey, bytes]:
    """A fresh X25519 key pair (from `rng`, so that test vectors are reproducible) and its public bytes."""
    private = X25519PrivateKey.from_private_bytes(rng(32))
    return private, private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def wrap_key(shared: bytes, eph_public: bytes, recipient_public: bytes, info: bytes) -> bytes:
    """The 32-byte wrapping key; ValueError on an all-zero shared secret (a low-order peer key)."""
    if shared == bytes(32):
        raise ValueError("low-order X25519 key")
    return HKDF(hashes.SHA256(), 32, salt=eph_public + recipient_public, info=info).derive(shared)


def sender_key(recipient_public: bytes, info: bytes,
               rng: Callable[[int], bytes] = os.urandom) -> tuple[bytes, bytes]:
    """(eph_public, wrapping key) for sealing to `recipient_public`."""
    private, eph_public = ephemeral(rng)
    shared = private.exchange(X25519PublicKey.from_public_bytes(recipient_public))
    return eph_public, wrap_key(shared, eph_public, recipient_public, info)


def receiver_key(identity: Identity, eph_public: bytes, info: bytes) -> bytes:
    """The wrapping key `sender_key` made for `identity`; ValueError on a hostile ephemeral key."""
    shared = identity.agree(eph_public)
    return wrap_key(shared, eph_public, identity.public.agree_public, info)


def seal_to(recipient_public: bytes, data: bytes, info: bytes, aad: bytes = b"",
            rng: Callable[[int], bytes] = os.urandom) -> bytes:
    """eph_public(32) || nonce(12) || ciphertext || tag(16); `rng` (ephemeral secret, then nonce) for test vectors."""
    eph_public, key = sender_key(recipient_public, info, rng)
    nonce = rng(NONCE_BYTES)
    return eph_public + nonce + ChaCha20Poly1305(key).encrypt(nonce, data, aad)


def open_sealed(identity: Identity, blob: bytes, info: bytes, aad: bytes = b"") -> bytes:
    if len(blob) < EPHEMERAL_BYTES + NONCE_BYTES + 16:
        raise SealedOpenFailed("a sealed file is truncated")
    eph_public, nonce, body = blob[:32], blob[32:44], blob[44:]
    try:
        key = receiver_key(identity, eph_public, info)
        return ChaCha20Poly1305(key).decrypt(nonce, body, aad)
    except (ValueError, InvalidTag):
        raise SealedOpenFailed("a sealed file does not open with this keyring's key (made for someone else, "
                               "or damaged)") from None
