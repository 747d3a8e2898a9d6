"""Account passwords kept in the pli keyring: sealed to the home's own X25519 key.

    home/keyring/accounts/<name>    "PLIACCT1" + seal_to(own x25519 public, password)

Storing needs no passphrase (only the public key); reading needs the unlocked
keyring, which `pli send` and `pli fetch` open anyway (to seal, to sign the trace).
"""
from __future__ import annotations

import re

from pli.core.crypto.agreement import SealedOpenFailed, open_sealed, seal_to
from pli.core.durable import write_atomic
from pli.core.errors import ConfigError
from pli.core.home import Home

MAGIC = b"PLIACCT1"
INFO = b"pli account password v1"
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def _path(home: Home, account: str):
    if not _NAME.fullmatch(account):
        raise ConfigError(f"account name {account!r}: use letters, digits, '.', '_' or '-'")
    return home.keyring / "accounts" / account


def store_account_password(home: Home, account: str, password: str) -> None:
    from pli.core.crypto.keyring import public_view

    me, _groups = public_view(home)
    head = MAGIC + account.encode()
    write_atomic(_path(home, account), MAGIC + seal_to(me.agree_public, password.encode("utf-8"), INFO, head))


def read_account_password(home: Home, account: str, keyring=None) -> str:
    """The password of `account`, opened with the keyring (unlocked here if not given)."""
    path = _path(home, account)
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"no password for account {account} in the keyring: "
                          f"run `pli send --set-password {account}`") from None
    if keyring is None:
        from pli.core.crypto.passphrase import unlock
        keyring = unlock(home)
    try:
        if blob[:len(MAGIC)] != MAGIC:
            raise SealedOpenFailed("not an account password file")
        return open_sealed(keyring.identity, blob[len(MAGIC):], INFO, MAGIC + account.encode()).decode("utf-8")
    except (SealedOpenFailed, UnicodeDecodeError):
        raise ConfigError(f"the password of account {account} ({path}) does not open with this keyring: "
                          f"set it again with `pli send --set-password {account}`") from None
