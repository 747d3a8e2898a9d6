"""What the crypto primitives accept and promise, shared by the native and the pure backend.

Sizes, the batch `Record`, `BackendInfo`, the typed errors, and the argument
checks.  Both backends run the same checks (this module) before doing any
work, so that misuse raises the same exception with the same message whichever
backend runs, and the C core is only ever called with arguments it accepts.
Messages never quote key, pad or data bytes: only lengths and names.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cffi

from pli.core.errors import PliError

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
BLOCK_BYTES = 64
MAX_COUNTER = 2**32 - 1          # RFC 8439: a 32-bit block counter
KINDS = ("stream", "otp")

_BUG = "this is a bug in pli: please report it"


class CryptoMisuse(PliError):
    """A primitive was called with arguments it cannot accept (length, type, overlapping buffers)."""


class CounterOverflow(CryptoMisuse):
    """The 32-bit ChaCha20 block counter would wrap: the keystream would repeat."""


class BadTag(PliError):
    """Authentication failed: the data was damaged or altered (and was left as it was)."""

    def __init__(self, message: str = "authentication failed: the data was damaged or altered"):
        super().__init__(message)


@dataclass(slots=True)
class Record:
    """One message of a batch.  `data` is transformed in place; seal writes `tag`.

    kind "stream": RFC 8439 ChaCha20-Poly1305 with `key` and `nonce`.
    kind "otp": data XOR `pad` (at least len(data) bytes), Poly1305 with the one-time `key`.
    """

    kind: str
    data: bytearray
    key: bytes
    nonce: bytes = bytes(NONCE_BYTES)
    pad: bytes | None = None
    aad: bytes = b""
    tag: bytes = bytes(TAG_BYTES)


@dataclass(slots=True)
class Columns:
    """Many messages of one kind, a field at a time: what `open_columns` / `seal_columns` take.

    Building one `Record` per message costs more than opening it; here each
    field of the batch is one object.  Message i:
      data[i]   its input: the ciphertext (open) or the plaintext (seal), bytes-like;
                with `tags` None (open only), the ciphertext then its 16-byte tag,
                as RFC 8439's sealed form and `cryptography`'s encrypt() give it.
      keys      32 bytes per message, back to back (stream: the ChaCha20 key;
                otp: the one-time Poly1305 key).
      nonces    12 bytes per message, back to back (stream only).
      aads[i]   its associated data, or `aads` None for none at all.
      pads[i]   its pad bytes, at least as many as its data (otp only).
      tags      16 bytes per message, back to back: open reads them (None: they
                end the data); seal ignores them and returns new ones.
    The inputs are only read: every output goes to one new buffer (ColumnsOutput).
    """

    kind: str
    data: Sequence
    keys: bytes
    nonces: bytes = b""
    aads: Sequence | None = None
    pads: Sequence | None = None
    tags: bytes | None = None


@dataclass(frozen=True, slots=True)
class ColumnsOutput:
    """What open_columns / seal_columns give: every message's output back to back in `data`.

    Message i's output is data[offsets[i]:offsets[i + 1]] (`message(i)`).  Open:
    ok[i] says whether its tag matched (a message that failed has zeros for
    output).  Seal: `tags` holds the 16-byte tags, back to back.
    """

    data: memoryview
    offsets: Sequence[int]
    ok: list[bool]
    tags: bytes = b""

    def __len__(self) -> int:
        return len(self.ok)

    def message(self, index: int) -> memoryview:
        return self.data[self.offsets[index]:self.offsets[index + 1]]


@dataclass(frozen=True)
class BackendInfo:
    """Which backend runs, for `pli doctor` and the benchmarks."""

    name: str                    # "native" | "pure"
    simd_path: str               # "avx512ifma" | "avx512" | "avx2" | "neon" | "scalar" | "python"
    native_available: bool
    native_error: str | None     # why native could not load (None when it loaded)


# An ABI-mode FFI needs no compiler: it only tells where a buffer lives, for the overlap check.
_addresses = cffi.FFI()


_OWN_BUFFER = (bytes, bytearray)     # each object owns its buffer: two distinct ones never overlap


def byte_view(buf, what: str) -> memoryview:
    """`buf` as a flat memoryview of bytes; CryptoMisuse for str, int or non-contiguous buffers."""
    if type(buf) in _OWN_BUFFER:
        return memoryview(buf)
    try:
        view = memoryview(buf)
    except TypeError:
        raise CryptoMisuse(f"{what} must be bytes-like, not {type(buf).__name__} ({_BUG})") from None
    if not view.c_contiguous:
        raise CryptoMisuse(f"{what} must be a contiguous buffer ({_BUG})")
    return view.cast("B") if view.format != "B" or view.ndim != 1 else view


def check_length(buf, expected: int, what: str) -> memoryview:
    view = byte_view(buf, what)
    if view.nbytes != expected:
        raise CryptoMisuse(f"{what} must be {expected} bytes, got {view.nbytes} ({_BUG})")
    return view


def check_key(key, what: str = "key") -> memoryview:
    return check_length(key, KEY_BYTES, what)


def check_nonce(nonce) -> memoryview:
    return check_length(nonce, NONCE_BYTES, "nonce")


def check_tag(tag) -> memoryview:
    return check_length(tag, TAG_BYTES, "tag")


def check_pad(pad, length: int) -> memoryview:
    """The pad slice: at least `length` bytes (only the first `length` are used)."""
    view = byte_view(pad, "pad")
    if view.nbytes < length:
        raise CryptoMisuse(f"pad slice too short: {view.nbytes} bytes for {length} bytes of data ({_BUG})")
    return view[:length]


def check_counter(counter, length: int) -> None:
    """The start counter is a u32 and the last block `length` bytes need stays below 2^32."""
    if not isinstance(counter, int) or isinstance(counter, bool) or not 0 <= counter <= MAX_COUNTER:
        raise CryptoMisuse(f"ChaCha20 block counter must be an integer in 0..2^32-1, got {counter!r} ({_BUG})")
    blocks = -(-length // BLOCK_BYTES)
    if counter + blocks - 1 > MAX_COUNTER:
        raise CounterOverflow(f"ChaCha20 counter overflow: {length} bytes from block {counter} would wrap the "
                              f"32-bit counter and repeat keystream ({_BUG})")


def check_out(out, length: int) -> memoryview:
    """A writable buffer of exactly `length` bytes."""
    view = byte_view(out, "output buffer")
    if view.readonly:
        raise CryptoMisuse(f"output buffer must be writable (bytearray, writable memoryview) ({_BUG})")
    if view.nbytes != length:
        raise CryptoMisuse(f"output buffer must be {length} bytes, got {view.nbytes} ({_BUG})")
    return view


def _span(view: memoryview) -> tuple[int, int]:
    if view.nbytes == 0:
        return 0, 0
    return int(_addresses.cast("uintptr_t", _addresses.from_buffer(view))), view.nbytes


def _may_share(a: memoryview, b: memoryview) -> bool:
    """False when the two views are over distinct bytes/bytearray objects (the common case, no address needed)."""
    return a.obj is b.obj or type(a.obj) not in _OWN_BUFFER or type(b.obj) not in _OWN_BUFFER


def check_no_overlap(out: memoryview, src: memoryview, pad: memoryview | None = None, in_place: bool = False) -> None:
    """`out` may be `src` exactly (in place), but must not partly overlap it nor touch `pad` at all.

    `in_place`: the caller passed the very same object as input and output (no address needed).
    """
    check_src = not in_place and _may_share(out, src)
    if not check_src and (pad is None or not _may_share(out, pad)):
        return
    o_start, o_len = _span(out)
    s_start, s_len = _span(src) if check_src else (o_start, o_len)
    if o_len and s_len and o_start != s_start and o_start < s_start + s_len and s_start < o_start + o_len:
        raise CryptoMisuse(f"output buffer partly overlaps the input: use the input itself (in place) or a "
                           f"separate buffer ({_BUG})")
    if pad is not None:
        p_start, p_len = _span(pad)
        if o_len and p_len and o_start < p_start + p_len and p_start < o_start + o_len:
            raise CryptoMisuse(f"output buffer overlaps the pad ({_BUG})")


def check_record(index: int, record: Record) -> None:
    """Everything a batch record must satisfy; CryptoMisuse names the record."""
    try:
        if record.kind not in KINDS:
            raise CryptoMisuse(f"kind must be one of {', '.join(KINDS)}, got {record.kind!r} ({_BUG})")
        data = byte_view(record.data, "data")
        if data.readonly:
            raise CryptoMisuse(f"data must be writable (a bytearray): it is transformed in place ({_BUG})")
        check_key(record.key)
        check_tag(record.tag)
        byte_view(record.aad, "aad")
        if record.kind == "stream":
            check_nonce(record.nonce)
            check_counter(1, data.nbytes)
        else:
            if record.pad is None:
                raise CryptoMisuse(f"an otp record needs a pad ({_BUG})")
            pad = check_pad(record.pad, data.nbytes)
            check_no_overlap(data, data, pad)
    except CryptoMisuse as error:
        raise type(error)(f"batch record {index}: {error.message}") from None



@dataclass(frozen=True, slots=True)
class ColumnViews:
    """A checked Columns batch: every message's fields as flat byte views (the general path of both backends)."""

    kind: str
    data: list[memoryview]          # ciphertexts (without their tags) or plaintexts
    keys: memoryview
    nonces: memoryview
    aads: list[memoryview] | None
    pads: list[memoryview] | None   # each exactly as long as its data
    tags: memoryview | None          # open: 16 per message; seal: None


