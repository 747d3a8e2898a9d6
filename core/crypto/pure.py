"""The pure-Python crypto backend: the native core's twin, byte for byte, for when the C module cannot load.

ChaCha20 and Poly1305 follow RFC 8439.  Speed comes from Python's big integers:
- XOR: a whole chunk (1 MiB) is one int, `int.from_bytes(a) ^ int.from_bytes(b)`.
- ChaCha20: many blocks are computed at once, one big int per state word
  holding every block's copy of that word in its own 64-bit lane (the 32-bit
  value in the low half, the high half absorbing carries, masked after each
  add and rotate); one add, xor or shift then works on 1024 blocks.
- Poly1305: Python ints modulo 2^130 - 5, one 16-byte block at a time.
Correctness first: tests compare every function with `cryptography` and the
native backend.  Secrets cannot be wiped from Python objects.
"""
from __future__ import annotations

import hmac

from itertools import accumulate

from pli.core.crypto.contract import (BLOCK_BYTES, KEY_BYTES, NONCE_BYTES, TAG_BYTES, BadTag, Columns, ColumnsOutput,
                                      ColumnViews, Record, byte_view, check_columns, check_counter, check_key,
                                      check_no_overlap, check_nonce, check_out, check_pad, check_record, check_tag)

NAME = "pure"
XOR_CHUNK = 1 << 20                 # bytes per big-int XOR: large enough to amortise, small enough for cache
CHACHA_CHUNK_BLOCKS = 1024          # 64 KiB of keystream per lane-parallel computation
_SIGMA = (0x61707865, 0x3320646E, 0x79622D32, 0x6B206574)   # "expand 32-byte k"
_P1305 = (1 << 130) - 5
_CLAMP = 0x0FFFFFFC0FFFFFFC0FFFFFFC0FFFFFFF
_MASK128 = (1 << 128) - 1


def simd_path() -> str:
    return "python"


# -- one-time pad -------------------------------------------------------------------------------------


def _xor_into(out: memoryview, data: memoryview, stream: memoryview) -> None:
    """out = data ^ stream, chunk by chunk (all three the same length; out may be data)."""
    for start in range(0, data.nbytes, XOR_CHUNK):
        end = min(start + XOR_CHUNK, data.nbytes)
        n = end - start
        x = int.from_bytes(data[start:end], "little") ^ int.from_bytes(stream[start:end], "little")
        out[start:end] = x.to_bytes(n, "little")


def otp_xor(data, pad, out=None):
    """data XOR the first len(data) pad bytes, into `out` (may be `data`: in place) or a new bytes."""
    src = byte_view(data, "data")
    pad_view = check_pad(pad, src.nbytes)
    if out is None:
        result = bytearray(src.nbytes)
        _xor_into(memoryview(result), src, pad_view)
        return bytes(result)
    dst = check_out(out, src.nbytes)
    check_no_overlap(dst, src, pad_view, in_place=out is data)
    _xor_into(dst, src, pad_view)
    return None


# -- ChaCha20 -----------------------------------------------------------------------------------------


def _words(buf: memoryview) -> list[int]:
    return [int.from_bytes(buf[i:i + 4], "little") for i in range(0, buf.nbytes, 4)]


def _quarter(x: list[int], a: int, b: int, c: int, d: int, m: int) -> None:
    xa, xb, xc, xd = x[a], x[b], x[c], x[d]
    xa = (xa + xb) & m
    xd ^= xa
    xd = ((xd << 16) | (xd >> 16)) & m
    xc = (xc + xd) & m
    xb ^= xc
    xb = ((xb << 12) | (xb >> 20)) & m
    xa = (xa + xb) & m
    xd ^= xa
    xd = ((xd << 8) | (xd >> 24)) & m
    xc = (xc + xd) & m
    xb ^= xc
    xb = ((xb << 7) | (xb >> 25)) & m
    x[a], x[b], x[c], x[d] = xa, xb, xc, xd


def _keystream(key: list[int], nonce: list[int], counter: int, blocks: int) -> bytearray:
    """`blocks` keystream blocks from `counter`, all computed at once in 64-bit lanes."""
    ones = int.from_bytes((b"\x01" + bytes(7)) * blocks, "little")   # 1 in every lane
    m = 0xFFFFFFFF * ones
    counters = b"".join(c.to_bytes(8, "little") for c in range(counter, counter + blocks))
    state = [w * ones for w in _SIGMA] + [w * ones for w in key] + [int.from_bytes(counters, "little")] + \
            [w * ones for w in nonce]
    x = list(state)
    for _ in range(10):
        _quarter(x, 0, 4, 8, 12, m)
        _quarter(x, 1, 5, 9, 13, m)
        _quarter(x, 2, 6, 10, 14, m)
        _quarter(x, 3, 7, 11, 15, m)
        _quarter(x, 0, 5, 10, 15, m)
        _quarter(x, 1, 6, 11, 12, m)
        _quarter(x, 2, 7, 8, 13, m)
        _quarter(x, 3, 4, 9, 14, m)
    out = bytearray(BLOCK_BYTES * blocks)
    # Word i of block j goes to bytes 64j + 4i: a strided copy of each lane's low 4 bytes.
    out4 = memoryview(out).cast("I")
    for i in range(16):
        lanes = ((x[i] + state[i]) & m).to_bytes(8 * blocks, "little")
        out4[i::16] = memoryview(lanes).cast("I")[0::2]
    return out


