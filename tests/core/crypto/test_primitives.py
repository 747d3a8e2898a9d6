"""The crypto primitives on every backend: RFC 8439 vectors, agreement with `cryptography`, misuse, batches."""
from __future__ import annotations

import os
import random

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.poly1305 import Poly1305
from hypothesis import given
from hypothesis import strategies as st

from crypto_backends import crypto, property_settings  # noqa: F401  (crypto: a fixture)
from pli.core.crypto import primitives
from pli.core.crypto.contract import check_counter
from pli.core.crypto.primitives import BadTag, Columns, CounterOverflow, CryptoMisuse, Record
from pli.core.errors import PliError

KEY_00_1F = bytes(range(32))
SUNSCREEN = (b"Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, "
             b"sunscreen would be it.")


def ref_chacha20(key: bytes, nonce: bytes, counter: int, data: bytes) -> bytes:
    """OpenSSL's ChaCha20: its 16-byte nonce is le32(counter) || the 12-byte RFC 8439 nonce."""
    return Cipher(algorithms.ChaCha20(key, counter.to_bytes(4, "little") + nonce), mode=None).encryptor().update(data)


def mac_layout(aad: bytes, ciphertext: bytes) -> bytes:
    """RFC 8439 section 2.8, written out again independently of pli's code."""
    return (aad + bytes(-len(aad) % 16) + ciphertext + bytes(-len(ciphertext) % 16)
            + len(aad).to_bytes(8, "little") + len(ciphertext).to_bytes(8, "little"))


# -- RFC 8439 vectors -----------------------------------------------------------------------------------


def test_rfc8439_2_3_2_block_function(crypto):
    block = crypto.chacha20_block(KEY_00_1F, bytes.fromhex("000000090000004a00000000"), 1)
    assert block.hex() == ("10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e"
                           "d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e")


def test_rfc8439_a_1_zero_key_block(crypto):
    assert crypto.chacha20_block(bytes(32), bytes(12), 0).hex() == (
        "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7"
        "da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586")


def test_rfc8439_2_4_2_encryption(crypto):
    ciphertext = crypto.chacha20_xor(KEY_00_1F, bytes.fromhex("000000000000004a00000000"), 1, SUNSCREEN)
    assert ciphertext.hex() == (
        "6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b"
        "f91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8"
        "07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736"
        "5af90bbf74a35be6b40b8eedf2785e42874d")


def test_rfc8439_2_5_2_poly1305(crypto):
    key = bytes.fromhex("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b")
    assert crypto.poly1305(key, b"Cryptographic Forum Research Group").hex() == "a8061dc1305136c6c22b8baf0c0127a9"


@pytest.mark.parametrize("key, msg, tag", [
    (bytes(32), bytes(64), bytes(16)),                                                  # A.3 #1
    (b"\x02" + bytes(31), b"\xff" * 16, b"\x03" + bytes(15)),                           # A.3 #5: h wraps p
    (b"\x02" + bytes(15) + b"\xff" * 16, b"\x02" + bytes(15), b"\x03" + bytes(15)),    # A.3 #6: s carries out
])
def test_rfc8439_a_3_poly1305_edge_cases(crypto, key, msg, tag):
    assert crypto.poly1305(key, msg) == tag == Poly1305.generate_tag(key, msg)


def test_rfc8439_2_6_2_poly1305_key_generation(crypto):
    key = bytes(range(0x80, 0xA0))
    block = crypto.chacha20_block(key, bytes.fromhex("000000000001020304050607"), 0)
    assert block[:32].hex() == "8ad5a08b905f81cc815040274ab29471a833b637e3fd0da508dbb8e2fdd1a646"


def test_rfc8439_2_8_2_aead(crypto):
    key = bytes(range(0x80, 0xA0))
    nonce, aad = bytes.fromhex("070000004041424344454647"), bytes.fromhex("50515253c0c1c2c3c4c5c6c7")
    ciphertext, tag = crypto.aead_seal(key, nonce, SUNSCREEN, aad)
    assert ciphertext.hex() == (
        "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6"
        "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36"
        "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc"
        "3ff4def08e4b7a9de576d26586cec64b6116")
    assert tag.hex() == "1ae10b594f09e26a7e902ecbd0600691"
    assert crypto.aead_open(key, nonce, ciphertext, tag, aad) == SUNSCREEN


