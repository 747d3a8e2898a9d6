"""Who signed a sealed message: the one place a signing key is looked up and the directory's revocations applied.

Every path that trusts a signature comes here: opening (`pli open`, the
import behind `pli new`, `pli import` and `pli fetch`, receipts, which are
imported mail), the gateway's check (verify.Trust), the TUI and `pli show`
for messages stored before a revocation was known (`check_stored`), and the
import of signed pad and group files (`trusted_maker`).

    sender = sender_of(header, keyring.sender(fpr), directory)   # Sender, or an OpenError
    sender.public, sender.warning

The key is looked up in the keyring (correspondents, ourselves) first, else in
the installed directory (signed by the trust anchor).  Wherever it was found,
a key the directory revoked is then judged by the envelope's signing time
(docs/DIRECTORY.md): revoked for that time (a superseded or retired key from
its revocation date on, a compromised key whatever the claimed time, since a
thief can backdate) is refused, RevokedSender ("revoked-key"); revoked only
later is accepted with a warning the message is shown with.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from pli.core.crypto.envelope_format import Header
from pli.core.crypto.identity import PublicIdentity
from pli.core.crypto.refusals import Malformed, RevokedSender, UnknownSender
from pli.core.errors import PliError

#: The tag and the clear message's header of a message signed before its key was revoked (docs/STORE.md).
WARNING_TAG = "key-revoked"
WARNING_HEADER = "X-Pli-Warning"
#: The envelope's signing time, in the clear message (UTC, ISO 8601): what a later revocation is judged by.
SIGNED_HEADER = "X-Pli-Signed"


@dataclass(frozen=True)
class Sender:
    """The identity whose key signed, and what to tell the reader about that key ("" when nothing)."""

    public: PublicIdentity
    warning: str = ""


def sender_of(header: Header, known: PublicIdentity | None, directory) -> Sender:
    """The sender of an envelope with this header whose key the keyring knows as `known` (None: it does not).

    UnknownSender when neither the keyring nor the directory gives that key to the
    claimed address and id; RevokedSender when the directory revoked it for the signing time.
    """
    fingerprint = header.sender_fingerprint.hex()
    when = _signing_time(header)
    public = known if known is not None else _from_directory(directory, header, fingerprint, when)
    if public is None:
        raise UnknownSender(f"the message claims to come from {header.sender_address} with key {fingerprint}, "
                            "which is neither in your keyring nor in the directory: import their public "
                            "identity if you trust it")
    if public.address != header.sender_address.lower() or public.id != header.sender_id:
        raise UnknownSender(f"the message claims to come from {header.sender_address} but is signed with the "
                            f"key of {public.address}")
    return Sender(public, revocation(directory, fingerprint, when, header.sender_address))


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


def signed_value(timestamp: int) -> str:
    """SIGNED_HEADER's value for an envelope timestamp."""
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _signing_time(header: Header) -> datetime:
    """The envelope's timestamp as a time; Malformed for a u64 no calendar holds (after the year 9999)."""
    try:
        return datetime.fromtimestamp(header.timestamp, timezone.utc)
    except (ValueError, OverflowError, OSError):
        raise Malformed(f"the message from {header.sender_address} carries an impossible signing time "
                        f"({header.timestamp})") from None


def _from_directory(directory, header: Header, fingerprint: str, when: datetime) -> PublicIdentity | None:
    """A sender the keyring does not know, as the directory lists them (None: the key is not listed)."""
    from pli.core.directory import RevokedSigner, SignerProblem
    from pli.core.directory.recipients import signer

    if directory is None:
        return None
    try:
        return signer(directory, header.sender_address, fingerprint, when)
    except RevokedSigner as error:
        raise RevokedSender(str(error), revoked=error.revoked, why=error.revocation_reason or "") from None
    except SignerProblem as error:
        raise UnknownSender(str(error)) from None


def check_stored(home, fields: dict[str, str]) -> tuple[str, bool]:
    """The line to show with a stored clear message, and whether it is no longer to be trusted, from its
    header `fields` (lower-case names): the warning recorded at import, or what the installed directory
    says of its signing key now (a revocation published after the message was stored)."""
    recorded = fields.get(WARNING_HEADER.lower(), "")
    fingerprint = fields.get("x-pli-fingerprint", "")
    if fields.get("x-pli-verified") != "yes" or not fingerprint:
        return recorded, False
    from pli.core.directory.recipients import installed

    try:
        directory = installed(home)
    except PliError:
        directory = None     # a damaged directory: what the store recorded is all there is to say
    now, refused = stored_revocation(directory, fingerprint, fields.get("x-pli-sender", ""),
                                     fields.get(SIGNED_HEADER.lower(), ""))
    return now or recorded, refused


class UntrustedMaker(PliError):
    """A signed file (a pad, a group secret) made with a key this home does not trust, or no longer trusts."""

    exit_code = 4


def trusted_maker(known: PublicIdentity | None, directory, fingerprint: bytes, what: str) -> PublicIdentity:
    """Whose Ed25519 key `fingerprint` is, as this home trusts it now: the keyring's `known` identity, else the
    directory's entry listing the key; UntrustedMaker when neither does or the directory revoked it.

    For files handed over by hand (pad files, group secrets): they are checked at import, so the key
    must be good now, whatever time the file claims.
    """
    from pli.core.directory import SignerProblem
    from pli.core.directory.recipients import signer

    key = fingerprint.hex()
    now = datetime.now(timezone.utc)
    public = known
    if public is None and directory is not None:
        entry = directory.by_fingerprint(key)
        try:
            public = signer(directory, entry.addresses[0], key, now) if entry and entry.addresses else None
        except SignerProblem as problem:
            raise UntrustedMaker(f"{what} is signed with key {key}, which this home does not trust: {problem}") \
                from None
    if public is None or public.sign_public is None:
        raise UntrustedMaker(f"{what} is signed with key {key}, which is neither in your keyring nor in the "
                             "directory: import its maker's public identity (`pli keys import-public`) if you trust "
                             "them, then import the file again")
    try:
        revocation(directory, key, now, public.address)
    except RevokedSender as revoked:
        raise UntrustedMaker(f"{what}: {revoked}") from None
    return public
