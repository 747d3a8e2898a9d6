"""What compose needs to know of correspondents: who matches what is typed, how each recipient is sealed.

One small adapter over the keyring, the installed directory and the imported
MSSanté extract (an address pli has no key for but the extract lists goes as
MSSanté mail: core/mail/routing.py), so that the screens never reach into the
envelope's or the directories' internals.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from pli.core.crypto.envelope import preview
from pli.core.crypto.keyring import UnknownRecipient
from pli.core.directory import fold
from pli.core.directory.mssante_index import MSSANTE, MssDirectory, reach
from pli.core.directory.recipients import installed
from pli.core.errors import PliError
from pli.core.transport.accounts import AccountError, load_accounts, routed
from pli.core.transport.mssante_account import load_mss_accounts

MSSANTE_SOURCE = "MSSanté"    # a Candidate from the imported MSSanté extract
UNKNOWN = "unknown address (not in your keyring or the directory: check the spelling)"


@dataclass(frozen=True)
class Candidate:
    """Someone the To: field can complete to."""

    address: str
    name: str
    who: str            # profession or specialty, organisation, town ("" when unknown)
    source: str         # "keyring" | "directory" | "MSSanté" (the imported extract: transport-secured only)

    def label(self) -> str:
        details = f" · {self.who}" if self.who else ""
        return f"{self.name} <{self.address}>{details}"


@dataclass(frozen=True)
class RecipientStatus:
    """How one address of the To: field will be sealed, or why it cannot be."""

    address: str
    mode: str | None    # "otp" | "stream" (the whole message's), MSSANTE (not sealed: MSSanté mail, see route);
                        # None: cannot be sent to (see problem)
    name: str = ""
    who: str = ""
    problem: str = ""
    wrap: str = ""      # how its key travels: "content-pad" (otp), "pad" (a shared pad), "x25519"
    members: tuple[str, ...] = ()   # a keyless group practice: sealed for each of these
    account: str = ""   # the mail account that submits it (send_to rules, else the default); "" when none can
    account_problem: str = ""       # why no account can (no account, no rule and no default...)
    route: str = ""     # MSSANTE: the plan's words and why ("MSSanté (transport-secured)", not in pli's directory)

    @property
    def mssante(self) -> bool:
        return self.mode == MSSANTE


def describe(entry) -> str:
    """A directory entry in a few words: "Cardiologie, Cabinet des Tilleuls, Lyon"."""
    return ", ".join(x for x in (entry.specialty or entry.profession, entry.organisation, entry.town) if x)


def directory_of(keyring):
    """The home's installed directory, or None (none installed, or unreadable: the keyring still works)."""
    if keyring is None:
        return None
    try:
        return installed(keyring.home)
    except PliError:
        return None


def candidates(keyring, term: str, limit: int = 8) -> list[Candidate]:
    """Keyring correspondents, then directory entries, matching every word of `term` (name, town, specialty,
    identifier, address), each once."""
    words = fold(term).split()
    if keyring is None or not words:
        return []
    directory = directory_of(keyring)
    found: dict[str, Candidate] = {}
    for public in [*keyring.correspondents(), *(g.public for g in keyring.groups)]:
        entry = directory.by_address(public.address) if directory is not None else None
        hay = fold(" ".join((public.name, public.address, public.id, describe(entry) if entry else "")))
        if all(w in hay for w in words):
            found[public.address] = Candidate(public.address, public.name, describe(entry) if entry else "",
                                              "keyring")
    for entry in directory.search(term, limit=limit * 2) if directory is not None else []:
        for address in entry.addresses[:1]:
            found.setdefault(address, Candidate(address, entry.name, describe(entry), "directory"))
    if len(found) < limit:
        for mailbox in _mssante_matches(keyring.home, words, limit * 2):
            found.setdefault(mailbox.address, Candidate(mailbox.address, _mailbox_name(mailbox),
                                                        _mailbox_who(mailbox), MSSANTE_SOURCE))
    return list(found.values())[:limit]


def _mssante_matches(home, words: list[str], limit: int) -> list:
    """Mailboxes of the imported MSSanté extract matching every word: the index completes the longest word (an
    address, family or given name starting so), the others are looked for in what it found."""
    index = _mssante_index(home)
    if index is None:
        return []
    try:
        found = index.complete(max(words, key=len), limit=limit)
    finally:
        index.close()
    return [m for m in found
            if all(w in fold(" ".join((m.address, m.family, m.given, _mailbox_who(m)))) for w in words)]


def _mssante_index(home):
    """The imported MSSanté extract, opened (SQLite: well under a millisecond), or None (none, or damaged:
    `pli doctor` says so; completion and the plan go on without it)."""
    if home is None or not home.mssante_index.exists():
        return None
    try:
        return MssDirectory(home.mssante_index)
    except PliError:
        return None


def _mailbox_name(mailbox) -> str:
    return " ".join(x for x in (mailbox.given, mailbox.family) if x) or mailbox.organisation or mailbox.address


def _mailbox_who(mailbox) -> str:
    return ", ".join(x for x in (mailbox.specialty or mailbox.profession, mailbox.service, mailbox.organisation,
                                 mailbox.town) if x)


def complete_address(keyring, prefix: str) -> list[str]:
    """Addresses starting with `prefix` (the To: field's inline completion)."""
    if keyring is None or not prefix:
        return []
    lowered = prefix.lower()
    known = [c.address for c in keyring.correspondents()] + [g.public.address for g in keyring.groups]
    directory = directory_of(keyring)
    if directory is not None:
        known += [a for e in directory.complete(prefix) for a in e.addresses]
    pli = sorted({a for a in known if a.startswith(lowered)})
    index = _mssante_index(keyring.home)
    if index is None:
        return pli
    try:
        mssante = sorted({m.address for m in index.complete(lowered) if m.address.startswith(lowered)} - set(pli))
    finally:
        index.close()
    return pli + mssante          # pli's own first: the suggester offers the first that fits


