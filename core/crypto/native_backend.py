"""The native crypto backend: a thin wrapper over the C core (pli.native._pli_native, native/pli_crypto.h).

Every argument is checked before C sees it (the contract's checks, or the
bulk checks below that stand for them); buffers go to C without copies; each
C status becomes an exception (a raw return code never leaves this module).
cffi releases the GIL around every call.

Three kinds of call, each with its Python cost kept to what it must be:
- single calls: a fast path for bytes inputs and bytearray outputs (cffi
  checks the types, one from_buffer for the output), the contract's checks
  for anything else (see "single calls" below);
- column batches (`Columns`, `open_columns`): one object per field for the
  whole batch, checked in bulk, C checking every buffer rule once per batch;
- record batches (`Record`, `open_batch`): the `pli_record` array filled one
  field at a time for a chunk of records, through strided memoryview
  assignments (the key pointers are `base + 32 * i` over one joined buffer of
  all the keys, one big-int expression); records are checked in bulk
  (`set(map(len, keys))`), falling back to the per-record checks only when
  the bulk checks find something to name.  About 1.2 us of Python per record
  (6 us for the straightforward per-record loop): columns exist because that
  is still more than opening a 4 KiB message costs.
"""
from __future__ import annotations

import functools
import operator
import sys
from array import array
from itertools import accumulate, repeat

from pli.core.crypto.contract import (BLOCK_BYTES, KEY_BYTES, MAX_COUNTER, NONCE_BYTES, TAG_BYTES, BadTag, Columns,
                                      ColumnsOutput, ColumnViews, CounterOverflow, CryptoMisuse, Record, byte_view,
                                      check_columns, check_counter, check_key, check_no_overlap, check_nonce,
                                      check_out, check_pad, check_record, check_tag)
from pli.core.gc_pause import gc_paused
from pli.native._pli_native import ffi, lib

NAME = "native"
SIMD_PATHS = ("scalar", "avx2", "avx512", "avx512ifma", "neon")

# Status codes and kinds of native/pli_crypto.h.
_OK, _ERR_COUNTER, _ERR_BAD_TAG, _ERR_ARGUMENT, _ERR_OVERLAP = 0, -1, -2, -3, -4
_KIND_CODES = {"stream": 1, "otp": 2}           # PLI_KIND_CHACHA20_POLY1305, PLI_KIND_OTP_POLY1305
_BUG = "this is a bug in pli: please report it"


def _raise_for(status: int, what: str) -> None:
    """Turn a C status into the contract's exception (the arguments were checked: only BadTag is expected)."""
    if status == _OK:
        return
    if status == _ERR_BAD_TAG:
        raise BadTag()
    if status == _ERR_COUNTER:
        raise CounterOverflow(f"{what}: ChaCha20 counter overflow: the 32-bit block counter would wrap ({_BUG})")
    if status == _ERR_OVERLAP:
        raise CryptoMisuse(f"{what}: output buffer partly overlaps an input ({_BUG})")
    raise CryptoMisuse(f"{what}: the native crypto core refused its arguments (status {status}) ({_BUG})")


# -- SIMD paths ----------------------------------------------------------------------------------------

_forced: str | None = None


def simd_path() -> str:
    return ffi.string(lib.pli_simd_path()).decode()


def select_simd_path(name: str | None) -> None:
    """Force a path ("scalar", "avx2", "avx512", "avx512ifma", "neon"); None or "auto" restores the CPU's choice."""
    global _forced
    wanted = None if name in (None, "auto") else name
    if lib.pli_select_simd_path(b"auto" if wanted is None else wanted.encode()) != _OK:
        raise CryptoMisuse(f"SIMD path {name!r} cannot run on this CPU or was not built in (paths here: "
                           f"{', '.join(simd_paths())})")
    _forced = wanted


@functools.cache
def simd_paths() -> tuple[str, ...]:
    """The paths this CPU and build can run, scalar first."""
    runnable = tuple(p for p in SIMD_PATHS if lib.pli_select_simd_path(p.encode()) == _OK)
    lib.pli_select_simd_path(b"auto" if _forced is None else _forced.encode())
    return runnable


