"""The keyring of a home: its own identity (and groups it belongs to), correspondents' public keys, its pads.

    home/keyring/secrets           own secret keys (identity + group secrets), sealed with the passphrase
    home/keyring/public.json       own public identity and groups, in clear (for `pli keys show`)
    home/keyring/correspondents.json   correspondents' public identities
    home/pads/                     pads (sealed, see pads.py), the ledger and the seen ranges

    keyring = Keyring.create(home, Identity.generate(id, address, name), passphrase)   # no prompt
    keyring = Keyring.unlock(home, passphrase)            # WrongPassphrase on a wrong one
    keyring.import_public(other.identity.public)          # exchanging public keys between homes
    pad = keyring.new_pad([other_address], size)          # our copy; then for the other holder:
    other.import_pad(keyring.export_pad(pad.id, other_address))

Configurations (see identity.py): a person; a group whose X25519 secret the
members share (`create_group` / `export_group` / `import_group`); a proxy
identity that reads the mail of the addresses it `serves`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pli.core.crypto.claims import Sender, check_claims, signing_time, unknown_sender
from pli.core.crypto.envelope_format import Header
from pli.core.crypto.group_file import group_file, open_group_file
from pli.core.crypto.identity import BadIdentity, Identity, PublicIdentity, check_address
from pli.core.crypto.ledger import Ledger
from pli.core.crypto.pads import PadInfo, PadStore
from pli.core.crypto.vault import KdfParams, Vault, VaultOpenFailed, WrongPassphrase
from pli.core.durable import write_atomic
from pli.core.errors import ConfigError, PliError
from pli.core.home import Home

SECRETS_MAGIC = b"PLIKEYS1"


class NoKeyring(ConfigError):
    """The home has no keyring yet."""

    @classmethod
    def at(cls, home: Home) -> "NoKeyring":
        return cls(f"no keyring in {home.root}: run `pli keys init --id ID --address ADDR --name NAME`")


class KeyringExists(ConfigError):
    """`keys init` on a home that already has a keyring."""


class UnknownRecipient(PliError):
    """An address the keyring has no key for."""

    exit_code = 7


class KeyChanged(PliError):
    """A correspondent's import would replace a different key already trusted for that address."""


@dataclass(frozen=True)
class KeyringFiles:
    """Where a home keeps its keyring and pads."""

    home: Home

    @property
    def secrets(self) -> Path:
        return self.home.keyring / "secrets"

    @property
    def public(self) -> Path:
        return self.home.keyring / "public.json"

    @property
    def correspondents(self) -> Path:
        return self.home.keyring / "correspondents.json"

    @property
    def ledger(self) -> Path:
        return self.home.pads / "ledger"

    @property
    def seen(self) -> Path:
        return self.home.pads / "seen"


