"""One-time pads: files of CSPRNG bytes shared by 2..N holders, divided into one sending lane per holder.

A pad has a 16-byte random id, an ordered list of holder addresses and a size.
Lane i (holder i's sending range) is bytes [i*L, (i+1)*L) with L = size // N,
so two holders never encrypt with the same bytes.  Which bytes of a lane are
used is the ledger's business (ledger.py), not the pad file's.

At rest (home/pads/<id>.pad, mode 0600) the bytes are sealed in 64 KiB chunks
under a random per-pad file key, so a message needs only the chunks it uses
decrypted; the file key and the pad's metadata are sealed with the keyring's
vault.  A transport file for another holder carries the same chunks with the
metadata sealed to that holder's X25519 key instead, and is signed by its
maker's Ed25519 key: the importer checks the signature against a key it
already trusts, and never replaces a pad it holds (docs/FORMAT.md, "Pad
files").  Pads travel out of band, never over the channel they protect.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import struct
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from pli.core.crypto.agreement import SealedOpenFailed, open_sealed, seal_to
from pli.core.crypto.identity import Identity, PublicIdentity, check_address
from pli.core.crypto.vault import Vault, VaultOpenFailed
from pli.core.durable import write_atomic
from pli.core.errors import PliError

PAD_MAGIC = b"PLIPAD1\n"
TRANSPORT_MAGIC = b"PLIPADX2"       # version 2: signed by its maker (version 1 was not: refused)
OLD_TRANSPORT_MAGIC = b"PLIPADX1"
TRANSPORT_SIGN_DOMAIN = b"pli-pad-transport-v2\x00"
PAD_ID_BYTES = 16
FPR = 16
SIGNATURE = 64
_HEAD = 8 + PAD_ID_BYTES + 2 * FPR  # magic, pad id, recipient's agreement key, maker's signing key
CHUNK = 64 * 1024
TAG = 16
MIN_SIZE = 4096
MAX_HOLDERS = 64
TRANSPORT_INFO = b"pli pad transport v2"
#: A lane runs low under 10% left, or under 1 MiB (for lanes larger than that).
LOW_BYTES = 1 << 20
LOW_FRACTION = 0.10
_U32 = struct.Struct(">I")
_CHUNK_NONCE = struct.Struct(">4xQ")
_CHUNK_AAD = struct.Struct(">16sQ")


class PadError(PliError):
    """A pad file that cannot be created, read or imported."""


class PadExhausted(PliError):
    """A lane has not enough unused bytes left for what is asked."""

    exit_code = 7


@dataclass(frozen=True)
class PadInfo:
    """A pad's public facts: id, holders (lane order) and size."""

    id: bytes
    holders: tuple[str, ...]
    size: int
    created: int

    @property
    def hex(self) -> str:
        return self.id.hex()

    @property
    def lane_size(self) -> int:
        return self.size // len(self.holders)

    def lane_of(self, address: str) -> int | None:
        try:
            return self.holders.index(address.lower())
        except ValueError:
            return None

    def running_low(self, left: int) -> bool:
        """Whether a lane with `left` bytes unused should be replaced soon (`pli pad status`, `pli doctor`)."""
        return left < LOW_FRACTION * self.lane_size or left < LOW_BYTES <= self.lane_size

    def lane_bounds(self, lane: int) -> tuple[int, int]:
        """[start, end) of holder `lane`'s sending range, in pad offsets."""
        if not 0 <= lane < len(self.holders):
            raise PadError(f"pad {self.hex} has no lane {lane}")
        return lane * self.lane_size, (lane + 1) * self.lane_size

    def to_json(self) -> dict:
        return {"id": self.hex, "holders": list(self.holders), "size": self.size, "created": self.created}


def parse_size(text: str) -> int:
    """'64M', '1G', '4096', '512K' -> bytes (powers of 1024)."""
    units = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    text = text.strip().upper().removesuffix("B").removesuffix("I")
    number, unit = (text[:-1], text[-1]) if text and text[-1] in units else (text, "")
    try:
        size = int(number) * units[unit]
    except ValueError:
        raise PadError(f"{text!r} is not a size (examples: 4096, 512K, 64M, 1G)") from None
    if size < MIN_SIZE:
        raise PadError(f"a pad must hold at least {MIN_SIZE} bytes")
    return size


