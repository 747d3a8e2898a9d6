"""A home's check-up (`pli doctor`): each part of the home looked at, each problem with the command that fixes it.

    findings = check_home(home, unlock=try_unlock, online=False)
    for f in findings: print(f.area, f.status, f.text, f.fix)

A check never stops the others: whatever it raises becomes its finding.
"fail" is something broken or refused (the doctor exits 1); "warn" is
something to do (a pad running low, mail waiting, a directory growing old)
or a part this home does not have; "ok" says what was checked and found.
Nothing here asks a question: the caller decides how the keyring is opened.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone

from pli.core.audit import verify
from pli.core.audit.entry import JournalTampered
from pli.core.crypto.keyring import Keyring, load_correspondents, public_view
from pli.core.crypto.passphrase import NoPassphrase
from pli.core.crypto.vault import WrongPassphrase
from pli.core.config import config_section
from pli.core.directory.local import anchor_path, installed_path, verified_installed
from pli.core.directory.mssante_index import MssDirectory, MssDirectoryError
from pli.core.errors import PliError
from pli.core.home import Home
from pli.core.plural import counted
from pli.core.store import Store
from pli.core.store.layout import Layout
from pli.core.transport import fetch, submission
from pli.core.transport.accounts import AccountError, load_accounts
from pli.core.transport.mssante_account import (MssAccount, credentials, is_mssante, mssante_account, open_imap,
                                                open_smtp)
from pli.core.transport.oauth_token import TokenCommandFailed
from pli.core.transport.outbox import pending
from pli.core.transport.sasl import LoginRefused
from pli.core.transport.secrets import is_stored
from pli.core.transport.tls import (BadClientCertificate, ClientCertificateRejected, ExpiredServerCertificate,
                                    HostnameMismatch, UntrustedServer, client_context)

#: A directory older than this is worth refreshing (authorities publish revocations with each issue).
DIRECTORY_MAX_AGE_DAYS = 31


@dataclass(frozen=True)
class Finding:
    area: str            # "keyring", "pads", "directory", "trace", "store", "outbox", "account NAME"...
    status: str          # "ok" | "warn" | "fail"
    text: str
    fix: str = ""        # the command (or setting) that fixes it


def check_home(home: Home, unlock: Callable[[Home], object] | None = None, online: bool = False,
               now: datetime | None = None) -> list[Finding]:
    """Every check of the home, in the order a person reads them.

    `unlock(home)` returns the unlocked keyring (or raises: NoPassphrase and
    WrongPassphrase are findings too); None checks only what needs no secret.
    `online`: also connect to each account's servers.
    """
    now = now or datetime.now(timezone.utc)
    findings: list[Finding] = []
    keyring = _guarded(findings, "keyring", lambda: _keyring(home, unlock, findings))
    if keyring is not None:
        _guarded(findings, "pads", lambda: findings.extend(_pads(keyring)))
    for area, check in (("directory", lambda: _directory(home, now)),
                        ("mssante directory", lambda: _mssante_directory(home)), ("trace", lambda: _trace(home)),
                        ("store", lambda: _store(home)), ("outbox", lambda: _outbox(home)),
                        ("accounts", lambda: _accounts(home, keyring, online))):
        _guarded(findings, area, lambda check=check: findings.extend(check()))
    return findings


def _guarded(findings: list[Finding], area: str, check):
    """Run one check; what it raises is its finding (a PliError's message, else only the error's type)."""
    try:
        return check()
    except PliError as error:
        findings.append(Finding(area, "fail", error.message))
    except OSError as error:
        findings.append(Finding(area, "fail", f"{error.strerror or type(error).__name__}"
                                              f"{f' ({error.filename})' if error.filename else ''}"))
    except Exception as error:  # noqa: BLE001 - a check-up reports; the message might quote data
        findings.append(Finding(area, "fail", f"unexpected {type(error).__name__} (rerun with PLI_DEBUG=1)"))
        if os.environ.get("PLI_DEBUG"):
            raise
    return None


# -- keyring and pads -----------------------------------------------------------------------------------


def _keyring(home: Home, unlock, findings: list[Finding]):
    if not Keyring.exists(home):
        findings.append(Finding("keyring", "warn", "no keyring: this home can neither seal nor open mail "
                                                  "(a gateway's trust home needs none)",
                                "pli keys init --id ID --address ADDR --name NAME"))
        return None
    me, groups = public_view(home)
    known = counted(len(load_correspondents(home)), "correspondent")
    who = f"{me.address} (fingerprint {me.fingerprint}), {counted(len(groups), 'group')}, {known}"
    if unlock is None:
        findings.append(Finding("keyring", "ok", f"{who}; not unlocked"))
        return None
    try:
        keyring = unlock(home)
    except NoPassphrase as error:
        findings.append(Finding("keyring", "warn", f"{who}; not unlocked ({error.message}): pads and "
                                                   "passwords in the keyring not checked"))
        return None
    except WrongPassphrase:
        findings.append(Finding("keyring", "fail", f"{who}; the passphrase given does not unlock it",
                                "check the file PLI_PASSPHRASE_FILE names, or type the passphrase again"))
        return None
    findings.append(Finding("keyring", "ok", f"{who}; unlocked"))
    return keyring


def _pads(keyring) -> Iterator[Finding]:
    pads = keyring.pads.list()
    me = keyring.identity.public.address
    if not pads:
        yield Finding("pads", "ok", "none (mail goes in stream mode)")
        return
    low = []
    for pad in pads:
        lanes = [i for i, holder in enumerate(pad.holders) if holder == me]
        for lane in lanes:
            left = keyring.ledger.left(pad, lane)
            if pad.running_low(left):
                others = ",".join(h for h in pad.holders if h != me)
                low.append(Finding("pads", "warn",
                                   f"pad {pad.hex[:12]}… with {others}: {counted(left, 'byte')} left of "
                                   f"{pad.lane_size:,} in your lane",
                                   f"pli pad new --with {others} --size 64M -o DIR (then hand the files over)"))
    yield from low
    if len(low) < len(pads):
        yield Finding("pads", "ok", f"{counted(len(pads) - len(low), 'pad')} with enough left "
                                    "(`pli pad status` for each lane)")


# -- directory and trace ------------------------------------------------------------------------------


def _directory(home: Home, now: datetime) -> Iterator[Finding]:
    fix = "pli dir import FILE (the latest file from your directory authority)"
    if not installed_path(home).exists():
        if anchor_path(home).exists():
            yield Finding("directory", "warn", "an authority is trusted but no directory is installed", fix)
        else:
            yield Finding("directory", "ok", "none installed (recipients come from the keyring only)")
        return
    try:
        verified = verified_installed(home)
    except PliError as error:
        yield Finding("directory", "fail", error.message, fix)
        return
    days = max(0, (now - verified.issued).days)
    text = (f"{counted(len(verified.objects), 'entry')}, serial {verified.serial}, issued "
            f"{verified.issued:%Y-%m-%d} ({counted(days, 'day')} ago), signature checks")
    if days > DIRECTORY_MAX_AGE_DAYS:
        yield Finding("directory", "warn", text + f": older than {DIRECTORY_MAX_AGE_DAYS} days, revocations "
                                                  "published since are not known here", fix)
    else:
        yield Finding("directory", "ok", text)


def _mssante_directory(home: Home) -> Iterator[Finding]:
    """The imported MSSanté extract opens (compose and `pli send` look recipients up in it).  Not imported is
    fine: said only in a home with an MSSanté account."""
    fix = "pli dir import-mssante FILE (the latest Extraction_Correspondance_MSSante of annuaire.sante.fr)"
    if not home.mssante_index.exists():
        if any(is_mssante(table) for table in _account_tables(home).values()):
            yield Finding("mssante directory", "ok", "not imported (MSSanté addresses are not completed)")
        return
    try:
        directory = MssDirectory(home.mssante_index)
    except MssDirectoryError as error:
        yield Finding("mssante directory", "fail", error.message, fix)
        return
    try:
        mailboxes = len(directory)
    finally:
        directory.close()
    when = datetime.fromtimestamp(home.mssante_index.stat().st_mtime, timezone.utc)
    yield Finding("mssante directory", "ok", f"{counted(mailboxes, 'mailbox')}, imported {when:%Y-%m-%d}")


def _account_tables(home: Home) -> dict:
    tables = config_section(home.config, "accounts")
    return {name: table for name, table in tables.items() if isinstance(table, dict)}


def _trace(home: Home) -> Iterator[Finding]:
    try:
        report = verify(home)
    except JournalTampered as error:
        yield Finding("trace", "fail", error.message, "pli audit verify (it names the first bad entry); restore "
                                                      "HOME/trace from a backup (docs/AUDIT.md)")
        return
    if report.entries == 0:
        yield Finding("trace", "ok", "empty")
    else:
        yield Finding("trace", "ok", f"{counted(report.entries, 'entry')} verified, signed by "
                                     f"{counted(len(report.signers), 'key')}")


# -- store and outbox ---------------------------------------------------------------------------------


def _store(home: Home) -> Iterator[Finding]:
    layout = Layout(home)
    if not layout.exists():
        yield Finding("store", "warn", "no store: mail cannot be stored or searched here", "pli init")
        return
    with Store.open(home) as store:
        total, quarantined = store.count("*"), store.count("tag:quarantine")
    yield Finding("store", "ok", f"notmuch database opens: {counted(total, 'message')}")
    if quarantined:
        yield Finding("store", "warn", f"{counted(quarantined, 'message')} in quarantine (failed a check)",
                      "pli search quarantine")
    waiting = _files(layout.incoming / "new")
    if waiting:
        yield Finding("store", "warn", f"{counted(waiting, 'message')} delivered into incoming/ and not stored yet",
                      "pli new")


def _files(folder) -> int:
    try:
        return sum(1 for p in folder.iterdir() if not p.name.startswith("."))
    except FileNotFoundError:
        return 0


def _outbox(home: Home) -> Iterator[Finding]:
    waiting = pending(home)
    if not waiting:
        yield Finding("outbox", "ok", "empty")
        return
    refused = [q for q in waiting if q.permanent]
    if refused:
        yield Finding("outbox", "fail", f"{counted(len(refused), 'message')} refused by a server for good: "
                                        f"{refused[0].last_error}",
                      "pli send list (why each), then pli send flush --retry-refused once fixed")
    kept = [q for q in waiting if not q.permanent]
    if kept:
        oldest = min(q.path.stat().st_mtime for q in kept)        # when it was queued
        tried = [q for q in kept if q.last_error]
        why = f"; last failure: {tried[-1].last_error}" if tried else ""
        hours = (time.time() - oldest) / 3600
        age = f" for {counted(int(hours), 'hour')}" if hours >= 1 else ""
        yield Finding("outbox", "warn", f"{counted(len(kept), 'message')} waiting{age}{why}", "pli send flush")


# -- accounts -----------------------------------------------------------------------------------------


def _accounts(home: Home, keyring, online: bool) -> Iterator[Finding]:
    accounts = load_accounts(home)
    if not accounts:
        yield Finding("accounts", "warn", "no mail account: mail waits in the outbox, nothing is fetched",
                      f"add an [accounts.NAME] section to {home.config} (docs/TRANSPORT.md)")
        return
    defaults = [a for a in accounts.values() if a.default]
    if len(accounts) > 1 and len(defaults) != 1:
        yield Finding("accounts", "warn", "several accounts and no single default: mail to a domain no send_to "
                                          "names has no account", f"mark one account `default = true` in {home.config}")
    tables = _account_tables(home)
    for account in accounts.values():
        table = tables.get(account.name, {})
        if is_mssante(table):
            yield from _mss_account(home, account, table, keyring, online)
        else:
            yield from _account(home, account, keyring, online)


def _account(home: Home, account, keyring, online: bool) -> Iterator[Finding]:
    area = f"account {account.name}"
    problems = [f for f in _logins(home, account, keyring)]
    yield from problems
    if not problems:
        yield Finding(area, "ok", account.describe())
    if online and not problems:
        yield from _online(home, account, keyring)


def _logins(home: Home, account, keyring) -> Iterator[Finding]:
    """Each login's secret can be read: its file, or its keyring slot (opened when the keyring is unlocked)."""
    for login in (account.smtp_login, account.imap_login):
        if login is None:
            continue
        try:
            if login.keyring_slot is not None and keyring is None:
                if not is_stored(home, login.keyring_slot):
                    raise PliError(f"no password in the keyring for account {account.name}")
                continue
            login.secret(home, keyring)
        except PliError as error:      # a password file's problem names its fix; a keyring slot's is the command
            fix = login.fix() if login.keyring_slot is not None else ""
            yield Finding(f"account {account.name}", "fail", f"{login.server} login: {error.message}", fix)


