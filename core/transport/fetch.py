"""`pli fetch`: copy new mail from an IMAP folder into the home's incoming Maildir, resumably.

    home/fetch/<account>.json    {"uidvalidity": V, "last_uid": N}: replaced atomically after each batch
    home/incoming/new/imap.<account>.<V>.<uid>    one file per server message

Only UIDs above last_uid are fetched (BODY.PEEK: the server's \\Seen flags stay
as they are; nothing is deleted there).  Each file is durable before the
state moves past its UID; a run interrupted between the two fetches that
message again into the same file name, so nothing is lost and nothing
doubles.  A new UIDVALIDITY (the folder was rebuilt) starts over from UID 1;
the store recognises mail it already holds.
"""
from __future__ import annotations

import imaplib
import json
import re
import socket
import ssl
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from pli.core.durable import write_atomic
from pli.core.errors import PliError
from pli.core.plural import counted
from pli.core.home import Home
from pli.core.transport.accounts import Account, Server
from pli.core.transport.delivery import DeliveryFailed, MaildirDelivery

BATCH = 50
TIMEOUT_SECONDS = 30
_UIDVALIDITY = re.compile(rb"UIDVALIDITY (\d+)")
_UID = re.compile(rb"UID (\d+)")


class FetchFailed(PliError):
    """The IMAP server could not be reached, refused the login, or the folder is missing."""

    exit_code = 75


@dataclass(frozen=True)
class FetchState:
    uidvalidity: int = 0
    last_uid: int = 0


@dataclass
class FetchReport:
    account: str
    fetched: list[str] = field(default_factory=list)     # file names written into incoming/new
    restarted: bool = False                              # UIDVALIDITY changed: fetched from the start

    def render(self) -> str:
        note = " (the server's folder was rebuilt: fetched from the start)" if self.restarted else ""
        return f"fetched {counted(len(self.fetched), 'new message')} from account {self.account}{note}"


def state_path(home: Home, account: str) -> Path:
    return home.root / "fetch" / f"{account}.json"


def load_state(home: Home, account: str) -> FetchState:
    try:
        data = json.loads(state_path(home, account).read_bytes())
        return FetchState(int(data["uidvalidity"]), int(data["last_uid"]))
    except FileNotFoundError:
        return FetchState()
    except (ValueError, KeyError, TypeError):
        raise FetchFailed(f"{state_path(home, account)} is damaged: remove it to fetch the folder again "
                          "(the store skips mail it already holds)") from None


def save_state(home: Home, account: str, state: FetchState) -> None:
    write_atomic(state_path(home, account), json.dumps({"uidvalidity": state.uidvalidity,
                                                         "last_uid": state.last_uid}).encode())


def fetch(home: Home, account: Account, password: str | None, incoming: Path, batch: int = BATCH,
          on_batch=None, session: Callable[[], imaplib.IMAP4] | None = None) -> FetchReport:
    """Fetch every message above the saved UID into `incoming` (a Maildir); `on_batch(names)` after each batch.

    `session`: opens the logged-in IMAP session itself (an MSSanté account: checked TLS, its own login,
    core/transport/mssante_account.open_imap); its errors are its own typed one-line errors."""
    report = FetchReport(account.name)
    deliver = MaildirDelivery(incoming.parent)
    with _explained(account, "; rerun `pli fetch` later (it resumes where it stopped)"):
        with _session(account, password, session) as imap:
            uidvalidity = _select(imap, account.imap_folder)
            state = load_state(home, account.name)
            if state.uidvalidity != uidvalidity:
                report.restarted = state.uidvalidity != 0
                state = FetchState(uidvalidity, 0)
            uids = _new_uids(imap, state.last_uid)
            for start in range(0, len(uids), batch):
                names = []
                for uid in uids[start:start + batch]:
                    name = f"imap.{account.name}.{uidvalidity}.{uid}"
                    deliver.deliver(str(incoming), name, _body(imap, uid))
                    names.append(name)
                state = FetchState(uidvalidity, uids[min(start + batch, len(uids)) - 1])
                save_state(home, account.name, state)          # only past what is durable
                report.fetched += names
                if on_batch is not None:
                    on_batch(names)
    if state != load_state(home, account.name):
        save_state(home, account.name, state)     # nothing new, but a new UIDVALIDITY to remember
    return report