class PadStore:
    """The pads of a home: create, export for another holder, import, read ranges."""

    def __init__(self, folder: Path, vault: Vault):
        self.folder = Path(folder)
        self._vault = vault
        self._cache: dict[bytes, tuple[PadInfo, bytes, int]] = {}  # id -> info, file key, body offset
        # The last chunk decrypted, (pad id, index, bytes): a batch import reads the ranges of
        # consecutive messages, most of them inside one 64 KiB chunk, which would otherwise be
        # decrypted again for each (a tenth of a worker's time per message).
        self._last_chunk: tuple[bytes, int, bytes] | None = None

    def __getstate__(self):
        return {"folder": self.folder, "_vault": self._vault, "_cache": {}, "_last_chunk": None}

    def path(self, pad_id: bytes) -> Path:
        return self.folder / f"{pad_id.hex()}.pad"

    # -- creating and moving pads -------------------------------------------------------------

    def create(self, holders: list[str], size: int, source: Callable[[int], bytes] = os.urandom,
               pad_id: bytes | None = None, created: int | None = None) -> PadInfo:
        """Draw a pad (from the OS CSPRNG unless `source` says otherwise) and store our own copy."""
        holders = tuple(check_address(h) for h in holders)
        if len(set(holders)) != len(holders) or not 2 <= len(holders) <= MAX_HOLDERS:
            raise PadError(f"a pad needs 2 to {MAX_HOLDERS} different holders")
        if size < MIN_SIZE:
            raise PadError(f"a pad must hold at least {MIN_SIZE} bytes")
        info = PadInfo(pad_id or os.urandom(PAD_ID_BYTES), holders, size,
                       int(time.time()) if created is None else created)
        file_key = os.urandom(32)
        body = _seal_chunks(info.id, file_key, _draw(source, size))
        self._write(info, file_key, body)
        return info

    def export(self, pad_id: bytes, recipient: PublicIdentity, maker: Identity) -> bytes:
        """The transport file for `recipient` (one of the holders), signed by `maker` (us, a holder)."""
        info, file_key, body_at = self._load(pad_id)
        if recipient.address not in info.holders:
            raise PadError(f"{recipient.address} is not a holder of pad {info.hex}")
        with open(self.path(pad_id), "rb") as handle:
            handle.seek(body_at)
            body = handle.read()
        return transport_file(info, file_key, body, recipient, maker)

    def import_transport(self, data: bytes, identities: list[Identity],
                         maker_of: Callable[[bytes], PublicIdentity]) -> tuple[PadInfo, PublicIdentity]:
        """Store a pad another holder made for one of `identities` (own, or a group we belong to): the pad
        and its maker, whose key `maker_of(fingerprint)` must vouch for (UntrustedMaker otherwise).

        The maker's signature is checked before anything is decrypted; a pad this keyring already
        holds is never replaced: the same file again changes nothing, another pad under its id is refused.
        """
        head, length, sealed, body, signature = _split_transport(data)
        pad_id, fpr, maker_fpr = head[8:24], head[24:40], head[40:56]
        maker = maker_of(maker_fpr)
        if not maker.verify(signature, _transport_signed(head, sealed, body)):
            raise PadError("this pad file's signature does not verify: it was altered or forged; nothing imported")
        me = next((i for i in identities if i.public.agree_fingerprint == fpr), None)
        if me is None:
            raise PadError("this pad file was made for another holder (no key of this keyring opens it)")
        try:
            metadata = open_sealed(me, sealed, TRANSPORT_INFO + pad_id, head)
        except SealedOpenFailed:
            raise PadError("this pad file is damaged (its sealed header does not open)") from None
        info, file_key = _parse_metadata(metadata, pad_id)
        if me.public.address not in info.holders:
            raise PadError(f"pad {info.hex} does not list {me.public.address} as a holder")
        if maker.address not in info.holders:
            raise PadError(f"pad {info.hex} was signed by {maker.address}, who is not one of its holders: "
                           "only a holder may hand a pad over; nothing imported")
        _check_body(info, file_key, body)
        if self.path(pad_id).exists():
            self._refuse_another(info, file_key, body)
            return info, maker
        self._write(info, file_key, [body])
        return info, maker

    def _refuse_another(self, info: PadInfo, file_key: bytes, body: bytes) -> None:
        """The pad `info.id` is already here: nothing to do if it is this very pad, else PadError."""
        try:
            held, held_key, body_at = self._load(info.id)
            with open(self.path(info.id), "rb") as handle:
                handle.seek(body_at)
                same = held == info and hmac.compare_digest(held_key, file_key) and handle.read() == body
        except (PadError, OSError):
            same = False
        if not same:
            raise PadError(f"this keyring already holds a different pad with id {info.hex}: a pad is never "
                           "replaced (its bytes may already have sealed or opened mail); nothing imported. "
                           "If this file is genuine, ask its maker to draw a new pad")

    # -- using pads ---------------------------------------------------------------------------

    def list(self) -> list[PadInfo]:
        if not self.folder.is_dir():
            return []
        pads = []
        for path in sorted(self.folder.glob("*.pad")):
            try:
                pads.append(self.info(bytes.fromhex(path.stem)))
            except (ValueError, PadError):
                continue  # a damaged or foreign file is reported by `pli pad status`, not fatal here
        return pads

    def info(self, pad_id: bytes) -> PadInfo:
        return self._load(pad_id)[0]

    def get(self, pad_id: bytes) -> PadInfo | None:
        try:
            return self._load(pad_id)[0]
        except PadError:
            return None

    def read(self, pad_id: bytes, offset: int, length: int) -> bytearray:
        """Pad bytes [offset, offset+length), decrypting only the chunks they lie in."""
        info, file_key, body_at = self._load(pad_id)
        if offset < 0 or length < 0 or offset + length > info.size:
            raise PadError(f"range {offset}+{length} lies outside pad {info.hex} ({info.size} bytes)")
        out = bytearray()
        if length == 0:
            return out
        first, last = offset // CHUNK, (offset + length - 1) // CHUNK
        last_chunk = self._last_chunk
        if first == last and last_chunk is not None and last_chunk[:2] == (info.id, first):
            out += last_chunk[2]   # most reads of a batch import
        else:
            with open(self.path(pad_id), "rb") as handle:
                for index in range(first, last + 1):
                    out += self._chunk(handle, info, file_key, body_at, index)
        start = offset - first * CHUNK
        return out[start:start + length]

    def _chunk(self, handle, info: PadInfo, file_key: bytes, body_at: int, index: int) -> bytes:
        """Chunk `index` of a pad, decrypted and checked; the last one is kept for the next read."""
        size = min(CHUNK, info.size - index * CHUNK)
        handle.seek(body_at + index * (CHUNK + TAG))
        try:
            plain = ChaCha20Poly1305(file_key).decrypt(_CHUNK_NONCE.pack(index), handle.read(size + TAG),
                                                       _CHUNK_AAD.pack(info.id, index))
        except InvalidTag:
            raise PadError(f"pad file {info.hex} is damaged (chunk {index}); ask for a new pad") from None
        self._last_chunk = (info.id, index, plain)
        return plain

    # -- files --------------------------------------------------------------------------------

    def _write(self, info: PadInfo, file_key: bytes, body) -> None:
        head = PAD_MAGIC + info.id
        sealed = self._vault.seal(_metadata(info, file_key), head)
        write_atomic(self.path(info.id), _chain([head + _U32.pack(len(sealed)) + sealed], body))
        self._cache.pop(info.id, None)
        self._last_chunk = None

    def _load(self, pad_id: bytes) -> tuple[PadInfo, bytes, int]:
        if pad_id in self._cache:
            return self._cache[pad_id]
        try:
            with open(self.path(pad_id), "rb") as handle:
                head = handle.read(len(PAD_MAGIC) + PAD_ID_BYTES + 4)
                if len(head) < 28 or head[:8] != PAD_MAGIC or head[8:24] != pad_id:
                    raise PadError(f"pad file {pad_id.hex()} is not a pli pad")
                (length,) = _U32.unpack(head[24:28])
                sealed = handle.read(length)
        except FileNotFoundError:
            raise PadError(f"no pad {pad_id.hex()} in this keyring: import it with `pli pad import`") from None
        try:
            info, file_key = _parse_metadata(self._vault.open(sealed, head[:24]), pad_id)
        except VaultOpenFailed:
            raise PadError(f"pad file {pad_id.hex()} does not open with this keyring") from None
        self._cache[pad_id] = entry = (info, file_key, 28 + length)
        return entry


