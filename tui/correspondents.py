"""What compose needs from the keyring and the store: addresses, the mode per recipient, sending.

One small adapter, so that the screens never reach into the envelope's or the
store's internals.
"""
from __future__ import annotations

from email.message import EmailMessage

from pli.core.errors import PliError


def known_addresses(keyring) -> list[str]:
    if keyring is None:
        return []
    return sorted(c.address for c in keyring.correspondents())


def own_address(keyring) -> str:
    me = keyring.identity
    return f"{me.name} <{me.address}>" if getattr(me, "name", "") else me.address


def mode_for(keyring, address: str) -> str | None:
    """"otp" where a pad is shared with this address, "stream" for a known key, None if unknown."""
    if keyring is None:
        return None
    from pli.core.crypto.envelope import choose_mode

    try:
        return choose_mode(keyring, address)
    except PliError:
        return None


def send_sealed(store, keyring, inner: EmailMessage, to: list[str]) -> str:
    """Seal and sign for `to`, put the sealed mail in the outbox and the clear copy in Sent."""
    from pli.core.crypto.envelope import seal_mail

    sealed = seal_mail(inner, keyring, to)
    store.add_outgoing(sealed, bytes(inner))
    return "saved in the outbox (sending starts when transport is configured)"