class Keyring:
    """An unlocked keyring.  Picklable, so worker processes can open mail with it."""

    def __init__(self, home: Home, vault: Vault, identity: Identity, groups: tuple[Identity, ...],
                 correspondents: dict[str, PublicIdentity], group_makers: dict[str, str] | None = None):
        self.home = home
        self.files = KeyringFiles(home)
        self._vault = vault
        self.identity = identity
        self.groups = groups
        #: Group address -> the signing-key fingerprint (hex) of the member who made the group file we joined
        #: by (ours for a group we created): what shows a group is the practice the directory lists without
        #: a key.  Keyrings from before it was kept have none.
        self.group_makers = dict(group_makers or {})
        self._set_correspondents(correspondents)
        self.pads = PadStore(home.pads, vault)
        self.ledger = Ledger(self.files.ledger)
        #: Who it asks beyond its own keys: nobody (KEYRING_ONLY), or the home's directory
        #: (core/directory/resolve.py's with_directory, which sets it).
        self.resolver: Resolver = KEYRING_ONLY

    def __repr__(self) -> str:
        return f"Keyring({self.home.root}, {self.identity!r})"

    # -- creating and unlocking -----------------------------------------------------------------

    @classmethod
    def create(cls, home: Home, identity: Identity, passphrase: str, kdf_log2n: int | None = None) -> "Keyring":
        """A new keyring holding `identity`, sealed with `passphrase` (no prompt: for scripts and tests)."""
        files = KeyringFiles(home)
        if files.secrets.exists():
            raise KeyringExists(f"{home.root} already has a keyring ({files.secrets}); nothing changed")
        if not passphrase:
            raise WrongPassphrase("an empty passphrase would leave the keys unprotected: choose one")
        home.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        params = KdfParams.new(kdf_log2n)
        keyring = cls(home, Vault.derive(params, passphrase), identity, (), {})
        keyring._params = params
        keyring._save_secrets()
        return keyring

    @classmethod
    def unlock(cls, home: Home, passphrase: str) -> "Keyring":
        data = _read(KeyringFiles(home).secrets, home)
        head = len(SECRETS_MAGIC) + KdfParams.SIZE
        if len(data) < head or data[:len(SECRETS_MAGIC)] != SECRETS_MAGIC:
            raise ConfigError(f"{KeyringFiles(home).secrets} is not a pli keyring (damaged?)")
        params = KdfParams.unpack(data[len(SECRETS_MAGIC):head])
        vault = Vault.derive(params, passphrase)
        try:
            obj = json.loads(vault.open(data[head:], data[:head]))
        except VaultOpenFailed:
            raise WrongPassphrase(f"wrong passphrase for the keyring in {home.root}") from None
        identity = Identity.from_secrets_json(obj["identity"])
        groups = tuple(Identity.from_secrets_json(g) for g in obj.get("groups", []))
        keyring = cls(home, vault, identity, groups, load_correspondents(home), obj.get("group_makers", {}))
        keyring._params = params
        return keyring

    @staticmethod
    def exists(home: Home) -> bool:
        return KeyringFiles(home).secrets.exists()

    # -- own identities ---------------------------------------------------------------------------

    def own_identities(self) -> list[Identity]:
        """The identity and the groups: every X25519 secret this keyring can read with."""
        return [self.identity, *self.groups]

    def readable(self) -> dict[str, Identity]:
        """Address -> the identity whose X25519 secret opens mail sealed to that address."""
        found = {self.identity.public.address: self.identity}
        found.update({a: self.identity for a in self.identity.public.serves})
        found.update({g.public.address: g for g in self.groups})
        return found

    def create_group(self, id: str, address: str, name: str) -> Identity:
        """A new group identity this keyring belongs to (export its secret to the other members)."""
        maker = self.identity.public.signing_fingerprint.hex()
        self._check_group_address(check_address(address), None, maker)
        group = Identity.generate(id, address, name, kind="group")
        self.add_group(group, maker)
        return group

    def add_group(self, group: Identity, maker: str = "") -> None:
        """Hold `group`, made by the member whose signing-key fingerprint is `maker` (hex; "" unknown)."""
        if group.public.kind != "group":
            raise BadIdentity(f"{group.public.address} is not a group identity")
        self.groups = tuple(g for g in self.groups if g.public.address != group.public.address) + (group,)
        if maker:
            self.group_makers[group.public.address] = maker
        self._save_secrets()

    def export_group(self, group_address: str, member: PublicIdentity) -> bytes:
        """The group's secret sealed to `member`'s X25519 key and signed by us, for `import_group` in their home."""
        group = next((g for g in self.groups if g.public.address == group_address.lower()), None)
        if group is None:
            raise UnknownRecipient(f"this keyring belongs to no group {group_address}")
        return group_file(group, member, self.identity)

    def import_group(self, blob: bytes) -> Identity:
        """Join the group a file made for us hands over (see `import_group_from`)."""
        return self.import_group_from(blob)[0]

    def import_group_from(self, blob: bytes) -> tuple[Identity, PublicIdentity]:
        """Join the group a signed group file hands to us; the group and the member who made the file.

        The maker's key must be one this home trusts (keyring or directory, not revoked), and the
        group may not take an address someone else holds: groups are looked up before correspondents,
        so a group under a correspondent's address would read the mail meant for them.  The same
        group again changes nothing; another group under an address we already use is refused.
        """
        group, maker = open_group_file(blob, self.own_identities(), self.trusted_maker("this group secret file"))
        made_by = maker.signing_fingerprint.hex()
        held = next((g for g in self.groups if g.public.address == group.public.address), None)
        if held is not None:
            if held != group:
                raise KeyChanged(f"this keyring already belongs to a different group {group.public.address}: "
                                 "a group is never replaced silently; nothing imported")
            if group.public.address not in self.group_makers:      # a keyring from before makers were kept
                self.add_group(held, made_by)
            return held, maker
        self._check_group_address(group.public.address, group.public.agree_public, made_by)
        self.add_group(group, made_by)
        return group, maker

    def _check_group_address(self, address: str, agree_public: bytes | None, maker: str) -> None:
        """BadIdentity unless `address` is free for a group made by `maker` (group_address_taken)."""
        taken = self.group_address_taken(address, agree_public, maker)
        if taken:
            raise BadIdentity(f"a group cannot take the address {address}: it is {taken}, whose mail it would "
                              "then read; nothing imported or created")

    def group_address_taken(self, address: str, agree_public: bytes | None, maker: str | None = None) -> str:
        """Who else holds `address`, which a group with X25519 key `agree_public` (None: a new group), made by
        the member with signing-key fingerprint `maker` (hex; "" unknown; None: the maker this keyring recorded
        for its group there), takes or would take: ours, a correspondent's, the directory's; "" if nobody.

        The directory's entry is the same group when it lists the group's key, or when it lists a group
        practice without a key of its own of which `maker` is a member: its members then share the key by hand.
        """
        me = self.identity.public
        maker = self.group_makers.get(address, "") if maker is None else maker
        taken = None
        if address == me.address or address in me.serves:
            taken = "your own address"
        elif any(g.public.address == address for g in self.groups) and agree_public is None:
            taken = "one of your groups"
        else:
            known = self._correspondents.get(address)
            if known is not None and (agree_public is None or known.agree_public != agree_public):
                taken = f"your correspondent {known.name} ({known.fingerprint})"
            directory = self.installed_directory()
            entry = directory.by_address(address) if directory is not None else None
            if taken is None and entry is not None and not any(
                    k.key.alg == "x25519" and k.revoked is None and k.key.raw == agree_public for k in entry.keys) \
                    and not _made_by_a_member(directory, entry, maker):
                taken = f"{entry.name} in the directory"
        return taken or ""

    def trusted_maker(self, what: str):
        """The check a signed file's maker key goes through (the resolver's trusted_maker)."""
        return lambda fingerprint: self.resolver.trusted_maker(self, fingerprint, what)

    # -- correspondents ---------------------------------------------------------------------------

    def correspondents(self) -> list[PublicIdentity]:
        return sorted(self._correspondents.values(), key=lambda c: c.address)

    def reload(self) -> None:
        """Re-read the correspondents (another process may have imported keys)."""
        self._set_correspondents(load_correspondents(self.home))

    def import_public(self, public: PublicIdentity, replace: bool = False) -> None:
        """Trust `public` for its address (see `trust_public`)."""
        self._set_correspondents(trust_public(self.home, public, replace))

    def _set_correspondents(self, correspondents: dict[str, PublicIdentity]) -> None:
        self._correspondents = correspondents
        self._by_signing_key: dict[bytes, PublicIdentity] | None = None  # built at the first sender()

    def sender(self, signing_fingerprint: bytes) -> PublicIdentity | None:
        """Whose signing key has this fingerprint: a correspondent, or ourselves.

        Asked once per message opened: a fingerprint is a SHA-256, so the table is
        built once rather than every correspondent's fingerprint hashed per message.
        """
        if self._by_signing_key is None:
            table = {p.signing_fingerprint: p for p in self._correspondents.values() if p.sign_public}
            if self.identity.public.sign_public:
                table[self.identity.public.signing_fingerprint] = self.identity.public  # ourselves first
            self._by_signing_key = table
        return self._by_signing_key.get(signing_fingerprint)

    def installed_directory(self):
        """The home's installed directory as the resolver sees it: None without one, or without a resolver
        that reads it (or when it is damaged: keyring keys still work)."""
        return self.resolver.directory(self)

    def reach(self, address: str) -> PublicIdentity:
        """The public identity whose key seals mail to `address` (UnknownRecipient when nobody has one)."""
        return self.resolver.reach(self, address)

    def expand(self, address: str) -> list[str]:
        """The addresses mail to `address` is sealed for: itself, or a keyless directory group's members."""
        return self.resolver.expand(self, address)

    def sender_of(self, header: Header) -> Sender:
        """Who signed an envelope with this header, its claims checked (UnknownSender, RevokedSender)."""
        return self.resolver.sender(self, header)

    def reach_keyring(self, address: str) -> PublicIdentity | None:
        """The keyring's own answer for `address`: ours, a group's, a correspondent's or a proxy's key."""
        publics = [self.identity.public, *(g.public for g in self.groups), *self._correspondents.values()]
        for public in publics:
            if public.address == address:
                return public
        for public in publics:
            if address in public.serves:
                return public
        return None

    # -- pads -------------------------------------------------------------------------------------

    def new_pad(self, others: list[str], size: int, **kwargs) -> PadInfo:
        """A pad held by us (lane 0) and `others` (lanes 1.., in order); our copy is stored."""
        for address in others:
            self.reach(address)  # fail now, not when exporting, if a holder is unknown
        return self.pads.create([self.identity.public.address, *others], size, **kwargs)

    def export_pad(self, pad_id: bytes, holder_address: str) -> bytes:
        """The pad's transport file for one of its holders, signed by our identity."""
        return self.pads.export(pad_id, self.reach(holder_address), self.identity)

    def import_pad(self, data: bytes) -> PadInfo:
        return self.import_pad_from(data)[0]

    def import_pad_from(self, data: bytes) -> tuple[PadInfo, PublicIdentity]:
        """Store a signed pad file made for us (or a group of ours): the pad, and who made it."""
        return self.pads.import_transport(data, self.own_identities(), self.trusted_maker("this pad file"))

    def export_public(self) -> bytes:
        return self.identity.public.export()

    # -- files ------------------------------------------------------------------------------------

    def _save_secrets(self) -> None:
        params = getattr(self, "_params", None)
        if params is None:
            params = KdfParams.unpack(_read(self.files.secrets, self.home)[8:8 + KdfParams.SIZE])
        head = SECRETS_MAGIC + params.pack()
        obj = {"identity": self.identity.secrets_json(), "groups": [g.secrets_json() for g in self.groups],
               "group_makers": self.group_makers}
        write_atomic(self.files.secrets, head + self._vault.seal(json.dumps(obj).encode("utf-8"), head))
        public = {"identity": self.identity.public.to_json(), "groups": [g.public.to_json() for g in self.groups]}
        write_atomic(self.files.public, json.dumps(public, indent=2, ensure_ascii=False).encode("utf-8"))