def chacha20_block(key, nonce, counter: int) -> bytes:
    """The RFC 8439 block function: 64 keystream bytes for block `counter`."""
    k, n = check_key(key), check_nonce(nonce)
    check_counter(counter, BLOCK_BYTES)
    return bytes(_keystream(_words(k), _words(n), counter, 1))


def _chacha20_into(out: memoryview, src: memoryview, key: memoryview, nonce: memoryview, counter: int) -> None:
    kw, nw = _words(key), _words(nonce)
    chunk = CHACHA_CHUNK_BLOCKS * BLOCK_BYTES
    for start in range(0, src.nbytes, chunk):
        end = min(start + chunk, src.nbytes)
        blocks = -(-(end - start) // BLOCK_BYTES)
        stream = _keystream(kw, nw, counter + start // BLOCK_BYTES, blocks)
        _xor_into(out[start:end], src[start:end], memoryview(stream)[:end - start])


def chacha20_xor(key, nonce, counter: int, data, out=None):
    """data XOR the ChaCha20 keystream from block `counter`, into `out` (may be `data`) or a new bytes."""
    k, n, src = check_key(key), check_nonce(nonce), byte_view(data, "data")
    check_counter(counter, src.nbytes)
    if out is None:
        result = bytearray(src.nbytes)
        _chacha20_into(memoryview(result), src, k, n, counter)
        return bytes(result)
    dst = check_out(out, src.nbytes)
    check_no_overlap(dst, src, in_place=out is data)
    _chacha20_into(dst, src, k, n, counter)
    return None


# -- Poly1305 -----------------------------------------------------------------------------------------


def _poly1305(key: memoryview, msg: memoryview) -> bytes:
    r = int.from_bytes(key[:16], "little") & _CLAMP
    s = int.from_bytes(key[16:32], "little")
    acc, n, high = 0, msg.nbytes, 1 << 128
    full = n - n % 16
    for i in range(0, full, 16):
        acc = (acc + int.from_bytes(msg[i:i + 16], "little") + high) * r % _P1305
    if full < n:
        acc = (acc + int.from_bytes(msg[full:], "little") + (1 << 8 * (n - full))) * r % _P1305
    return ((acc + s) & _MASK128).to_bytes(TAG_BYTES, "little")


def poly1305(key32, msg) -> bytes:
    """One-shot Poly1305 with a one-time 32-byte key."""
    return _poly1305(check_key(key32, "Poly1305 key"), byte_view(msg, "message"))


def tags_equal(a, b) -> bool:
    """Constant-time comparison of two 16-byte tags."""
    return hmac.compare_digest(bytes(check_tag(a)), bytes(check_tag(b)))


# -- the AEAD constructions ---------------------------------------------------------------------------


def _mac_data(aad: memoryview, ciphertext: memoryview) -> memoryview:
    """RFC 8439 section 2.8 MAC input: aad || pad16 || ciphertext || pad16 || le64(len aad) || le64(len ct)."""
    a, c = aad.nbytes, ciphertext.nbytes
    return memoryview(b"".join((aad, bytes(-a % 16), ciphertext, bytes(-c % 16), a.to_bytes(8, "little"),
                                c.to_bytes(8, "little"))))


def _aead_mac_key(key: memoryview, nonce: memoryview) -> memoryview:
    return memoryview(_keystream(_words(key), _words(nonce), 0, 1))[:32]


def aead_seal(key, nonce, plaintext, aad=b"") -> tuple[bytes, bytes]:
    """RFC 8439 ChaCha20-Poly1305: (ciphertext, tag)."""
    k, n = check_key(key), check_nonce(nonce)
    src, a = byte_view(plaintext, "plaintext"), byte_view(aad, "aad")
    check_counter(1, src.nbytes)
    ciphertext = bytearray(src.nbytes)
    _chacha20_into(memoryview(ciphertext), src, k, n, 1)
    return bytes(ciphertext), _poly1305(_aead_mac_key(k, n), _mac_data(a, memoryview(ciphertext)))


def aead_open(key, nonce, ciphertext, tag, aad=b"") -> bytes:
    """The plaintext, once the tag checked; BadTag otherwise."""
    k, n, t = check_key(key), check_nonce(nonce), check_tag(tag)
    src, a = byte_view(ciphertext, "ciphertext"), byte_view(aad, "aad")
    check_counter(1, src.nbytes)
    if not hmac.compare_digest(_poly1305(_aead_mac_key(k, n), _mac_data(a, src)), bytes(t)):
        raise BadTag()
    plaintext = bytearray(src.nbytes)
    _chacha20_into(memoryview(plaintext), src, k, n, 1)
    return bytes(plaintext)


def otp_seal(pad, mac_key32, plaintext, aad=b"") -> tuple[bytes, bytes]:
    """One-time pad: (plaintext XOR pad, Poly1305 with the one-time key over the RFC 8439 MAC layout)."""
    k = check_key(mac_key32, "Poly1305 key")
    src, a = byte_view(plaintext, "plaintext"), byte_view(aad, "aad")
    ciphertext = bytearray(src.nbytes)
    _xor_into(memoryview(ciphertext), src, check_pad(pad, src.nbytes))
    return bytes(ciphertext), _poly1305(k, _mac_data(a, memoryview(ciphertext)))


def otp_open(pad, mac_key32, ciphertext, tag, aad=b"") -> bytes:
    """The plaintext, once the tag checked; BadTag otherwise."""
    k, t = check_key(mac_key32, "Poly1305 key"), check_tag(tag)
    src, a = byte_view(ciphertext, "ciphertext"), byte_view(aad, "aad")
    pad_view = check_pad(pad, src.nbytes)
    if not hmac.compare_digest(_poly1305(k, _mac_data(a, src)), bytes(t)):
        raise BadTag()
    plaintext = bytearray(src.nbytes)
    _xor_into(memoryview(plaintext), src, pad_view)
    return bytes(plaintext)


# -- batches: a loop here, one call in the native backend -------------------------------------------------


def _open_record(record: Record) -> bool:
    data, a, tag = byte_view(record.data, "data"), byte_view(record.aad, "aad"), bytes(record.tag)
    if record.kind == "stream":
        k, n = check_key(record.key), check_nonce(record.nonce)
        if not hmac.compare_digest(_poly1305(_aead_mac_key(k, n), _mac_data(a, data)), tag):
            return False
        _chacha20_into(data, data, k, n, 1)
    else:
        if not hmac.compare_digest(_poly1305(check_key(record.key), _mac_data(a, data)), tag):
            return False
        _xor_into(data, data, check_pad(record.pad, data.nbytes))
    return True


def _seal_record(record: Record) -> None:
    data, a = byte_view(record.data, "data"), byte_view(record.aad, "aad")
    if record.kind == "stream":
        k, n = check_key(record.key), check_nonce(record.nonce)
        _chacha20_into(data, data, k, n, 1)
        record.tag = _poly1305(_aead_mac_key(k, n), _mac_data(a, data))
    else:
        _xor_into(data, data, check_pad(record.pad, data.nbytes))
        record.tag = _poly1305(check_key(record.key), _mac_data(a, data))


def open_batch(records: list[Record]) -> list[bool]:
    """Authenticate then decrypt each record in place; per record True, or False (data untouched)."""
    for index, record in enumerate(records):
        check_record(index, record)
    return [_open_record(record) for record in records]


def seal_batch(records: list[Record]) -> None:
    """Encrypt each record in place and write its tag."""
    for index, record in enumerate(records):
        check_record(index, record)
    for record in records:
        _seal_record(record)



# -- column batches: the same loop over a Columns batch's fields ------------------------------------------------


def _column_message(views: ColumnViews, i: int, out: memoryview, seal: bool) -> bytes | bool:
    """Message i into `out` (its slice of the output): seal gives the tag, open whether the tag matched."""
    data, aad = views.data[i], views.aads[i] if views.aads is not None else memoryview(b"")
    key = views.keys[KEY_BYTES * i:KEY_BYTES * (i + 1)]
    if views.kind == "stream":
        nonce = views.nonces[NONCE_BYTES * i:NONCE_BYTES * (i + 1)]
        mac_key = _aead_mac_key(key, nonce)
    else:
        mac_key = key
    if not seal and not hmac.compare_digest(_poly1305(mac_key, _mac_data(aad, data)),
                                            bytes(views.tags[TAG_BYTES * i:TAG_BYTES * (i + 1)])):
        return False
    if views.kind == "stream":
        _chacha20_into(out, data, key, nonce, 1)
    else:
        _xor_into(out, data, views.pads[i])
    return _poly1305(mac_key, _mac_data(aad, out)) if seal else True


def _run_columns(batch: Columns, seal: bool) -> ColumnsOutput:
    views = check_columns(batch, seal)
    offsets = list(accumulate((view.nbytes for view in views.data), initial=0))
    out = memoryview(bytearray(offsets[-1]))
    results = [_column_message(views, i, out[offsets[i]:offsets[i + 1]], seal) for i in range(len(views.data))]
    if seal:
        return ColumnsOutput(out, offsets, [True] * len(results), b"".join(results))
    return ColumnsOutput(out, offsets, results)


def open_columns(batch: Columns) -> ColumnsOutput:
    """Authenticate then decrypt every message of the batch into one new buffer."""
    return _run_columns(batch, seal=False)


def seal_columns(batch: Columns) -> ColumnsOutput:
    """Encrypt every message of the batch into one new buffer, with its tag."""
    return _run_columns(batch, seal=True)
