"""The outbox: sealed mail waits here, durably, until a server has accepted it.

    home/outbox/new/<key>.eml       waiting: the sealed bytes, exactly what will be submitted
    home/outbox/cur/<key>.eml:2,S   submitted: the sealed copy of what left, kept
    home/outbox/state/<key>.json    attempts, the last failure's reason, or the server's queue id
    home/outbox/.lock               one flush at a time (flock)

A mail is sealed once (its pad bytes reserved once) and these same bytes are
resent until a server says 250; only then does it move to cur/.  A crash
after the server's 250 but before the move sends it again at the next flush:
the receiver recognises the copy (same envelope, same digest) and keeps one.
The clear copy in mail/sent/ (Store.add_sent, from pli.core.mail.send) loses its `outbox` tag once
the mail has left.
"""
from __future__ import annotations

import email.parser
import email.policy
import fcntl
import hashlib
import json
import os
import time
from contextlib import contextmanager
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from email.utils import getaddresses
from pathlib import Path

from pli.core import vocab
from pli.core.audit import home_journal
from pli.core.durable import fsync_dir, write_atomic
from pli.core.errors import PliError
from pli.core.home import Home
from pli.core.store import database
from pli.core.store.layout import Layout
from pli.core.transport.accounts import route, usable_accounts
from pli.core.transport.mssante_account import (Credentials, MssAccount, ServerUnreachable, credentials,
                                                load_mss_accounts, open_smtp)
from pli.core.transport.submission import RETRY_NOTE, Receipt, SubmissionFailed, submit, submit_over

SUFFIX = ".eml"
SENT_FLAGS = ":2,S"


class OutboxBusy(PliError):
    """Another `pli send flush` is running on this home."""

    exit_code = 75


def outbox_dir(home: Home) -> Path:
    return home.root / "outbox"


@dataclass(frozen=True)
class Queued:
    """One mail waiting in the outbox."""

    key: str
    path: Path
    envelope_id: str
    sender: str
    recipients: tuple[str, ...]
    attempts: int = 0
    last_error: str | None = None
    last_try: float | None = None
    permanent: bool = False      # the server refused it for good: it waits for a person to look
    done: tuple[tuple[str, str], ...] = ()   # (recipient, queue id): accepted already, through another account

    def read(self) -> bytes:
        return self.path.read_bytes()


@dataclass
class FlushReport:
    sent: list[tuple[Queued, Receipt]] = field(default_factory=list)
    failed: list[tuple[Queued, SubmissionFailed]] = field(default_factory=list)
    not_tried: list[Queued] = field(default_factory=list)
    completed: list[str] = field(default_factory=list)     # keys of the mail every recipient accepted

    def render(self) -> str:
        lines = [f"sent {len(self.sent)}, failed {len(self.failed)}, not tried {len(self.not_tried)}"]
        lines += [f"  sent {q.envelope_id} to {', '.join(q.recipients)} (queued as {r.queue_id})"
                  for q, r in self.sent]
        lines += [f"  kept {q.envelope_id} to {', '.join(q.recipients)}: {e}" for q, e in self.failed]
        return "\n".join(lines)


