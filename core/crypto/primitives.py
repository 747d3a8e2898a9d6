"""pli's crypto primitives (ChaCha20, Poly1305, one-time pad, their AEADs, batches), whichever backend runs.

    ciphertext, tag = aead_seal(key, nonce, plaintext, aad)      # RFC 8439 ChaCha20-Poly1305
    plaintext = aead_open(key, nonce, ciphertext, tag, aad)      # BadTag if altered
    ok = open_batch(records)                                     # many messages, one native call
    output = open_columns(Columns("stream", sealed, keys, nonces))  # many more, no object per message

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
from pli.core.crypto.contract import (KEY_BYTES, NONCE_BYTES, TAG_BYTES, BackendInfo, BadTag, Columns,
                                      ColumnsOutput, CounterOverflow, CryptoMisuse, Record)
from pli.core.errors import PliError

__all__ = ["KEY_BYTES", "NONCE_BYTES", "TAG_BYTES", "BackendInfo", "BadTag", "Columns", "ColumnsOutput",
           "CounterOverflow", "CryptoMisuse", "Record", "BackendUnavailable", "otp_xor", "chacha20_block",
           "chacha20_xor", "poly1305", "tags_equal", "aead_seal", "aead_open", "otp_seal", "otp_open", "open_batch",
           "seal_batch", "open_columns", "seal_columns", "backend", "backend_info", "native_simd_paths",
           "select_simd_path", "set_native_threads"]

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


# -- the primitives: the active backend's own functions ---------------------------------------------------
# Bound directly rather than wrapped: a wrapper's Python frame costs about 40 ns, a sixth of a small call.
# Each is documented here; both backends take the same arguments and give the same bytes.

otp_xor = _active.otp_xor
"""otp_xor(data, pad, out=None): data XOR pad[:len(data)]; into `out` (len(data) writable bytes, may be
`data` itself) or a new bytes."""

chacha20_block = _active.chacha20_block
"""chacha20_block(key, nonce, counter): the RFC 8439 ChaCha20 block function, 64 keystream bytes."""

chacha20_xor = _active.chacha20_xor
"""chacha20_xor(key, nonce, counter, data, out=None): data XOR the keystream from block `counter`, into `out`
or a new bytes; CounterOverflow rather than a wrapped counter."""

poly1305 = _active.poly1305
"""poly1305(key32, msg): one-shot Poly1305 (RFC 8439) with a one-time 32-byte key, the 16-byte tag."""

tags_equal = _active.tags_equal
"""tags_equal(a, b): constant-time equality of two 16-byte tags."""

aead_seal = _active.aead_seal
"""aead_seal(key, nonce, plaintext, aad=b""): RFC 8439 ChaCha20-Poly1305, (ciphertext, tag)."""

aead_open = _active.aead_open
"""aead_open(key, nonce, ciphertext, tag, aad=b""): RFC 8439 ChaCha20-Poly1305, the plaintext, or BadTag."""

otp_seal = _active.otp_seal
"""otp_seal(pad, mac_key32, plaintext, aad=b""): one-time pad, (plaintext XOR pad, Poly1305 tag with the
one-time key over the RFC 8439 MAC layout)."""

otp_open = _active.otp_open
"""otp_open(pad, mac_key32, ciphertext, tag, aad=b""): one-time pad, the plaintext, or BadTag."""

open_batch = _active.open_batch
"""open_batch(records): authenticate and decrypt every Record in place, in one native call; per record True or
False.  A record whose tag fails is left as it was.  Misuse (a bad length in any record) raises CryptoMisuse
naming the record, before any record is touched."""

seal_batch = _active.seal_batch
"""seal_batch(records): encrypt every Record in place and write its tag (record.tag), in one native call."""

open_columns = _active.open_columns
"""open_columns(batch: Columns) -> ColumnsOutput: authenticate then decrypt every message of a column batch
into one new buffer, in one native call (no object per message); output.ok[i] says whether message i's tag
matched (a failed one reads as zeros).  Misuse raises CryptoMisuse naming the field or the message, before
anything runs."""

seal_columns = _active.seal_columns
"""seal_columns(batch: Columns) -> ColumnsOutput: encrypt every message of a column batch into one new
buffer; output.tags holds the 16-byte tags back to back."""