def transport_file(info: PadInfo, file_key: bytes, body: bytes, recipient: PublicIdentity, maker: Identity,
                   rng: Callable[[int], bytes] = os.urandom) -> bytes:
    """A pad's transport file (docs/FORMAT.md, "Pad files"): the metadata sealed to `recipient`'s X25519 key,
    the chunks as at rest, all of it signed by `maker`.  `rng`: the ephemeral secret, then the nonce."""
    head = TRANSPORT_MAGIC + info.id + recipient.agree_fingerprint + maker.public.signing_fingerprint
    sealed = seal_to(recipient.agree_public, _metadata(info, file_key), TRANSPORT_INFO + info.id, head, rng)
    signature = maker.sign(_transport_signed(head, sealed, body))
    return head + _U32.pack(len(sealed)) + sealed + body + signature


def _transport_signed(head: bytes, sealed: bytes, body: bytes) -> bytes:
    """What the maker signs: every byte before the body, then the body's SHA-256 (a pad may be gigabytes)."""
    return TRANSPORT_SIGN_DOMAIN + head + _U32.pack(len(sealed)) + sealed + hashlib.sha256(body).digest()


def _split_transport(data: bytes) -> tuple[bytes, int, bytes, bytes, bytes]:
    """(head, sealed length, sealed, body, signature) of a transport file; PadError for anything else."""
    if data[:8] == OLD_TRANSPORT_MAGIC:
        raise PadError("this pad file was made by an older pli and is not signed, so it cannot prove who made it: "
                       "ask its maker for a new file (`pli pad new` with this version); nothing imported")
    if len(data) < _HEAD + 4 + SIGNATURE or data[:8] != TRANSPORT_MAGIC:
        raise PadError("this is not a pli pad transport file (or one of a version this pli does not know)")
    head = data[:_HEAD]
    (length,) = _U32.unpack(data[_HEAD:_HEAD + 4])
    if _HEAD + 4 + length + SIGNATURE > len(data):
        raise PadError("this pad file is truncated")
    sealed = data[_HEAD + 4:_HEAD + 4 + length]
    return head, length, sealed, data[_HEAD + 4 + length:-SIGNATURE], data[-SIGNATURE:]


