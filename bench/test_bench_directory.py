"""What a large installed directory costs the commands that look one or two people up in it (`pli send`, opening).

    .venv/bin/python -m pytest bench/test_bench_directory.py --benchmark-only
    PLI_BENCH_DIRECTORY=5000 .venv/bin/python -m pytest bench/test_bench_directory.py --benchmark-only   # smoke

A generated, signed directory of 100,000 practitioners (the compose
benchmark's) installed in a home with a keyring.  Every round starts from an
empty in-process cache, as each `pli` command does (emptying it is not timed):
- *send*: what `seal_mail` asks of the directory for one recipient
  (`Keyring.expand`, then `Keyring.reach`): the whole file's signature
  checked, its JSON read, the address index, one entry built;
- *open*: the same load, then the signer looked up by key fingerprint
  (`Directory.by_fingerprint`, as `Trust` does for each envelope);
- *first search*: the load, then compose's first search (the order by name
  and the search text of every entry are built then);
- *every entry checked and listed*: the signature, then every entry built
  and checked (what `pli dir import` runs, a load runs for a file the
  `checked` mark does not name, and every load ran before entries were built
  on demand), and the listing in name order: the figure the others replace.
"""
import os
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from pli.core.crypto.identity import Identity
from pli.core.crypto.keyring import Keyring
from pli.core.directory.resolve import with_directory
from pli.core.directory import Directory, PublicKey, import_directory, recipients, set_trust_anchor
from pli.core.directory.local import installed_path, trust_anchor
from pli.core.directory.signed import checked_entries, sign_directory, verify_directory
from pli.core.home import Home

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "core"))
from directory_fixtures import generated_entries  # noqa: E402

SIZE = int(os.environ.get("PLI_BENCH_DIRECTORY", "100000"))
WANTED = f"praticien{SIZE // 2}@pli.test"


@pytest.fixture(scope="module")
def keyring(tmp_path_factory):
    home = Home(tmp_path_factory.mktemp("directory") / "home")
    authority = Ed25519PrivateKey.generate()
    keyring = with_directory(Keyring.create(home, Identity.generate("10999999999", "me@pli.test", "Dr Me"), "bench",
                                            kdf_log2n=10))
    set_trust_anchor(home, PublicKey("ed25519", authority.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)))
    import_directory(home, sign_directory(generated_entries(SIZE), authority, 1))
    return keyring


def forget() -> None:
    """Drop the loaded directory (untimed, as freeing it is): the next look-up loads it as a new `pli` process does."""
    recipients._CACHE.clear()


def test_send_load_and_one_recipient(benchmark, keyring):
    def send():
        return [keyring.reach(a) for a in keyring.expand(WANTED)]
    found = benchmark.pedantic(send, setup=forget, rounds=5)
    assert [p.address for p in found] == [WANTED]


def test_open_load_and_one_signer_by_fingerprint(benchmark, keyring):
    fingerprint = recipients.installed(keyring.home).by_address(WANTED).current_key("ed25519").fingerprint
    entry = benchmark.pedantic(lambda: recipients.installed(keyring.home).by_fingerprint(fingerprint),
                               setup=forget, rounds=5)
    assert WANTED in entry.addresses


def test_load_and_first_search(benchmark, keyring):
    found = benchmark.pedantic(lambda: recipients.installed(keyring.home).search("nephro brest", limit=16),
                               setup=forget, rounds=3)
    assert len(found) == min(16, SIZE // 40)


def test_every_entry_checked_and_listed(benchmark, keyring):
    data, anchor = installed_path(keyring.home).read_bytes(), trust_anchor(keyring.home)

    def check_all():
        verified = verify_directory(data, anchor)
        built = checked_entries(verified)
        return Directory.from_objects(verified.objects, verified.serial, verified.source, built).entries
    assert len(benchmark.pedantic(check_all, rounds=3)) == SIZE