# -- against cryptography (OpenSSL) ------------------------------------------------------------------------

keys = st.binary(min_size=32, max_size=32)
nonces = st.binary(min_size=12, max_size=12)
# Lengths around block (64), Poly1305 (16) and chunk boundaries, kept small enough for the pure backend.
payloads = st.one_of(st.binary(max_size=300), st.builds(lambda n, seed: random.Random(seed).randbytes(n),
                                                         st.integers(0, 70_000), st.integers(0, 2**32)))


@property_settings
@given(key=keys, nonce=nonces, counter=st.integers(0, 2**31), data=payloads)
def test_chacha20_matches_openssl(crypto, key, nonce, counter, data):
    assert crypto.chacha20_xor(key, nonce, counter, data) == ref_chacha20(key, nonce, counter, data)
    assert crypto.chacha20_block(key, nonce, counter) == ref_chacha20(key, nonce, counter, bytes(64))


@property_settings
@given(key=keys, data=payloads)
def test_poly1305_matches_openssl(crypto, key, data):
    assert crypto.poly1305(key, data) == Poly1305.generate_tag(key, data)


@property_settings
@given(key=keys, nonce=nonces, data=payloads, aad=st.binary(max_size=100))
def test_aead_matches_openssl_both_ways(crypto, key, nonce, data, aad):
    sealed = ChaCha20Poly1305(key).encrypt(nonce, data, aad)
    assert crypto.aead_seal(key, nonce, data, aad) == (sealed[:-16], sealed[-16:])
    assert crypto.aead_open(key, nonce, sealed[:-16], sealed[-16:], aad) == data


@property_settings
@given(mac_key=keys, data=payloads, aad=st.binary(max_size=100))
def test_otp_seal_is_xor_and_poly1305_over_the_aead_layout(crypto, mac_key, data, aad):
    pad = os.urandom(len(data) + 5)          # longer than needed: only the first len(data) bytes count
    ciphertext, tag = crypto.otp_seal(pad, mac_key, data, aad)
    assert ciphertext == bytes(a ^ b for a, b in zip(data, pad))
    assert tag == Poly1305.generate_tag(mac_key, mac_layout(aad, ciphertext))
    assert crypto.otp_open(pad, mac_key, ciphertext, tag, aad) == data


# -- failures and misuse ---------------------------------------------------------------------------------


def test_altered_ciphertext_tag_or_aad_raises_bad_tag(crypto):
    key, nonce = os.urandom(32), os.urandom(12)
    ciphertext, tag = crypto.aead_seal(key, nonce, b"K+ 6.8 mmol/L", b"header")
    flipped = bytes([ciphertext[0] ^ 1]) + ciphertext[1:]
    for args in [(flipped, tag, b"header"), (ciphertext, tag[:15] + bytes([tag[15] ^ 0x80]), b"header"),
                 (ciphertext, tag, b"headex")]:
        with pytest.raises(BadTag):
            crypto.aead_open(key, nonce, *args)
    pad, mac_key = os.urandom(64), os.urandom(32)
    ciphertext, tag = crypto.otp_seal(pad, mac_key, b"K+ 6.8 mmol/L", b"header")
    with pytest.raises(BadTag):
        crypto.otp_open(pad, mac_key, ciphertext, tag, b"other header")


def test_tags_equal(crypto):
    tag = os.urandom(16)
    assert crypto.tags_equal(tag, bytearray(tag))
    for i in (0, 7, 15):
        other = bytearray(tag)
        other[i] ^= 0x01
        assert not crypto.tags_equal(tag, other)
    with pytest.raises(CryptoMisuse):
        crypto.tags_equal(tag, tag[:15])


