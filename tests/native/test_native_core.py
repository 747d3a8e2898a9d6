"""The C crypto core called directly (pli.native._pli_native): RFC 8439 vectors, OpenSSL as the reference, misuse.

Every test runs on every SIMD path this CPU can run ("scalar" always; "avx2",
"avx512", "neon" when present: a path the CPU lacks is reported as skipped),
so a bug in one path's bulk loop cannot hide behind another.  The reference
is `cryptography` (OpenSSL): its ChaCha20 takes a 16-byte nonce made of the
4-byte little-endian block counter then the 12-byte RFC 8439 nonce.
"""
from __future__ import annotations

import random

import pytest
from cryptography.hazmat.primitives import poly1305 as openssl_poly1305
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

native = pytest.importorskip("pli.native._pli_native", reason="the native crypto core is not built")
ffi, lib = native.ffi, native.lib

PATHS = ("scalar", "avx2", "avx512", "avx512ifma", "neon")
STREAM, OTP = lib.PLI_KIND_CHACHA20_POLY1305, lib.PLI_KIND_OTP_POLY1305
MAX_COUNTER = 0xFFFFFFFF


@pytest.fixture(params=PATHS)
def path(request):
    if lib.pli_select_simd_path(request.param.encode()) != lib.PLI_OK:
        pytest.skip(f"this CPU or build cannot run the {request.param} path")
    yield request.param
    assert lib.pli_select_simd_path(b"auto") == lib.PLI_OK


@pytest.fixture
def rng():
    return random.Random(8439)


def openssl_chacha20(key: bytes, nonce: bytes, counter: int, data: bytes) -> bytes:
    return Cipher(algorithms.ChaCha20(key, counter.to_bytes(4, "little") + nonce), None).encryptor().update(data)


def chacha20_xor(dst, src, key: bytes, nonce: bytes, counter: int, length: int | None = None) -> int:
    n = len(src) if length is None else length
    return lib.pli_chacha20_xor(ffi.from_buffer(dst, require_writable=True), ffi.from_buffer(src), n, key, nonce,
                                counter)


def poly1305(key: bytes, msg: bytes) -> bytes:
    tag = ffi.new("uint8_t[16]")
    lib.pli_poly1305(tag, msg, len(msg), key)
    return bytes(tag)


def aead_mac_data(aad: bytes, data: bytes) -> bytes:
    """The RFC 8439 MAC input: aad || pad16 || data || pad16 || le64(len(aad)) || le64(len(data))."""
    def pad16(b: bytes) -> bytes:
        return b"\0" * (-len(b) % 16)
    return aad + pad16(aad) + data + pad16(data) + len(aad).to_bytes(8, "little") + len(data).to_bytes(8, "little")


class Batch:
    """A pli_record array plus every buffer it points into (kept alive as long as the batch)."""

    def __init__(self, specs: list[dict]):
        self.records = ffi.new("pli_record[]", len(specs))
        self.datas, self.tags, self._keep = [], [], []
        for rec, spec in zip(self.records, specs):
            data, tag = bytearray(spec["data"]), bytearray(spec.get("tag", bytes(16)))
            self.datas.append(data)
            self.tags.append(tag)
            rec.data, rec.len = self._ptr(data), len(data)
            rec.aad, rec.aad_len = self._ptr(spec.get("aad", b"")), len(spec.get("aad", b""))
            rec.key, rec.tag, rec.kind = self._ptr(spec["key"]), self._ptr(tag), spec["kind"]
            if "nonce" in spec:
                rec.nonce = self._ptr(spec["nonce"])
            if "pad" in spec:
                rec.pad = self._ptr(spec["pad"])

    def _ptr(self, buf):
        if isinstance(buf, bytes):
            buf = bytearray(buf)  # from_buffer(bytes) works too; a bytearray makes writes visible if C misbehaved
        p = ffi.from_buffer(buf)
        self._keep.append((buf, p))
        return p

    def seal(self) -> int:
        return lib.pli_seal_batch(self.records, len(self.records))

    def open(self) -> int:
        return lib.pli_open_batch(self.records, len(self.records))

    def statuses(self) -> list[int]:
        return [r.status for r in self.records]


# -- RFC 8439 test vectors -----------------------------------------------------------------------------

KEY_00_1F = bytes(range(32))
SUNSCREEN = (b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, "
             b"sunscreen would be it.")


def test_rfc8439_2_3_2_block_function(path):
    out = ffi.new("uint8_t[64]")
    lib.pli_chacha20_block(out, KEY_00_1F, bytes.fromhex("000000090000004a00000000"), 1)
    assert bytes(out) == bytes.fromhex(
        "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e"
        "d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e")


def test_rfc8439_2_4_2_encryption_out_of_place_and_in_place(path):
    nonce = bytes.fromhex("000000000000004a00000000")
    expected = bytes.fromhex(
        "6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b"
        "f91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8"
        "07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736"
        "5af90bbf74a35be6b40b8eedf2785e42874d")
    out = bytearray(len(SUNSCREEN))
    assert chacha20_xor(out, SUNSCREEN, KEY_00_1F, nonce, 1) == lib.PLI_OK
    assert bytes(out) == expected
    assert chacha20_xor(out, out, KEY_00_1F, nonce, 1) == lib.PLI_OK
    assert bytes(out) == SUNSCREEN


