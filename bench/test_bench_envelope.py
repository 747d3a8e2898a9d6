"""What sealing and opening cost: 4 KiB and 10 MiB messages in otp and stream mode, the signature, the ledger fsync.

    .venv/bin/python -m pytest bench/test_bench_envelope.py --benchmark-only
    PLI_CRYPTO_BACKEND=pure .venv/bin/python -m pytest bench/test_bench_envelope.py --benchmark-only

Sealing includes the durable pad reservation (one fsync) in both modes (stream
mode reserves 64 bytes to wrap the key when a pad is shared).  Opening is
`open_mail` (MIME parse, signature check, key unwrap, decrypt, MAC).
"""
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "core"))

from crypto_fixtures import inner_message, people  # noqa: E402

from pli.core.crypto import primitives  # noqa: E402
from pli.core.crypto.envelope import open_mail, seal_mail  # noqa: E402
from pli.core.crypto.ledger import Ledger  # noqa: E402
from pli.core.crypto.pads import PadInfo  # noqa: E402
from pli.core.crypto.pairing import share_pad  # noqa: E402

SIZES = {"4KiB": 4 << 10, "10MiB": 10 << 20}


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    alice, bob = people(tmp_path_factory.mktemp("bench"), "alice", "bob")
    share_pad(alice, [bob], 1 << 30)      # a 512 MiB lane: room for every otp round
    return alice, bob


def message(size: int) -> bytes:
    head = inner_message(body="")
    return head + os.urandom(size // 2).hex().encode()[:size - len(head)]


@pytest.mark.parametrize("mode", ["otp", "stream"])
@pytest.mark.parametrize("size", list(SIZES))
def test_seal(benchmark, pair, mode, size):
    alice, _ = pair
    inner = message(SIZES[size])
    benchmark.extra_info["backend"] = primitives.backend_info().name
    rounds = 3 if size == "10MiB" else 50
    benchmark.pedantic(seal_mail, args=(inner, alice, ["bob@pli.test"], mode), rounds=rounds, iterations=1)


@pytest.mark.parametrize("mode", ["otp", "stream"])
@pytest.mark.parametrize("size", list(SIZES))
def test_open(benchmark, pair, mode, size):
    alice, bob = pair
    inner = message(SIZES[size])
    sealed = seal_mail(inner, alice, ["bob@pli.test"], mode)
    benchmark.extra_info["backend"] = primitives.backend_info().name
    rounds = 3 if size == "10MiB" else 50
    opened = benchmark.pedantic(open_mail, args=(sealed, bob), rounds=rounds, iterations=1)
    assert opened.inner == inner


def test_ed25519_sign_envelope_4kib(benchmark, pair):
    alice, _ = pair
    data = os.urandom(4 << 10)
    benchmark(alice.identity.sign, data)


def test_ed25519_verify_envelope_4kib(benchmark, pair):
    alice, _ = pair
    data = os.urandom(4 << 10)
    signature = alice.identity.sign(data)
    assert benchmark(alice.identity.public.verify, signature, data)


def test_ledger_reservation_with_fsync(benchmark, tmp_path):
    pad = PadInfo(b"\x07" * 16, ("alice@pli.test", "bob@pli.test"), 1 << 40, 0)
    ledger = Ledger(tmp_path / "ledger")
    benchmark(ledger.reserve, [(pad, 0, 4096)])
