"""Secrets at rest: a key derived from the passphrase (scrypt) and ChaCha20-Poly1305 (files: pli.core.durable).

    params = KdfParams.new()                 # strong cost: n=2**17, r=8, p=1
    vault = Vault.derive(params, passphrase) # ~0.4 s, once per unlock
    blob = vault.seal(data, aad)             # nonce || ciphertext || tag
    data = vault.open(blob, aad)             # VaultOpenFailed if key or blob is wrong

Tests lower the scrypt cost with the environment variable PLI_INSECURE_TEST_KDF=1
(never set it for real use): the cost is recorded in each file's parameters,
so a home made that way stays cheap to unlock and a real home stays strong.
"""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from pli.core.errors import PliError

STRONG_LOG2N, STRONG_R, STRONG_P = 17, 8, 1
TEST_LOG2N = 10
TEST_KDF_ENV = "PLI_INSECURE_TEST_KDF"
SALT_BYTES = 16
NONCE_BYTES = 12
_PARAMS = struct.Struct(">16sBII")  # salt, log2(n), r, p
MIN_LOG2N, MAX_LOG2N = 10, 22


class VaultOpenFailed(PliError):
    """A sealed blob did not open: wrong key (passphrase) or damaged file."""


class WrongPassphrase(PliError):
    """The passphrase does not unlock the keyring."""

    exit_code = 5


@dataclass(frozen=True)
class KdfParams:
    """scrypt's salt and cost, stored beside what they protect."""

    salt: bytes
    log2n: int
    r: int
    p: int

    SIZE = _PARAMS.size

    @classmethod
    def new(cls, log2n: int | None = None) -> "KdfParams":
        if log2n is None:
            log2n = TEST_LOG2N if os.environ.get(TEST_KDF_ENV) == "1" else STRONG_LOG2N
        return cls(os.urandom(SALT_BYTES), log2n, STRONG_R, STRONG_P)

    def pack(self) -> bytes:
        return _PARAMS.pack(self.salt, self.log2n, self.r, self.p)

    @classmethod
    def unpack(cls, data: bytes) -> "KdfParams":
        salt, log2n, r, p = _PARAMS.unpack(data)
        # Bounds so that a damaged or hostile file cannot ask for terabytes of memory.
        if not (MIN_LOG2N <= log2n <= MAX_LOG2N and 1 <= r <= 32 and 1 <= p <= 16):
            raise VaultOpenFailed("the keyring's key derivation parameters are damaged")
        return cls(salt, log2n, r, p)


class Vault:
    """An unlocked at-rest key: seals and opens blobs with ChaCha20-Poly1305 and fresh random nonces."""

    def __init__(self, key: bytes):
        if len(key) != 32:
            raise ValueError("a vault key is 32 bytes")
        self._key = key

    def __repr__(self) -> str:
        return "Vault(<unlocked>)"

    def __getstate__(self):  # workers receive the key explicitly pickled with the keyring
        return {"_key": self._key}

    @classmethod
    def derive(cls, params: KdfParams, passphrase: str) -> "Vault":
        kdf = Scrypt(salt=params.salt, length=32, n=2 ** params.log2n, r=params.r, p=params.p)
        return cls(kdf.derive(passphrase.encode("utf-8")))

    def seal(self, data: bytes, aad: bytes = b"") -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + ChaCha20Poly1305(self._key).encrypt(nonce, data, aad)

    def open(self, blob: bytes, aad: bytes = b"") -> bytes:
        if len(blob) < NONCE_BYTES + 16:
            raise VaultOpenFailed("a sealed file is truncated")
        try:
            return ChaCha20Poly1305(self._key).decrypt(blob[:NONCE_BYTES], blob[NONCE_BYTES:], aad)
        except InvalidTag:
            raise VaultOpenFailed("a sealed file does not open with this key (wrong passphrase or damaged file)") from None
