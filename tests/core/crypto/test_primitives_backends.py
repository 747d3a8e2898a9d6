"""Native and pure backends give the same bytes (any length, offset, in place or not, batch or single),
and the backend is chosen at import as PLI_CRYPTO_BACKEND says."""
from __future__ import annotations

import os
import random
import subprocess
import sys
import textwrap

import pytest
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from hypothesis import given
from hypothesis import strategies as st

from crypto_backends import native, property_settings  # noqa: F401  (native: a fixture)
from pli.core.crypto import primitives
from pli.core.crypto.primitives import Columns, Record

pure = primitives.backend("pure")


def at_offset(data: bytes, offset: int) -> memoryview:
    """`data` copied into a larger bytearray at `offset`: an unaligned, writable view."""
    buf = bytearray(len(data) + offset + 3)
    buf[offset:offset + len(data)] = data
    return memoryview(buf)[offset:offset + len(data)]


sizes = st.one_of(st.integers(0, 200), st.integers(0, 20_000), st.sampled_from([63, 64, 65, 4095, 4096, 65535,
                                                                                 65536, 65537, 1 << 17]))
seeds = st.integers(0, 2**32)


@property_settings
@given(size=sizes, seed=seeds, counter=st.integers(0, 2**32 - 3000), offsets=st.tuples(*[st.integers(0, 15)] * 2))
def test_chacha20_native_equals_pure_unaligned_in_and_out_of_place(native, size, seed, counter, offsets):
    rng = random.Random(seed)
    key, nonce, data = rng.randbytes(32), rng.randbytes(12), rng.randbytes(size)
    expected = pure.chacha20_xor(key, nonce, counter, data)
    assert native.chacha20_xor(key, nonce, counter, at_offset(data, offsets[0])) == expected
    out = at_offset(bytes(size), offsets[1])
    assert native.chacha20_xor(key, nonce, counter, at_offset(data, offsets[0]), out=out) is None
    assert out == expected
    in_place = at_offset(data, offsets[1])
    native.chacha20_xor(key, nonce, counter, in_place, out=in_place)
    assert in_place == expected


@property_settings
@given(size=sizes, seed=seeds, offsets=st.tuples(*[st.integers(0, 15)] * 3))
def test_otp_xor_and_poly1305_native_equal_pure(native, size, seed, offsets):
    rng = random.Random(seed)
    data, pad, key = rng.randbytes(size), rng.randbytes(size + rng.randrange(3)), rng.randbytes(32)
    expected = pure.otp_xor(data, pad)
    assert native.otp_xor(at_offset(data, offsets[0]), at_offset(pad, offsets[1])) == expected
    in_place = at_offset(data, offsets[2])
    native.otp_xor(in_place, at_offset(pad, offsets[1]), out=in_place)
    assert in_place == expected
    assert native.poly1305(at_offset(key, offsets[0]), at_offset(data, offsets[1])) == pure.poly1305(key, data)


@property_settings
@given(size=sizes, seed=seeds, aad_size=st.integers(0, 70))
def test_aeads_native_equal_pure_and_open_each_other(native, size, seed, aad_size):
    rng = random.Random(seed)
    key, nonce, data, aad = rng.randbytes(32), rng.randbytes(12), rng.randbytes(size), rng.randbytes(aad_size)
    sealed = pure.aead_seal(key, nonce, data, aad)
    assert native.aead_seal(key, nonce, data, aad) == sealed
    assert native.aead_open(key, nonce, *sealed, aad) == data
    pad, mac_key = rng.randbytes(size), rng.randbytes(32)
    sealed = pure.otp_seal(pad, mac_key, data, aad)
    assert native.otp_seal(pad, mac_key, data, aad) == sealed
    assert native.otp_open(pad, mac_key, *sealed, aad) == data


@pytest.mark.parametrize("size", [(1 << 20) + 13, (3 << 20) - 1])
def test_megabytes_native_equal_pure(native, size):
    """Few examples: the pure backend runs ChaCha20 at about 15 MB/s."""
    rng = random.Random(size)
    key, nonce, data, pad = rng.randbytes(32), rng.randbytes(12), rng.randbytes(size), rng.randbytes(size)
    assert native.aead_seal(key, nonce, data, b"hdr") == pure.aead_seal(key, nonce, data, b"hdr")
    assert native.otp_seal(pad, key, data, b"hdr") == pure.otp_seal(pad, key, data, b"hdr")