def set_max_threads(n: int) -> None:
    """Threads one call may use (batches from 512 KiB, ChaCha20 from 1 MiB): 0 = one per CPU (the default),
    1 = the caller's thread only (for worker processes that already keep every core busy)."""
    if not isinstance(n, int) or lib.pli_set_max_threads(n) != _OK:
        raise CryptoMisuse(f"thread count must be an integer >= 0, got {n!r} ({_BUG})")


# -- single calls --------------------------------------------------------------------------------------
#
# Each call has a fast path for what pli passes (bytes, bytearray outputs) and a general path for the
# rest (memoryviews, other buffers) and for every error.  The fast path checks the lengths, then lets
# cffi check the types: a bytes object goes to C as it is (cffi hands over its own buffer, no copy), a
# writable output through one `from_buffer`; anything else cffi refuses (TypeError before the call) and
# the general path takes over, which names the problem.  Distinct bytes/bytearray objects never share
# memory, so the fast path needs no address check (C checks overlaps again anyway).  Measured: a small
# call costs about twice a bare cffi call, against seven times with the general path.

# Writability is checked before (type() is bytearray, check_out, check_record): the plain from_buffer, half
# the cost of from_buffer(..., require_writable=True) here, is enough.
_ptr = ffi.from_buffer
# New outputs are allocated without clearing: C writes every byte before anything reads it (and a failed open
# never shows it), so neither a zeroing nor a from_buffer is paid per call.
_uncleared = ffi.new_allocator(should_clear_after_alloc=False)
_CHARS = ffi.typeof("char[]")          # the type object: no string to look up per call


def _input(view: memoryview):
    """A checked view as C takes it: a bytes object as it is (no cdata to build), else its address."""
    obj = view.obj
    return obj if type(obj) is bytes and view.nbytes == len(obj) and view.contiguous else _ptr(view)


def _general_xor(fill, src: memoryview, dst: memoryview | None):
    """fill(dst, src) for the general path: into a new bytearray (returned as bytes) or into `dst` (None).

    In place needs nothing special: the same memory gives C the same address twice."""
    if dst is None:
        result = bytearray(src.nbytes)
        fill(_ptr(result), _input(src))
        return bytes(result)
    fill(_ptr(dst), _input(src))
    return None


_c_otp_xor, _c_chacha20_xor = lib.pli_otp_xor, lib.pli_chacha20_xor     # one attribute lookup less per call


def otp_xor(data, pad, out=None):
    try:
        if out is data:                                  # in place, the pad XOR's usual call
            n = len(data)
            if type(data) is bytearray and len(pad) >= n:
                dst = _ptr(data)
                if not _c_otp_xor(dst, dst, pad, n):     # PLI_OK
                    return None
        elif out is None:
            n = len(data)
            if type(data) is bytes and len(pad) >= n:
                result = _uncleared(_CHARS, n or 1)                # C writes all of it
                if _c_otp_xor(result, data, pad, n) == _OK:
                    return ffi.unpack(result, n)
        elif type(out) is bytearray:
            n = len(data)
            if len(out) == n and len(pad) >= n and _c_otp_xor(_ptr(out), data, pad, n) == _OK:
                return None
    except TypeError:        # cffi takes only bytes and cdata as they are: the general path for the rest
        pass
    return _otp_xor_checked(data, pad, out)


def _otp_xor_checked(data, pad, out):
    src = byte_view(data, "data")
    pad_view = check_pad(pad, src.nbytes)
    dst = None if out is None else check_out(out, src.nbytes)
    if dst is not None:
        check_no_overlap(dst, src, pad_view, in_place=out is data)

    def fill(dst_ptr, src_ptr):
        _raise_for(lib.pli_otp_xor(dst_ptr, src_ptr, _input(pad_view), src.nbytes), "otp_xor")
    return _general_xor(fill, src, dst)


def chacha20_block(key, nonce, counter: int) -> bytes:
    k, n = check_key(key), check_nonce(nonce)
    check_counter(counter, BLOCK_BYTES)
    block = ffi.new("char[]", BLOCK_BYTES)
    lib.pli_chacha20_block(block, _input(k), _input(n), counter)
    return ffi.unpack(block, BLOCK_BYTES)