def test_rfc8439_2_5_2_poly1305(path):
    key = bytes.fromhex("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b")
    assert poly1305(key, b"Cryptographic Forum Research Group") == bytes.fromhex("a8061dc1305136c6c22b8baf0c0127a9")


def test_rfc8439_2_8_2_aead_seal_then_open(path):
    key = bytes(range(0x80, 0xA0))
    nonce = bytes.fromhex("070000004041424344454647")
    aad = bytes.fromhex("50515253c0c1c2c3c4c5c6c7")
    batch = Batch([{"kind": STREAM, "data": SUNSCREEN, "key": key, "nonce": nonce, "aad": aad}])
    assert batch.seal() == 0 and batch.statuses() == [lib.PLI_OK]
    assert bytes(batch.datas[0]) == bytes.fromhex(
        "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
        "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
        "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
        "3ff4def08e4b7a9de576d26586cec64b6116")
    assert bytes(batch.tags[0]) == bytes.fromhex("1ae10b594f09e26a7e902ecbd0600691")
    assert batch.open() == 0 and bytes(batch.datas[0]) == SUNSCREEN


# -- differential tests against OpenSSL --------------------------------------------------------------


def test_chacha20_every_length_to_2000_matches_openssl_unaligned(path, rng):
    for length in range(2001):
        key, nonce = rng.randbytes(32), rng.randbytes(12)
        counter = rng.choice([0, 1, rng.randrange(MAX_COUNTER - 40)])
        src_offset, dst_offset = rng.randrange(32), rng.randrange(32)
        backing = bytearray(rng.randbytes(length + 64))
        src = memoryview(backing)[src_offset:src_offset + length]
        out_backing = bytearray(length + 64)
        dst = memoryview(out_backing)[dst_offset:dst_offset + length]
        assert chacha20_xor(dst, src, key, nonce, counter) == lib.PLI_OK
        assert bytes(dst) == openssl_chacha20(key, nonce, counter, bytes(src)), length
        assert not any(out_backing[:dst_offset]) and not any(out_backing[dst_offset + length:])


@pytest.fixture(params=[1, 2], ids=["1-thread", "2-threads"])
def threads(request):
    """From 1 MiB one ChaCha20 call splits its blocks between threads: both ways must give OpenSSL's bytes."""
    assert lib.pli_set_max_threads(request.param) == lib.PLI_OK
    yield request.param
    lib.pli_set_max_threads(0)


