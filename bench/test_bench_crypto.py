"""Crypto primitives against their peers, in one run (issue 17): the cost of a small call against a bare cffi
call, ChaCha20 and Poly1305 against OpenSSL through `cryptography`, the pad XOR against a memory copy, and
100,000 sealed mails opened in column batches against one `cryptography` AEAD call per message.

    .venv/bin/python -m pytest bench/test_bench_crypto.py --benchmark-only --benchmark-json=bench/crypto.json
    .venv/bin/python bench/report.py bench/crypto.json

OpenSSL picks its own code path from the CPU (AVX-512 where there is one).  Run it a second time with
`OPENSSL_ia32cap=":~0x80010000"` (AVX512F and AVX512VL masked out: with VL alone OpenSSL still runs an
AVX-512VL kernel on 256-bit vectors) to have OpenSSL's AVX2 code as the peer of the native AVX2 path; the rows
then say so.  Every output is preallocated and reused (first touching fresh memory costs about
2 us per 4 KiB page here, which would swamp a small call).  Each row carries `extra_info`: the group's peer, the
bytes processed, the SIMD path, so that bench/report.py can print ratios.  Pure-Python rows on the big sizes run
one round: they take seconds.
"""
from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.poly1305 import Poly1305

from pli.core.crypto import primitives
from pli.core.crypto.primitives import Columns, Record

SIZES = {"4KiB": 4 << 10, "64KiB": 64 << 10, "64MiB": 64 << 20}
SMALL = 64                                   # bytes: a call where the arithmetic is a few nanoseconds
BATCH_MESSAGES = int(os.environ.get("PLI_BENCH_MESSAGES", 100_000))     # fewer for a smoke run
BATCH_SIZE, AAD = 4 << 10, bytes(range(64))
#: Messages per column batch: the store import's batch (docs/STORE.md), so that each batch's output buffer
#: is reused memory, as each one-message result of the peer is.
IMPORT_BATCH = 1000
KEY, NONCE = bytes(range(32)), bytes(12)

NATIVE_PATHS = primitives.native_simd_paths()
AUTO_PATH = primitives.backend("native").simd_path() if NATIVE_PATHS else None   # what the CPU picks
OPENSSL_CAP = os.environ.get("OPENSSL_ia32cap")
OPENSSL = "cryptography (OpenSSL" + (f", OPENSSL_ia32cap={OPENSSL_CAP})" if OPENSSL_CAP else ")")
needs_native = pytest.mark.skipif(not NATIVE_PATHS, reason=f"native backend unavailable: "
                                                           f"{primitives.backend_info().native_error}")


def rounds_for(size: int, pure: bool = False) -> dict:
    """Enough rounds for a stable median, few where a round is long."""
    if pure:
        return {"rounds": 1 if size >= 1 << 20 else 20, "iterations": 1, "warmup_rounds": 0}
    if size >= 1 << 20:
        return {"rounds": 15, "iterations": 1, "warmup_rounds": 2}
    if size <= SMALL:
        return {"rounds": 2000, "iterations": 100, "warmup_rounds": 20}
    return {"rounds": 2000, "iterations": 10 if size <= 4096 else 1, "warmup_rounds": 50}


def describe(benchmark, group: str, impl: str, size: int, peer: bool = False, path: str | None = None) -> None:
    benchmark.group = group
    benchmark.extra_info.update(impl=impl, bytes=size, peer=peer, path=path, auto_path=AUTO_PATH,
                                auto=path is not None and path == AUTO_PATH, openssl_cap=OPENSSL_CAP)


@pytest.fixture(scope="module")
def buffers():
    """Source, destination and pad for each size, touched once here and reused by every round."""
    sizes = dict(SIZES, small=SMALL)
    return {name: (os.urandom(size), bytearray(os.urandom(size)), os.urandom(size)) for name, size in sizes.items()}


def memcpy(dst: bytearray):
    """The copy yardstick: a memoryview slice assignment is one memcpy (measured 9 ms for 64 MiB here), where
    `bytearray[:] = bytes` takes another path and ran 7x slower."""
    return memoryview(dst).__setitem__