def statuses(keyring, addresses: list[str], size: int = 0) -> list[RecipientStatus]:
    """How each address will be sealed (one plan for the whole message, as `seal` makes it) and who it is,
    or the one-line reason it cannot be sealed to."""
    checked = _mssante_routes(keyring, [_check(keyring, a) for a in addresses])
    good = [c.address for c in checked if c.mode not in (None, MSSANTE)]
    if not good:
        return checked
    try:
        plan = preview(keyring, good, size)
    except PliError as error:   # e.g. a pad being written meanwhile: say so on every line
        return [c if c.mode in (None, MSSANTE) else replace(c, mode=None, problem=str(error)) for c in checked]
    wraps = dict(plan.wraps)
    accounts = _accounts(keyring.home, list(wraps))
    return [c if c.mode in (None, MSSANTE) else replace(c, mode=plan.mode, wrap=_wrap_of(c, wraps),
                                                         **_account_of(c, accounts))
            for c in checked]


def status(keyring, address: str) -> RecipientStatus:
    """One address alone (the send check): its status as if it were the only recipient."""
    return statuses(keyring, [address])[0]


def _check(keyring, address: str) -> RecipientStatus:
    """Whether `address` has a key to seal to (its members' for a keyless group), and who it is."""
    if keyring is None:
        return RecipientStatus(address, None, problem="the keyring is locked")
    name, who = _who(keyring, address)
    try:
        members = keyring.expand(address)
        for member in members:
            keyring.reach(member)
    except UnknownRecipient:
        return RecipientStatus(address, None, problem=UNKNOWN)
    except PliError as error:
        return RecipientStatus(address, None, name, who, problem=str(error))
    grouped = tuple(members) if members != [address.strip().lower()] else ()
    return RecipientStatus(address, "pending", name, who, members=grouped)


def _mssante_routes(keyring, checked: list[RecipientStatus]) -> list[RecipientStatus]:
    """An address pli has no key for but the imported MSSanté extract lists goes as MSSanté mail (reach(): the
    one rule, core/directory/mssante_index.py), through the MSSanté account."""
    unknown = [c for c in checked if c.problem == UNKNOWN]
    if not unknown or not keyring.home.mssante_index.exists():
        return checked
    try:
        index = MssDirectory(keyring.home.mssante_index)
    except PliError as error:    # damaged: the address may be listed there, say so (completion just goes without)
        return [replace(c, problem=f"{c.problem}; {error}") if c.problem == UNKNOWN else c for c in checked]
    try:
        found = {c.address: index.lookup(c.address) for c in unknown}
    finally:
        index.close()
    routes = {a: reach(a, sealed=False, mailbox=m) for a, m in found.items()}
    if not any(r.tier == MSSANTE for r in routes.values()):
        return checked
    account = _mss_account(keyring.home)
    return [replace(c, mode=MSSANTE, name=_mailbox_name(found[c.address]), who=_mailbox_who(found[c.address]),
                    problem="", route=f"{routes[c.address].label}: {routes[c.address].why}", **account)
            if c.address in routes and routes[c.address].tier == MSSANTE else c
            for c in checked]


def _mss_account(home) -> dict:
    """The MSSanté account that submits MSSanté mail (the only one; several: `pli send --account` chooses)."""
    try:
        names = list(load_mss_accounts(home))
    except PliError as error:
        return {"account_problem": str(error)}
    if not names:
        return {"account_problem": "no MSSanté account: mark one account `mssante = true` in config.toml "
                                   "(docs/MSSANTE.md)"}
    if len(names) > 1:
        return {"account_problem": f"several MSSanté accounts ({', '.join(names)}): send it with "
                                   "`pli send message --account NAME`"}
    return {"account": names[0]}


def _accounts(home, addresses: list[str]) -> dict:
    try:
        if not load_accounts(home):
            return dict.fromkeys(addresses, AccountError("no mail account: it waits in the outbox"))
        return routed(home, addresses)
    except PliError as error:          # config.toml unreadable: the plan says so, sealing still works
        return {a: error for a in addresses}


def _account_of(status: RecipientStatus, accounts: dict) -> dict:
    """The account(s) its addresses (a keyless group's members) are submitted through, or why none."""
    found = [accounts.get(m) for m in (status.members or (status.address.strip().lower(),))]
    problems = [str(a) for a in found if isinstance(a, Exception)]
    if problems:
        return {"account_problem": problems[0]}
    return {"account": ", ".join(dict.fromkeys(a.name for a in found if a is not None))}


def _wrap_of(status: RecipientStatus, wraps: dict[str, str]) -> str:
    kinds = {wraps.get(m, "") for m in (status.members or (status.address.strip().lower(),))}
    return kinds.pop() if len(kinds) == 1 else "mixed"


def _who(keyring, address: str) -> tuple[str, str]:
    directory = directory_of(keyring)
    entry = directory.by_address(address) if directory is not None else None
    if entry is not None:
        return entry.name, describe(entry)
    public = next((c for c in keyring.correspondents() if c.address == address.strip().lower()), None)
    return (public.name, "") if public is not None else ("", "")


def own_address(keyring) -> str:
    me = keyring.identity.public
    return f"{me.name} <{me.address}>" if me.name else me.address
