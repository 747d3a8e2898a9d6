"""Crypto primitives against their peers, in one run: ChaCha20 and pad XOR vs OpenSSL and a memory copy,
the native batch open vs one `cryptography` AEAD call per message.

    .venv/bin/python -m pytest bench/test_bench_crypto.py --benchmark-only --benchmark-json=bench/crypto.json
    .venv/bin/python bench/report.py bench/crypto.json

Every output is preallocated and reused (first-touching fresh memory costs about
2 us per 4 KiB page here, which would swamp a 64 MiB measurement).  Each row
carries `extra_info`: the group's peer (OpenSSL, memcpy or the per-message
AEAD), the bytes processed, so that bench/report.py can print ratios.
Pure-Python rows on the big sizes run one round: they take seconds.
"""
from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from pli.core.crypto import primitives
from pli.core.crypto.primitives import Record

SIZES = {"4KiB": 4 << 10, "64KiB": 64 << 10, "64MiB": 64 << 20}
BATCH_MESSAGES, BATCH_SIZE, AAD = 100_000, 4 << 10, bytes(range(64))
KEY, NONCE = bytes(range(32)), bytes(12)

NATIVE_PATHS = primitives.native_simd_paths()
AUTO_PATH = primitives.backend("native").simd_path() if NATIVE_PATHS else None   # what the CPU picks
needs_native = pytest.mark.skipif(not NATIVE_PATHS, reason=f"native backend unavailable: "
                                                           f"{primitives.backend_info().native_error}")


def rounds_for(size: int, pure: bool = False) -> dict:
    """Enough rounds for a stable median, few where a round is long."""
    if pure:
        return {"rounds": 1 if size >= 1 << 20 else 20, "iterations": 1, "warmup_rounds": 0}
    if size >= 1 << 20:
        return {"rounds": 15, "iterations": 1, "warmup_rounds": 2}
    return {"rounds": 2000, "iterations": 10 if size <= 4096 else 1, "warmup_rounds": 50}


def describe(benchmark, group: str, impl: str, size: int, peer: bool = False, path: str | None = None) -> None:
    benchmark.group = group
    benchmark.extra_info.update(impl=impl, bytes=size, peer=peer, auto=path is not None and path == AUTO_PATH)


@pytest.fixture(scope="module")
def buffers():
    """Source, destination and pad for each size, touched once here and reused by every round."""
    return {name: (os.urandom(size), bytearray(os.urandom(size)), os.urandom(size)) for name, size in SIZES.items()}


def memcpy(dst: bytearray):
    """The copy yardstick: a memoryview slice assignment is one memcpy (measured 9 ms for 64 MiB here), where
    `bytearray[:] = bytes` takes another path and ran 7x slower."""
    return memoryview(dst).__setitem__


def native_at(path: str):
    primitives.select_simd_path(path)
    return primitives.backend("native")


@pytest.fixture(autouse=True)
def restore_simd_path():
    yield
    if NATIVE_PATHS:
        primitives.select_simd_path(None)


# -- ChaCha20 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", list(SIZES))
def test_chacha20_openssl(benchmark, buffers, size):
    src, dst, _ = buffers[size]
    out = bytearray(len(src) + 64)               # update_into wants room for a block more
    encryptor = Cipher(algorithms.ChaCha20(KEY, bytes(16)), mode=None).encryptor()
    describe(benchmark, f"chacha20 {size}", "cryptography (OpenSSL) update_into", len(src), peer=True)
    benchmark.pedantic(encryptor.update_into, args=(src, out), **rounds_for(len(src)))


@needs_native
@pytest.mark.parametrize("path", NATIVE_PATHS)
@pytest.mark.parametrize("size", list(SIZES))
def test_chacha20_native(benchmark, buffers, size, path):
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
    try:
        benchmark.pedantic(native.chacha20_xor, args=(KEY, NONCE, 1, src, dst), **rounds_for(len(src)))
    finally:
        primitives.set_native_threads(0)


@pytest.mark.parametrize("size", list(SIZES))
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


# -- 100,000 messages of 4 KiB: authenticate and decrypt -----------------------------------------------


@pytest.fixture(scope="module")
def sealed_messages():
    """100,000 (key, nonce, ciphertext, tag, ciphertext || tag): a fresh key per message, as sealed mail has."""
    messages = []
    for _ in range(BATCH_MESSAGES):
        key, nonce = os.urandom(32), os.urandom(12)
        sealed = ChaCha20Poly1305(key).encrypt(nonce, os.urandom(BATCH_SIZE), AAD)
        messages.append((key, nonce, sealed[:-16], sealed[-16:], sealed))
    return messages


def group_batch(benchmark, impl: str, peer: bool = False) -> None:
    describe(benchmark, "100,000 x 4 KiB authenticate + decrypt", impl, BATCH_MESSAGES * BATCH_SIZE, peer=peer)


def test_batch_cryptography_per_message(benchmark, sealed_messages):
    """The peer: one ChaCha20Poly1305 object (fresh key) and one decrypt call per message."""
    def open_each():
        for key, nonce, _, _, sealed in sealed_messages:
            ChaCha20Poly1305(key).decrypt(nonce, sealed, AAD)
    group_batch(benchmark, "cryptography: ChaCha20Poly1305(key).decrypt per message", peer=True)
    benchmark.pedantic(open_each, rounds=5, iterations=1, warmup_rounds=1)


def fresh_records(sealed_messages) -> list[Record]:
    return [Record("stream", bytearray(ct), key, nonce=nonce, aad=AAD, tag=tag)
            for key, nonce, ct, tag, _ in sealed_messages]


@needs_native
def test_batch_native_open(benchmark, sealed_messages):
    """One open_batch call over records already in memory (each round gets fresh copies, outside the timing)."""
    native = primitives.backend("native")
    group_batch(benchmark, "native open_batch (one call)")
    result = benchmark.pedantic(native.open_batch, setup=lambda: ((fresh_records(sealed_messages),), {}),
                                rounds=5, iterations=1, warmup_rounds=1)
    assert all(result)


@needs_native
def test_batch_native_open_one_thread(benchmark, sealed_messages):
    """The same call on one core (as in a worker process that sets 1 thread)."""
    native = primitives.backend("native")
    group_batch(benchmark, "native open_batch (one call), one thread")
    primitives.set_native_threads(1)
    try:
        result = benchmark.pedantic(native.open_batch, setup=lambda: ((fresh_records(sealed_messages),), {}),
                                    rounds=5, iterations=1, warmup_rounds=1)
    finally:
        primitives.set_native_threads(0)
    assert all(result)


@needs_native
def test_batch_native_records_and_open(benchmark, sealed_messages):
    """As the store's import does it: copy each ciphertext into a Record, then one open_batch call."""
    native = primitives.backend("native")
    group_batch(benchmark, "native: build Records + open_batch")
    result = benchmark.pedantic(lambda: native.open_batch(fresh_records(sealed_messages)), rounds=5, iterations=1,
                                warmup_rounds=1)
    assert all(result)


@needs_native
def test_batch_native_single_calls(benchmark, sealed_messages):
    """For scale: the native backend one aead_open call per message (no batch)."""
    native = primitives.backend("native")

    def open_each():
        for key, nonce, ciphertext, tag, _ in sealed_messages:
            native.aead_open(key, nonce, ciphertext, tag, AAD)
    group_batch(benchmark, "native aead_open per message")
    benchmark.pedantic(open_each, rounds=3, iterations=1, warmup_rounds=1)
