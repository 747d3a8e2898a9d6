"""Generated directories for the tests: entries made from test keyrings, signed by a throwaway authority."""
from __future__ import annotations

from datetime import datetime, timezone

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from pli.core.crypto.identity import PublicIdentity
from pli.core.directory import DirectoryEntry, PublicKey, import_directory, set_trust_anchor
from pli.core.directory.signed import sign_directory
from pli.core.home import Home

ADDED = datetime(2025, 1, 1, tzinfo=timezone.utc)
TOWNS = ("Lyon", "Brest", "Saint-Étienne", "Nantes", "Lille", "Rennes", "Dijon", "Pau")
SPECIALTIES = ("Cardiologie", "Néphrologie", "Médecine Générale", "Biologie médicale", "Pédiatrie")


class Authority:
    """A directory authority for one test: signs directories with increasing serials."""

    def __init__(self) -> None:
        self.key = Ed25519PrivateKey.generate()
        self.public = PublicKey("ed25519", self.key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
        self.serial = 0

    def sign(self, entries: list[DirectoryEntry]) -> bytes:
        self.serial += 1
        return sign_directory(entries, self.key, self.serial)

    def install(self, home: Home, entries: list[DirectoryEntry]) -> None:
        """Trust this authority in `home` and install a directory of `entries` there."""
        set_trust_anchor(home, self.public)
        import_directory(home, self.sign(entries))


def entry_for(public: PublicIdentity, **fields) -> DirectoryEntry:
    """The directory entry of a test identity: its id, name, address and current keys."""
    entry = DirectoryEntry(id=public.id, kind=public.kind, name=public.name, addresses=(public.address,),
                           **fields)
    entry = entry.with_key(PublicKey("x25519", public.agree_public), ADDED)
    if public.sign_public is not None:
        entry = entry.with_key(PublicKey("ed25519", public.sign_public), ADDED)
    return entry


def generated_entries(count: int) -> list[DirectoryEntry]:
    """`count` practitioners `praticien{n}@pli.test` (ids 10000000000 + n), each with an X25519 and an Ed25519
    key, spread over towns, specialties and 2,000 practices: a national-size directory for benchmarks.

    The keys are made from `n` (generating 200,000 would be most of the cost): the X25519 ones seal, the
    Ed25519 ones never verify anything."""
    agree = X25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    out = []
    for n in range(count):
        entry = DirectoryEntry(id=f"{10000000000 + n}", kind="person", name=f"Dr Prénom{n} Nom{n}",
                               profession="Médecin", specialty=SPECIALTIES[n % len(SPECIALTIES)],
                               organisation=f"Cabinet {n % 2000}", town=TOWNS[n % len(TOWNS)],
                               addresses=(f"praticien{n}@pli.test",))
        out.append(entry.with_key(PublicKey("x25519", agree[:28] + n.to_bytes(4, "big")), ADDED)
                   .with_key(PublicKey("ed25519", n.to_bytes(32, "big")), ADDED))
    return out
