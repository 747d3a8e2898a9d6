"""What an envelope's header claims of its sender, checked against the key that signed it.

Who the signing key belongs to is looked up elsewhere (the keyring alone, or
core/directory/resolve.py: the keyring, then the directory, with revocation);
whatever the lookup, the claims are checked here, the same way.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from pli.core.crypto.envelope_format import Header
from pli.core.crypto.identity import PublicIdentity
from pli.core.crypto.refusals import Malformed, UnknownSender


@dataclass(frozen=True)
class Sender:
    """The identity whose key signed, and what to tell the reader about that key ("" when nothing)."""

    public: PublicIdentity
    warning: str = ""


def unknown_sender(header: Header) -> UnknownSender:
    fingerprint = header.sender_fingerprint.hex()
    return UnknownSender(f"the message claims to come from {header.sender_address} with key {fingerprint}, "
                         "which is neither in your keyring nor in the directory: import their public "
                         "identity if you trust it")


def check_claims(header: Header, public: PublicIdentity) -> None:
    """UnknownSender unless the key's owner is the address and id the header claims."""
    if public.address != header.sender_address.lower() or public.id != header.sender_id:
        raise UnknownSender(f"the message claims to come from {header.sender_address} but is signed with the "
                            f"key of {public.address}")


def signing_time(header: Header) -> datetime:
    """The envelope's timestamp as a time; Malformed for a u64 no calendar holds (after the year 9999)."""
    try:
        return datetime.fromtimestamp(header.timestamp, timezone.utc)
    except (ValueError, OverflowError, OSError):
        raise Malformed(f"the message from {header.sender_address} carries an impossible signing time "
                        f"({header.timestamp})") from None
