"""Who a recipient is and who signed: the keyring first, then the installed directory, with its revocations.

The one place a recipient's key or a signing key is looked up beyond the keyring
and the directory's revocations applied.  Every path that trusts a signature
comes here: opening (`pli open`, the import behind `pli new`, `pli import` and
`pli fetch`, receipts, which are imported mail), the gateway's check (Trust),
the TUI and `pli show` for messages stored before a revocation was known
(`check_stored`), and the import of signed pad and group files (`trusted_maker`).
Sealing comes here for its recipients (`reach`, `expand`).

    keyring = unlock(home)                     # the keyring, resolving through the home's directory
    keyring = with_directory(keyring)          # the same, for a keyring unlocked by other means
    sender = sender_of(header, keyring.sender(fpr), directory)   # Sender, or an OpenError

A keyring on its own (core/crypto/keyring.py) knows only its keys; with_directory
gives it a DirectoryResolver, which crypto calls without importing this layer.

The key is looked up in the keyring (correspondents, ourselves) first, else in
the installed directory (signed by the trust anchor).  Wherever it was found,
a key the directory revoked is then judged by the envelope's signing time
(docs/DIRECTORY.md): revoked for that time (a superseded or retired key from
its revocation date on, a compromised key whatever the claimed time, since a
thief can backdate) is refused, RevokedSender ("revoked-key"); revoked only
later is accepted with a warning the message is shown with.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from pli.core.crypto.claims import Sender, check_claims, signing_time, unknown_sender
from pli.core.crypto.envelope_format import Header
from pli.core.crypto.identity import PublicIdentity, check_address
from pli.core.crypto.keyring import (Keyring, KeyringFiles, UnknownRecipient, UntrustedMaker, load_correspondents,
                                     public_view)
from pli.core.crypto.passphrase import unlock as unlock_keyring
from pli.core.crypto.refusals import RevokedSender, UnknownSender
from pli.core.directory import recipients
from pli.core.directory.directory import RevokedSigner, SignerProblem
from pli.core.directory.local import anchor_path, load_directory
from pli.core.directory.stored import (SIGNED_HEADER, WARNING_HEADER, WARNING_TAG, check_stored, revocation,
                                       stored_revocation)
from pli.core.errors import PliError
from pli.core.home import Home


def sender_of(header: Header, known: PublicIdentity | None, directory) -> Sender:
    """The sender of an envelope with this header whose key the keyring knows as `known` (None: it does not).

    UnknownSender when neither the keyring nor the directory gives that key to the
    claimed address and id; RevokedSender when the directory revoked it for the signing time.
    """
    fingerprint = header.sender_fingerprint.hex()
    when = signing_time(header)
    public = known if known is not None else _from_directory(directory, header, fingerprint, when)
    if public is None:
        raise unknown_sender(header)
    check_claims(header, public)
    return Sender(public, revocation(directory, fingerprint, when, header.sender_address))


def signed_value(timestamp: int) -> str:
    """SIGNED_HEADER's value for an envelope timestamp."""
    return datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _from_directory(directory, header: Header, fingerprint: str, when: datetime) -> PublicIdentity | None:
    """A sender the keyring does not know, as the directory lists them (None: the key is not listed)."""
    if directory is None:
        return None
    try:
        return recipients.signer(directory, header.sender_address, fingerprint, when)
    except RevokedSigner as error:
        raise RevokedSender(str(error), revoked=error.revoked, why=error.revocation_reason or "") from None
    except SignerProblem as error:
        raise UnknownSender(str(error)) from None


def trusted_maker(known: PublicIdentity | None, directory, fingerprint: bytes, what: str) -> PublicIdentity:
    """Whose Ed25519 key `fingerprint` is, as this home trusts it now: the keyring's `known` identity, else the
    directory's entry listing the key; UntrustedMaker when neither does or the directory revoked it.

    For files handed over by hand (pad files, group secrets): they are checked at import, so the key
    must be good now, whatever time the file claims.
    """
    key = fingerprint.hex()
    now = datetime.now(timezone.utc)
    public = known
    if public is None and directory is not None:
        entry = directory.by_fingerprint(key)
        try:
            public = recipients.signer(directory, entry.addresses[0], key, now) if entry and entry.addresses else None
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


# -- recipients ---------------------------------------------------------------------------------------