def _sized(buf, per_message: int, n: int, what: str) -> memoryview:
    view = byte_view(buf, what)
    if view.nbytes != per_message * n:
        raise CryptoMisuse(f"{what} must be {per_message} bytes per message: {view.nbytes} bytes for {n} messages "
                           f"({_BUG})")
    return view


def _per_message(items, n: int, what: str) -> list:
    try:
        count = len(items)
    except TypeError:
        raise CryptoMisuse(f"{what} must be a sequence with one item per message ({_BUG})") from None
    if count != n:
        raise CryptoMisuse(f"{what} must have one item per message: {count} for {n} messages ({_BUG})")
    return list(items)


def check_columns(batch: Columns, seal: bool) -> ColumnViews:
    """Everything a Columns batch must satisfy, as flat views; CryptoMisuse names the field or the message."""
    if not isinstance(batch, Columns):
        raise CryptoMisuse(f"a column batch must be a Columns, not {type(batch).__name__} ({_BUG})")
    if batch.kind not in KINDS:
        raise CryptoMisuse(f"kind must be one of {', '.join(KINDS)}, got {batch.kind!r} ({_BUG})")
    n = _count(batch.data)
    data = [byte_view(item, f"message {i}: data") for i, item in enumerate(batch.data)]
    keys = _sized(batch.keys, KEY_BYTES, n, "keys")
    nonces = _sized(batch.nonces, NONCE_BYTES, n, "nonces") if batch.kind == "stream" else memoryview(b"")
    tags = None
    if not seal:
        if batch.tags is None:
            for i, view in enumerate(data):
                if view.nbytes < TAG_BYTES:
                    raise CryptoMisuse(f"message {i}: {view.nbytes} bytes cannot hold its 16-byte tag ({_BUG})")
            tags = memoryview(b"".join(view[-TAG_BYTES:] for view in data))
            data = [view[:-TAG_BYTES] for view in data]
        else:
            tags = _sized(batch.tags, TAG_BYTES, n, "tags")
    if batch.kind == "stream":
        for i, view in enumerate(data):
            try:
                check_counter(1, view.nbytes)
            except CounterOverflow as error:
                raise CounterOverflow(f"message {i}: {error.message}") from None
    aads = None
    if batch.aads is not None:
        aads = [byte_view(a, f"message {i}: aad") for i, a in enumerate(_per_message(batch.aads, n, "aads"))]
    pads = None
    if batch.kind == "otp":
        if batch.pads is None:
            raise CryptoMisuse(f"an otp batch needs pads ({_BUG})")
        pads = []
        for i, (pad, view) in enumerate(zip(_per_message(batch.pads, n, "pads"), data)):
            try:
                pads.append(check_pad(pad, view.nbytes))
            except CryptoMisuse as error:
                raise CryptoMisuse(f"message {i}: {error.message}") from None
    return ColumnViews(batch.kind, data, keys, nonces, aads, pads, tags)


def _count(items) -> int:
    try:
        return len(items)
    except TypeError:
        raise CryptoMisuse(f"data must be a sequence with one item per message ({_BUG})") from None
