"""Introducing homes to each other in one process: the demo builder's and the tests' key exchange.

In real life public identities travel by `pli keys export-public` / the
directory, pads and group secrets by hand; these functions do the same steps
between keyrings that live in one process.

    a, b = (Keyring.create(Home(p), Identity.generate(...), "pw") for p in (pa, pb))
    introduce(a, b)                       # each trusts the other's public identity (and groups)
    pad = share_pad(a, [b], 16 << 20)     # a pad held by a (lane 0) and b (lane 1), imported by b
    group = share_group(a, [b], "cab-1", "cabinet@example.org", "Cabinet des Tilleuls")
"""
from __future__ import annotations

from pli.core.crypto.identity import Identity
from pli.core.crypto.keyring import Keyring
from pli.core.crypto.pads import PadError, PadInfo


def introduce(*keyrings: Keyring) -> None:
    """Every keyring trusts every other's public identity and the public identities of its groups."""
    for keyring in keyrings:
        for other in keyrings:
            if other is keyring:
                continue
            for public in (other.identity.public, *(g.public for g in other.groups)):
                if public.address not in keyring.readable():
                    keyring.import_public(public, replace=True)


def share_pad(owner: Keyring, receivers: list[Keyring], size: int, holders: list[str] | None = None,
              **create) -> PadInfo:
    """A pad `owner` draws for `holders` (default: the receivers' own addresses), imported by each receiver.

    A receiver imports the copy of the first holder address it can read: its
    own, or a group's it belongs to (so every member of a group gets the group's copy).
    """
    holders = holders or [r.identity.public.address for r in receivers]
    pad = owner.new_pad(holders, size, **create)
    for receiver in receivers:
        readable = receiver.readable()
        address = next((h for h in pad.holders[1:] if h in readable), None)
        if address is None:
            raise PadError(f"{receiver.identity.public.address} can read none of the holders of pad {pad.hex}")
        receiver.import_pad(owner.export_pad(pad.id, address))
    return pad


def share_group(founder: Keyring, members: list[Keyring], id: str, address: str, name: str) -> Identity:
    """A group created by `founder` and joined by `members` (all must already know each other's keys)."""
    group = founder.create_group(id, address, name)
    for member in members:
        member.import_group(founder.export_group(group.public.address, member.identity.public))
    return group
