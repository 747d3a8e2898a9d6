"""The fixed envelope vectors of tests/vectors/: pli must still seal exactly those bytes and open them."""
import base64
import hashlib
import importlib.util
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pli.core.crypto import envelope_format as fmt
from pli.core.crypto.envelope import open_envelope

VECTORS = Path(__file__).resolve().parents[2] / "vectors"
spec = importlib.util.spec_from_file_location("make_vectors", VECTORS / "make_vectors.py")
make_vectors = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_vectors)
NAMES = sorted(p.stem for p in VECTORS.glob("envelope-*.json"))


def load(name: str) -> dict:
    return json.loads((VECTORS / f"{name}.json").read_text())


def test_every_vector_is_there():
    assert NAMES == sorted(make_vectors.VECTORS)


@pytest.mark.parametrize("name", NAMES)
def test_sealing_the_vector_inputs_gives_the_vector_bytes(name, tmp_path):
    vector = load(name)
    sealed, drawn, _ = make_vectors.seal_vector(vector, tmp_path)
    assert drawn.hex() == vector["random_bytes_drawn"]
    assert sealed.hex() == vector["sealed"]


@pytest.mark.parametrize("name", NAMES)
def test_every_recipient_opens_the_vector(name, tmp_path):
    vector = load(name)
    _, _, recipients = make_vectors.seal_vector(vector, tmp_path)
    for keyring in recipients:
        opened = open_envelope(bytes.fromhex(vector["sealed"]), keyring)
        assert opened.inner == vector["plaintext"].encode()
        assert opened.timestamp == vector["timestamp"] and opened.mode == vector["mode"]


def test_otp_vector_checks_against_the_spec_by_hand():
    """Independent of pli's code: the ciphertext is plaintext XOR the pad after the 32-byte MAC key."""
    vector = load("envelope-otp")
    env = fmt.parse(bytes.fromhex(vector["sealed"]))
    pad = bytes.fromhex(vector["pad"]["bytes"])
    ref = env.header.content_pad
    assert (ref.lane, ref.offset) == (0, vector["pad"]["sender_lane_used"])
    plaintext = vector["plaintext"].encode()
    xor = pad[ref.offset + 32:ref.offset + 32 + len(plaintext)]
    assert env.ciphertext == bytes(a ^ b for a, b in zip(plaintext, xor))
    signer = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(vector["sender"]["ed25519_secret"])).public_key()
    signer.verify(env.signature, fmt.SIGN_DOMAIN + env.signed)   # raises if the signature were wrong
    assert env.header.sender_fingerprint == hashlib.sha256(
        signer.public_bytes_raw()).digest()[:16]


# -- signed pad transport and group secret files ----------------------------------------------------------------

def test_the_file_vectors_are_there():
    assert sorted(p.stem for p in VECTORS.glob("*.json") if not p.stem.startswith("envelope-")) == \
        sorted(make_vectors.FILE_VECTORS)


@pytest.mark.parametrize("name", make_vectors.FILE_VECTORS)
def test_making_the_file_vector_inputs_gives_the_vector_bytes(name):
    vector = load(name)
    data, drawn = make_vectors.make_file(vector)
    assert drawn.hex() == vector["random_bytes_drawn"]
    assert data.hex() == vector["file"]


def _recipient_trusting_the_maker(vector, tmp_path):
    from pli.core.crypto.keyring import Keyring
    from pli.core.home import Home

    recipient = Keyring.create(Home(tmp_path / "bob"), make_vectors.identity_of(vector["recipient"]), "vectors",
                               kdf_log2n=10)
    recipient.import_public(make_vectors.identity_of(vector["maker"]).public)
    return recipient


def test_the_pad_vector_imports_and_gives_its_pad_bytes(tmp_path):
    vector = load("pad-transport")
    bob = _recipient_trusting_the_maker(vector, tmp_path)
    pad, maker = bob.import_pad_from(bytes.fromhex(vector["file"]))
    assert maker.address == "alice@pli.test"
    assert bytes(bob.pads.read(pad.id, 0, pad.size)).hex() == vector["pad"]["bytes"]


def test_the_group_vector_imports_as_the_group(tmp_path):
    vector = load("group-secret")
    bob = _recipient_trusting_the_maker(vector, tmp_path)
    group, maker = bob.import_group_from(bytes.fromhex(vector["file"]))
    assert maker.address == "alice@pli.test" and group.public.address == "cabinet@pli.test"
    assert group.agree_secret.hex() == vector["group"]["x25519_secret"]


