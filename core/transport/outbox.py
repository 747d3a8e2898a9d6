"""The outbox: sealed mail waits here, durably, until a server has accepted it.

    home/outbox/new/<key>.eml       waiting: the sealed bytes, exactly what will be submitted
    home/outbox/cur/<key>.eml:2,S   submitted: the sealed copy of what left, kept
    home/outbox/state/<key>.json    attempts, the last failure's reason, or the server's queue id
    home/outbox/.lock               one flush at a time (flock)

A mail is sealed once (its pad bytes reserved once) and these same bytes are
resent until a server says 250; only then does it move to cur/.  A crash
after the server's 250 but before the move sends it again at the next flush:
the receiver recognises the copy (same envelope, same digest) and keeps one.
The clear copy in mail/sent/ (pli.core.outgoing) loses its `outbox` tag once
the mail has left.
"""
from __future__ import annotations

import email.parser
import email.policy
import fcntl
import json
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import getaddresses
from pathlib import Path

from pli.core.durable import fsync_dir, write_atomic
from pli.core.errors import PliError
from pli.core.home import Home
from pli.core.transport.submission import Receipt, SubmissionFailed

SUFFIX = ".eml"
SENT_FLAGS = ":2,S"


class OutboxBusy(PliError):
    """Another `pli send --flush` is running on this home."""

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

    def read(self) -> bytes:
        return self.path.read_bytes()


@dataclass
class FlushReport:
    sent: list[tuple[Queued, Receipt]] = field(default_factory=list)
    failed: list[tuple[Queued, SubmissionFailed]] = field(default_factory=list)
    not_tried: list[Queued] = field(default_factory=list)

    def render(self) -> str:
        lines = [f"sent {len(self.sent)}, failed {len(self.failed)}, waiting {len(self.not_tried)}"]
        lines += [f"  sent {q.envelope_id} to {', '.join(q.recipients)} (queued as {r.queue_id})"
                  for q, r in self.sent]
        lines += [f"  kept {q.envelope_id} to {', '.join(q.recipients)}: {e}" for q, e in self.failed]
        return "\n".join(lines)


def ensure(home: Home) -> Path:
    root = outbox_dir(home)
    for sub in ("new", "cur", "tmp", "state"):
        (root / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
    return root


def queue(home: Home, sealed: bytes, inner=None) -> Queued:
    """Put a sealed mail in the outbox, durably; with the store's clear copy in Sent when `inner` is given."""
    if inner is not None and (home.mail / ".notmuch").is_dir():
        from pli.core.outgoing import save_outgoing
        path = save_outgoing(home, sealed, inner)
    else:
        import hashlib
        path = ensure(home) / "new" / f"{hashlib.sha256(sealed).hexdigest()[:32]}{SUFFIX}"
        write_atomic(path, sealed)  # same key as pli.core.outgoing: the sealed bytes' hash
    ensure(home)
    fsync_dir(path.parent)
    return _describe(home, path)


def pending(home: Home) -> list[Queued]:
    """The mail waiting in the outbox, oldest first, each with its last failure (for the TUI and `pli send --list`)."""
    folder = outbox_dir(home) / "new"
    try:
        paths = [p for p in folder.iterdir() if p.name.endswith(SUFFIX)]
    except FileNotFoundError:
        return []
    paths.sort(key=lambda p: (p.stat().st_mtime, p.name))
    return [_describe(home, p) for p in paths]


def flush(home: Home, send, journal=None, only_keys: set[str] | None = None) -> FlushReport:
    """Submit every waiting mail with `send(raw, sender, recipients) -> Receipt`; keep the failures.

    Mail a server refused for good (permanent) is skipped unless named in
    `only_keys`.  A network failure stops the run: the rest would fail the same way.
    """
    report = FlushReport()
    with _locked(home):
        waiting = [q for q in pending(home) if (q.key in only_keys if only_keys is not None else not q.permanent)]
        for index, item in enumerate(waiting):
            try:
                receipt = send(item.read(), item.sender, list(item.recipients))
            except SubmissionFailed as error:
                _record_failure(home, item, error)
                report.failed.append((item, error))
                if error.unreachable:
                    report.not_tried = waiting[index + 1:]
                    break
                continue
            if journal is not None:
                journal.record("sent", item.envelope_id, queue_id=receipt.queue_id, server=receipt.server,
                               recipients=list(item.recipients))
            _mark_sent(home, item, receipt)
            report.sent.append((item, receipt))
    if report.sent:
        _untag_sent_copies(home, [q.key for q, _ in report.sent])
    return report


def flush_account(home: Home, keyring, account_name: str | None = None, only_keys: set[str] | None = None,
                  journal=None) -> FlushReport:
    """Flush through a configured account (what `pli send --flush` and the TUI's send do).

    `keyring`: the unlocked keyring (it signs the trace and may hold the account's password).
    """
    from pli.core.transport.accounts import AccountError, choose_account
    from pli.core.transport.submission import submit
    from pli.core.audit import home_journal

    account = choose_account(home, account_name)
    if account.smtp is None:
        raise AccountError(f"account {account.name} has no smtp_host: it cannot send")
    login = (account.username, account.password(home, keyring)) if account.username else None

    def send(raw, _sender, recipients):
        return submit(account.smtp, raw, account.address, recipients, login)

    return flush(home, send, journal or home_journal(home, keyring), only_keys)


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
                  last_try=state.get("last_try"), permanent=bool(state.get("permanent", False)))


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


def _record_failure(home: Home, item: Queued, error: SubmissionFailed) -> None:
    _write_state(home, item.key, {"attempts": item.attempts + 1, "error": error.message, "last_try": time.time(),
                                  "permanent": error.permanent})


def _mark_sent(home: Home, item: Queued, receipt: Receipt) -> None:
    _write_state(home, item.key, {"attempts": item.attempts + 1, "sent": time.time(), "queue_id": receipt.queue_id,
                                  "server": receipt.server})
    target = outbox_dir(home) / "cur" / f"{item.path.name}{SENT_FLAGS}"
    os.replace(item.path, target)
    fsync_dir(target.parent)
    fsync_dir(item.path.parent)


def _untag_sent_copies(home: Home, keys: list[str]) -> None:
    """The clear copies in Sent are no longer waiting: drop their `outbox` tag (when there is a store)."""
    if not (home.mail / ".notmuch").is_dir():
        return
    from pli.core.store import database
    from pli.core.store.layout import Layout

    with database.open_write(Layout(home)) as db, db.atomic():
        for key in keys:
            for msg in db.messages(f"property:pli.key={key}"):
                msg.tags.discard("outbox")


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
