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
    groups = [g.public.address for g in keyring.groups]
    return sorted({c.address for c in keyring.correspondents()} | set(groups))


def own_address(keyring) -> str:
    me = keyring.identity.public
    return f"{me.name} <{me.address}>" if me.name else me.address


def mode_for(keyring, address: str) -> str | None:
    """"otp" where a pad is shared with this address, "stream" for a known key, None if unknown."""
    if keyring is None:
        return None
    from pli.core.crypto.envelope import choose_mode

    try:
        return choose_mode(keyring, address)
    except PliError:
        return None


def send_sealed(home, keyring, inner: EmailMessage, to: list[str]) -> str:
    """Seal and sign for `to`, queue the sealed mail in the outbox, index the clear copy in Sent."""
    from pli.core.crypto.envelope import seal_mail
    from pli.core.outgoing import save_outgoing

    sealed = seal_mail(inner, keyring, to)
    save_outgoing(home, sealed, inner)
    return "queued in the outbox (sending starts when transport is configured)"