@pytest.mark.parametrize("call, words", [
    (lambda c: c.chacha20_xor(bytes(31), bytes(12), 0, b"x"), "key must be 32 bytes, got 31"),
    (lambda c: c.chacha20_xor(bytes(32), bytes(8), 0, b"x"), "nonce must be 12 bytes, got 8"),
    (lambda c: c.chacha20_block(bytes(33), bytes(12), 0), "key must be 32 bytes, got 33"),
    (lambda c: c.aead_seal(bytes(32), bytes(13), b"x"), "nonce must be 12 bytes, got 13"),
    (lambda c: c.aead_open(bytes(32), bytes(12), b"x", bytes(15)), "tag must be 16 bytes, got 15"),
    (lambda c: c.poly1305(bytes(16), b"x"), "Poly1305 key must be 32 bytes, got 16"),
    (lambda c: c.otp_xor(b"abcdef", b"abc"), "pad slice too short: 3 bytes for 6"),
    (lambda c: c.otp_seal(b"abc", bytes(32), b"abcdef"), "pad slice too short: 3 bytes for 6"),
    (lambda c: c.otp_open(b"abc", bytes(32), b"abcdef", bytes(16)), "pad slice too short"),
    (lambda c: c.otp_xor(b"abc", b"abc", out=bytearray(4)), "output buffer must be 3 bytes, got 4"),
    (lambda c: c.otp_xor(b"abc", b"abc", out=b"xyz"), "output buffer must be writable"),
    (lambda c: c.chacha20_xor("k" * 32, bytes(12), 0, b"x"), "key must be bytes-like, not str"),
    (lambda c: c.chacha20_xor(bytes(32), bytes(12), -1, b"x"), "counter must be an integer in 0..2^32-1"),
    (lambda c: c.chacha20_xor(bytes(32), bytes(12), 2**32, b"x"), "counter must be an integer in 0..2^32-1"),
])
def test_misuse_raises_crypto_misuse_with_a_clear_message(crypto, call, words):
    with pytest.raises(CryptoMisuse) as caught:
        call(crypto)
    assert words in str(caught.value)


def test_counter_overflow_is_an_error_not_a_wrap(crypto):
    key, nonce = os.urandom(32), os.urandom(12)
    last = crypto.chacha20_xor(key, nonce, 2**32 - 1, bytes(64))      # exactly the last block: fine
    assert last == crypto.chacha20_block(key, nonce, 2**32 - 1)
    assert crypto.chacha20_xor(key, nonce, 2**32 - 1, b"") == b""
    out = bytearray(129)
    for counter, length in [(2**32 - 1, 65), (2**32 - 2, 129)]:
        with pytest.raises(CounterOverflow, match="would wrap"):
            crypto.chacha20_xor(key, nonce, counter, bytes(length))
        with pytest.raises(CounterOverflow):
            crypto.chacha20_xor(key, nonce, counter, bytes(length), out=out[:length])
    assert out == bytes(129)


def test_counter_limit_is_2_to_the_32_blocks_per_nonce():
    # Checked on lengths, so that the limit itself is tested without allocating 256 GiB.
    check_counter(0, 2**32 * 64)
    with pytest.raises(CounterOverflow):
        check_counter(0, 2**32 * 64 + 1)


def test_partly_overlapping_buffers_are_refused_in_place_is_fine(crypto):
    key, nonce = os.urandom(32), os.urandom(12)
    buf = bytearray(os.urandom(300))
    view = memoryview(buf)
    with pytest.raises(CryptoMisuse, match="partly overlaps"):
        crypto.chacha20_xor(key, nonce, 0, view[0:200], out=view[10:210])
    with pytest.raises(CryptoMisuse, match="partly overlaps"):
        crypto.otp_xor(view[50:150], bytes(100), out=view[0:100])
    with pytest.raises(CryptoMisuse, match="overlaps the pad"):
        crypto.otp_xor(bytes(100), view[0:100], out=view[50:150])
    original = bytes(buf)
    crypto.otp_xor(view[100:200], view[0:100], out=view[100:200])      # in place through a second view
    assert bytes(buf[100:200]) == bytes(a ^ b for a, b in zip(original[100:200], original[0:100]))


