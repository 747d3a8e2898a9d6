"""Generate the test vectors of docs/FORMAT.md (tests/vectors/*.json) from fixed keys, pads and randomness.

    python tests/vectors/make_vectors.py        # rewrites the JSON files next to this script

Each envelope vector (envelope-*.json) holds everything an independent
implementation needs to reproduce the sealed bytes: the sender's and
recipients' secret keys, the pad (id, holders, bytes) and how many bytes of
the sender's lane were already used, the plaintext, the timestamp, the
"random" bytes seal drew in order, and the sealed envelope.  The pad transport
and group secret vectors (pad-transport.json, group-secret.json) hold the
maker's and the recipient's keys, what the file carries (the pad's metadata,
file key and bytes; the group's secret keys), the random bytes drawn and the
signed file.  tests/core/crypto/test_vectors.py checks that pli still produces and
opens exactly these bytes, and checks the signatures by hand.
"""
from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def stream_of(seed: bytes, length: int) -> bytes:
    """Fixed "random" bytes: SHA-256 in counter mode over `seed`."""
    out = b"".join(hashlib.sha256(seed + i.to_bytes(4, "big")).digest() for i in range(length // 32 + 1))
    return out[:length]


VECTORS = {
    "envelope-otp": {"mode": "otp", "to": ["bob@pli.test"], "pad_used": 100, "pad_holders": ["bob@pli.test"]},
    "envelope-stream-pad": {"mode": "stream", "to": ["bob@pli.test"], "pad_used": 0,
                            "pad_holders": ["bob@pli.test"]},
    "envelope-stream-pad-and-x25519": {"mode": "stream", "to": ["bob@pli.test", "carol@pli.test"], "pad_used": 0,
                               "pad_holders": ["bob@pli.test"]},
}
PEOPLE = {"alice@pli.test": ("10000000001", "Dr Alice Martin"), "bob@pli.test": ("10000000002", "Dr Bob Durand"),
          "carol@pli.test": ("10000000003", "Dr Carol Petit")}
PLAINTEXT = (b"From: Dr Alice Martin <alice@pli.test>\nTo: bob@pli.test\nSubject: K+ 6.8 mmol/L\n"
             b"Message-ID: <vector-1@pli.test>\nDate: Mon, 01 Jan 2024 10:00:00 +0000\n\n"
             b"Potassium 6.8 mmol/L (HH). Generated test data, no real patient.\n")
TIMESTAMP = 1704103200
PAD_SIZE = 4096


class ScriptedRandom:
    """An rng for `seal` that hands out a fixed byte stream and remembers what it gave."""

    def __init__(self, data: bytes):
        self.data, self.at = data, 0

    def __call__(self, n: int) -> bytes:
        out = self.data[self.at:self.at + n]
        self.at += n
        return out

    @property
    def used(self) -> bytes:
        return self.data[:self.at]


def keys_of(address: str) -> dict:
    seed = address.encode()
    return {"address": address, "id": PEOPLE[address][0], "name": PEOPLE[address][1],
            "ed25519_secret": stream_of(b"ed25519 " + seed, 32).hex(),
            "x25519_secret": stream_of(b"x25519 " + seed, 32).hex()}


def inputs(name: str) -> dict:
    spec = VECTORS[name]
    return {"name": name, "mode": spec["mode"], "sender": keys_of("alice@pli.test"),
            "recipients": [keys_of(a) for a in spec["to"]], "timestamp": TIMESTAMP,
            "plaintext": PLAINTEXT.decode(),
            "pad": {"id": stream_of(b"pad id", 16).hex(), "holders": ["alice@pli.test", *spec["pad_holders"]],
                    "bytes": stream_of(b"pad " + name.encode(), PAD_SIZE).hex(),
                    "sender_lane": 0, "sender_lane_used": spec["pad_used"]},
            "random_seed": name}


def keyrings(root: Path, vector: dict):
    """The sender's and the recipients' keyrings, built from the vector's secrets (cheap scrypt: tests only)."""
    from pli.core.crypto.identity import Identity
    from pli.core.crypto.keyring import Keyring
    from pli.core.crypto.pairing import introduce
    from pli.core.home import Home

    def keyring(keys: dict) -> Keyring:
        identity = Identity.from_secrets(keys["id"], keys["address"], keys["name"], "person",
                                         bytes.fromhex(keys["x25519_secret"]), bytes.fromhex(keys["ed25519_secret"]))
        return Keyring.create(Home(root / keys["address"]), identity, "vectors", kdf_log2n=10)

    sender = keyring(vector["sender"])
    recipients = [keyring(k) for k in vector["recipients"]]
    introduce(sender, *recipients)
    pad = vector["pad"]
    pad_bytes = bytes.fromhex(pad["bytes"])
    for holder in [sender, *(r for r in recipients if r.identity.public.address in pad["holders"])]:
        holder.pads.create(pad["holders"], len(pad_bytes), source=ScriptedRandom(pad_bytes),
                           pad_id=bytes.fromhex(pad["id"]), created=vector["timestamp"])
    info = sender.pads.info(bytes.fromhex(pad["id"]))
    if pad["sender_lane_used"]:
        sender.ledger.reserve([(info, pad["sender_lane"], pad["sender_lane_used"])])
    return sender, recipients


def seal_vector(vector: dict, root: Path) -> tuple[bytes, bytes, list]:
    """(sealed envelope, random bytes drawn, recipients' keyrings) for `vector`'s inputs."""
    from pli.core.crypto.envelope import seal

    sender, recipients = keyrings(root, vector)
    rng = ScriptedRandom(stream_of(vector["random_seed"].encode(), 1024))
    sealed = seal(vector["plaintext"].encode(), sender, [r["address"] for r in vector["recipients"]],
                  mode=vector["mode"], rng=rng, now=vector["timestamp"])
    return sealed, rng.used, recipients


FILE_VECTORS = ("pad-transport", "group-secret")


def identity_of(keys: dict, kind: str = "person"):
    from pli.core.crypto.identity import Identity

    return Identity.from_secrets(keys["id"], keys["address"], keys["name"], kind,
                                 bytes.fromhex(keys["x25519_secret"]),
                                 bytes.fromhex(keys["ed25519_secret"]) if keys.get("ed25519_secret") else None)


def file_inputs(name: str) -> dict:
    vector = {"name": name, "maker": keys_of("alice@pli.test"), "recipient": keys_of("bob@pli.test"),
              "random_seed": name}
    if name == "pad-transport":
        vector["pad"] = {"id": stream_of(b"transport pad id", 16).hex(), "holders": ["alice@pli.test", "bob@pli.test"],
                         "size": PAD_SIZE, "created": TIMESTAMP, "file_key": stream_of(b"file key", 32).hex(),
                         "bytes": stream_of(b"transport pad", PAD_SIZE).hex()}
    else:
        vector["group"] = {"address": "cabinet@pli.test", "id": "cab-tilleuls", "name": "Cabinet des Tilleuls",
                           "x25519_secret": stream_of(b"x25519 cabinet@pli.test", 32).hex()}
    return vector


def make_file(vector: dict) -> tuple[bytes, bytes]:
    """(the signed file, the random bytes drawn) for a pad-transport or group-secret vector's inputs."""
    maker, recipient = identity_of(vector["maker"]), identity_of(vector["recipient"]).public
    rng = ScriptedRandom(stream_of(vector["random_seed"].encode(), 1024))
    if vector["name"] == "pad-transport":
        from pli.core.crypto.pads import PadInfo, _draw, _seal_chunks, transport_file

        pad = vector["pad"]
        info = PadInfo(bytes.fromhex(pad["id"]), tuple(pad["holders"]), pad["size"], pad["created"])
        file_key = bytes.fromhex(pad["file_key"])
        body = b"".join(_seal_chunks(info.id, file_key, _draw(ScriptedRandom(bytes.fromhex(pad["bytes"])), info.size)))
        return transport_file(info, file_key, body, recipient, maker, rng), rng.used
    from pli.core.crypto.group_file import group_file

    group = identity_of(dict(vector["group"], ed25519_secret=None), kind="group")
    return group_file(group, recipient, maker, rng), rng.used


def main() -> int:
    for name in FILE_VECTORS:
        vector = file_inputs(name)
        data, drawn = make_file(vector)
        vector["random_bytes_drawn"] = drawn.hex()
        vector["file"] = data.hex()
        (HERE / f"{name}.json").write_text(json.dumps(vector, indent=2) + "\n")
        print(f"wrote {name}.json ({len(data)} bytes)")
    for name in VECTORS:
        vector = inputs(name)
        with tempfile.TemporaryDirectory() as root:
            sealed, drawn, _ = seal_vector(vector, Path(root))
        vector["random_bytes_drawn"] = drawn.hex()
        vector["sealed"] = sealed.hex()
        (HERE / f"{name}.json").write_text(json.dumps(vector, indent=2) + "\n")
        print(f"wrote {name}.json ({len(sealed)} sealed bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
