"""What an MSSanté account's fetch lets into the store, its IMAP session, and the stored mail read back as received.

    session = imap_session(home, account, keyring)   # None for an ordinary account: fetch logs in itself
    fetch(home, account, None, incoming, session=session)
    receive(home, None)                              # the import admits the MSSanté tier (admission below)
    raw = as_received(store, message_id)             # the bytes the operator gave (MDNs and reports read these)

MSSanté mail is transport-secured only (docs/MSSANTE.md, "Trust model"): it is
let into the inbox, tagged `mssante`, never `verified`, only when pli fetched it
itself from an account marked `mssante = true` (the incoming file's name says
which: `imap.<account>.<uidvalidity>.<uid>`, core/transport/fetch.py).  Plain
mail from anywhere else (the gateway, an ordinary account, `pli import`) keeps
the rule "only sealed mail"; a pli envelope arriving through an MSSanté account
is opened and verified by the usual import.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

from pli.core import vocab as v
from pli.core.home import Home
from pli.core.store.layout import Layout
from pli.core.store.sources import Source
from pli.core.store.store import Store
from pli.core.store.summary import key_of
from pli.core.store.worker import Admitted
from pli.core.transport.accounts import Account
from pli.core.transport.mssante_account import credentials, load_mss_accounts, open_imap
from pli.core.xdm.received import TIER, read_received

_FETCHED = re.compile(r"imap\.(?P<account>.+)\.\d+\.\d+")


def fetched_from(path: str, incoming: str) -> str:
    """The account a file of the incoming Maildir was fetched from ("" for any other file)."""
    folder, name = os.path.split(path)
    if os.path.dirname(folder) != incoming or os.path.basename(folder) not in ("new", "cur"):
        return ""
    found = _FETCHED.fullmatch(name.split(":", 1)[0])
    return found.group("account") if found else ""


@dataclass(frozen=True)
class MssAdmission:
    """WorkerContext.admit for a home with MSSanté accounts (runs in the import's workers)."""

    accounts: frozenset[str]
    incoming: str

    def __call__(self, source: Source, raw: bytes) -> Admitted | None:
        account = fetched_from(source.path, self.incoming)
        if account not in self.accounts:
            return None
        received = read_received(raw)
        if received.tier != TIER:
            return None
        tags = set(received.tags)
        if received.mdn is not None and not received.is_report:
            tags.add(v.MDN_DUE)
        if received.is_report:             # an MDN or DSN: matched with its Sent copy after the import
            tags |= {v.REPORT, v.REPORT_DUE}
        properties = received.properties + ((v.ACCOUNT_PROPERTY, account),)
        return Admitted(TIER, tuple(sorted(tags)), properties, received.lab)


def admission(home: Home) -> MssAdmission | None:
    """The admission of the home's MSSanté accounts' mail, or None when it has none."""
    names = frozenset(load_mss_accounts(home))
    return MssAdmission(names, str(Layout(home).incoming)) if names else None


def imap_session(home: Home, account: Account, keyring=None):
    """For an MSSanté account, what opens its logged-in IMAP session (checked TLS, its own login); else None."""
    mss = load_mss_accounts(home, {account.name: account}).get(account.name)
    if mss is None:
        return None
    secrets = credentials(home, account, mss, "imap", keyring)
    return lambda: open_imap(mss, secrets)


def as_received(store: Store, message_id: str) -> bytes:
    """A stored MSSanté mail's bytes as the operator gave them (the clear copy has pli's own Message-ID)."""
    return store.layout.sealed_path(key_of(str(store.clear_path(message_id)))).read_bytes()
