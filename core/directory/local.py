"""The directory as installed in a home: its trust anchor, the imported signed file, loading it.

    home/directory/authority.pub   the trust anchor: `ed25519 BASE64` of the directory authority
    home/directory/directory.pli   the last imported directory file, verbatim (re-checked at each load)
    home/directory/checked         `CHECKS SHA256-OF-directory.pli`: that file's entries passed every check

`pli init` calls `set_trust_anchor` (or the user runs `pli dir trust FILE`);
`import_directory` refuses any file the anchor did not sign, and any file
older (lower serial) than the one installed.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from pli.core.directory.directory import Directory
from pli.core.directory.keyfile import PublicKey, read_one, write_key_file
from pli.core.directory.paths import anchor_path, directory_dir, installed_path
from pli.core.directory.signed import (DirectoryRefused, SignedDirectory, VerifiedDirectory, checked_entries,
                                       open_directory, verify_directory)
from pli.core.durable import fsync_dir, write_atomic
from pli.core.errors import ConfigError
from pli.core.home import Home


class NoTrustAnchor(ConfigError):
    """The home has no directory authority key to check directories against."""


def set_trust_anchor(home: Home, key: PublicKey) -> None:
    """Make `key` (an Ed25519 public key) the authority whose signed directories this home accepts."""
    if key.alg != "ed25519":
        raise DirectoryRefused("a directory authority key must be an Ed25519 key")
    directory_dir(home).mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = anchor_path(home).with_suffix(".tmp")
    write_key_file(tmp, [key], "directory authority: the trust anchor of this home's directory")
    os.replace(tmp, anchor_path(home))
    fsync_dir(anchor_path(home).parent)


def trust_anchor(home: Home) -> PublicKey:
    if not anchor_path(home).exists():
        raise NoTrustAnchor(f"no directory authority is trusted in {home.root}: "
                            "run `pli dir trust AUTHORITY_KEY_FILE` with your authority's public key")
    return read_one(anchor_path(home), "ed25519")


#: The version of the entry checks (from_json, no id, address or key twice): raise it when they refuse more,
#: and installed files are checked again at their next load.
CHECKS = 1


def checked_path(home: Home) -> Path:
    return directory_dir(home) / "checked"


def import_directory(home: Home, data: bytes, source: str = "the directory file") -> SignedDirectory:
    """Check and install a signed directory file; the installed one stays if anything is wrong."""
    signed = open_directory(data, trust_anchor(home), source)
    try:
        current = verified_installed(home)
    except DirectoryRefused:
        current = None  # damaged, or from a previous anchor: a good file may replace it
    if current is not None and signed.serial < current.serial:
        raise DirectoryRefused(f"{source} (serial {signed.serial}) is older than the installed directory "
                               f"(serial {current.serial}): nothing imported")
    write_atomic(installed_path(home), data, mode=0o644)
    _mark_checked(home, data)
    return signed


def load_directory(home: Home) -> Directory:
    """The installed directory, its whole file checked against the trust anchor; empty if none was imported yet.

    The signature is checked at every load.  The entries were all checked at
    import: they are built one by one as they are first asked for (`pli send`
    reads two of 100,000).  A file the `checked` mark does not name (copied in
    by hand, or checked by an older pli whose checks were weaker) has all its
    entries checked now, as import does, then is marked.  The mark is no trust:
    a forged one only defers the refusal of a malformed entry to when it is reached.
    """
    try:
        data = installed_path(home).read_bytes()
    except FileNotFoundError:
        return Directory(())
    verified = verify_directory(data, trust_anchor(home), str(installed_path(home)))
    built = ()
    if not _was_checked(home, data):
        built = checked_entries(verified)
        _mark_checked(home, data)
    return Directory.from_objects(verified.objects, verified.serial, verified.source, built)


def verified_installed(home: Home) -> VerifiedDirectory | None:
    """The installed file checked against the trust anchor (serial, issued, entry objects); None if none."""
    try:
        data = installed_path(home).read_bytes()
    except FileNotFoundError:
        return None
    return verify_directory(data, trust_anchor(home), str(installed_path(home)))


def _mark(data: bytes) -> bytes:
    return f"{CHECKS} {hashlib.sha256(data).hexdigest()}\n".encode("ascii")


def _was_checked(home: Home, data: bytes) -> bool:
    try:
        return checked_path(home).read_bytes() == _mark(data)
    except OSError:
        return False


def _mark_checked(home: Home, data: bytes) -> None:
    try:
        write_atomic(checked_path(home), _mark(data), mode=0o600)
    except OSError:
        pass   # a home we cannot write to: the next load checks the entries again
