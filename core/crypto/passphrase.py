"""Getting the keyring's passphrase: from the file named by PLI_PASSPHRASE_FILE, else a terminal prompt.

A non-interactive run (scripts, the demo, CI) sets PLI_PASSPHRASE_FILE; the
file's content minus a trailing newline is the passphrase.  Otherwise the
prompt goes to the terminal (/dev/tty), never to stdin, which may be carrying
the mail being sealed or opened.
"""
from __future__ import annotations

import getpass
import os
from pathlib import Path

from pli.core.crypto.keyring import Keyring, NoKeyring
from pli.core.crypto.vault import WrongPassphrase
from pli.core.errors import PliError
from pli.core.home import Home

PASSPHRASE_ENV = "PLI_PASSPHRASE_FILE"


class NoPassphrase(PliError):
    """No passphrase could be obtained (no file named, no terminal to ask on)."""

    exit_code = 5


def read_passphrase(prompt: str = "Keyring passphrase: ", confirm: bool = False) -> str:
    path = os.environ.get(PASSPHRASE_ENV)
    if path:
        return _read_file(Path(path))
    try:
        tty = open("/dev/tty", "r+")
    except OSError:
        raise NoPassphrase(f"no terminal to ask for the passphrase: set {PASSPHRASE_ENV} to a file "
                           "holding it") from None
    with tty:
        passphrase = getpass.getpass(prompt, stream=tty)
        if confirm and getpass.getpass("Again: ", stream=tty) != passphrase:
            raise WrongPassphrase("the two passphrases differ; nothing changed")
    return passphrase


def _read_file(path: Path) -> str:
    """The passphrase in `path`; refused when others may read it (as an account's password file is)."""
    try:
        with open(path, encoding="utf-8") as handle:
            if os.fstat(handle.fileno()).st_mode & 0o077:
                raise NoPassphrase(f"the passphrase file {path} ({PASSPHRASE_ENV}) is readable by others: "
                                   f"`chmod 600 {path}`")
            return handle.read().rstrip("\n")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or "not UTF-8 text"
        raise NoPassphrase(f"cannot read {PASSPHRASE_ENV} {path}: {reason}") from None


def unlock(home: Home):
    """The home's keyring, unlocked with the passphrase from the file or the prompt."""
    if not Keyring.exists(home):  # say so before asking for a passphrase
        raise NoKeyring.at(home)
    return Keyring.unlock(home, read_passphrase())
