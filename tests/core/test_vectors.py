"""The fixed envelope vectors of tests/vectors/: pli must still seal exactly those bytes and open them."""
import hashlib
import importlib.util
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from pli.core.crypto import envelope_format as fmt
from pli.core.crypto.envelope import open_envelope

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
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