def test_misuse_leaves_output_untouched(crypto):
    out = bytearray(b"untouched")
    with pytest.raises(CryptoMisuse):
        crypto.chacha20_xor(bytes(32), bytes(11), 0, b"123456789", out=out)
    assert out == b"untouched"


# -- batches ---------------------------------------------------------------------------------------------


def sealed_records(n: int, size: int = 100) -> tuple[list[Record], list[bytes]]:
    """n records alternating stream and otp, sealed by the single-message calls of the active backend."""
    records, plains = [], []
    for i in range(n):
        plain, aad = os.urandom(size + i), f"header {i}".encode()
        if i % 2:
            pad, mac_key = os.urandom(size + i + 7), os.urandom(32)
            ct, tag = primitives.otp_seal(pad, mac_key, plain, aad)
            records.append(Record("otp", bytearray(ct), mac_key, pad=pad, aad=aad, tag=tag))
        else:
            key, nonce = os.urandom(32), os.urandom(12)
            ct, tag = primitives.aead_seal(key, nonce, plain, aad)
            records.append(Record("stream", bytearray(ct), key, nonce=nonce, aad=aad, tag=tag))
        plains.append(plain)
    return records, plains


def test_open_batch_decrypts_in_place_and_leaves_tampered_records_untouched(crypto):
    records, plains = sealed_records(9)
    records[3].data[5] ^= 0x40                                   # an otp record, altered in transit
    records[4].tag = bytes(16)                                    # a stream record with a wrong tag
    tampered = {3: bytes(records[3].data), 4: bytes(records[4].data)}
    ok = crypto.open_batch(records)
    assert ok == [i not in tampered for i in range(9)]
    for i, record in enumerate(records):
        assert bytes(record.data) == tampered.get(i, plains[i])


def test_seal_batch_writes_what_single_calls_give(crypto):
    records, plains = sealed_records(6)
    expected = [(bytes(r.data), r.tag) for r in records]
    for record, plain in zip(records, plains):
        record.data[:] = plain
        record.tag = bytes(16)
    crypto.seal_batch(records)
    assert [(bytes(r.data), r.tag) for r in records] == expected
    assert crypto.open_batch(records) == [True] * 6


def test_empty_batch_and_empty_messages(crypto):
    assert crypto.open_batch([]) == []
    records, _ = sealed_records(2, size=0)
    records[0].data = bytearray(primitives.aead_seal(records[0].key, records[0].nonce, b"", b"header 0")[0])
    records[0].tag = primitives.aead_seal(records[0].key, records[0].nonce, b"", b"header 0")[1]
    assert crypto.open_batch(records[:1]) == [True]


@pytest.mark.parametrize("field, value, words", [
    ("key", bytes(31), "batch record 2: key must be 32 bytes, got 31"),
    ("key", 12345, "batch record 2: key must be bytes-like, not int"),
    ("aad", None, "batch record 2: aad must be bytes-like, not NoneType"),
    ("nonce", "twelve chars", "batch record 2: nonce must be bytes-like, not str"),
    ("nonce", bytes(16), "batch record 2: nonce must be 12 bytes, got 16"),
    ("tag", bytes(8), "batch record 2: tag must be 16 bytes, got 8"),
    ("kind", "aes", "batch record 2: kind must be one of"),
    ("data", b"read-only bytes", "batch record 2: data must be writable"),
])
def test_batch_misuse_names_the_record_and_touches_nothing(crypto, field, value, words):
    records, _ = sealed_records(4)
    before = [bytes(r.data) for r in records]
    setattr(records[2], field, value)
    with pytest.raises(CryptoMisuse) as caught:
        crypto.open_batch(records)
    assert words in str(caught.value)
    assert [bytes(r.data) for r in records] == [before[0], before[1], bytes(records[2].data), before[3]]