def chacha20_xor(key, nonce, counter: int, data, out=None):
    try:
        if len(key) == KEY_BYTES and len(nonce) == NONCE_BYTES and type(counter) is int:
            if out is None:
                if type(data) is bytes:
                    n = len(data)
                    result = _uncleared(_CHARS, n or 1)            # C writes all of it
                    if _c_chacha20_xor(result, data, n, key, nonce, counter) == _OK:
                        return ffi.unpack(result, n)
            elif type(out) is bytearray and len(out) == len(data):
                dst = _ptr(out)
                if _c_chacha20_xor(dst, dst if out is data else data, len(data), key, nonce, counter) == _OK:
                    return None
    except (TypeError, OverflowError):   # a type cffi does not take as it is, a counter out of range
        pass
    return _chacha20_xor_checked(key, nonce, counter, data, out)


def _chacha20_xor_checked(key, nonce, counter, data, out):
    k, n, src = check_key(key), check_nonce(nonce), byte_view(data, "data")
    check_counter(counter, src.nbytes)
    dst = None if out is None else check_out(out, src.nbytes)
    if dst is not None:
        check_no_overlap(dst, src, in_place=out is data)

    def fill(dst_ptr, src_ptr):
        status = lib.pli_chacha20_xor(dst_ptr, src_ptr, src.nbytes, _input(k), _input(n), counter)
        _raise_for(status, "chacha20_xor")
    return _general_xor(fill, src, dst)


def poly1305(key32, msg) -> bytes:
    tag = ffi.new("char[]", TAG_BYTES)
    try:
        if len(key32) == KEY_BYTES:
            lib.pli_poly1305(tag, msg, len(msg), key32)
            return ffi.unpack(tag, TAG_BYTES)
    except TypeError:
        pass
    k, m = check_key(key32, "Poly1305 key"), byte_view(msg, "message")
    lib.pli_poly1305(tag, _input(m), m.nbytes, _input(k))
    return ffi.unpack(tag, TAG_BYTES)


def tags_equal(a, b) -> bool:
    try:
        if len(a) == TAG_BYTES and len(b) == TAG_BYTES:
            return lib.pli_tags_equal(a, b) == 1
    except TypeError:
        pass
    return lib.pli_tags_equal(_input(check_tag(a)), _input(check_tag(b))) == 1


_c_aead_seal, _c_aead_open, _c_otp_seal, _c_otp_open = (lib.pli_aead_seal, lib.pli_aead_open, lib.pli_otp_seal,
                                                        lib.pli_otp_open)


def aead_seal(key, nonce, plaintext, aad=b"") -> tuple[bytes, bytes]:
    try:
        if len(key) == KEY_BYTES and len(nonce) == NONCE_BYTES and type(plaintext) is bytes:
            out, tag = _uncleared("char[]", len(plaintext) or 1), _uncleared("char[]", TAG_BYTES)
            if _c_aead_seal(out, tag, plaintext, len(plaintext), aad, len(aad), key, nonce) == _OK:
                return ffi.unpack(out, len(plaintext)), ffi.unpack(tag, TAG_BYTES)
    except TypeError:        # cffi takes only bytes and cdata as they are: the general path for the rest
        pass
    return _sealed(_c_aead_seal, "stream", "aead_seal", key, nonce, plaintext, aad)


def aead_open(key, nonce, ciphertext, tag, aad=b"") -> bytes:
    try:
        if len(key) == KEY_BYTES and len(nonce) == NONCE_BYTES and len(tag) == TAG_BYTES and \
                type(ciphertext) is bytes:
            out = _uncleared("char[]", len(ciphertext) or 1)
            status = _c_aead_open(out, ciphertext, len(ciphertext), tag, aad, len(aad), key, nonce)
            if status == _OK:
                return ffi.unpack(out, len(ciphertext))
            if status == _ERR_BAD_TAG:
                raise BadTag()
    except TypeError:
        pass
    return _opened(_c_aead_open, "stream", "aead_open", key, nonce, ciphertext, tag, aad)


def otp_seal(pad, mac_key32, plaintext, aad=b"") -> tuple[bytes, bytes]:
    try:
        if len(mac_key32) == KEY_BYTES and len(pad) >= len(plaintext) and type(plaintext) is bytes:
            out, tag = _uncleared("char[]", len(plaintext) or 1), _uncleared("char[]", TAG_BYTES)
            if _c_otp_seal(out, tag, plaintext, len(plaintext), aad, len(aad), pad, mac_key32) == _OK:
                return ffi.unpack(out, len(plaintext)), ffi.unpack(tag, TAG_BYTES)
    except TypeError:
        pass
    return _sealed(_c_otp_seal, "otp", "otp_seal", mac_key32, pad, plaintext, aad)


