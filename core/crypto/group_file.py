"""Group secret files (`pli keys group-export` / `group-import`): a group's secret keys sealed to one member's
X25519 key and signed by the member who made the file (docs/FORMAT.md, "Group secret files").

    blob = group_file(group, member_public, maker=keyring.identity)
    group, maker = open_group_file(blob, keyring.own_identities(), maker_of)   # maker_of: fingerprint -> trusted

Opening checks the maker's signature (against a key the caller trusts) before
anything is decrypted; where the group may live in the keyring (an address no
correspondent holds) is the keyring's business.
"""
from __future__ import annotations

import json
import os
from typing import Callable

from pli.core.crypto.agreement import SealedOpenFailed, open_sealed, seal_to
from pli.core.crypto.identity import BadIdentity, Identity, PublicIdentity

MAGIC = b"PLIGRP2\n"          # version 2: signed by its maker (version 1 was not: refused)
OLD_MAGIC = b"PLIGRP1\n"
INFO = b"pli group secret v2"
SIGN_DOMAIN = b"pli-group-secret-v2\x00"
_HEAD = len(MAGIC) + 16 + 16   # magic, the member's agreement key fingerprint, the maker's signing key fingerprint
_SIGNATURE = 64


def group_file(group: Identity, member: PublicIdentity, maker: Identity,
               rng: Callable[[int], bytes] = os.urandom) -> bytes:
    """The file handing `group`'s secrets to `member`, signed by `maker`; `rng`: ephemeral secret, then nonce."""
    head = MAGIC + member.agree_fingerprint + maker.public.signing_fingerprint
    sealed = seal_to(member.agree_public, json.dumps(group.secrets_json()).encode("utf-8"), INFO, head, rng)
    return head + sealed + maker.sign(SIGN_DOMAIN + head + sealed)


def open_group_file(blob: bytes, identities: list[Identity],
                    maker_of: Callable[[bytes], PublicIdentity]) -> tuple[Identity, PublicIdentity]:
    """The group a file hands to one of `identities`, and who made it (`maker_of` vouches for the key)."""
    if blob[:len(OLD_MAGIC)] == OLD_MAGIC:
        raise BadIdentity("this group secret file was made by an older pli and is not signed, so it cannot prove "
                          "who made it: ask the member who made it for a new one (`pli keys group-export`)")
    if blob[:len(MAGIC)] != MAGIC or len(blob) < _HEAD + 60 + _SIGNATURE:
        raise BadIdentity("this is not a pli group secret file (or one of a version this pli does not know)")
    head, sealed, signature = blob[:_HEAD], blob[_HEAD:-_SIGNATURE], blob[-_SIGNATURE:]
    maker = maker_of(head[24:40])
    if not maker.verify(signature, SIGN_DOMAIN + head + sealed):
        raise BadIdentity("this group secret file's signature does not verify: it was altered or forged; "
                          "nothing imported")
    me = next((i for i in identities if i.public.agree_fingerprint == head[8:24]), None)
    if me is None:
        raise BadIdentity("this group secret was sealed for someone else")
    try:
        group = Identity.from_secrets_json(json.loads(open_sealed(me, sealed, INFO, head)))
    except (SealedOpenFailed, ValueError, KeyError, TypeError, AttributeError, RecursionError):
        raise BadIdentity("this group secret file is damaged or not for this keyring") from None
    if group.public.kind != "group":
        raise BadIdentity(f"{group.public.address} is not a group identity")
    return group, maker