def ensure(home: Home) -> Path:
    root = outbox_dir(home)
    for sub in ("new", "cur", "tmp", "state"):
        (root / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
    return root


def queue_key(sealed: bytes) -> str:
    """The name of a sealed mail in the outbox, and of its clear copy in Sent: its bytes' hash."""
    return hashlib.sha256(sealed).hexdigest()[:32]


def queue(home: Home, sealed: bytes) -> Queued:
    """Put a sealed mail in the outbox, durably (the clear copy in Sent is the store's: Store.add_sent)."""
    path = ensure(home) / "new" / f"{queue_key(sealed)}{SUFFIX}"
    write_atomic(path, sealed)
    fsync_dir(path.parent)
    return _describe(home, path)


def pending(home: Home) -> list[Queued]:
    """The mail waiting in the outbox, oldest first, each with its last failure (for the TUI and `pli send list`)."""
    folder = outbox_dir(home) / "new"
    try:
        paths = [p for p in folder.iterdir() if p.name.endswith(SUFFIX)]
    except FileNotFoundError:
        return []
    paths.sort(key=lambda p: (p.stat().st_mtime, p.name))
    return [_describe(home, p) for p in paths]


@dataclass(frozen=True)
class Route:
    """How some recipients of a waiting mail are reached: a send function, named after its account."""

    name: str                   # the account's name ("" when one function sends to everyone)
    send: Callable[[bytes, str, list[str]], Receipt]
    recipients: list[str]


def flush(home: Home, send, journal=None, only_keys: set[str] | None = None) -> FlushReport:
    """Submit every waiting mail with `send(raw, sender, recipients) -> Receipt`; keep the failures."""
    return flush_routes(home, lambda recipients: [Route("", send, recipients)], journal, only_keys)


def flush_routes(home: Home, routes: Callable[[list[str]], list[Route]], journal=None,
                 only_keys: set[str] | None = None) -> FlushReport:
    """Submit every waiting mail to its recipients still waiting, each through its route; keep the failures.

    Mail a server refused for good (permanent) is skipped unless named in
    `only_keys`.  A route that failed for reasons of its own (unreachable,
    misconfigured) is not tried again in this run: the rest would fail the
    same way.  A mail leaves the outbox once every recipient was accepted.
    """
    report = FlushReport()
    stopped: set[str] = set()
    with _locked(home):
        waiting = [q for q in pending(home) if (q.key in only_keys if only_keys is not None else not q.permanent)]
        for item in waiting:
            _flush_one(home, item, routes, stopped, journal, report)
    if report.completed:
        _untag_sent_copies(home, report.completed)
    return report


def _flush_one(home: Home, item: Queued, routes, stopped: set[str], journal, report: FlushReport) -> None:
    done = dict(item.done)
    left = [r for r in item.recipients if r not in done]
    if not left:
        _settle(home, item, done, report)
        return
    failures: list[SubmissionFailed] = []
    tried = False
    try:
        planned = routes(left)
    except PliError as error:      # no account sends to one of its recipients: our configuration, not the mail
        planned, failures = [], [SubmissionFailed(error.message, configuration="account")]
        report.failed.append((item, failures[0]))
    for route in planned:
        part = replace(item, recipients=tuple(route.recipients))
        if route.name in stopped:
            continue
        tried = True
        try:
            receipt = route.send(item.read(), item.sender, list(route.recipients))
        except SubmissionFailed as error:
            failures.append(error)
            report.failed.append((part, error))
            if error.stops_account:
                stopped.add(route.name)
            continue
        if journal is not None:
            journal.record("sent", item.envelope_id, queue_id=receipt.queue_id, server=receipt.server,
                           recipients=list(route.recipients))
        done.update((r, receipt.queue_id) for r in route.recipients)
        report.sent.append((part, receipt))
        if len(done) == len(item.recipients):
            _mark_sent(home, item, receipt, done)
            report.completed.append(item.key)
    if failures:
        _record_failure(home, item, failures, done)
    elif not tried:
        report.not_tried.append(item)
    elif len(done) < len(item.recipients):
        _write_state(home, item.key, {**_read_state(home, item.key), "done": done})   # routes still to try


def _settle(home: Home, item: Queued, done: dict[str, str], report: FlushReport) -> None:
    """A mail with no recipient left to try: every one accepted it (a crash came before it moved), or it named none."""
    if not item.recipients:
        error = SubmissionFailed("the mail names no recipient (no To: or Cc:): nothing can send it", permanent=True)
        _record_failure(home, item, [error], done)
        report.failed.append((item, error))
        return
    state = _read_state(home, item.key)
    _mark_sent(home, item, Receipt(state.get("server", ""), state.get("queue_id", ""), ""), done)
    report.completed.append(item.key)


def flush_account(home: Home, keyring, account_name: str | None = None, only_keys: set[str] | None = None,
                  journal=None) -> FlushReport:
    """Flush through the configured accounts (what `pli send flush` and the TUI's send do).

    Each recipient goes through the account its domain is routed to, else the
    default one (pli.core.transport.accounts.route); `account_name` sends
    everything through that account.  `keyring`: the unlocked keyring (it
    signs the trace and may hold the accounts' passwords).
    """
    accounts = usable_accounts(home, account_name)    # AccountError: none at all, or no such account
    senders: dict[str, Callable] = {}

    def routes(recipients: list[str]) -> list[Route]:
        found = []
        for account, addresses in route(home, recipients, account_name, accounts):
            if account.name not in senders:
                senders[account.name] = _sender(home, keyring, account)
            found.append(Route(account.name, senders[account.name], addresses))
        return found

    return flush_routes(home, routes, journal or home_journal(home, keyring), only_keys)


def _sender(home: Home, keyring, account) -> Callable[[bytes, str, list[str]], Receipt]:
    """Submission through `account`, its login read once at first use; failures name the account and the fix.

    An MSSanté account (`mssante = true`) logs in its own way (its CA bundle, password, client certificate or
    token: pli.core.transport.mssante_account.open_smtp); any other account through `submit`."""
    login: list = []

    def send(raw: bytes, _sender: str, recipients: list[str]) -> Receipt:
        try:
            if account.smtp is None:
                raise SubmissionFailed("it has no smtp_host: it cannot send", configuration="no-smtp")
            if not login:
                login.append(_login(home, keyring, account))
            if isinstance(login[0], _MssLogin):
                return submit_over(_mss_session(login[0]), account.smtp, raw, account.address, recipients)
            return submit(account.smtp, raw, account.address, recipients, login[0],
                          login_if_offered=account.sends_without_auth())
        except SubmissionFailed as error:
            raise SubmissionFailed(f"account {account.name}: {error.message}{_fix(account, error)}",
                                   error.permanent, error.unreachable, error.configuration) from None
    return send


@dataclass(frozen=True)
class _MssLogin:
    """An MSSanté account's settings and secrets (read once a flush); the token command runs at each session."""

    account: MssAccount
    credentials: Credentials


def _login(home: Home, keyring, account):
    """What `account` logs in with: (user, password) or None for `submit`, an _MssLogin for an MSSanté account."""
    try:
        mss = load_mss_accounts(home, {account.name: account}).get(account.name)
        if mss is None:
            return account.login("smtp", home, keyring)
        return _MssLogin(mss, credentials(home, account, mss, "smtp", keyring))
    except PliError as error:
        raise SubmissionFailed(error.message, configuration="password") from None


def _mss_session(login: _MssLogin):
    """An SMTP session logged in the MSSanté way; its failures (TLS, login, token, no server) as SubmissionFailed:
    our configuration or the network, never the mail's fault, so it stays in the outbox, not refused for good."""
    try:
        return open_smtp(login.account, login.credentials)
    except ServerUnreachable as error:
        raise SubmissionFailed(f"{error.message}{RETRY_NOTE}", unreachable=True) from None
    except PliError as error:   # TlsFailed, LoginRefused, TokenCommandFailed, AccountError
        raise SubmissionFailed(error.message, configuration="mssante") from None


def _fix(account, error: SubmissionFailed) -> str:
    """What to change when our own settings made the submission fail."""
    where = f"[accounts.{account.name}]"
    fixes = {
        "login": lambda: f"; check smtp_username ({account.smtp_login.username}) and "
                         f"{account.smtp_login.fix()}",
        "no-auth": lambda: f"; if this server takes mail without a login, remove smtp_username from {where}, "
                           "else use its submission port (587 with starttls, 465 with tls)",
        "auth-required": lambda: f"; set smtp_username and its password in {where}",
        "starttls": lambda: "",
        "mssante": lambda: "",         # the MSSanté errors name their fix themselves
    }
    fix = fixes.get(error.configuration)
    if fix is None:
        return ""
    return f"{fix()}; the mail stays in the outbox: `pli send flush` once it is fixed"


# -- the files --------------------------------------------------------------------------------------


def _describe(home: Home, path: Path) -> Queued:
    key = path.name[:-len(SUFFIX)]
    header_bytes = _head(path)
    headers = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(header_bytes)
    sender = next((a for _, a in getaddresses(headers.get_all("From", []))), "")
    recipients = tuple(dict.fromkeys(a.lower() for _, a in getaddresses(
        headers.get_all("To", []) + headers.get_all("Cc", [])) if a))
    message_id = str(headers.get("Message-ID", "")).strip().strip("<>")
    state = _read_state(home, key)
    return Queued(key=key, path=path, envelope_id=message_id.split(".", 1)[0] or key, sender=sender.lower(),
                  recipients=recipients, attempts=state.get("attempts", 0), last_error=state.get("error"),
                  last_try=state.get("last_try"), permanent=bool(state.get("permanent", False)),
                  done=tuple(sorted((state.get("done") or {}).items())))


def _head(path: Path) -> bytes:
    with open(path, "rb") as handle:
        data = handle.read(64 * 1024)
    end = data.find(b"\n\n")
    end = data.find(b"\r\n\r\n") if end < 0 else end
    return data if end < 0 else data[:end + 1]


def _state_path(home: Home, key: str) -> Path:
    return outbox_dir(home) / "state" / f"{key}.json"


def _read_state(home: Home, key: str) -> dict:
    try:
        return json.loads(_state_path(home, key).read_bytes())
    except (FileNotFoundError, ValueError):
        return {}


def _write_state(home: Home, key: str, state: dict) -> None:
    ensure(home)
    write_atomic(_state_path(home, key), json.dumps(state, sort_keys=True).encode())


def _record_failure(home: Home, item: Queued, errors: list[SubmissionFailed], done: dict[str, str]) -> None:
    """Kept with its reasons; permanent only when every server that answered refused it for good."""
    _write_state(home, item.key, {"attempts": item.attempts + 1, "error": "; ".join(e.message for e in errors),
                                  "last_try": time.time(), "permanent": all(e.permanent for e in errors),
                                  "done": done})


def _mark_sent(home: Home, item: Queued, receipt: Receipt, done: dict[str, str]) -> None:
    _write_state(home, item.key, {"attempts": item.attempts + 1, "sent": time.time(), "queue_id": receipt.queue_id,
                                  "server": receipt.server, "done": done})
    target = outbox_dir(home) / "cur" / f"{item.path.name}{SENT_FLAGS}"
    os.replace(item.path, target)
    fsync_dir(target.parent)
    fsync_dir(item.path.parent)


def _untag_sent_copies(home: Home, keys: list[str]) -> None:
    """The clear copies in Sent are no longer waiting: drop their `outbox` tag (when there is a store)."""
    if not (home.mail / ".notmuch").is_dir():
        return
    with database.open_write(Layout(home)) as db, db.atomic():
        for key in keys:
            for msg in db.messages(f"property:{vocab.KEY_PROPERTY}={key}"):
                msg.tags.discard(vocab.OUTBOX)


@contextmanager
def _locked(home: Home):
    ensure(home)
    fd = os.open(outbox_dir(home) / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutboxBusy("another `pli send` is flushing the outbox of this home; try again when it ends") \
                from None
        yield
    finally:
        os.close(fd)