def native_at(path: str):
    primitives.select_simd_path(path)
    return primitives.backend("native")


@pytest.fixture(autouse=True)
def restore_native_settings():
    yield
    if NATIVE_PATHS:
        primitives.select_simd_path(None)
        primitives.set_native_threads(0)


# -- the cost of a small call -------------------------------------------------------------------------


@needs_native
def test_small_call_bare_cffi(benchmark, buffers):
    """The floor: the C function called through cffi with every buffer already a cdata (nothing to check)."""
    from pli.native._pli_native import ffi, lib
    _, dst, pad = buffers["small"]
    d, p = ffi.from_buffer(dst), ffi.from_buffer(pad)
    describe(benchmark, "small call (64 B pad XOR in place)", "bare cffi call, buffers prepared", SMALL, peer=True)
    benchmark.pedantic(lib.pli_otp_xor, args=(d, d, p, SMALL), **rounds_for(SMALL))


@needs_native
def test_small_call_through_the_facade(benchmark, buffers):
    """pli.core.crypto.primitives.otp_xor(data, pad, out=data): every check, the active backend (native)."""
    _, dst, pad = buffers["small"]
    assert primitives.backend_info().name == "native"
    describe(benchmark, "small call (64 B pad XOR in place)", "primitives.otp_xor (checks included)", SMALL,
             path=AUTO_PATH)
    benchmark.pedantic(primitives.otp_xor, args=(dst, pad, dst), **rounds_for(SMALL))


@needs_native
def test_small_chacha20_through_the_facade(benchmark, buffers):
    src, dst, _ = buffers["small"]
    describe(benchmark, "small call (64 B ChaCha20)", "primitives.chacha20_xor (checks included)", SMALL,
             path=AUTO_PATH)
    benchmark.pedantic(primitives.chacha20_xor, args=(KEY, NONCE, 1, src, dst), **rounds_for(SMALL))


@needs_native
def test_small_chacha20_bare_cffi(benchmark, buffers):
    from pli.native._pli_native import ffi, lib
    src, dst, _ = buffers["small"]
    d, s, k, n = ffi.from_buffer(dst), ffi.from_buffer(src), ffi.from_buffer(KEY), ffi.from_buffer(NONCE)
    describe(benchmark, "small call (64 B ChaCha20)", "bare cffi call, buffers prepared", SMALL, peer=True)
    benchmark.pedantic(lib.pli_chacha20_xor, args=(d, s, SMALL, k, n, 1), **rounds_for(SMALL))


def test_small_chacha20_openssl(benchmark, buffers):
    src, _, _ = buffers["small"]
    out = bytearray(SMALL + 64)
    encryptor = Cipher(algorithms.ChaCha20(KEY, bytes(16)), mode=None).encryptor()
    describe(benchmark, "small call (64 B ChaCha20)", f"{OPENSSL} update_into", SMALL)
    benchmark.pedantic(encryptor.update_into, args=(src, out), **rounds_for(SMALL))


# -- ChaCha20 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", list(SIZES))
def test_chacha20_openssl(benchmark, buffers, size):
    src, dst, _ = buffers[size]
    out = bytearray(len(src) + 64)               # update_into wants room for a block more
    encryptor = Cipher(algorithms.ChaCha20(KEY, bytes(16)), mode=None).encryptor()
    describe(benchmark, f"chacha20 {size}", f"{OPENSSL} update_into", len(src), peer=True)
    benchmark.pedantic(encryptor.update_into, args=(src, out), **rounds_for(len(src)))


@needs_native
@pytest.mark.parametrize("path", NATIVE_PATHS)
@pytest.mark.parametrize("size", list(SIZES))
def test_chacha20_native(benchmark, buffers, size, path):
    """Calls from 1 MiB spread over every core: the 64 MiB rows use both, the others one."""
    src, dst, _ = buffers[size]
    native = native_at(path)
    describe(benchmark, f"chacha20 {size}", f"native {path}", len(src), path=path)
    benchmark.pedantic(native.chacha20_xor, args=(KEY, NONCE, 1, src, dst), **rounds_for(len(src)))
    assert bytes(dst[:64]) == primitives.backend("pure").chacha20_xor(KEY, NONCE, 1, src[:64])