def otp_open(pad, mac_key32, ciphertext, tag, aad=b"") -> bytes:
    try:
        if len(mac_key32) == KEY_BYTES and len(tag) == TAG_BYTES and len(pad) >= len(ciphertext) and \
                type(ciphertext) is bytes:
            out = _uncleared("char[]", len(ciphertext) or 1)
            status = _c_otp_open(out, ciphertext, len(ciphertext), tag, aad, len(aad), pad, mac_key32)
            if status == _OK:
                return ffi.unpack(out, len(ciphertext))
            if status == _ERR_BAD_TAG:
                raise BadTag()
    except TypeError:
        pass
    return _opened(_c_otp_open, "otp", "otp_open", mac_key32, pad, ciphertext, tag, aad)


def _sealed(function, kind, what, key, nonce_or_pad, plaintext, aad) -> tuple[bytes, bytes]:
    """The general path of a seal: the contract's checks (naming the problem), then the C call."""
    k, src, a, extra = _checked_message(kind, key, nonce_or_pad, plaintext, aad, "plaintext")
    out, tag = _uncleared("char[]", src.nbytes or 1), _uncleared("char[]", TAG_BYTES)
    _raise_for(function(out, tag, _input(src), src.nbytes, _input(a), a.nbytes, *_key_order(kind, k, extra)), what)
    return ffi.unpack(out, src.nbytes), ffi.unpack(tag, TAG_BYTES)


def _opened(function, kind, what, key, nonce_or_pad, ciphertext, tag, aad) -> bytes:
    """The general path of an open: the contract's checks, then the C call; BadTag if the tag fails."""
    t = check_tag(tag)
    k, src, a, extra = _checked_message(kind, key, nonce_or_pad, ciphertext, aad, "ciphertext")
    out = _uncleared("char[]", src.nbytes or 1)
    _raise_for(function(out, _input(src), src.nbytes, _input(t), _input(a), a.nbytes, *_key_order(kind, k, extra)),
               what)
    return ffi.unpack(out, src.nbytes)


def _key_order(kind, key, nonce_or_pad):
    """The C argument order: (key, nonce) for the stream calls, (pad, mac_key) for the otp ones."""
    return (key, nonce_or_pad) if kind == "stream" else (nonce_or_pad, key)


def _checked_message(kind, key, nonce_or_pad, data, aad, what):
    """The contract's checks for one message: key, data, aad, and the nonce (stream) or the pad (otp)."""
    if kind == "stream":
        k, extra = check_key(key), check_nonce(nonce_or_pad)
    else:
        k = check_key(key, "Poly1305 key")
    src, a = byte_view(data, what), byte_view(aad, "aad")
    if kind == "stream":
        check_counter(1, src.nbytes)
    else:
        extra = check_pad(nonce_or_pad, src.nbytes)
    return _input(k), src, a, _input(extra)


# -- batches -----------------------------------------------------------------------------------------------

_PLAIN = {bytes, bytearray}
_NO_NONCE = bytes(NONCE_BYTES)                       # otp records: a nonce column entry C does not read
_MAX_STREAM_BYTES = MAX_COUNTER * BLOCK_BYTES        # the AEAD body starts at block 1
_W = ffi.sizeof("void *")
_WORD = "Q" if _W == 8 else "I"                       # the format of pointer and size_t columns
assert ffi.sizeof("size_t") == _W
_REC_BYTES = ffi.sizeof("pli_record")