def test_chacha20_megabytes_in_place_up_to_the_last_counter(path, threads, rng):
    length = 3 * 1024 * 1024 + 17
    blocks = -(-length // 64)
    counter = MAX_COUNTER - blocks + 1  # the last block uses counter 2^32 - 1: allowed
    key, nonce = rng.randbytes(32), rng.randbytes(12)
    data = bytearray(rng.randbytes(length + 3))
    view = memoryview(data)[3:]
    plain = bytes(view)
    assert chacha20_xor(view, view, key, nonce, counter) == lib.PLI_OK
    assert bytes(view) == openssl_chacha20(key, nonce, counter, plain)


def test_poly1305_matches_openssl(path, rng):
    lengths = list(range(300)) + [511, 512, 513, 1023, 1024, 4096, 4111, 65536, 1 << 20]
    for length in lengths:
        key, msg = rng.randbytes(32), rng.randbytes(length)
        assert poly1305(key, msg) == openssl_poly1305.Poly1305.generate_tag(key, msg), length


def test_poly1305_every_chunk_count_matches_openssl(path, rng):
    """The IFMA kernel runs two chains over 128-byte chunks (one for an odd count's last), the AVX2 one
    64-byte chunks: every count from 1 to 24, with the scalar tail before and after a chunk edge."""
    for chunks in range(1, 25):
        for extra in (0, 1, 15, 16, 17, 64, 127):
            key, msg = rng.randbytes(32), rng.randbytes(128 * chunks + extra)
            assert poly1305(key, msg) == openssl_poly1305.Poly1305.generate_tag(key, msg), (chunks, extra)


def test_poly1305_many_random_keys_match_openssl(path, rng):
    """A sweep over random keys and lengths: the AVX2 kernel's one carry bug showed once in 600,000 calls."""
    for _ in range(20_000):
        key, msg = rng.randbytes(32), rng.randbytes(rng.randrange(256, 2048))
        assert poly1305(key, msg) == openssl_poly1305.Poly1305.generate_tag(key, msg), (key.hex(), msg.hex())


# (key, 256-byte message) pairs where the AVX2 Poly1305 once gave a wrong tag: folding its four lanes
# back into the 44-bit-limb state ORed a 26-bit limb that had carried to 2^26 (about 1 call in 600,000;
# found by a search over random keys, after the 100,000-message batch benchmark hit one).
RARE_CARRY_VECTORS = [
    ("96b65b728a03dd8c64b428cfb3c74fca827d1ec82c50e107b9556326f9bb6ba6",
     "1987200a738db5fd4d188f134dcdff684f8ebb12a4e1e75547f1cfc9737a606bb90f8dcb1fdae95da7e9886fcd31bbfc"
     "9a25f7aadd8b32f5656a76e5fa6ca54b45e366866cb788f3b048bfdb2863f8f2307bc356cd1eb9c8cc0320096075c70b"
     "2b11fd430f6d5fafd74a37531188c785ac377c232e179712d47169e8cf3ed216e31219a4bb0b0ec696b160012c77f69e"
     "5738253947126e6ffc56e4c33565f44ae6fbe431ae35ec2609ef36347f051c47aece549da4f6323938f5b9a49001e21b"
     "3ba213417fca324e262f33f915bd4140861c2e2eff70837d94073a2477d1462f83177d0b99fc292064041d25e9494ef0"
     "6c2b1fa08b07dfaccf080cf4b24a36e1"),
    ("9fd2932a1aa5c05ab42c64b0b8156966775f4a9c39af131787bf89f015f2f759",
     "187b245a752623984c2f463808d8b7a5316c416961a605872e233fc3c059e88ff9ceb57957060cf414bacd384b74076c"
     "3dc22211d75b1bed52d7492d57d4853a5717801dd058a6d7af510ae4ea0ed63101300edd448c8c97874caa8b7cc8191c"
     "d71f55164a6c3b939079c80c396a419d7fab48949d4849d5bda91f267be57f69cdbcdf2c8bdf5e3cb90c76310b15596b"
     "3a694ad90084154529ff1b6d1096f956daa39546fb057972a468f12542af923270d2668ebc1b20bf7b04a23dc12942bb"
     "0f88cf462922886814db5cf7bfef5be847d7afc3574b978ed473ef0601b4cecd72cc62f9dd86223d4e6ccc1da10a2db2"
     "b00ad04e71c3c6a18c241df0aae148a5"),
]


@pytest.mark.parametrize("key_hex, msg_hex", RARE_CARRY_VECTORS)
def test_poly1305_rare_carry_regressions(path, key_hex, msg_hex):
    key, msg = bytes.fromhex(key_hex), bytes.fromhex(msg_hex)
    assert poly1305(key, msg) == openssl_poly1305.Poly1305.generate_tag(key, msg)
    # The same message as an AEAD body: the batch's MAC runs the same code.
    batch = Batch([{"kind": OTP, "data": msg, "key": key, "pad": bytes(len(msg))}])
    assert batch.seal() == 0
    assert bytes(batch.tags[0]) == openssl_poly1305.Poly1305.generate_tag(key, aead_mac_data(b"", msg))


def test_poly1305_carry_edges_all_ones(path):
    """All-0xff keys and messages push every limb to its maximum (the final reduction's edge cases)."""
    for length in (16, 64, 256, 1024, 4096, 4097):
        for key in (b"\xff" * 32, b"\xff" * 16 + b"\0" * 16, b"\0" * 16 + b"\xff" * 16):
            msg = b"\xff" * length
            assert poly1305(key, msg) == openssl_poly1305.Poly1305.generate_tag(key, msg), length


def test_otp_xor_lengths_unaligned_and_in_place(path, rng):
    for length in list(range(600)) + [4096, 1 << 20, (1 << 20) + 33]:
        off = rng.randrange(64)
        data = bytearray(rng.randbytes(length + 64))
        pad = bytearray(rng.randbytes(length + 64))
        src, pad_view = memoryview(data)[off:off + length], memoryview(pad)[1:1 + length]
        expected = bytes(a ^ b for a, b in zip(src, pad_view)) if length <= 4096 else \
            (int.from_bytes(src, "little") ^ int.from_bytes(pad_view, "little")).to_bytes(length, "little")
        out = bytearray(length)
        assert lib.pli_otp_xor(ffi.from_buffer(out), ffi.from_buffer(src), ffi.from_buffer(pad_view),
                               length) == lib.PLI_OK
        assert bytes(out) == expected
        p = ffi.from_buffer(src)
        assert lib.pli_otp_xor(p, p, ffi.from_buffer(pad_view), length) == lib.PLI_OK  # in place
        assert bytes(src) == expected


def test_otp_xor_every_output_alignment_writes_exactly_its_bytes(path, rng):
    """The SIMD paths XOR a head up to the output's next 64- (32-) byte boundary first, then aligned stores,
    then a tail: every output alignment, lengths either side of the head and the loop sizes, and the bytes
    just outside the output (guards) never written, out of place and in place."""
    guard = 64
    for dst_off in range(64):
        for length in (1, 7, 31, 32, 33, 63, 64, 65, 127, 128, 129, 255, 256, 257, 320, 4096, 4096 + 63):
            pad_off = rng.randrange(64)
            pad = memoryview(bytearray(rng.randbytes(length + 64)))[pad_off:pad_off + length]
            src = rng.randbytes(length)
            expected = (int.from_bytes(src, "little") ^ int.from_bytes(pad, "little")).to_bytes(length, "little")
            for in_place in (False, True):
                area = bytearray(rng.randbytes(2 * guard + 64 + length))
                start = guard + (dst_off - _address(area) - guard) % 64      # address % 64 == dst_off
                before = bytes(area)
                if in_place:
                    area[start:start + length] = src
                    before = bytes(area)
                out = memoryview(area)[start:start + length]
                s = ffi.from_buffer(out) if in_place else src
                assert lib.pli_otp_xor(ffi.from_buffer(out), s, ffi.from_buffer(pad), length) == lib.PLI_OK
                assert bytes(out) == expected, (dst_off, length, in_place)
                assert area[:start] == before[:start] and area[start + length:] == before[start + length:], \
                    (dst_off, length, in_place)


def _address(buf) -> int:
    return int(ffi.cast("uintptr_t", ffi.from_buffer(buf)))


def _mixed_specs(rng, count: int, extra: int = 0) -> list[dict]:
    """Records of both kinds, lengths around the block and SIMD boundaries (plus `extra` bytes each)."""
    specs = []
    for i in range(count):
        length = extra + rng.choice([0, 1, 15, 16, 17, 63, 64, 65, 255, 256, 257, 1000, 4096, rng.randrange(5000)])
        aad = rng.randbytes(rng.choice([0, 1, 12, 16, 33]))
        spec = {"data": rng.randbytes(length), "aad": aad, "key": rng.randbytes(32)}
        if i % 2:
            spec.update(kind=STREAM, nonce=rng.randbytes(12))
        else:
            spec.update(kind=OTP, pad=rng.randbytes(length + rng.randrange(3)))
        specs.append(spec)
    return specs


def _expected_seal(spec: dict) -> bytes:
    if spec["kind"] == STREAM:
        return ChaCha20Poly1305(spec["key"]).encrypt(spec["nonce"], spec["data"], spec["aad"])
    ct = bytes(a ^ b for a, b in zip(spec["data"], spec["pad"]))
    return ct + openssl_poly1305.Poly1305.generate_tag(spec["key"], aead_mac_data(spec["aad"], ct))


def test_batch_seal_matches_openssl_and_open_round_trips(path, rng):
    specs = _mixed_specs(rng, 200)
    batch = Batch(specs)
    assert batch.seal() == 0
    assert set(batch.statuses()) == {lib.PLI_OK}
    for spec, data, tag in zip(specs, batch.datas, batch.tags):
        assert bytes(data) + bytes(tag) == _expected_seal(spec)
    assert batch.open() == 0
    assert [bytes(d) for d in batch.datas] == [s["data"] for s in specs]


def test_batch_open_refuses_tampered_records_and_leaves_them_untouched(path, rng):
    specs = _mixed_specs(rng, 60)
    for spec in specs:
        sealed = _expected_seal(spec)
        spec["data"], spec["tag"] = sealed[:-16], sealed[-16:]
    tampered = {}
    for i in range(0, 60, 3):
        spec = specs[i]
        what = rng.choice(["tag", "data", "aad"] if spec["data"] else ["tag", "aad"])
        if what == "aad":
            spec["aad"] = spec["aad"] + b"x"
        else:
            buf = bytearray(spec[what])
            buf[rng.randrange(len(buf))] ^= 1 << rng.randrange(8)
            spec[what] = bytes(buf)
        tampered[i] = spec["data"]
    batch = Batch(specs)
    assert batch.open() == len(tampered)
    for i, (spec, data, rec) in enumerate(zip(specs, batch.datas, batch.records)):
        if i in tampered:
            assert rec.status == lib.PLI_ERR_BAD_TAG
            assert bytes(data) == tampered[i], "a record that failed its MAC must not be decrypted"
        else:
            assert rec.status == lib.PLI_OK


def test_large_batch_same_result_on_one_thread_and_on_many(path, rng):
    """Over 512 KiB the batch runs on several threads: the output must not depend on it."""
    specs = _mixed_specs(rng, 300, extra=2000)
    results = []
    try:
        for threads in (1, 2, 0):
            assert lib.pli_set_max_threads(threads) == lib.PLI_OK
            batch = Batch(specs)
            assert batch.seal() == 0
            results.append(([bytes(d) for d in batch.datas], [bytes(t) for t in batch.tags]))
            assert batch.open() == 0 and [bytes(d) for d in batch.datas] == [s["data"] for s in specs]
    finally:
        lib.pli_set_max_threads(0)
    assert sum(len(s["data"]) for s in specs) > 512 * 1024
    assert results[0] == results[1] == results[2]
    assert lib.pli_set_max_threads(-1) == lib.PLI_ERR_ARGUMENT


# -- misuse: refused without touching the output -------------------------------------------------------


def test_chacha20_counter_wrap_is_refused_and_nothing_written(path):
    key, nonce = bytes(32), bytes(12)
    out = bytearray(b"\xaa" * 65)
    assert chacha20_xor(out, bytes(65), key, nonce, MAX_COUNTER) == lib.PLI_ERR_COUNTER
    assert out == b"\xaa" * 65
    assert chacha20_xor(out, bytes(64), key, nonce, MAX_COUNTER, 64) == lib.PLI_OK  # exactly the last block
    assert chacha20_xor(out, bytes(0), key, nonce, MAX_COUNTER, 0) == lib.PLI_OK
    # A length that needs 2^32 + 1 blocks from counter 0: refused before any byte is read.
    assert chacha20_xor(out, bytes(65), key, nonce, 0, (1 << 32) * 64 + 1) == lib.PLI_ERR_COUNTER
    assert out[64] == 0xaa


def test_batch_stream_record_too_long_for_the_counter(path):
    """The AEAD body starts at block 1: 2^32 - 1 blocks at most (the check comes before any access)."""
    batch = Batch([{"kind": STREAM, "data": b"abc", "key": bytes(32), "nonce": bytes(12)}])
    batch.records[0].len = (MAX_COUNTER * 64) + 1
    assert batch.seal() == 1 and batch.statuses() == [lib.PLI_ERR_COUNTER]
    assert batch.datas[0] == b"abc" and batch.tags[0] == bytes(16)


def test_partial_overlaps_are_refused(path):
    buf = bytearray(range(256)) * 4
    before = bytes(buf)
    base = ffi.from_buffer(buf)
    key, nonce = bytes(32), bytes(12)
    assert lib.pli_chacha20_xor(base + 1, base, 512, key, nonce, 0) == lib.PLI_ERR_OVERLAP
    assert lib.pli_chacha20_xor(base, base + 511, 512, key, nonce, 0) == lib.PLI_ERR_OVERLAP
    assert lib.pli_otp_xor(base + 8, base, base + 600, 256) == lib.PLI_ERR_OVERLAP   # dst overlaps src
    assert lib.pli_otp_xor(base, base, base + 100, 256) == lib.PLI_ERR_OVERLAP       # dst overlaps pad
    assert lib.pli_otp_xor(base, base, base, 256) == lib.PLI_ERR_OVERLAP             # the pad is the output
    assert bytes(buf) == before
    # Adjacent (touching, not overlapping) buffers are fine, and so is in place.
    assert lib.pli_chacha20_xor(base + 512, base, 512, key, nonce, 0) == lib.PLI_OK
    assert lib.pli_otp_xor(base, base, base + 256, 256) == lib.PLI_OK


def test_batch_argument_errors_name_the_record(path):
    ok = {"kind": STREAM, "data": b"x" * 10, "key": bytes(32), "nonce": bytes(12)}
    batch = Batch([ok, dict(ok, kind=99), {"kind": OTP, "data": b"x" * 10, "key": bytes(32)}, ok])
    assert batch.seal() == 2
    assert batch.statuses() == [lib.PLI_OK, lib.PLI_ERR_ARGUMENT, lib.PLI_ERR_ARGUMENT, lib.PLI_OK]
    assert batch.datas[1] == b"x" * 10 and batch.datas[2] == b"x" * 10
    shared = bytearray(10)
    batch = Batch([{"kind": OTP, "data": b"y" * 10, "key": bytes(32), "pad": b"p" * 10}])
    batch.records[0].pad = batch.records[0].data + 3  # the pad overlaps the data it would overwrite
    assert batch.seal() == 1 and batch.statuses() == [lib.PLI_ERR_OVERLAP] and batch.datas[0] == b"y" * 10
    assert shared == bytes(10)


def test_tags_equal_is_exact():
    tag = bytes(range(16))
    assert lib.pli_tags_equal(tag, tag) == 1
    for i in range(16):
        for bit in (1, 0x80):
            other = bytearray(tag)
            other[i] ^= bit
            assert lib.pli_tags_equal(tag, bytes(other)) == 0


def test_simd_path_selection():
    assert lib.pli_select_simd_path(b"no-such-path") == lib.PLI_ERR_ARGUMENT
    assert lib.pli_select_simd_path(b"scalar") == lib.PLI_OK
    assert ffi.string(lib.pli_simd_path()) == b"scalar"
    assert lib.pli_select_simd_path(ffi.NULL) == lib.PLI_OK  # NULL is "auto"
    auto = ffi.string(lib.pli_simd_path()).decode()
    assert auto in PATHS
    runnable = [p for p in PATHS if lib.pli_select_simd_path(p.encode()) == lib.PLI_OK]
    assert lib.pli_select_simd_path(b"auto") == lib.PLI_OK
    assert auto == runnable[-1], "auto must pick the best path the CPU runs"


# -- longer inputs: every 16/32/64-block boundary of the SIMD kernels ----------------------------------


def test_chacha20_lengths_around_kernel_boundaries_match_openssl(path, rng):
    """The AVX2 kernel works in 512-byte turns, the AVX-512 one in 1024-byte turns with an 8-block tail
    kernel up to 512 bytes: every length within a block of those edges, up to 64 KiB and past it."""
    lengths = sorted({edge + delta for edge in range(512, 66 * 1024 + 1, 512) for delta in (-65, -64, -63, -1, 0, 1,
                                                                                           63, 64, 65)})
    for length in lengths:
        key, nonce, counter = rng.randbytes(32), rng.randbytes(12), rng.randrange(1 << 20)
        src = rng.randbytes(length)
        out = bytearray(length + 1)
        assert chacha20_xor(memoryview(out)[:length], src, key, nonce, counter) == lib.PLI_OK
        assert bytes(out[:length]) == openssl_chacha20(key, nonce, counter, src), length
        assert out[length] == 0, "nothing is written past the output"


# -- one message, out of place ---------------------------------------------------------------------------


def aead_open(out, ciphertext: bytes, tag: bytes, aad: bytes, key: bytes, nonce: bytes) -> int:
    return lib.pli_aead_open(ffi.from_buffer(out, require_writable=True), ciphertext, len(ciphertext), tag, aad,
                             len(aad), key, nonce)


def test_single_message_aead_matches_openssl_in_and_out_of_place(path, rng):
    for length in [0, 1, 15, 16, 17, 63, 64, 65, 255, 256, 257, 1000, 4095, 4096, 4097, 20000]:
        key, nonce, aad = rng.randbytes(32), rng.randbytes(12), rng.randbytes(length % 37)
        plain = rng.randbytes(length)
        sealed = ChaCha20Poly1305(key).encrypt(nonce, plain, aad)
        out, tag = bytearray(length), bytearray(16)
        assert lib.pli_aead_seal(ffi.from_buffer(out), ffi.from_buffer(tag), plain, length, aad, len(aad), key,
                                 nonce) == lib.PLI_OK
        assert bytes(out) + bytes(tag) == sealed, length
        opened = bytearray(length)
        assert aead_open(opened, sealed[:-16], sealed[-16:], aad, key, nonce) == lib.PLI_OK
        assert opened == plain
        in_place = ffi.from_buffer(out)
        assert lib.pli_aead_open(in_place, in_place, length, bytes(tag), aad, len(aad), key, nonce) == lib.PLI_OK
        assert out == plain


def test_single_message_otp_matches_openssl(path, rng):
    for length in [0, 1, 16, 100, 4096, 5000]:
        pad, mac_key, aad, plain = rng.randbytes(length + 5), rng.randbytes(32), rng.randbytes(9), rng.randbytes(length)
        out, tag = bytearray(length), bytearray(16)
        assert lib.pli_otp_seal(ffi.from_buffer(out), ffi.from_buffer(tag), plain, length, aad, len(aad), pad,
                                mac_key) == lib.PLI_OK
        expected = _expected_seal({"kind": OTP, "data": plain, "pad": pad, "key": mac_key, "aad": aad})
        assert bytes(out) + bytes(tag) == expected
        opened = bytearray(length)
        assert lib.pli_otp_open(ffi.from_buffer(opened), bytes(out), length, bytes(tag), aad, len(aad), pad,
                                mac_key) == lib.PLI_OK
        assert opened == plain


def test_single_message_open_refuses_a_bad_tag_and_writes_nothing(path, rng):
    key, nonce = rng.randbytes(32), rng.randbytes(12)
    sealed = ChaCha20Poly1305(key).encrypt(nonce, b"K+ 6.8 mmol/l", b"hdr")
    for damaged in (sealed[:-1] + bytes([sealed[-1] ^ 1]), bytes([sealed[0] ^ 0x80]) + sealed[1:]):
        out = bytearray(b"\xaa" * (len(sealed) - 16))
        assert aead_open(out, damaged[:-16], damaged[-16:], b"hdr", key, nonce) == lib.PLI_ERR_BAD_TAG
        assert out == b"\xaa" * len(out)
    out = bytearray(len(sealed) - 16)
    assert aead_open(out, sealed[:-16], sealed[-16:], b"hdx", key, nonce) == lib.PLI_ERR_BAD_TAG


def test_single_message_overlaps_are_refused_before_anything_is_written(path):
    buf = bytearray(range(256)) * 2
    before = bytes(buf)
    base = ffi.from_buffer(buf)
    key, nonce = bytes(32), bytes(12)
    assert lib.pli_aead_seal(base + 1, base + 400, base, 64, ffi.NULL, 0, key, nonce) == lib.PLI_ERR_OVERLAP
    assert lib.pli_aead_seal(base + 100, base + 120, base + 100, 64, ffi.NULL, 0, key, nonce) == lib.PLI_ERR_OVERLAP
    assert lib.pli_aead_seal(base, base + 400, base + 200, 64, base + 60, 8, key, nonce) == lib.PLI_ERR_OVERLAP
    assert lib.pli_otp_seal(base, base + 400, base, 64, ffi.NULL, 0, base + 32, key) == lib.PLI_ERR_OVERLAP
    assert lib.pli_aead_open(base, base + 1, 64, base + 400, ffi.NULL, 0, key, nonce) == lib.PLI_ERR_OVERLAP
    assert lib.pli_aead_open(base, base, 64, ffi.NULL, ffi.NULL, 0, key, nonce) == lib.PLI_ERR_ARGUMENT
    assert bytes(buf) == before


# -- column batches ----------------------------------------------------------------------------------------


class Columns:
    """A pli_columns struct over Python buffers (kept alive with it), out of place unless `in_place`."""

    def __init__(self, kind: int, inputs: list[bytes], keys: list[bytes], nonces: list[bytes] | None = None,
                 aads: list[bytes] | None = None, pads: list[bytes] | None = None, tags: list[bytes] | None = None,
                 lengths: list[int] | None = None, in_place: bool = False):
        """`lengths` shorter than the inputs: open with each tag after its ciphertext (tags=NULL)."""
        n = len(inputs)
        self.lengths = lengths if lengths is not None else [len(x) for x in inputs]
        self.offsets = [sum(self.lengths[:i]) for i in range(n + 1)]
        self.out = bytearray(b"\x5a" * self.offsets[-1])
        self.tags = bytearray(b"".join(tags)) if tags is not None else bytearray(16 * n)
        self._keep = [[ffi.from_buffer(x) for x in inputs]]
        c = self.c = ffi.new("pli_columns *")
        c.n, c.kind = n, kind
        c.out, c.out_len = self._ptr(self.out), len(self.out)
        if in_place:
            for offset, data, length in zip(self.offsets, inputs, self.lengths):
                self.out[offset:offset + length] = data[:length]
        else:
            setattr(c, "in", self._ptr(ffi.new("uint8_t *[]", self._keep[0])))
        c.len, c.offset = self._ptr(ffi.new("size_t[]", self.lengths)), self._ptr(ffi.new("size_t[]", self.offsets))
        c.keys = self._ptr(bytearray(b"".join(keys)))
        if nonces is not None:
            c.nonces = self._ptr(bytearray(b"".join(nonces)))
        if aads is not None:
            self._keep.append([ffi.from_buffer(a) for a in aads])
            c.aad, c.aad_len = self._ptr(ffi.new("uint8_t *[]", self._keep[-1])), self._ptr(
                ffi.new("size_t[]", [len(a) for a in aads]))
        if pads is not None:
            self._keep.append([ffi.from_buffer(p) for p in pads])
            c.pad = self._ptr(ffi.new("uint8_t *[]", self._keep[-1]))
        c.tags = ffi.NULL if lengths is not None else self._ptr(self.tags)
        self.status = ffi.new("int[]", n or 1)
        c.status = self.status

    def _ptr(self, obj):
        p = obj if isinstance(obj, ffi.CData) else ffi.from_buffer(obj)
        self._keep.append((obj, p))
        return p

    def output(self, i: int) -> bytes:
        return bytes(self.out[self.offsets[i]:self.offsets[i + 1]])

    def open(self) -> tuple[int, int]:
        failed = ffi.new("size_t *")
        return lib.pli_open_columns(self.c, failed), failed[0]

    def seal(self) -> tuple[int, int]:
        failed = ffi.new("size_t *")
        return lib.pli_seal_columns(self.c, failed), failed[0]


def _stream_messages(rng, count: int, extra: int = 0):
    plains = [rng.randbytes(extra + rng.choice([0, 1, 15, 16, 17, 64, 65, 511, 512, 1023, 1024, 1025, 4096,
                                                  rng.randrange(9000)])) for _ in range(count)]
    keys, nonces = [rng.randbytes(32) for _ in plains], [rng.randbytes(12) for _ in plains]
    aads = [rng.randbytes(rng.choice([0, 1, 12, 16, 33, 200])) for _ in plains]
    sealed = [ChaCha20Poly1305(k).encrypt(n, p, a) for k, n, p, a in zip(keys, nonces, plains, aads)]
    return plains, keys, nonces, aads, sealed


def test_columns_open_sealed_mails_with_their_tags_inline(path, rng):
    plains, keys, nonces, aads, sealed = _stream_messages(rng, 120)
    batch = Columns(STREAM, sealed, keys, nonces, aads, lengths=[len(p) for p in plains])
    assert batch.open() == (lib.PLI_OK, 0)
    assert [batch.output(i) for i in range(120)] == plains
    assert list(batch.status) == [lib.PLI_OK] * 120


def test_columns_seal_matches_openssl_then_opens_in_place(path, rng):
    plains, keys, nonces, aads, sealed = _stream_messages(rng, 80)
    batch = Columns(STREAM, plains, keys, nonces, aads)
    assert batch.seal() == (lib.PLI_OK, 0)
    assert [batch.output(i) + bytes(batch.tags[16 * i:16 * i + 16]) for i in range(80)] == sealed
    opened = Columns(STREAM, [s[:-16] for s in sealed], keys, nonces, aads, tags=[s[-16:] for s in sealed],
                     in_place=True)
    assert opened.open() == (lib.PLI_OK, 0)
    assert [opened.output(i) for i in range(80)] == plains


def test_columns_otp_kind_matches_openssl(path, rng):
    plains = [rng.randbytes(rng.choice([0, 5, 64, 1000, 4100])) for _ in range(40)]
    pads, keys = [rng.randbytes(len(p) + rng.randrange(3)) for p in plains], [rng.randbytes(32) for _ in plains]
    specs = [{"kind": OTP, "data": p, "pad": pad, "key": k, "aad": b"h"} for p, pad, k in zip(plains, pads, keys)]
    batch = Columns(OTP, plains, keys, aads=[b"h"] * 40, pads=pads)
    assert batch.seal() == (lib.PLI_OK, 0)
    assert [batch.output(i) + bytes(batch.tags[16 * i:16 * i + 16]) for i in range(40)] == \
        [_expected_seal(s) for s in specs]
    sealed = [_expected_seal(s) for s in specs]
    opened = Columns(OTP, sealed, keys, aads=[b"h"] * 40, pads=pads, lengths=[len(p) for p in plains])
    assert opened.open() == (lib.PLI_OK, 0) and [opened.output(i) for i in range(40)] == plains


def test_columns_tampered_messages_fail_alone_and_show_zeros(path, rng):
    plains, keys, nonces, aads, sealed = _stream_messages(rng, 60)
    tampered = set(range(0, 60, 7))
    for i in tampered:
        damaged = bytearray(sealed[i])
        damaged[rng.randrange(len(damaged))] ^= 1 << rng.randrange(8)
        sealed[i] = bytes(damaged)
    batch = Columns(STREAM, sealed, keys, nonces, aads, lengths=[len(p) for p in plains])
    assert batch.open() == (lib.PLI_OK, len(tampered))
    for i in range(60):
        if i in tampered:
            assert batch.status[i] == lib.PLI_ERR_BAD_TAG and batch.output(i) == bytes(len(plains[i]))
        else:
            assert batch.status[i] == lib.PLI_OK and batch.output(i) == plains[i]


def test_columns_same_result_on_one_thread_and_on_many(path, rng):
    plains, keys, nonces, aads, sealed = _stream_messages(rng, 200, extra=3000)
    assert sum(map(len, plains)) > 512 * 1024
    outputs = []
    try:
        for threads in (1, 2, 0):
            assert lib.pli_set_max_threads(threads) == lib.PLI_OK
            batch = Columns(STREAM, sealed, keys, nonces, aads, lengths=[len(p) for p in plains])
            assert batch.open() == (lib.PLI_OK, 0)
            outputs.append(bytes(batch.out))
    finally:
        lib.pli_set_max_threads(0)
    assert outputs[0] == outputs[1] == outputs[2] == b"".join(plains)


def test_columns_batch_rules_are_checked_before_anything_is_written(path, rng):
    plains, keys, nonces, aads, sealed = _stream_messages(rng, 5, extra=100)
    lengths = [len(p) for p in plains]

    def refused(batch, expected):
        before = bytes(batch.out)
        assert batch.open() == (expected, 0)
        assert bytes(batch.out) == before and list(batch.status) == [0] * 5

    batch = Columns(STREAM, sealed, keys, nonces, aads, lengths=lengths)
    batch.c.offset[2] = batch.c.offset[1] + 1            # message 2's output would overlap message 1's
    refused(batch, lib.PLI_ERR_ARGUMENT)
    batch = Columns(STREAM, sealed, keys, nonces, aads, lengths=lengths)
    batch.c.out_len -= 1                                 # the last output would run past the buffer
    refused(batch, lib.PLI_ERR_ARGUMENT)
    batch = Columns(STREAM, sealed, keys, nonces, aads, lengths=lengths)
    getattr(batch.c, "in")[3] = batch.c.out + 5          # an input inside the outputs, not its own
    refused(batch, lib.PLI_ERR_OVERLAP)
    batch = Columns(STREAM, sealed, keys, nonces, aads, lengths=lengths)
    batch.c.aad[1] = batch.c.out                         # an aad the outputs would overwrite
    refused(batch, lib.PLI_ERR_OVERLAP)
    batch = Columns(STREAM, sealed, keys, nonces, aads, lengths=lengths)
    batch.c.keys = batch.c.out + 64                      # keys inside the outputs
    refused(batch, lib.PLI_ERR_OVERLAP)
    batch = Columns(STREAM, sealed, keys, nonces, aads, lengths=lengths)
    batch.c.len[4] = MAX_COUNTER * 64 + 1                # longer than the 32-bit counter allows
    refused(batch, lib.PLI_ERR_COUNTER)
    batch = Columns(STREAM, sealed, keys, nonces, aads, lengths=lengths)
    batch.c.kind = 7
    refused(batch, lib.PLI_ERR_ARGUMENT)
    batch = Columns(STREAM, sealed, keys, None, aads, lengths=lengths)      # a stream batch without nonces
    refused(batch, lib.PLI_ERR_ARGUMENT)
    # In place with the tags inline would overwrite each tag with the next output: refused.
    batch = Columns(STREAM, [s[:-16] for s in sealed], keys, nonces, aads, in_place=True)
    batch.c.tags = ffi.NULL
    refused(batch, lib.PLI_ERR_OVERLAP)
    # Seal writes the tags: they must not overlap an input.
    batch = Columns(STREAM, plains, keys, nonces, aads)
    batch.c.tags = getattr(batch.c, "in")[0]
    before = bytes(batch.out)
    assert batch.seal() == (lib.PLI_ERR_OVERLAP, 0) and bytes(batch.out) == before
    assert lib.pli_open_columns(ffi.NULL, ffi.NULL) == lib.PLI_ERR_ARGUMENT


def test_columns_empty_batch_and_empty_messages(path, rng):
    empty = Columns(STREAM, [], [], [])
    assert empty.open() == (lib.PLI_OK, 0)
    key, nonce = rng.randbytes(32), rng.randbytes(12)
    sealed = ChaCha20Poly1305(key).encrypt(nonce, b"", b"")
    batch = Columns(STREAM, [sealed, sealed], [key, key], [nonce, nonce], lengths=[0, 0])
    assert batch.open() == (lib.PLI_OK, 0) and list(batch.status) == [0, 0]