def reach(keyring: Keyring, address: str) -> PublicIdentity:
    """The public identity whose key seals mail to `address`: keyring first, then the installed directory.

    The keyring answers with its own, a group's or a proxy's key; an address
    it does not know is looked up in the directory (signed by the trust
    anchor, so its keys are trusted).  A key the directory revokes is never
    returned: the directory's newer key replaces it, else RevokedRecipient.
    """
    address = check_address(address)
    found = keyring.reach_keyring(address)
    if found is not None and found.kind == "group":
        _check_group_still_alone(keyring, found)
    directory = _directory(keyring.home, required=found is None)
    if found is None:
        found = recipients.reach(directory, address) if directory is not None else None
        if found is None:
            raise UnknownRecipient(f"no key for {address}: it is neither in your keyring nor in the directory; "
                                   "check the spelling, look it up with `pli dir search`, or import their "
                                   "public identity with `pli keys import-public FILE`")
    elif directory is not None:
        try:
            recipients.check_not_revoked(directory, found)
        except recipients.RevokedRecipient:
            newer = recipients.reach(directory, address)   # RevokedRecipient again if there is no newer key
            if newer is None or newer.agree_public == found.agree_public:
                raise
            return newer
    return found


def _check_group_still_alone(keyring: Keyring, group: PublicIdentity) -> None:
    """UnknownRecipient when someone was given a group's address after the group joined the keyring (the
    directory lists it now, say): mail to it would be sealed to the group, which would read theirs."""
    taken = keyring.group_address_taken(group.address, group.agree_public)
    if taken:
        raise UnknownRecipient(f"{group.address} is the address of your group {group.name}, and now also of "
                               f"{taken}: nothing is sealed to it, since the group would read mail meant for "
                               "them; check with the group's members and your directory authority")


def expand(keyring: Keyring, address: str) -> list[str]:
    """The addresses mail to `address` is sealed for: itself, or a keyless directory group's members."""
    address = check_address(address)
    if keyring.reach_keyring(address) is not None:
        return [address]
    directory = _directory(keyring.home, required=False)
    return recipients.expand(directory, address) if directory is not None else [address]


def _directory(home: Home, required: bool):
    """The home's installed directory or None; a damaged one only matters when it is `required`."""
    try:
        return recipients.installed(home)
    except PliError:
        if required:
            raise
        return None


class DirectoryResolver:
    """What a keyring asks beyond its own keys (core/crypto/keyring.py's Resolver): the home's directory.
    Holds nothing but code, so a keyring with it still pickles for the import's worker processes."""

    def reach(self, keyring: Keyring, address: str) -> PublicIdentity:
        return reach(keyring, address)

    def expand(self, keyring: Keyring, address: str) -> list[str]:
        return expand(keyring, address)

    def sender(self, keyring: Keyring, header: Header) -> Sender:
        return sender_of(header, keyring.sender(header.sender_fingerprint), self.directory(keyring))

    def trusted_maker(self, keyring: Keyring, fingerprint: bytes, what: str) -> PublicIdentity:
        return trusted_maker(keyring.sender(fingerprint), self.directory(keyring), fingerprint, what)

    def directory(self, keyring: Keyring):
        return _directory(keyring.home, required=False)


def with_directory(keyring: Keyring) -> Keyring:
    """`keyring`, now resolving recipients and senders through its home's directory too."""
    keyring.resolver = DirectoryResolver()
    return keyring


def unlock(home: Home) -> Keyring:
    """The home's keyring, unlocked with the passphrase (core/crypto/passphrase.py), resolving through the
    directory."""
    return with_directory(unlock_keyring(home))


# -- a verifier holding only public keys ----------------------------------------------------------------


@dataclass
class Trust:
    """The public keys a verifier trusts: a checked directory and/or a list of public identities.

    Correspondents (keys exchanged by hand) are looked up first, then the
    directory; the directory's revocations apply to both (sender_of).
    core/crypto/verify.py's verify_mail asks it for the key that must have signed.
    """

    directory: object | None = None                                  # pli.core.directory.Directory
    correspondents: dict[bytes, PublicIdentity] = field(default_factory=dict)   # by signing fingerprint
    _keys: dict[bytes, Ed25519PublicKey] = field(default_factory=dict, repr=False)

    @classmethod
    def of_home(cls, home: Home) -> "Trust":
        """The installed directory (if the home trusts an authority) and the home's correspondents."""
        directory = load_directory(home) if anchor_path(home).exists() else None
        publics = list(load_correspondents(home).values())
        if KeyringFiles(home).public.exists():
            me, _groups = public_view(home)
            publics.append(me)
        return cls.of(publics, directory)

    @classmethod
    def of(cls, publics: list[PublicIdentity], directory=None) -> "Trust":
        return cls(directory, {p.signing_fingerprint: p for p in publics if p.sign_public})

    def signer_key(self, header: Header) -> Ed25519PublicKey:
        """The key that must have signed an envelope with this header; UnknownSender / RevokedSender.

        The claims (address, id, signing time) and the directory's revocations are
        checked every time (sender_of); only the key objects are cached, by their raw bytes.
        """
        raw = sender_of(header, self.correspondents.get(header.sender_fingerprint), self.directory).public.sign_public
        key = self._keys.get(raw)
        if key is None:
            key = self._keys[raw] = Ed25519PublicKey.from_public_bytes(raw)
        return key