def _made_by_a_member(directory, entry, maker: str) -> bool:
    """Whether `entry` is a group practice listed without a key-agreement key of its own and `maker` (a
    signing-key fingerprint, hex) a live key of one of its members there."""
    if not maker or entry.kind != "group" or any(k.key.alg == "x25519" and k.revoked is None for k in entry.keys):
        return False
    member = directory.by_fingerprint(maker)
    key = member.key_by_fingerprint(maker) if member is not None else None
    return key is not None and key.key.alg == "ed25519" and key.revoked is None and entry.id in member.groups


def public_view(home: Home) -> tuple[PublicIdentity, list[PublicIdentity]]:
    """Own public identity and groups, without the passphrase."""
    try:
        obj = json.loads(_read(KeyringFiles(home).public, home))
        return (PublicIdentity.from_json(obj["identity"], "the keyring"),
                [PublicIdentity.from_json(g, "the keyring") for g in obj.get("groups", [])])
    except (ValueError, KeyError, TypeError):
        raise ConfigError(f"{KeyringFiles(home).public} is damaged: run `pli keys show` after unlocking") from None


def trust_public(home: Home, public: PublicIdentity, replace: bool = False) -> dict[str, PublicIdentity]:
    """Add `public` to the home's correspondents; refuses to silently replace a different key (KeyChanged),
    and an address one of the home's groups holds under another key (BadIdentity): groups are looked up
    first, so the correspondent would never get the mail meant for them."""
    groups = public_view(home)[1] if KeyringFiles(home).public.exists() else []
    group = next((g for g in groups if g.address == public.address and g.agree_public != public.agree_public), None)
    if group is not None:
        raise BadIdentity(f"{public.address} is the address of your group {group.name} ({group.fingerprint}): "
                          "mail to it is sealed to the group, so a correspondent under it would never get theirs; "
                          "nothing imported. Check the address with them")
    current = load_correspondents(home)
    old = current.get(public.address)
    if old is not None and old != public and not replace:
        raise KeyChanged(f"{public.address} already has a different key (fingerprint {old.fingerprint}); "
                         "check with the correspondent, then import again with --replace")
    current[public.address] = public
    save_correspondents(home, current)
    return current