def test_many_megabytes_native_equals_openssl(native):
    rng = random.Random(7)
    key, nonce, data = rng.randbytes(32), rng.randbytes(12), rng.randbytes((9 << 20) + 5)
    sealed = ChaCha20Poly1305(key).encrypt(nonce, data, b"hdr")
    assert native.aead_seal(key, nonce, data, b"hdr") == (sealed[:-16], sealed[-16:])


records_spec = st.lists(st.tuples(st.sampled_from(["stream", "otp"]), st.integers(0, 3000), seeds,
                                  st.booleans()), max_size=12)


def make_records(spec) -> tuple[list[Record], list[bytes]]:
    records, plains = [], []
    for kind, size, seed, _ in spec:
        rng = random.Random(seed)
        plain, key, aad = rng.randbytes(size), rng.randbytes(32), rng.randbytes(rng.randrange(40))
        pad = rng.randbytes(size + rng.randrange(5)) if kind == "otp" else None
        records.append(Record(kind, bytearray(plain), key, nonce=rng.randbytes(12), pad=pad, aad=aad))
        plains.append(plain)
    return records, plains


@property_settings
@given(spec=records_spec)
def test_batches_agree_with_single_calls_across_backends(native, spec):
    records, plains = make_records(spec)
    native.seal_batch(records)
    for record, plain in zip(records, plains):       # what the single calls of the other backend give
        if record.kind == "stream":
            assert (bytes(record.data), record.tag) == pure.aead_seal(record.key, record.nonce, plain, record.aad)
        else:
            assert (bytes(record.data), record.tag) == pure.otp_seal(record.pad, record.key, plain, record.aad)
    for record, (_, _, _, tamper) in zip(records, spec):
        if tamper and record.data:
            record.data[len(record.data) // 2] ^= 0x10
    sealed = [bytes(r.data) for r in records]
    copies = [Record(r.kind, bytearray(r.data), r.key, r.nonce, r.pad, r.aad, r.tag) for r in records]
    expected_ok = [not (tamper and size) for _, size, _, tamper in spec]
    assert native.open_batch(records) == expected_ok == pure.open_batch(copies)
    for record, copy, plain, ok, before in zip(records, copies, plains, expected_ok, sealed):
        assert bytes(record.data) == bytes(copy.data) == (plain if ok else before)


@property_settings
@given(size=sizes, seed=seeds, counter=st.integers(0, 2**32 - 3000))
def test_fast_path_of_plain_bytes_equals_the_general_path(native, size, seed, counter):
    """bytes and bytearray go to C as they are; memoryviews through the checks: the same bytes either way."""
    rng = random.Random(seed)
    key, nonce, data, pad = rng.randbytes(32), rng.randbytes(12), rng.randbytes(size), rng.randbytes(size + 1)
    expected = pure.chacha20_xor(key, nonce, counter, data)
    assert native.chacha20_xor(key, nonce, counter, data) == expected
    out = bytearray(size)
    native.chacha20_xor(key, nonce, counter, data, out)
    assert out == expected
    in_place = bytearray(data)
    native.chacha20_xor(key, nonce, counter, in_place, in_place)
    assert in_place == expected
    xored = pure.otp_xor(data, pad)
    assert native.otp_xor(data, pad) == xored
    in_place = bytearray(data)
    native.otp_xor(in_place, pad, in_place)
    assert in_place == xored
    out = bytearray(size)
    native.otp_xor(data, pad, out)
    assert out == xored
    assert native.poly1305(key, data) == pure.poly1305(key, data) == native.poly1305(bytearray(key), memoryview(data))


columns_spec = st.tuples(st.sampled_from(["stream", "otp"]), st.lists(st.tuples(st.integers(0, 3000), seeds,
                                                                              st.booleans()), max_size=12),
                         st.booleans(), st.booleans())


@property_settings
@given(spec=columns_spec)
def test_column_batches_agree_across_backends_and_with_single_calls(native, spec):
    kind, messages, with_aads, tags_inline = spec
    rng = random.Random(len(messages))
    plains = [random.Random(seed).randbytes(size) for size, seed, _ in messages]
    keys = [rng.randbytes(32) for _ in plains]
    nonces = [rng.randbytes(12) for _ in plains] if kind == "stream" else []
    aads = [rng.randbytes(rng.randrange(40)) for _ in plains] if with_aads else None
    pads = [rng.randbytes(len(p) + rng.randrange(3)) for p in plains] if kind == "otp" else None
    batch = Columns(kind, plains, b"".join(keys), b"".join(nonces), aads=aads, pads=pads)
    sealed = native.seal_columns(batch)
    assert bytes(sealed.data) == bytes(pure.seal_columns(batch).data) and sealed.tags == pure.seal_columns(batch).tags
    for i, plain in enumerate(plains):
        aad = aads[i] if aads else b""
        single = (pure.aead_seal(keys[i], nonces[i], plain, aad) if kind == "stream" else
                  pure.otp_seal(pads[i], keys[i], plain, aad))
        assert (bytes(sealed.message(i)), sealed.tags[16 * i:16 * i + 16]) == single
    ciphertexts = [bytearray(sealed.message(i)) for i in range(len(plains))]
    for ciphertext, (_, _, tamper) in zip(ciphertexts, messages):
        if tamper and ciphertext:
            ciphertext[len(ciphertext) // 2] ^= 0x10
    if tags_inline:
        opened_batch = Columns(kind, [bytes(c) + sealed.tags[16 * i:16 * i + 16] for i, c in enumerate(ciphertexts)],
                               batch.keys, batch.nonces, aads=aads, pads=pads)
    else:
        opened_batch = Columns(kind, ciphertexts, batch.keys, batch.nonces, aads=aads, pads=pads, tags=sealed.tags)
    opened, reference = native.open_columns(opened_batch), pure.open_columns(opened_batch)
    expected_ok = [not (tamper and size) for size, _, tamper in messages]
    assert opened.ok == reference.ok == expected_ok
    assert bytes(opened.data) == bytes(reference.data)
    for i, (plain, ok) in enumerate(zip(plains, expected_ok)):
        assert bytes(opened.message(i)) == (plain if ok else bytes(len(plain)))


@pytest.mark.parametrize("aad_type", [bytes, bytearray])
def test_column_batch_sharing_one_aad_object_opens_as_with_one_each(native, aad_type):
    """The native column batch points every message at a shared aad object once: the same output as one aad
    object per message, on both backends; a shared aad that differs from the sealed one fails every message."""
    rng = random.Random(11)
    aad, count = aad_type(rng.randbytes(64)), 40
    plains = [rng.randbytes(rng.randrange(0, 300)) for _ in range(count)]
    keys, nonces = rng.randbytes(32 * count), rng.randbytes(12 * count)
    sealed = [ChaCha20Poly1305(keys[32 * i:32 * i + 32]).encrypt(nonces[12 * i:12 * i + 12], p, bytes(aad))
              for i, p in enumerate(plains)]
    shared = Columns("stream", sealed, keys, nonces, aads=[aad] * count)
    one_each = Columns("stream", sealed, keys, nonces, aads=[bytes(bytearray(aad)) for _ in range(count)])
    for batch in (shared, one_each):
        for backend in (native, pure):
            output = backend.open_columns(batch)
            assert output.ok == [True] * count and bytes(output.data) == b"".join(plains)
    other = aad_type(bytes([aad[0] ^ 1]) + bytes(aad[1:]))
    wrong = Columns("stream", sealed, keys, nonces, aads=[other] * count)
    assert native.open_columns(wrong).ok == pure.open_columns(wrong).ok == [False] * count


def test_column_inputs_found_by_address_are_the_buffers_themselves(monkeypatch):
    """The native column batch takes a bytes object's address from id() (CPython's documented meaning, the
    offset measured at import): the same addresses as the buffer protocol's, the same output without it."""
    try:
        native = primitives.backend("native")
    except primitives.BackendUnavailable as error:
        pytest.skip(str(error))
    from pli.native._pli_native import ffi
    rng = random.Random(5)
    buffers = [rng.randbytes(rng.randrange(0, 5000)) for _ in range(300)]
    if native._BYTES_DATA is not None:
        table, _ = native._pointers(buffers, {bytes})
        assert [int(ffi.cast("uintptr_t", table[i])) for i in range(300)] == \
            [int(ffi.cast("uintptr_t", ffi.from_buffer(b))) for b in buffers]
    keys, nonces = rng.randbytes(32 * 300), rng.randbytes(12 * 300)
    sealed = [ChaCha20Poly1305(keys[32 * i:32 * i + 32]).encrypt(nonces[12 * i:12 * i + 12], b, b"h")
              for i, b in enumerate(buffers)]
    batch = Columns("stream", sealed, keys, nonces, aads=[b"h"] * 300)
    by_address = native.open_columns(batch)
    monkeypatch.setattr(native, "_BYTES_DATA", None)
    by_buffer = native.open_columns(batch)
    assert by_address.ok == by_buffer.ok == [True] * 300
    assert bytes(by_address.data) == bytes(by_buffer.data) == b"".join(buffers)


def test_prepared_native_batches_hold_their_bytearrays(native):
    """C runs with the GIL released: until it returns, no other thread may resize (and so move) a bytearray it
    writes or reads.  A prepared batch keeps each one exported, so a resize raises BufferError (the record
    batch once dropped its cdata objects right after taking their addresses)."""
    rng = random.Random(3)
    record = Record("stream", bytearray(rng.randbytes(100)), rng.randbytes(32), nonce=rng.randbytes(12))
    prepared = native._prepare([record], 0, seal=True)
    with pytest.raises(BufferError):
        record.data.extend(b"x")
    del prepared
    data = [bytearray(rng.randbytes(50)), bytearray(rng.randbytes(70))]
    keys, nonces = rng.randbytes(64), rng.randbytes(24)
    call = native._ColumnCall(Columns("stream", data, keys, nonces), seal=True)
    with pytest.raises(BufferError):
        data[1].extend(b"x")
    output = call.run()
    assert bytes(output.message(1)) == pure.aead_seal(keys[32:], nonces[12:], bytes(data[1]))[0]


# -- choosing the backend at import ---------------------------------------------------------------------

PROBE = textwrap.dedent("""
    import sys
    if sys.argv[1] == "hide-native":
        # What a missing or unloadable extension looks like to the loader: importing it raises ImportError.
        sys.modules["pli.native._pli_native"] = None
    from pli.core.crypto import primitives
    info = primitives.backend_info()
    print(info.name, info.simd_path, info.native_available)
    print(primitives.aead_seal(bytes(32), bytes(12), b"probe")[1].hex())
""")
PROBE_TAG = ChaCha20Poly1305(bytes(32)).encrypt(bytes(12), b"probe", b"")[-16:].hex()


def probe(env_value: str | None, mode: str = "as-is") -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PLI_CRYPTO_BACKEND"}
    if env_value is not None:
        env["PLI_CRYPTO_BACKEND"] = env_value
    return subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, env=env, timeout=60)


def test_pure_forced_by_environment():
    proc = probe("pure")
    assert proc.returncode == 0, proc.stderr
    name, simd, available = proc.stdout.split()[:3]
    assert (name, simd) == ("pure", "python")
    assert available == str(primitives.backend_info().native_available)
    assert proc.stdout.split()[3] == PROBE_TAG


def test_default_is_native_when_it_loads():
    if not primitives.backend_info().native_available:
        pytest.skip(f"native backend unavailable: {primitives.backend_info().native_error}")
    proc = probe(None)
    assert proc.returncode == 0, proc.stderr
    name, simd, available, tag = proc.stdout.split()
    assert (name, available, tag) == ("native", "True", PROBE_TAG)
    assert simd == primitives.native_simd_paths()[-1] or simd in primitives.native_simd_paths()


def test_missing_native_falls_back_to_pure_by_default():
    """Proves the fallback path of the loader: the extension is made unimportable inside the child
    (not deleted from disk), which is how a missing or broken .so reaches the loader."""
    proc = probe(None, "hide-native")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["pure", "python", "False", PROBE_TAG]


def test_native_required_but_missing_fails_loudly():
    proc = probe("native", "hide-native")
    assert proc.returncode != 0
    assert "BackendUnavailable" in proc.stderr
    assert "PLI_CRYPTO_BACKEND=native: the native crypto core could not load" in proc.stderr


def test_unknown_backend_name_is_refused():
    proc = probe("openssl")
    assert proc.returncode != 0
    assert "unknown crypto backend 'openssl'" in proc.stderr


def test_native_threads_setting_keeps_results_and_refuses_negative(native):
    rng = random.Random(3)
    key, nonce, data = rng.randbytes(32), rng.randbytes(12), rng.randbytes((2 << 20) + 3)   # threaded from 1 MiB
    expected = native.chacha20_xor(key, nonce, 1, data)
    try:
        primitives.set_native_threads(1)
        assert native.chacha20_xor(key, nonce, 1, data) == expected
        with pytest.raises(primitives.CryptoMisuse, match="thread count"):
            primitives.set_native_threads(-1)
    finally:
        primitives.set_native_threads(0)
    assert native.chacha20_xor(key, nonce, 1, data) == expected
