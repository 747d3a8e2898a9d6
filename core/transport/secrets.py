"""Account passwords kept in the pli keyring: sealed to the home's own X25519 key.

    home/keyring/accounts/<name>          "PLIACCT1" + seal_to(own x25519 public, password): both servers'
    home/keyring/accounts/<name>@smtp     the same, for the SMTP login only (smtp_password = "keyring")
    home/keyring/accounts/<name>@imap     for the IMAP login only (imap_password = "keyring")

The slot's name is bound into the sealed blob (associated data): a file copied
over another slot does not open.

Storing needs no passphrase (only the public key); reading needs the unlocked
keyring, which `pli send` and `pli fetch` open anyway (to seal, to sign the trace).
"""
from __future__ import annotations

import re

from pli.core.crypto.agreement import SealedOpenFailed, open_sealed, seal_to
from pli.core.crypto.keyring import public_view
from pli.core.directory.resolve import unlock
from pli.core.durable import write_atomic
from pli.core.errors import ConfigError
from pli.core.home import Home

MAGIC = b"PLIACCT1"
INFO = b"pli account password v1"
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
SERVERS = ("smtp", "imap")


def slot(account: str, server: str | None = None) -> str:
    """The keyring slot of an account's password: shared by both servers, or one server's own."""
    if not _NAME.fullmatch(account):
        raise ConfigError(f"account name {account!r}: use letters, digits, '.', '_' or '-'")
    if server is not None and server not in SERVERS:
        raise ConfigError(f"--server {server!r}: smtp or imap")
    return account if server is None else f"{account}@{server}"


def set_command(name: str) -> str:
    """The command that (re)stores the password of slot `name`."""
    account, _, server = name.partition("@")
    return f"`pli send password {account}{' --server ' + server if server else ''}`"


def _path(home: Home, name: str):
    account, _, server = name.partition("@")
    return home.keyring / "accounts" / slot(account, server or None)


def is_stored(home: Home, name: str) -> bool:
    """Whether slot `name` holds a password (checked without the passphrase)."""
    return _path(home, name).is_file()


def store_account_password(home: Home, account: str, password: str, server: str | None = None) -> None:
    """Seal `password` for `account` (both servers, or only `server`) into the keyring; no passphrase needed."""
    me, _groups = public_view(home)
    name = slot(account, server)
    head = MAGIC + name.encode()
    write_atomic(_path(home, name), MAGIC + seal_to(me.agree_public, password.encode("utf-8"), INFO, head))


def read_account_password(home: Home, name: str, keyring=None) -> str:
    """The password in slot `name` ("cabinet", "cabinet@smtp"), opened with the keyring (unlocked here if not given)."""
    path = _path(home, name)
    account, _, server = name.partition("@")
    command = set_command(name)
    account = f"{account} ({server})" if server else account
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"no password for account {account} in the keyring: run {command}") from None
    if keyring is None:
        keyring = unlock(home)
    try:
        if blob[:len(MAGIC)] != MAGIC:
            raise SealedOpenFailed("not an account password file")
        return open_sealed(keyring.identity, blob[len(MAGIC):], INFO, MAGIC + name.encode()).decode("utf-8")
    except (SealedOpenFailed, UnicodeDecodeError):
        raise ConfigError(f"the password of account {account} ({path}) does not open with this keyring: "
                          f"set it again with {command}") from None