def _metadata(info: PadInfo, file_key: bytes) -> bytes:
    obj = info.to_json() | {"file_key": base64.b64encode(file_key).decode("ascii")}
    return json.dumps(obj, sort_keys=True).encode("utf-8")


def _parse_metadata(data: bytes, pad_id: bytes) -> tuple[PadInfo, bytes]:
    """The metadata's fields with their exact types; PadError for anything else, whatever the bytes."""
    damaged = PadError(f"pad {pad_id.hex()} has damaged metadata")
    try:
        obj = json.loads(data)
        holders, size, created = obj["holders"], obj["size"], obj["created"]
        if not (isinstance(holders, list) and all(isinstance(h, str) for h in holders)
                and type(size) is int and type(created) is int and isinstance(obj["id"], str)):
            raise damaged
        info = PadInfo(bytes.fromhex(obj["id"]), tuple(holders), size, created)
        file_key = base64.b64decode(obj["file_key"], validate=True)
    except (ValueError, KeyError, TypeError, RecursionError):
        raise damaged from None
    if info.id != pad_id or len(file_key) != 32 or not 2 <= len(set(holders)) == len(holders) <= MAX_HOLDERS \
            or size < MIN_SIZE:
        raise damaged
    return info, file_key


def _draw(source: Callable[[int], bytes], size: int) -> Iterator[bytes]:
    for start in range(0, size, CHUNK):
        chunk = source(min(CHUNK, size - start))
        if len(chunk) != min(CHUNK, size - start):
            raise PadError("the random source returned too few bytes")
        yield chunk


def _seal_chunks(pad_id: bytes, file_key: bytes, chunks: Iterator[bytes]) -> Iterator[bytes]:
    aead = ChaCha20Poly1305(file_key)
    for index, chunk in enumerate(chunks):
        yield aead.encrypt(_CHUNK_NONCE.pack(index), chunk, _CHUNK_AAD.pack(pad_id, index))


def _check_body(info: PadInfo, file_key: bytes, body: bytes) -> None:
    chunks = -(-info.size // CHUNK)
    if len(body) != info.size + chunks * TAG:
        raise PadError(f"pad file {info.hex} is truncated or too long")
    aead = ChaCha20Poly1305(file_key)
    for index in range(chunks):
        at = index * (CHUNK + TAG)
        size = min(CHUNK, info.size - index * CHUNK)
        try:
            aead.decrypt(_CHUNK_NONCE.pack(index), body[at:at + size + TAG], _CHUNK_AAD.pack(info.id, index))
        except InvalidTag:
            raise PadError(f"pad file {info.hex} is damaged (chunk {index})") from None


def _chain(*parts):
    for part in parts:
        yield from part