def test_batch_otp_pad_too_short_and_overlapping_pad(crypto):
    records, _ = sealed_records(2)
    records[1].pad = records[1].pad[:len(records[1].data) - 1]
    with pytest.raises(CryptoMisuse, match="batch record 1: pad slice too short"):
        crypto.open_batch(records)
    shared = bytearray(256)
    records[1].data, records[1].pad = memoryview(shared)[0:101], memoryview(shared)[50:200]
    with pytest.raises(CryptoMisuse, match="batch record 1: output buffer overlaps the pad"):
        crypto.open_batch(records)


def test_errors_are_pli_errors_without_secret_bytes(crypto):
    key = bytes(range(31))
    with pytest.raises(CryptoMisuse) as caught:
        crypto.aead_seal(key, bytes(12), b"secret plaintext")
    assert isinstance(caught.value, PliError)
    assert key.hex() not in str(caught.value) and "secret" not in str(caught.value)


def test_batch_misuse_far_into_a_large_batch_still_touches_nothing(crypto, monkeypatch):
    """The native backend prepares records in chunks (here of 1000): all are checked before any is opened."""
    if crypto.NAME == "native":
        monkeypatch.setattr(crypto, "CHUNK", 1000)
    key, nonce = os.urandom(32), os.urandom(12)
    ciphertext, tag = primitives.aead_seal(key, nonce, b"K+ 6.8", b"h")
    records = [Record("stream", bytearray(ciphertext), key, nonce=nonce, aad=b"h", tag=tag) for _ in range(5000)]
    records[4500].key = bytes(16)
    with pytest.raises(CryptoMisuse, match="batch record 4500: key must be 32 bytes, got 16"):
        crypto.open_batch(records)
    assert all(bytes(r.data) == ciphertext for r in records)
    records[4500].key = key
    assert crypto.open_batch(records) == [True] * 5000
    assert {bytes(r.data) for r in records} == {b"K+ 6.8"}


# -- column batches ----------------------------------------------------------------------------------------


def sealed_mails(n: int, size: int = 100) -> tuple[list[bytes], bytes, bytes, list[bytes], list[bytes]]:
    """n messages sealed by `cryptography` (ciphertext || tag), their joined keys and nonces, aads, plaintexts."""
    keys, nonces, aads, plains, sealed = [], [], [], [], []
    for i in range(n):
        keys.append(os.urandom(32))
        nonces.append(os.urandom(12))
        aads.append(f"header {i}".encode() * (i % 3))
        plains.append(os.urandom(size + 37 * i))
        sealed.append(ChaCha20Poly1305(keys[-1]).encrypt(nonces[-1], plains[-1], aads[-1]))
    return sealed, b"".join(keys), b"".join(nonces), aads, plains


def test_open_columns_reads_sealed_mails_as_cryptography_writes_them(crypto):
    sealed, keys, nonces, aads, plains = sealed_mails(12)
    output = crypto.open_columns(Columns("stream", sealed, keys, nonces, aads=aads))
    assert output.ok == [True] * 12 and len(output) == 12
    assert [bytes(output.message(i)) for i in range(12)] == plains
    assert bytes(output.data) == b"".join(plains)
    # The same with the tags apart, and from bytearrays and memoryviews (the general path).
    output = crypto.open_columns(Columns("stream", [memoryview(s)[:-16] for s in sealed], bytearray(keys),
                                         memoryview(nonces), aads=[bytearray(a) for a in aads],
                                         tags=b"".join(s[-16:] for s in sealed)))
    assert [bytes(output.message(i)) for i in range(12)] == plains


def test_seal_columns_writes_what_cryptography_writes(crypto):
    sealed, keys, nonces, aads, plains = sealed_mails(9)
    output = crypto.seal_columns(Columns("stream", plains, keys, nonces, aads=aads))
    assert output.ok == [True] * 9
    assert [bytes(output.message(i)) + output.tags[16 * i:16 * i + 16] for i in range(9)] == sealed