@needs_native
def test_chacha20_native_one_thread(benchmark, buffers):
    """OpenSSL runs on one core; the native core splits calls from 1 MiB over all of them: this row is
    the core-for-core comparison."""
    src, dst, _ = buffers["64MiB"]
    native = primitives.backend("native")
    describe(benchmark, "chacha20 64MiB", f"native {AUTO_PATH}, one thread", len(src))
    primitives.set_native_threads(1)
    benchmark.pedantic(native.chacha20_xor, args=(KEY, NONCE, 1, src, dst), **rounds_for(len(src)))


@pytest.mark.parametrize("size", ["4KiB", "64KiB"])
def test_chacha20_pure(benchmark, buffers, size):
    src, dst, _ = buffers[size]
    pure = primitives.backend("pure")
    describe(benchmark, f"chacha20 {size}", "pure Python", len(src))
    benchmark.pedantic(pure.chacha20_xor, args=(KEY, NONCE, 1, src, dst), **rounds_for(len(src), pure=True))


@pytest.mark.parametrize("size", list(SIZES))
def test_memcpy_for_chacha20(benchmark, buffers, size):
    src, dst, _ = buffers[size]
    describe(benchmark, f"chacha20 {size}", "memory copy (memoryview(dst)[:] = src)", len(src))
    benchmark.pedantic(memcpy(dst), args=(slice(None), src), **rounds_for(len(src)))


# -- Poly1305 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", ["4KiB", "64KiB"])
def test_poly1305_openssl(benchmark, buffers, size):
    src, _, _ = buffers[size]
    describe(benchmark, f"poly1305 {size}", f"{OPENSSL} Poly1305.generate_tag", len(src), peer=True)
    benchmark.pedantic(Poly1305.generate_tag, args=(KEY, src), **rounds_for(len(src)))


@needs_native
@pytest.mark.parametrize("path", NATIVE_PATHS)
@pytest.mark.parametrize("size", ["4KiB", "64KiB"])
def test_poly1305_native(benchmark, buffers, size, path):
    src, _, _ = buffers[size]
    native = native_at(path)
    describe(benchmark, f"poly1305 {size}", f"native {path}", len(src), path=path)
    tag = benchmark.pedantic(native.poly1305, args=(KEY, src), **rounds_for(len(src)))
    assert tag == Poly1305.generate_tag(KEY, src)


# -- one-time pad XOR, in place ------------------------------------------------------------------------


@pytest.mark.parametrize("size", list(SIZES))
def test_xor_memcpy(benchmark, buffers, size):
    src, dst, _ = buffers[size]
    describe(benchmark, f"otp xor in place {size}", "memory copy (memoryview(dst)[:] = src)", len(src), peer=True)
    benchmark.pedantic(memcpy(dst), args=(slice(None), src), **rounds_for(len(src)))


@needs_native
@pytest.mark.parametrize("path", NATIVE_PATHS)
@pytest.mark.parametrize("size", list(SIZES))
def test_xor_native_in_place(benchmark, buffers, size, path):
    _, dst, pad = buffers[size]
    native = native_at(path)
    describe(benchmark, f"otp xor in place {size}", f"native {path}", len(dst), path=path)
    benchmark.pedantic(native.otp_xor, args=(dst, pad, dst), **rounds_for(len(dst)))


@pytest.mark.parametrize("size", list(SIZES))
def test_xor_pure_in_place(benchmark, buffers, size):
    _, dst, pad = buffers[size]
    pure = primitives.backend("pure")
    describe(benchmark, f"otp xor in place {size}", "pure Python", len(dst))
    rounds = {"rounds": 5, "iterations": 1, "warmup_rounds": 1} if len(dst) >= 1 << 20 else rounds_for(len(dst))
    benchmark.pedantic(pure.otp_xor, args=(dst, pad, dst), **rounds)


# -- 100,000 sealed mails of 4 KiB: authenticate and decrypt ----------------------------------------------
# (PLI_BENCH_MESSAGES=5000 for a smoke run.)


