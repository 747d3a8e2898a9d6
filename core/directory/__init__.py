"""The professional directory: who is who, their addresses and keys, signed by a directory authority.

    set_trust_anchor(home, read_one("authority.pub", "ed25519"))    # at `pli init`
    import_directory(home, Path("directory.pli").read_bytes())      # refuses unsigned / badly signed
    directory = load_directory(home)
    directory.check_signer(address, fingerprint, when)   # -> entry, or UnknownSigner / RevokedSigner ...
    directory.search("cardio lyon"); directory.complete("mart")
"""
from pli.core.directory.directory import (Directory, RevokedSigner, SignerMismatch, SignerProblem,
                                          UnknownSigner, fold)
from pli.core.directory.entry import DirectoryEntry, KeyRecord
from pli.core.directory.keyfile import PublicKey, fingerprint, read_key_file, read_one
from pli.core.directory.local import (NoTrustAnchor, import_directory, load_directory, set_trust_anchor,
                                      trust_anchor)
from pli.core.directory.signed import (BadDirectorySignature, DirectoryRefused, UnsignedDirectory,
                                       WrongAuthority)

__all__ = ["BadDirectorySignature", "Directory", "DirectoryEntry", "DirectoryRefused", "KeyRecord",
           "NoTrustAnchor", "PublicKey", "RevokedSigner", "SignerMismatch", "SignerProblem", "UnknownSigner",
           "UnsignedDirectory", "WrongAuthority", "fingerprint", "fold", "import_directory", "load_directory",
           "read_key_file", "read_one", "set_trust_anchor", "trust_anchor"]