def load_correspondents(home: Home) -> dict[str, PublicIdentity]:
    path = KeyringFiles(home).correspondents
    try:
        items = json.loads(path.read_bytes())
    except FileNotFoundError:
        return {}
    except ValueError:
        raise ConfigError(f"{path} is damaged (not JSON): restore it or import the keys again") from None
    found = {}
    for obj in items if isinstance(items, list) else []:
        public = PublicIdentity.from_json(obj, str(path))
        found[public.address] = public
    return found


def save_correspondents(home: Home, correspondents: dict[str, PublicIdentity]) -> None:
    items = [c.to_json() for c in sorted(correspondents.values(), key=lambda c: c.address)]
    write_atomic(KeyringFiles(home).correspondents, json.dumps(items, indent=1, ensure_ascii=False).encode())


def _read(path: Path, home: Home) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise NoKeyring.at(home) from None


class UntrustedMaker(PliError):
    """A signed file (a pad, a group secret) made with a key this home does not trust, or no longer trusts."""

    exit_code = 4


class Resolver:
    """What a keyring asks when it must look beyond its own keys.  This one, KEYRING_ONLY, looks nowhere
    else; core/directory/resolve.py's DirectoryResolver asks the home's directory too."""

    def reach(self, keyring: Keyring, address: str) -> PublicIdentity:
        address = check_address(address)
        found = keyring.reach_keyring(address)
        if found is None:
            raise UnknownRecipient(f"no key for {address}: it is not in your keyring; check the spelling, or "
                                   "import their public identity with `pli keys import-public FILE`")
        return found

    def expand(self, keyring: Keyring, address: str) -> list[str]:
        return [check_address(address)]

    def sender(self, keyring: Keyring, header: Header) -> Sender:
        signing_time(header)   # Malformed when no calendar holds it, whoever signed
        public = keyring.sender(header.sender_fingerprint)
        if public is None:
            raise unknown_sender(header)
        check_claims(header, public)
        return Sender(public)

    def trusted_maker(self, keyring: Keyring, fingerprint: bytes, what: str) -> PublicIdentity:
        public = keyring.sender(fingerprint)
        if public is None or public.sign_public is None:
            raise UntrustedMaker(f"{what} is signed with key {fingerprint.hex()}, which is not in your keyring: "
                                 "import its maker's public identity (`pli keys import-public`) if you trust "
                                 "them, then import the file again")
        return public

    def directory(self, keyring: Keyring):
        return None


KEYRING_ONLY = Resolver()
