"""The professional directory: who is who, their addresses and keys, signed by a directory authority.

    set_trust_anchor(home, read_one("authority.pub", "ed25519"))    # at `pli init`
    import_directory(home, Path("directory.pli").read_bytes())      # refuses unsigned / badly signed
    directory = load_directory(home)
    directory.check_signer(address, fingerprint, when)   # -> entry, or UnknownSigner / RevokedSigner ...
    directory.search("cardio lyon"); directory.complete("mart")

The names below load with their module when first asked for (PEP 562): importing a light module of
this package (paths, stored) must not load the directory's readers and their signature code, which
the TUI's first screen does not need when no directory is installed.
"""
from importlib import import_module

#: Each name this package exports, and the module that defines it.
_FROM = {
    "Directory": "directory", "RevokedSigner": "directory", "SignerMismatch": "directory",
    "SignerProblem": "directory", "UnknownSigner": "directory", "fold": "directory",
    "DirectoryEntry": "entry", "KeyRecord": "entry",
    "PublicKey": "keyfile", "fingerprint": "keyfile", "read_key_file": "keyfile", "read_one": "keyfile",
    "NoTrustAnchor": "local", "import_directory": "local", "load_directory": "local",
    "set_trust_anchor": "local", "trust_anchor": "local",
    "BadDirectorySignature": "signed", "DirectoryRefused": "signed", "UnsignedDirectory": "signed",
    "WrongAuthority": "signed",
}

__all__ = sorted(_FROM)


def __getattr__(name: str):
    module = _FROM.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