@pytest.fixture(scope="module")
def mailbox():
    """100,000 sealed mails as an import finds them: per message its key (unwrapped), its nonce (from the
    header) and the sealed body (ciphertext || tag, as `cryptography` writes it); a fresh key per message."""
    keys, nonces, sealed = [], [], []
    for _ in range(BATCH_MESSAGES):
        keys.append(os.urandom(32))
        nonces.append(os.urandom(12))
        sealed.append(ChaCha20Poly1305(keys[-1]).encrypt(nonces[-1], os.urandom(BATCH_SIZE), AAD))
    return keys, nonces, sealed


def group_batch(benchmark, impl: str, peer: bool = False, path: str | None = None) -> None:
    describe(benchmark, f"{BATCH_MESSAGES:,} x 4 KiB authenticate + decrypt", impl, BATCH_MESSAGES * BATCH_SIZE,
             peer=peer, path=path)


def test_batch_cryptography_per_message(benchmark, mailbox):
    """The peer: one ChaCha20Poly1305 object (fresh key) and one decrypt call per message."""
    keys, nonces, sealed = mailbox

    def open_each():
        for key, nonce, body in zip(keys, nonces, sealed):
            ChaCha20Poly1305(key).decrypt(nonce, body, AAD)
    group_batch(benchmark, f"{OPENSSL}: ChaCha20Poly1305(key).decrypt per message", peer=True)
    benchmark.pedantic(open_each, rounds=5, iterations=1, warmup_rounds=1)


def open_mailbox(keys: list[bytes], nonces: list[bytes], sealed: list[bytes]) -> int:
    """What an import does with the column API: per batch of IMPORT_BATCH mails, the columns built from the
    mails (keys and nonces joined, the sealed bodies as they are), one native call; returns how many opened."""
    opened, aads = 0, [AAD] * IMPORT_BATCH
    for start in range(0, len(sealed), IMPORT_BATCH):
        end = start + IMPORT_BATCH
        batch = Columns("stream", sealed[start:end], b"".join(keys[start:end]), b"".join(nonces[start:end]),
                        aads=aads[:len(sealed[start:end])])
        opened += sum(primitives.open_columns(batch).ok)
    return opened


@needs_native
@pytest.mark.parametrize("threads", [1, 2], ids=["one thread", "two threads"])
def test_batch_native_columns(benchmark, mailbox, threads):
    """Columns built from the sealed mails and opened, batch after batch: all of it timed."""
    primitives.set_native_threads(threads)
    group_batch(benchmark, f"native open_columns, columns built from the mails, {threads} thread(s)",
                path=AUTO_PATH)
    opened = benchmark.pedantic(open_mailbox, args=mailbox, rounds=5, iterations=1, warmup_rounds=1)
    assert opened == BATCH_MESSAGES


@needs_native
def test_batch_native_records(benchmark, mailbox):
    """The record API for scale: a Record (a bytearray copy of the ciphertext) per mail, one open_batch call."""
    keys, nonces, sealed = mailbox
    native = primitives.backend("native")

    def records_and_open():
        records = [Record("stream", bytearray(body[:-16]), key, nonce=nonce, aad=AAD, tag=body[-16:])
                   for key, nonce, body in zip(keys, nonces, sealed)]
        return native.open_batch(records)
    group_batch(benchmark, "native: build Records + open_batch (two threads)", path=AUTO_PATH)
    result = benchmark.pedantic(records_and_open, rounds=3, iterations=1, warmup_rounds=1)
    assert all(result)


@needs_native
def test_batch_native_single_calls(benchmark, mailbox):
    """For scale: the native backend one aead_open call per message (no batch)."""
    keys, nonces, sealed = mailbox
    native = primitives.backend("native")

    def open_each():
        for key, nonce, body in zip(keys, nonces, sealed):
            native.aead_open(key, nonce, body[:-16], body[-16:], AAD)
    group_batch(benchmark, "native aead_open per message", path=AUTO_PATH)
    benchmark.pedantic(open_each, rounds=3, iterations=1, warmup_rounds=1)