def _by_hand(maker_secret: str, member_secret: str, head: bytes, sealed: bytes, info: bytes) -> bytes:
    """Check nothing with pli's code: X25519, HKDF-SHA256 and ChaCha20-Poly1305 as docs/FORMAT.md spells them."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    member = X25519PrivateKey.from_private_bytes(bytes.fromhex(member_secret))
    q = member.public_key().public_bytes_raw()
    e, nonce, ciphertext = sealed[:32], sealed[32:44], sealed[44:]
    shared = member.exchange(X25519PublicKey.from_public_bytes(e))
    w = HKDF(hashes.SHA256(), 32, salt=e + q, info=info).derive(shared)
    return ChaCha20Poly1305(w).decrypt(nonce, ciphertext, head)


def test_the_pad_vector_checks_against_the_spec_by_hand():
    from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

    vector = load("pad-transport")
    data = bytes.fromhex(vector["file"])
    assert data[:8] == b"PLIPADX2"
    head, length = data[:56], int.from_bytes(data[56:60], "big")
    sealed, body, signature = data[60:60 + length], data[60 + length:-64], data[-64:]
    maker = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(vector["maker"]["ed25519_secret"])).public_key()
    assert head[40:56] == hashlib.sha256(maker.public_bytes_raw()).digest()[:16]
    maker.verify(signature, b"pli-pad-transport-v2\x00" + data[:60 + length] + hashlib.sha256(body).digest())
    metadata = json.loads(_by_hand(vector["maker"]["x25519_secret"], vector["recipient"]["x25519_secret"], head,
                                   sealed, b"pli pad transport v2" + head[8:24]))
    assert metadata["holders"] == vector["pad"]["holders"] and metadata["size"] == vector["pad"]["size"]
    file_key = bytes.fromhex(vector["pad"]["file_key"])
    chunk0 = ChaCha20Poly1305(file_key).decrypt(bytes(4) + (0).to_bytes(8, "big"), body,
                                                head[8:24] + (0).to_bytes(8, "big"))
    assert chunk0.hex() == vector["pad"]["bytes"]      # 4096 bytes: one chunk


def test_the_group_vector_checks_against_the_spec_by_hand():
    vector = load("group-secret")
    data = bytes.fromhex(vector["file"])
    assert data[:8] == b"PLIGRP2\n"
    head, sealed, signature = data[:40], data[40:-64], data[-64:]
    maker = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(vector["maker"]["ed25519_secret"])).public_key()
    maker.verify(signature, b"pli-group-secret-v2\x00" + head + sealed)
    secrets = json.loads(_by_hand(vector["maker"]["x25519_secret"], vector["recipient"]["x25519_secret"], head,
                                  sealed, b"pli group secret v2"))
    assert secrets["public"]["address"] == "cabinet@pli.test" and secrets["ed25519_secret"] is None
    assert base64.b64decode(secrets["x25519_secret"]).hex() == vector["group"]["x25519_secret"]


@pytest.mark.parametrize("name", make_vectors.FILE_VECTORS)
def test_every_single_byte_change_of_a_file_vector_is_refused(name, tmp_path):
    """Any byte of the file flipped: refused with a one-line PliError, nothing imported."""
    from pli.core.errors import PliError

    vector = load(name)
    bob = _recipient_trusting_the_maker(vector, tmp_path)
    data = bytes.fromhex(vector["file"])
    step = 1 if name == "group-secret" else 37      # a 4,482-byte pad file: every 37th byte, and each section's
    for at in sorted({*range(0, len(data), step), *range(0, 64), *range(len(data) - 64, len(data))}):
        tampered = data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]
        with pytest.raises(PliError):
            (bob.import_pad if name == "pad-transport" else bob.import_group)(tampered)
    assert bob.pads.list() == [] and bob.groups == ()


@pytest.fixture(scope="module")
def trusting(tmp_path_factory):
    """bob, trusting the vectors' maker: what a hostile file meets."""
    return _recipient_trusting_the_maker(load("pad-transport"), tmp_path_factory.mktemp("fuzz"))


from hypothesis import given, strategies as st  # noqa: E402


@given(name=st.sampled_from(make_vectors.FILE_VECTORS), cut=st.integers(0, 5000), noise=st.binary(max_size=80),
       at=st.integers(0, 5000))
def test_any_cut_or_splice_of_a_signed_file_is_a_one_line_refusal(trusting, name, cut, noise, at):
    from pli.core.errors import PliError

    data = bytes.fromhex(load(name)["file"])
    for candidate in (data[:cut], data[:at] + noise + data[at:], noise):
        try:
            (trusting.import_pad if name == "pad-transport" else trusting.import_group)(candidate)
        except PliError as refused:
            assert "\n" not in str(refused)
        else:
            assert candidate == data
