"""Generated identities, keyrings and pads for the crypto tests (cheap scrypt cost; no real people)."""
from __future__ import annotations

from pathlib import Path

from pli.core.crypto.identity import Identity
from pli.core.crypto.keyring import Keyring
from pli.core.crypto.pairing import introduce
from pli.core.directory.resolve import with_directory
from pli.core.home import Home

PASSPHRASE = "correct horse battery staple"
TEST_LOG2N = 10  # tests only: real keyrings use n = 2**17


def passphrase_file(path: Path, passphrase: str = PASSPHRASE) -> Path:
    """A PLI_PASSPHRASE_FILE as pli accepts it: mode 0600 (one others can read is refused)."""
    path.write_text(passphrase + "\n")
    path.chmod(0o600)
    return path


def make_keyring(root: Path, name: str, number: int, kind: str = "person", serves=()) -> Keyring:
    """A new keyring as pli uses it: resolving through its home's directory when one is installed."""
    address = f"{name}@pli.test"
    identity = Identity.generate(f"{10000000000 + number}", address, f"Dr {name.title()}", kind=kind,
                                 serves=serves)
    return with_directory(Keyring.create(Home(root / name), identity, PASSPHRASE, kdf_log2n=TEST_LOG2N))


def people(root: Path, *names: str) -> list[Keyring]:
    """Keyrings for `names`, each trusting the others."""
    keyrings = [make_keyring(root, name, i + 1) for i, name in enumerate(names)]
    introduce(*keyrings)
    return keyrings


def inner_message(subject: str = "K+ 6.8 mmol/L for patient DUPONT Marie", body: str = "Result attached.\n") -> bytes:
    return (f"From: Dr Alice <alice@pli.test>\nTo: bob@pli.test\nSubject: {subject}\n"
            f"Message-ID: <inner-1@pli.test>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\n"
            f"{body}").encode()