def _column(name: str, itemsize: int) -> slice:
    """The items of field `name` in the record array seen as an array of `itemsize`-byte items."""
    offset = ffi.offsetof("pli_record", name)
    assert offset % itemsize == 0 and _REC_BYTES % itemsize == 0
    return slice(offset // itemsize, None, _REC_BYTES // itemsize)


_DATA, _LEN, _AAD, _AAD_LEN = _column("data", _W), _column("len", _W), _column("aad", _W), _column("aad_len", _W)
_KEY, _NONCE, _PAD, _TAG = _column("key", _W), _column("nonce", _W), _column("pad", _W), _column("tag", _W)
_KIND, _STATUS = _column("kind", 4), _column("status", 4)


def _pad_fits(kind: str, pad, data) -> bool:
    return kind != "otp" or (type(pad) in _PLAIN and len(pad) >= len(data) and pad is not data)


def _byte_views(records: list[Record], first: int) -> list[list]:
    """The slow path: per-record checks (naming the record), then every field as a flat byte view."""
    for index, record in enumerate(records, start=first):
        check_record(index, record)
    views = [(r.kind, byte_view(r.data, "data"), byte_view(r.key, "key"),
              byte_view(r.nonce, "nonce") if r.kind == "stream" else _NO_NONCE,
              byte_view(r.pad, "pad") if r.kind == "otp" else None, byte_view(r.aad, "aad"),
              byte_view(r.tag, "tag")) for r in records]
    return list(map(list, zip(*views)))


def _address(buf) -> int:
    return int(ffi.cast("uintptr_t", ffi.from_buffer(buf))) if len(buf) else 0


@functools.lru_cache(maxsize=32)
def _lanes(size: int, count: int) -> tuple[int, int]:
    """`count` machine words as one int: every word 1, and word i = size * i."""
    ones = int.from_bytes((b"\x01" + bytes(_W - 1)) * count, "little")
    return ones, int.from_bytes(array(_WORD, range(0, size * count, size)).tobytes(), "little")


def _strided(blob, size: int, count: int) -> memoryview:
    """The addresses of `count` consecutive `size`-byte items of `blob`, as a column.

    base * ones + offsets is one big-int expression: twice as fast as building the column from a range.
    """
    ones, offsets = _lanes(size, count)
    return memoryview((_address(blob) * ones + offsets).to_bytes(_W * count, sys.byteorder)).cast(_WORD)


class _RecordArray:
    """A chunk of records as the C record array, built a field at a time (see the module docstring).

    Built optimistically from the records' own bytes/bytearray objects; `valid` is
    False when a column shows something the fast checks cannot vouch for (a
    length, a type), and the caller rebuilds from checked byte views instead.
    Holds every buffer C will read or write until it is dropped.
    """

    def __init__(self, fields: list[list], seal: bool, checked: bool = False):
        self.n = len(fields[1])
        try:
            self.valid = self._fits(fields, seal, checked)
        except TypeError:                     # a key that is an int, an aad that is None...
            self.valid = False
        if self.valid:
            self._fill(fields)

    def _fits(self, fields: list[list], seal: bool, checked: bool) -> bool:
        """The fast checks; joins the fixed-size columns on the way (their joined size is one of the checks)."""
        kinds, datas, keys, nonces, pads, aads, tags = fields
        n, self.kind_set = self.n, set(kinds)
        # Unchecked data must be bytearrays (writable, len() in bytes); checked ones are writable byte views.
        if not self.kind_set <= _KIND_CODES.keys() or (not checked and set(map(type, datas)) != {bytearray}):
            return False
        # Same-size columns: every len() equal AND the joined size right means each item is that many bytes
        # (len() counts items, which for an exotic memoryview format is not bytes).
        if set(map(len, keys)) != {KEY_BYTES} or set(map(len, nonces)) != {NONCE_BYTES}:
            return False
        if not seal and set(map(len, tags)) != {TAG_BYTES}:
            return False
        self.lens, self.aad_lens = array(_WORD, map(len, datas)), array(_WORD, map(len, aads))
        self.keys, self.nonces, self.aads = b"".join(keys), b"".join(nonces), b"".join(aads)
        self.tags = bytearray(TAG_BYTES * n) if seal else b"".join(tags)
        if (len(self.keys) != KEY_BYTES * n or len(self.nonces) != NONCE_BYTES * n
                or len(self.tags) != TAG_BYTES * n or len(self.aads) != sum(self.aad_lens)
                or max(self.lens) > _MAX_STREAM_BYTES):
            return False
        return "otp" not in self.kind_set or checked or all(map(_pad_fits, kinds, pads, datas))

    def _fill(self, fields: list[list]) -> None:
        kinds, datas, _, _, pads, _, _ = fields
        n = self.n
        self.batch = ffi.new("pli_record[]", n)
        words = memoryview(ffi.buffer(self.batch)).cast(_WORD)
        self.ints = memoryview(ffi.buffer(self.batch)).cast("i")
        # Data is writable (checked above), so the plain from_buffer is enough.
        # The cdata objects are kept: each holds its bytearray exported, so that no other thread can resize
        # (and move) it while C writes into it with the GIL released.
        self.data_views = list(map(ffi.from_buffer, datas))
        self.data_pointers = ffi.new("char *[]", self.data_views)
        words[_DATA] = memoryview(ffi.buffer(self.data_pointers)).cast(_WORD)
        words[_LEN], words[_AAD_LEN] = self.lens, self.aad_lens
        words[_KEY] = _strided(self.keys, KEY_BYTES, n)
        words[_NONCE] = _strided(self.nonces, NONCE_BYTES, n)
        words[_TAG] = _strided(self.tags, TAG_BYTES, n)
        base = _address(self.aads)
        if base:
            words[_AAD] = array(_WORD, accumulate(self.aad_lens[:-1], initial=base))
        if "otp" in self.kind_set:
            self.pad_views = [ffi.from_buffer(p) if k == "otp" else ffi.NULL for k, p in zip(kinds, pads)]
            self.pad_pointers = ffi.new("char *[]", self.pad_views)
            words[_PAD] = memoryview(ffi.buffer(self.pad_pointers)).cast(_WORD)
        self.ints[_KIND] = (array("i", [_KIND_CODES[kinds[0]]]) * n if len(self.kind_set) == 1
                            else array("i", map(_KIND_CODES.__getitem__, kinds)))

    def run(self, seal: bool) -> list[int]:
        (lib.pli_seal_batch if seal else lib.pli_open_batch)(self.batch, self.n)
        return self.ints[_STATUS].tolist()


_getters = [operator.attrgetter(f) for f in ("kind", "data", "key", "nonce", "pad", "aad", "tag")]
#: Records per C call: a chunk's Python objects stay in cache across the column passes, and a chunk is
#: large enough for the C side's worker threads to pay for their start (2048 made the C side 30% slower).
CHUNK = 8192


def _prepare(records: list[Record], first: int, seal: bool) -> _RecordArray:
    """Records [first, first + len) of the batch as a C record array."""
    columns = _RecordArray([list(map(get, records)) for get in _getters], seal)
    if not columns.valid:
        # The per-record checks raise CryptoMisuse naming the record, or give clean byte views.
        columns = _RecordArray(_byte_views(records, first), seal, checked=True)
        if not columns.valid:
            raise CryptoMisuse(f"a batch record could not be prepared for the native core ({_BUG})")
    return columns


def _run_batch(records: list[Record], seal: bool) -> tuple[list[int], list]:
    """Every chunk is prepared (and so checked) before any is run: misuse leaves every record untouched."""
    with gc_paused():   # a cdata per record would otherwise run the cyclic GC every 700 of them (half the cost)
        prepared = [_prepare(records[start:start + CHUNK], start, seal) for start in range(0, len(records), CHUNK)]
        statuses = []
        for columns in prepared:
            statuses += columns.run(seal)
    return statuses, [columns.tags for columns in prepared]


def _failed(statuses: list[int], allowed: tuple[int, ...]) -> None:
    for index, status in enumerate(statuses):
        if status not in allowed:
            try:
                _raise_for(status, f"batch record {index}")
            except BadTag:
                raise CryptoMisuse(f"batch record {index}: sealing reported a bad tag ({_BUG})") from None


def open_batch(records: list[Record]) -> list[bool]:
    statuses, _ = _run_batch(records, seal=False)
    _failed(statuses, (_OK, _ERR_BAD_TAG))
    return [status == _OK for status in statuses]


def seal_batch(records: list[Record]) -> None:
    statuses, tags = _run_batch(records, seal=True)
    _failed(statuses, (_OK,))
    tag_bytes = b"".join(tags)
    for index, record in enumerate(records):
        record.tag = tag_bytes[TAG_BYTES * index:TAG_BYTES * (index + 1)]


# -- column batches ------------------------------------------------------------------------------------
#
# One C call for a whole Columns batch.  The fast path checks each field in bulk (one type set, one
# pass of len() per field); the general path (memoryviews, any error) runs the contract's checks, which
# name the field or the message, and goes on with the byte views they give.  Every output goes to one
# new buffer that C fills completely (a message that fails its MAC gets zeros), so it is allocated
# without clearing.

def _minus(words: array, k: int) -> array:
    """Each word of `words` (all >= k) minus k: one big-int subtraction (lanes of machine words)."""
    ones, _ = _lanes(1, len(words))
    value = int.from_bytes(words.tobytes(), sys.byteorder) - k * ones
    return array(_WORD, value.to_bytes(_W * len(words), sys.byteorder))


def _bytes_data_offset() -> int | None:
    """Where a bytes object's data starts, from its id(), or None if that cannot be relied on.

    CPython documents id() as the object's address, and a bytes object keeps its data inline at a fixed
    offset from it (the object header, then the hash).  The offset is measured here on objects of several
    sizes against what the buffer protocol reports; any disagreement (another Python, another layout)
    turns the shortcut off and every buffer goes through from_buffer."""
    offsets = {int(ffi.cast("uintptr_t", ffi.from_buffer(b))) - id(b) for b in (b"x", bytes(100), bytes(70_000))}
    return offsets.pop() if len(offsets) == 1 and sys.implementation.name == "cpython" else None


_BYTES_DATA = _bytes_data_offset()


def _pointers(buffers, kinds: set) -> object:
    """An array of C pointers to each buffer, and what keeps it valid: the caller holds both until C returns.

    A batch of bytes objects only: their addresses from id() (about 25 ns a message, against about 120 for a
    cdata each from from_buffer).  A bytes object cannot change size or move while it is referenced, and the
    caller holds every one of them until the C call returns."""
    if _BYTES_DATA is not None and kinds == _ONLY_BYTES and buffers:
        ids = array(_WORD, list(map(id, buffers)))      # from a list: half the time of from the iterator
        ones, _ = _lanes(1, len(ids))
        addresses = array(_WORD, (int.from_bytes(ids.tobytes(), sys.byteorder) + _BYTES_DATA * ones).to_bytes(
            _W * len(ids), sys.byteorder))
        return ffi.cast("uint8_t **", ffi.from_buffer(addresses)), addresses
    # The cdata objects are kept too: each holds its buffer exported (a bytearray cannot be resized under C).
    views = list(map(_ptr, buffers))
    return ffi.new("uint8_t *[]", views), views


_ONLY_BYTES = {bytes}


def _aad_column(aads, n: int):
    """The aad pointers and lengths of a batch (what _ColumnCall._build takes), or None if the bulk checks fail.

    A batch whose messages share one aad object (a fixed label) is checked and pointed at once: the identity
    pass stops at the first other object, so a batch of distinct aads pays nothing for it."""
    if len(aads) != n:
        return None
    if n and all(map(operator.is_, aads, repeat(aads[0]))):
        shared = aads[0]
        if type(shared) not in _PLAIN:
            return None
        pointer = _ptr(shared)            # held with the column: a bytearray stays exported until C returns
        addresses = array(_WORD, [int(ffi.cast("uintptr_t", pointer))]) * n
        return (ffi.cast("uint8_t **", ffi.from_buffer(addresses)), addresses, pointer), \
            array(_WORD, [len(shared)]) * n
    types = set(map(type, aads))
    if not types <= _PLAIN:
        return None
    return _pointers(aads, types), array(_WORD, list(map(len, aads)))


def _array_of(pointers: tuple):
    """The C array of what _pointers gave (the rest of the tuple is what keeps it valid)."""
    return pointers[0]


class _ColumnCall:
    """A Columns batch as the C pli_columns struct, holding every object C reads until it is dropped."""

    def __init__(self, batch: Columns, seal: bool):
        self.seal = seal
        if not self._fast(batch):
            self._general(check_columns(batch, seal))

    def _fast(self, batch: Columns) -> bool:
        """Bulk checks of what pli passes (bytes and bytearrays); False sends the batch to the general path."""
        if type(batch) is not Columns or batch.kind not in _KIND_CODES or type(batch.data) not in (list, tuple):
            return False
        data, n, stream = batch.data, len(batch.data), batch.kind == "stream"
        data_types = set(map(type, data))
        if not data_types <= _PLAIN or type(batch.keys) not in _PLAIN or len(batch.keys) != KEY_BYTES * n:
            return False
        if stream and (type(batch.nonces) not in _PLAIN or len(batch.nonces) != NONCE_BYTES * n):
            return False
        # The lengths as a list first: min and max over a list of ints cost half what they cost over an array
        # (which makes an int per item), and an array is built from a list faster than from an iterator.
        sizes, tags, tag_after = list(map(len, data)), batch.tags, 0
        if self.seal or tags is not None:
            if not self.seal and (type(tags) not in _PLAIN or len(tags) != TAG_BYTES * n):
                return False
        elif n and min(sizes) < TAG_BYTES:
            return False
        else:
            tag_after = TAG_BYTES
        if n and stream and max(sizes) - tag_after > _MAX_STREAM_BYTES:
            return False
        lens = _minus(array(_WORD, sizes), tag_after) if n and tag_after else array(_WORD, sizes)
        aads, pads, aad_column = batch.aads, batch.pads, None
        if aads is not None:
            aad_column = _aad_column(aads, n)
            if aad_column is None:
                return False
        if not stream and (pads is None or len(pads) != n or not set(map(type, pads)) <= _PLAIN
                           or not all(map(operator.ge, map(len, pads), lens))):
            return False
        self._build(batch.kind, n, _pointers(data, data_types), lens, batch.keys, batch.nonces if stream else None,
                    aad_column,
                    None if stream else _pointers(pads, None), None if self.seal else tags)
        return True

    def _general(self, views: ColumnViews) -> None:
        n = len(views.data)
        aads = None
        if views.aads is not None:
            aads = (_pointers(views.aads, None), array(_WORD, (a.nbytes for a in views.aads)))
        self._build(views.kind, n, _pointers(views.data, None), array(_WORD, (v.nbytes for v in views.data)),
                    views.keys, views.nonces if views.kind == "stream" else None, aads,
                    None if views.pads is None else _pointers(views.pads, None), None if self.seal else views.tags)

    def _build(self, kind, n, inputs, lens, keys, nonces, aads, pads, tags) -> None:
        self.keep = [inputs, lens, keys, nonces, aads, pads, tags]
        self.offsets = array(_WORD, accumulate(lens.tolist(), initial=0))      # over a list: 1.4x faster
        self.out = _uncleared("uint8_t[]", self.offsets[-1] or 1)
        self.status = ffi.new("int[]", n or 1)
        self.tags = ffi.new("uint8_t[]", TAG_BYTES * n or 1) if self.seal else None
        c = self.c = ffi.new("pli_columns *")
        c.n, c.kind, c.out, c.out_len, c.status = n, _KIND_CODES[kind], self.out, self.offsets[-1], self.status
        c.len, c.offset = ffi.from_buffer("size_t[]", lens), ffi.from_buffer("size_t[]", self.offsets)
        c.keys = self._held(keys)
        c.nonces = ffi.NULL if nonces is None else self._held(nonces)
        setattr(c, "in", _array_of(inputs))      # a C field named like a Python keyword
        if aads is not None:
            c.aad, c.aad_len = _array_of(aads[0]), ffi.from_buffer("size_t[]", aads[1])
        if pads is not None:
            c.pad = _array_of(pads)
        c.tags = self.tags if self.seal else (ffi.NULL if tags is None else self._held(tags))

    def _held(self, buf):
        pointer = _ptr(buf)
        self.keep.append(pointer)
        return pointer

    def run(self) -> ColumnsOutput:
        failed = ffi.new("size_t *")
        status = (lib.pli_seal_columns if self.seal else lib.pli_open_columns)(self.c, failed)
        _raise_for(status, "column batch")
        n = self.c.n
        data = memoryview(ffi.buffer(self.out, self.offsets[-1]))
        if self.seal:
            return ColumnsOutput(data, self.offsets, [True] * n, ffi.buffer(self.tags, TAG_BYTES * n)[:])
        if not failed[0]:                      # every tag matched (C counts the others): no pass over statuses
            return ColumnsOutput(data, self.offsets, [True] * n)
        statuses = memoryview(ffi.buffer(self.status, 4 * n)).cast("i").tolist()
        return ColumnsOutput(data, self.offsets, list(map(_OK.__eq__, statuses)))


def open_columns(batch: Columns) -> ColumnsOutput:
    with gc_paused():      # a cdata per message would otherwise run the cyclic GC every 700 of them
        call = _ColumnCall(batch, seal=False)
    return call.run()


def seal_columns(batch: Columns) -> ColumnsOutput:
    with gc_paused():
        call = _ColumnCall(batch, seal=True)
    return call.run()