def probe(account: Account, password: str | None, session: Callable[[], imaplib.IMAP4] | None = None) -> str:
    """Connect, log in and open the folder read-only as `fetch` does: what it found, in words (doctor --online)."""
    with _explained(account):
        with _session(account, password, session) as imap:
            _select(imap, account.imap_folder)
            count = int((imap.response("EXISTS")[1] or [b"0"])[-1] or 0)
            imap.logout()
    login = ", login accepted" if account.imap_login else ""
    return f"reachable{login}; {account.imap_folder} holds {counted(count, 'message')}"


def _session(account: Account, password: str | None, session) -> imaplib.IMAP4:
    if session is not None:
        return session()
    imap = _connect(_server(account))
    try:
        _login(imap, account, password)
    except BaseException:
        imap.shutdown()
        raise
    return imap


def _server(account: Account) -> Server:
    if account.imap is None:
        raise FetchFailed(f"account {account.name} has no imap_host: it cannot fetch")
    return account.imap


@contextmanager
def _explained(account: Account, unreachable_note: str = ""):
    """imaplib's, ssl's and the Maildir's exceptions as FetchFailed, in plain words."""
    try:
        yield
    except imaplib.IMAP4.error as error:
        raise FetchFailed(f"the IMAP server {account.imap} said: {_text(error)}") from None
    except DeliveryFailed as error:
        raise FetchFailed(f"{error}; what was fetched so far is kept, rerun `pli fetch`") from None
    except ssl.SSLError as error:
        raise FetchFailed(f"TLS with {account.imap} failed ({error.reason or error})") from None
    except (OSError, EOFError) as error:
        raise FetchFailed(f"cannot reach {account.imap}: {_network_reason(error)}{unreachable_note}") from None


def _login(imap: imaplib.IMAP4, account: Account, password: str | None) -> None:
    login = account.imap_login
    if login is None:
        return
    try:
        imap.login(login.username, password or "")
    except imaplib.IMAP4.error as error:
        raise FetchFailed(f"the IMAP server {account.imap} refused the login of {login.username} "
                          f"(account {account.name}): {_text(error)}; check imap_username and "
                          f"{login.fix()}") from None


def _connect(server: Server) -> imaplib.IMAP4:
    if server.security == "tls":
        return imaplib.IMAP4_SSL(server.host, server.port, ssl_context=server.tls_context(), timeout=TIMEOUT_SECONDS)
    imap = imaplib.IMAP4(server.host, server.port, timeout=TIMEOUT_SECONDS)
    if server.security == "starttls":
        imap.starttls(ssl_context=server.tls_context())
    return imap


def _select(imap: imaplib.IMAP4, folder: str) -> int:
    status, data = imap.select(_quoted(folder), readonly=True)
    if status != "OK":
        raise FetchFailed(f"the IMAP folder {folder!r} cannot be opened: {_text(data)}")
    found = imap.response("UIDVALIDITY")[1]
    if not found or found[0] is None:
        raise FetchFailed("the IMAP server gave no UIDVALIDITY for the folder: it cannot be fetched safely")
    return int(found[0])


def _new_uids(imap: imaplib.IMAP4, last_uid: int) -> list[int]:
    status, data = imap.uid("SEARCH", "UID", f"{last_uid + 1}:*")
    if status != "OK":
        raise FetchFailed(f"the IMAP search failed: {_text(data)}")
    # "N:*" always names the highest UID, even when it is below N: keep only the new ones.
    return sorted(uid for uid in (int(x) for x in b" ".join(d or b"" for d in data).split()) if uid > last_uid)


def _body(imap: imaplib.IMAP4, uid: int) -> bytes:
    status, data = imap.uid("FETCH", str(uid), "(UID BODY.PEEK[])")
    for item in data or []:
        if isinstance(item, tuple) and _UID.search(item[0]) and int(_UID.search(item[0]).group(1)) == uid:
            return item[1]
    raise imaplib.IMAP4.error(f"message UID {uid} could not be fetched")


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(value) -> str:
    """A server's words as plain text: imaplib carries them as bytes, even inside its exceptions."""
    if isinstance(value, BaseException):
        value = list(value.args) if len(value.args) != 1 else value.args[0]
    if isinstance(value, list):
        value = b" ".join(v if isinstance(v, bytes) else str(v).encode() for v in value)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return " ".join(str(value).split())


def _network_reason(error: Exception) -> str:
    if isinstance(error, socket.timeout):
        return "timed out"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    return getattr(error, "strerror", None) or type(error).__name__
