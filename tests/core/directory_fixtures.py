"""Generated directories for the tests: entries made from test keyrings, signed by a throwaway authority."""
from __future__ import annotations

from datetime import datetime, timezone

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from pli.core.crypto.identity import PublicIdentity
from pli.core.directory import DirectoryEntry, PublicKey, import_directory, set_trust_anchor
from pli.core.directory.signed import sign_directory
from pli.core.home import Home

ADDED = datetime(2025, 1, 1, tzinfo=timezone.utc)


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