def _online(home: Home, account, keyring) -> Iterator[Finding]:
    """Connect to each server as `pli send` and `pli fetch` do, log in, and leave."""
    area = f"account {account.name}"
    for server, login in (("smtp", account.smtp_login), ("imap", account.imap_login)):
        where = getattr(account, server)
        if where is None:
            continue
        if login is not None and login.keyring_slot is not None and keyring is None:
            yield Finding(area, "warn", f"{server} {where}: not tried, its password is in the keyring, which "
                                        "is not unlocked")
            continue
        secret = login.secret(home, keyring) if login is not None else None
        try:
            if server == "smtp":
                said = submission.probe(where, (login.username, secret) if login else None,
                                        login_if_offered=account.sends_without_auth())
            else:
                said = fetch.probe(account, secret)
        except PliError as error:
            yield Finding(area, "fail", f"{server} {where}: {error.message}", _online_fix(account, server, login,
                                                                                         error))
            continue
        yield Finding(area, "ok", f"{server} {where}: {said}")


def _online_fix(account, server: str, login, error: PliError) -> str:
    refused_login = getattr(error, "configuration", None) in ("login", "no-auth", "auth-required") \
        or "refused the login" in error.message
    if refused_login:
        return f"check {server}_username and {login.fix()}" if login else f"set {server}_username and its password"
    return f"check {server}_host, {server}_port and {server}_security in [accounts.{account.name}]"