def test_columns_otp_kind_round_trip_and_single_call_agreement(crypto):
    plains = [os.urandom(n) for n in (0, 1, 100, 4096, 5000)]
    pads = [os.urandom(len(p) + 3) for p in plains]
    keys = [os.urandom(32) for _ in plains]
    sealed = crypto.seal_columns(Columns("otp", plains, b"".join(keys), aads=[b"h"] * 5, pads=pads))
    for i, (plain, pad, key) in enumerate(zip(plains, pads, keys)):
        assert (bytes(sealed.message(i)), sealed.tags[16 * i:16 * i + 16]) == primitives.otp_seal(pad, key, plain,
                                                                                                  b"h")
    opened = crypto.open_columns(Columns("otp", [bytes(sealed.message(i)) for i in range(5)], b"".join(keys),
                                         aads=[b"h"] * 5, pads=pads, tags=sealed.tags))
    assert opened.ok == [True] * 5 and [bytes(opened.message(i)) for i in range(5)] == plains


def test_open_columns_fails_tampered_messages_alone_and_shows_zeros(crypto):
    sealed, keys, nonces, aads, plains = sealed_mails(10)
    sealed[3] = sealed[3][:-1] + bytes([sealed[3][-1] ^ 1])          # a tag altered in transit
    sealed[7] = bytes([sealed[7][0] ^ 0x40]) + sealed[7][1:]          # a ciphertext altered
    aads[5] = aads[5] + b"x"                                          # a header altered
    output = crypto.open_columns(Columns("stream", sealed, keys, nonces, aads=aads))
    assert output.ok == [i not in (3, 5, 7) for i in range(10)]
    for i in range(10):
        assert bytes(output.message(i)) == (bytes(len(plains[i])) if i in (3, 5, 7) else plains[i])


def test_empty_column_batch_and_empty_messages(crypto):
    output = crypto.open_columns(Columns("stream", [], b"", b""))
    assert output.ok == [] and bytes(output.data) == b""
    key, nonce = os.urandom(32), os.urandom(12)
    sealed = ChaCha20Poly1305(key).encrypt(nonce, b"", b"")
    output = crypto.open_columns(Columns("stream", [sealed, sealed], key * 2, nonce * 2))
    assert output.ok == [True, True] and bytes(output.data) == b""


@pytest.mark.parametrize("change, words", [
    (dict(keys=bytes(31)), "keys must be 32 bytes per message: 31 bytes for 3 messages"),
    (dict(nonces=bytes(35)), "nonces must be 12 bytes per message: 35 bytes for 3 messages"),
    (dict(kind="aes"), "kind must be one of"),
    (dict(tags=bytes(47)), "tags must be 16 bytes per message: 47 bytes for 3 messages"),
    (dict(aads=[b"a", b"b"]), "aads must have one item per message: 2 for 3 messages"),
    (dict(aads=[b"a", None, b"c"]), "message 1: aad must be bytes-like, not NoneType"),
    (dict(aads=[None] * 3), "message 0: aad must be bytes-like, not NoneType"),       # one object shared
    (dict(data=["text", b"", b""]), "message 0: data must be bytes-like, not str"),
    (dict(data=[bytes(16), bytes(15), bytes(16)]), "message 1: 15 bytes cannot hold its 16-byte tag"),
    (dict(keys="k" * 96), "keys must be bytes-like, not str"),
    (dict(data=None), "data must be a sequence with one item per message"),
])
def test_column_batch_misuse_names_the_field_or_the_message(crypto, change, words):
    sealed, keys, nonces, aads, _ = sealed_mails(3)
    fields = dict(kind="stream", data=sealed, keys=keys, nonces=nonces, aads=aads)
    fields.update(change)
    with pytest.raises(CryptoMisuse) as caught:
        crypto.open_columns(Columns(**fields))
    assert words in str(caught.value)


def test_column_batch_otp_pads_are_checked(crypto):
    plains = [os.urandom(10), os.urandom(20)]
    with pytest.raises(CryptoMisuse, match="an otp batch needs pads"):
        crypto.seal_columns(Columns("otp", plains, os.urandom(64)))
    with pytest.raises(CryptoMisuse, match="message 1: pad slice too short: 19 bytes for 20 bytes"):
        crypto.seal_columns(Columns("otp", plains, os.urandom(64), pads=[os.urandom(10), os.urandom(19)]))
