"""What the installed directory says now of a stored message's signing key (a revocation published after
the message was stored), and the clear message's headers that record it.

Light at import: the TUI's preview and `pli show` ask this of every message they show, the first one
while pli starts; the directory (its readers, the signature check of its file) is loaded only when
the home has one installed (pli.core.directory.recipients).
"""
from __future__ import annotations

from datetime import datetime

from pli.core.crypto.refusals import RevokedSender
from pli.core.directory.paths import installed_path
from pli.core.errors import PliError
from pli.core.vocab import KEY_REVOKED

#: The tag and the clear message's header of a message signed before its key was revoked (docs/STORE.md).
WARNING_TAG = KEY_REVOKED
WARNING_HEADER = "X-Pli-Warning"
#: The envelope's signing time, in the clear message (UTC, ISO 8601): what a later revocation is judged by.
SIGNED_HEADER = "X-Pli-Signed"


def revocation(directory, fingerprint: str, when: datetime | None, address: str) -> str:
    """"" when the directory does not revoke the key `fingerprint`; RevokedSender when it is revoked for
    a signature made at `when` (None: unknown); else the warning for a message signed before the revocation."""
    entry = directory.by_fingerprint(fingerprint) if directory is not None else None
    key = entry.key_by_fingerprint(fingerprint) if entry is not None else None
    if key is None or key.revoked is None:
        return ""
    revoked = key.revoked.strftime("%Y-%m-%d %H:%M UTC")
    if when is None or key.revoked_for(when):
        raise RevokedSender(f"mail from {address} is signed with key {fingerprint}, revoked on {revoked} "
                            f"({key.reason}): do not trust it", revoked=key.revoked, why=key.reason or "")
    return (f"the key that signed this message was revoked on {revoked} ({key.reason}), after the message was "
            f"signed ({when.strftime('%Y-%m-%d %H:%M UTC')}); use the sender's current key for anything new")


def stored_revocation(directory, fingerprint: str, address: str, signed: str) -> tuple[str, bool]:
    """What the directory says now of a stored message's signing key: ("", False) nothing; (warning, False)
    revoked after the message was signed; (why, True) revoked for its signing time: no longer to be trusted.

    `signed` is the clear message's SIGNED_HEADER (""; messages stored by an older pli lack it: a
    revoked key is then judged as if the time were unknown).
    """
    try:
        when = datetime.fromisoformat(signed.replace("Z", "+00:00")) if signed else None
    except ValueError:
        when = None
    try:
        return revocation(directory, fingerprint, when, address), False
    except RevokedSender as refused:
        return str(refused), True


def check_stored(home, fields: dict[str, str]) -> tuple[str, bool]:
    """The line to show with a stored clear message, and whether it is no longer to be trusted, from its
    header `fields` (lower-case names): the warning recorded at import, or what the installed directory
    says of its signing key now (a revocation published after the message was stored)."""
    recorded = fields.get(WARNING_HEADER.lower(), "")
    fingerprint = fields.get("x-pli-fingerprint", "")
    if fields.get("x-pli-verified") != "yes" or not fingerprint:
        return recorded, False
    if not installed_path(home).exists():
        return recorded, False   # no directory installed, none revoked the key since: as the store recorded
    # start-up: the directory's readers and their signature code load only when a directory is installed
    from pli.core.directory import recipients

    try:
        directory = recipients.installed(home)
    except PliError:
        directory = None     # a damaged directory: what the store recorded is all there is to say
    now, refused = stored_revocation(directory, fingerprint, fields.get("x-pli-sender", ""),
                                     fields.get(SIGNED_HEADER.lower(), ""))
    return now or recorded, refused
