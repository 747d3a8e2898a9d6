"""pli's crypto primitives (ChaCha20, Poly1305, one-time pad, their AEADs, batches), whichever backend runs.

    ciphertext, tag = aead_seal(key, nonce, plaintext, aad)      # RFC 8439 ChaCha20-Poly1305
    plaintext = aead_open(key, nonce, ciphertext, tag, aad)      # BadTag if altered
    ok = open_batch(records)                                     # many messages, one native call

The backend is chosen once, at import: the native C core (pli.native._pli_native)
when it loads, else the pure-Python twin (pli.core.crypto.pure), which gives the
same bytes.  PLI_CRYPTO_BACKEND=pure forces the pure one; PLI_CRYPTO_BACKEND=native
refuses to run without the native one (BackendUnavailable).  Callers never see
which one ran, nor a raw C status: misuse raises CryptoMisuse / CounterOverflow,
a failed tag BadTag.  `backend(name)` gives one backend by name (tests,
benchmarks); `backend_info()` says what runs (`pli doctor`).
"""
from __future__ import annotations

import os
from types import ModuleType

from pli.core.crypto import pure
from pli.core.crypto.contract import (KEY_BYTES, NONCE_BYTES, TAG_BYTES, BackendInfo, BadTag, CounterOverflow,
                                      CryptoMisuse, Record)
from pli.core.errors import PliError

__all__ = ["KEY_BYTES", "NONCE_BYTES", "TAG_BYTES", "BackendInfo", "BadTag", "CounterOverflow", "CryptoMisuse",
           "Record", "BackendUnavailable", "otp_xor", "chacha20_block", "chacha20_xor", "poly1305", "tags_equal",
           "aead_seal", "aead_open", "otp_seal", "otp_open", "open_batch", "seal_batch", "backend", "backend_info",
           "native_simd_paths", "select_simd_path", "set_native_threads"]

BACKEND_ENV = "PLI_CRYPTO_BACKEND"


class BackendUnavailable(PliError):
    """The crypto backend asked for (PLI_CRYPTO_BACKEND, or by name) cannot run here."""


def _load_native() -> tuple[ModuleType | None, str | None]:
    try:
        from pli.core.crypto import native_backend
    except Exception as error:  # noqa: BLE001 - whatever breaks the native core, the pure twin runs
        return None, f"{type(error).__name__}: {error}"
    return native_backend, None


_native, _native_error = _load_native()


def backend(name: str) -> ModuleType:
    """The backend called `name` ("native" or "pure"): a module with the same functions as this one."""
    if name == "pure":
        return pure
    if name == "native":
        if _native is None:
            raise BackendUnavailable(f"the native crypto core could not load ({_native_error}): reinstall pli "
                                     "with a C compiler at hand (`make install`), or set PLI_CRYPTO_BACKEND=pure")
        return _native
    raise BackendUnavailable(f"unknown crypto backend {name!r}: choose native or pure")


def _choose() -> ModuleType:
    wanted = os.environ.get(BACKEND_ENV, "").strip().lower()
    if wanted in ("", "auto"):
        return _native or pure
    try:
        return backend(wanted)
    except BackendUnavailable as error:
        raise BackendUnavailable(f"{BACKEND_ENV}={wanted}: {error.message}") from None


_active = _choose()


def backend_info() -> BackendInfo:
    return BackendInfo(name=_active.NAME, simd_path=_active.simd_path(), native_available=_native is not None,
                       native_error=_native_error)


def native_simd_paths() -> list[str]:
    """The native SIMD paths this CPU and build can run ("scalar" first); [] without the native core."""
    return _native.simd_paths() if _native is not None else []


def set_native_threads(n: int) -> None:
    """Threads one native call may use: 0 = one per CPU (default); 1 = the caller's only, for worker
    processes that already spread work over every core.  No effect without the native core."""
    if _native is not None:
        _native.set_max_threads(n)


def select_simd_path(name: str | None) -> None:
    """Force the native core's SIMD path (tests, benchmarks); None or "auto" restores the CPU's choice."""
    backend("native").select_simd_path(name)


# -- the primitives: the active backend's, under one documented signature each ---------------------------


def otp_xor(data, pad, out=None) -> bytes | None:
    """data XOR pad[:len(data)]; into `out` (len(data) writable bytes, may be `data` itself) or a new bytes."""
    return _active.otp_xor(data, pad, out)


def chacha20_block(key, nonce, counter: int) -> bytes:
    """The RFC 8439 ChaCha20 block function: 64 keystream bytes."""
    return _active.chacha20_block(key, nonce, counter)


def chacha20_xor(key, nonce, counter: int, data, out=None) -> bytes | None:
    """data XOR the keystream from block `counter`; CounterOverflow rather than a wrapped counter."""
    return _active.chacha20_xor(key, nonce, counter, data, out)


def poly1305(key32, msg) -> bytes:
    """One-shot Poly1305 (RFC 8439) with a one-time 32-byte key: the 16-byte tag."""
    return _active.poly1305(key32, msg)


def tags_equal(a, b) -> bool:
    """Constant-time equality of two 16-byte tags."""
    return _active.tags_equal(a, b)


def aead_seal(key, nonce, plaintext, aad=b"") -> tuple[bytes, bytes]:
    """RFC 8439 ChaCha20-Poly1305: (ciphertext, tag)."""
    return _active.aead_seal(key, nonce, plaintext, aad)


def aead_open(key, nonce, ciphertext, tag, aad=b"") -> bytes:
    """RFC 8439 ChaCha20-Poly1305: the plaintext, or BadTag."""
    return _active.aead_open(key, nonce, ciphertext, tag, aad)


def otp_seal(pad, mac_key32, plaintext, aad=b"") -> tuple[bytes, bytes]:
    """One-time pad: (plaintext XOR pad, Poly1305 tag with the one-time key over the RFC 8439 MAC layout)."""
    return _active.otp_seal(pad, mac_key32, plaintext, aad)


def otp_open(pad, mac_key32, ciphertext, tag, aad=b"") -> bytes:
    """One-time pad: the plaintext, or BadTag."""
    return _active.otp_open(pad, mac_key32, ciphertext, tag, aad)


def open_batch(records: list[Record]) -> list[bool]:
    """Authenticate and decrypt every record in place, in one native call; per record True or False.

    A record whose tag fails is left as it was.  Misuse (a bad length in any
    record) raises CryptoMisuse naming the record, before any record is touched.
    """
    return _active.open_batch(records)


def seal_batch(records: list[Record]) -> None:
    """Encrypt every record in place and write its tag (record.tag), in one native call."""
    _active.seal_batch(records)
