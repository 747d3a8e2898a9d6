"""What compose's recipients cost with a national-size directory: loading it, a look-up per key press, sealing.

    .venv/bin/python -m pytest bench/test_bench_compose.py --benchmark-only
    PLI_BENCH_DIRECTORY=5000 .venv/bin/python -m pytest bench/test_bench_compose.py --benchmark-only   # smoke

The directory (default 100,000 generated entries, about a quarter of the RPPS
extract's practitioners) is signed by a throwaway authority and installed in
a home.  Loading (signature check, JSON, entry checks, search index) happens
once per change of the file, in a thread when compose opens; the look-ups run
at each key press (in a thread too), sealing runs once per send.
"""
import os
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from pli.core.crypto.envelope import seal_mail
from pli.core.crypto.identity import Identity
from pli.core.crypto.keyring import Keyring
from pli.core.directory import PublicKey, import_directory, recipients, set_trust_anchor
from pli.core.directory.resolve import with_directory
from pli.core.directory.signed import sign_directory
from pli.core.home import Home
from pli.core.mail.correspondents import candidates, status

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "core"))
from directory_fixtures import generated_entries  # noqa: E402

SIZE = int(os.environ.get("PLI_BENCH_DIRECTORY", "100000"))
INNER = b"From: a@pli.test\nTo: b@pli.test\nSubject: K+ 6.8\n\nResult attached.\n"


def raw(private) -> bytes:
    return private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    home = Home(tmp_path_factory.mktemp("compose") / "home")
    authority = Ed25519PrivateKey.generate()
    keyring = with_directory(Keyring.create(home, Identity.generate("10999999999", "me@pli.test", "Dr Me"), "bench",
                                            kdf_log2n=10))
    set_trust_anchor(home, PublicKey("ed25519", raw(authority)))
    import_directory(home, sign_directory(generated_entries(SIZE), authority, 1))
    return keyring


def test_load_the_installed_directory(benchmark, home):
    def load():
        recipients._CACHE.clear()
        return recipients.installed(home.home)
    directory = benchmark.pedantic(load, rounds=3, iterations=1)
    assert len(directory) == SIZE


def test_matches_for_two_words_per_key_press(benchmark, home):
    recipients.installed(home.home)
    found = benchmark(candidates, home, "nephro brest")
    assert found


def test_mode_and_who_of_a_directory_recipient(benchmark, home):
    recipients.installed(home.home)
    assert benchmark(status, home, "praticien77@pli.test").mode == "stream"


def test_seal_to_a_directory_only_recipient(benchmark, home):
    recipients.installed(home.home)
    benchmark(seal_mail, INNER, home, ["praticien77@pli.test"], "stream")