# -- MSSanté accounts ---------------------------------------------------------------------------------


def _mss_account(home: Home, account, table: dict, keyring, online: bool) -> Iterator[Finding]:
    """Its MSSanté settings (mssante_account) and its TLS material (the CA bundle, the client certificate); with
    `online`, its own logins as `pli fetch` and `pli send` make them (open_imap, open_smtp), then logout."""
    area = f"account {account.name}"
    try:
        mss = mssante_account(account, table, f"{home.config} [accounts.{account.name}]")
        if not mss.key_in_keyring:         # an encrypted client key needs its passphrase: checked online
            client_context(mss.tls)
    except PliError as error:
        yield Finding(area, "fail", error.message, _mss_fix(account.name, "", error, home))
        return
    problems = list(_logins(home, account, keyring)) if mss.auth == "password" else []
    yield from problems
    if problems:
        return
    yield Finding(area, "ok", f"MSSanté, {mss.auth} login, trusts {mss.tls.trust}; "
                              f"{account.describe()}")
    if online:
        yield from _mss_online(home, account, mss, keyring)


def _mss_online(home: Home, account, mss: MssAccount, keyring) -> Iterator[Finding]:
    area = f"account {account.name}"
    needs_keyring = mss.key_in_keyring or (mss.auth == "password" and any(
        login is not None and login.keyring_slot is not None for login in (account.imap_login, account.smtp_login)))
    for kind, server, opener in (("imap", mss.imap, open_imap), ("smtp", mss.smtp, open_smtp)):
        if server is None:
            continue
        if needs_keyring and keyring is None:
            yield Finding(area, "warn", f"{kind} {server}: not tried, its secret is in the keyring, which is not "
                                        "unlocked")
            continue
        try:
            session = opener(mss, credentials(home, account, mss, kind, keyring))
        except PliError as error:
            yield Finding(area, "fail", f"{kind} {server}: {error.message}", _mss_fix(account.name, kind, error, home))
            continue
        folder = mss.imap_folder if kind == "imap" else None
        if _leave(session, folder):
            yield Finding(area, "ok", f"{kind} {server}: logged in, TLS checked" +
                          (f", folder {folder} opens" if folder else ""))
        else:
            yield Finding(area, "fail", f"{kind} {server}: logged in, but there is no folder {folder}",
                          f"set imap_folder in [accounts.{account.name}] to a folder the server has")


def _leave(session, folder: str | None) -> bool:
    """Open the IMAP folder (read-only) and log out, or quit the SMTP session; False when the folder is missing."""
    try:
        if folder is None:
            return True
        found, _ = session.select(folder, readonly=True)
        return found == "OK"
    except Exception:  # noqa: BLE001 - imaplib raises its own error for a missing folder
        return False
    finally:
        try:
            session.logout() if folder is not None else session.quit()
        except Exception:  # noqa: BLE001 - leaving a server that already left is not a finding
            pass


def _mss_fix(name: str, kind: str, error: PliError, home: Home) -> str:
    """The setting or command that fixes an MSSanté account's failure (docs/MSSANTE.md, set-up)."""
    section = f"[accounts.{name}] of {home.config}"
    if isinstance(error, UntrustedServer):
        return f"set ca_file in {section} to your operator's CA bundle (the IGC-Santé chain)"
    if isinstance(error, ExpiredServerCertificate):
        return "check this machine's clock; if it is right, the operator's certificate has expired: tell the operator"
    if isinstance(error, HostnameMismatch):
        return f"set {kind}_host in {section} to the name the operator's certificate gives"
    if isinstance(error, (BadClientCertificate, ClientCertificateRejected)):
        return (f"check client_cert and client_key in {section} (the mailbox's certificate from the operator, "
                f"its key mode 0600; an encrypted key: `pli send password {name}`)")
    if isinstance(error, TokenCommandFailed):
        return f"run the token_command of {section} by hand: it must print a fresh access token"
    if isinstance(error, LoginRefused):
        if "password" in error.message:
            return f"pli send password {name} --server {kind} (or check the password file)"
        return f"check username and token_command in {section} (a fresh token from the identity provider)"
    if isinstance(error, AccountError):
        return f"fix {section} (docs/MSSANTE.md, set-up)"
    if kind:
        return f"check {kind}_host, {kind}_port and {kind}_security (tls or starttls) in {section}"
    return ""

