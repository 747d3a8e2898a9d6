"""SMTP submission of one sealed mail: implicit TLS or STARTTLS, AUTH, every recipient or none.

    receipt = submit(server, raw, "me@cabinet.example", ["dr.b@hopital.example"], login=("me", secret))
    receipt.queue_id      # what the server said it queued the mail as ("250 2.0.0 Ok: queued as 4XyZ1")

The mail counts as accepted only when the server answers 250 to DATA for
every recipient; a recipient refused at RCPT makes the whole submission fail
(and RSET): a mail half-sent would be retried whole and reach some twice.
"""
from __future__ import annotations

import re
import smtplib
import socket
import ssl
from contextlib import contextmanager
from dataclasses import dataclass

from pli.core.errors import PliError
from pli.core.transport.accounts import Server

TIMEOUT_SECONDS = 30
#: What a network failure means for the mail being submitted.
RETRY_NOTE = "; the mail stays in the outbox (`pli send flush` retries)"
_EOL = re.compile(rb"\r?\n")
_QUEUED = re.compile(rb"(?:queued as|queue id|id=)\s*<?([A-Za-z0-9._@-]{1,128})>?", re.I)


class SubmissionFailed(PliError):
    """The server did not take the mail.

    `permanent`: the server refused this mail for good, retrying the same
    bytes will not help; `unreachable`: no server answered at all;
    `configuration`: our own settings are at fault, not the mail ("login": the
    login was refused, "no-auth": a login is set but the server offers none,
    "auth-required": the server wants a login and none is set, "starttls":
    STARTTLS is set but not offered, "mssante": an MSSanté account's TLS, token or
    login failed, pli.core.transport.outbox).  Unreachable or misconfigured, the next
    mail would fail the same way: a flush stops using that account.
    """

    exit_code = 75  # EX_TEMPFAIL

    def __init__(self, message: str, permanent: bool = False, unreachable: bool = False,
                 configuration: str | None = None):
        super().__init__(message)
        self.permanent = permanent and configuration is None
        self.unreachable = unreachable
        self.configuration = configuration

    @property
    def stops_account(self) -> bool:
        return self.unreachable or self.configuration is not None


@dataclass(frozen=True)
class Receipt:
    server: str
    queue_id: str           # from the reply; the whole reply text when it names none
    reply: str


def submit(server: Server, raw: bytes, mail_from: str, recipients: list[str],
           login: tuple[str, str] | None = None, timeout: float = TIMEOUT_SECONDS,
           login_if_offered: bool = False) -> Receipt:
    """Hand `raw` to `server` for `recipients`; SubmissionFailed (with the server's reason) otherwise.

    `login_if_offered`: a server that offers no AUTH gets the mail without
    the login (a relay that knows us by address); otherwise that is an error.
    """
    with _explained(server, RETRY_NOTE):
        with _connect(server, timeout) as smtp:
            _login(smtp, login, login_if_offered)
            return _transfer(smtp, server, raw, mail_from, recipients)


def submit_over(smtp: smtplib.SMTP, server: Server, raw: bytes, mail_from: str, recipients: list[str]) -> Receipt:
    """Hand `raw` over a session already open and logged in (an MSSanté account's: mssante_account.open_smtp),
    as `submit` does; the session is closed after."""
    with _explained(server, RETRY_NOTE):
        try:
            return _transfer(smtp, server, raw, mail_from, recipients)
        finally:
            smtp.close()


def probe(server: Server, login: tuple[str, str] | None = None, timeout: float = TIMEOUT_SECONDS,
          login_if_offered: bool = False) -> str:
    """Connect as `submit` does (TLS, STARTTLS, the login) and leave: what worked, in words (`pli doctor --online`)."""
    with _explained(server):
        with _connect(server, timeout) as smtp:
            logged = _login(smtp, login, login_if_offered)
            smtp.noop()
            smtp.quit()
    how = {"tls": "TLS", "starttls": "STARTTLS", "none": "no TLS (loopback)"}[server.security]
    return f"reachable ({how}){', login accepted' if logged else ', no login'}"


def _login(smtp: smtplib.SMTP, login: tuple[str, str] | None, login_if_offered: bool) -> bool:
    smtp.ehlo_or_helo_if_needed()       # what the server offers (AUTH) is known after EHLO
    if login is None or (login_if_offered and not smtp.has_extn("auth")):
        return False
    smtp.login(*login)
    return True


@contextmanager
def _explained(server: Server, unreachable_note: str = ""):
    """smtplib's and ssl's exceptions as SubmissionFailed, each with what it means for the mail."""
    try:
        yield
    except SubmissionFailed:
        raise
    except smtplib.SMTPAuthenticationError as error:
        raise SubmissionFailed(f"{server} refused the login: {_reply(error.smtp_code, error.smtp_error)}",
                               configuration="login") from None
    except smtplib.SMTPNotSupportedError:      # login() on a server that offers no AUTH
        raise SubmissionFailed(f"{server} offers no login (no AUTH), but the account has an SMTP username",
                               configuration="no-auth") from None
    except ssl.SSLError as error:
        raise SubmissionFailed(f"TLS with {server} failed ({error.reason or error}): check the host name, "
                               "the port and the account's security setting", unreachable=True) from None
    except smtplib.SMTPResponseException as error:
        raise SubmissionFailed(f"{server} answered {_reply(error.smtp_code, error.smtp_error)}",
                               permanent=500 <= error.smtp_code < 600) from None
    except (smtplib.SMTPException, OSError) as error:
        raise SubmissionFailed(f"cannot reach {server}: {_network_reason(error)}{unreachable_note}",
                               unreachable=True) from None


def _connect(server: Server, timeout: float) -> smtplib.SMTP:
    if server.security == "tls":
        return smtplib.SMTP_SSL(server.host, server.port, timeout=timeout, context=server.tls_context())
    smtp = smtplib.SMTP(server.host, server.port, timeout=timeout)
    try:
        smtp.ehlo()
        if server.security == "starttls":
            if not smtp.has_extn("starttls"):
                raise SubmissionFailed(f"{server} does not offer STARTTLS: refusing to send in clear; "
                                       "use security = \"tls\" or another server", configuration="starttls")
            smtp.starttls(context=server.tls_context())
            smtp.ehlo()
    except BaseException:
        smtp.close()
        raise
    return smtp


def _transfer(smtp: smtplib.SMTP, server: Server, raw: bytes, mail_from: str, recipients: list[str]) -> Receipt:
    smtp.ehlo_or_helo_if_needed()
    code, reply = smtp.mail(mail_from)
    if code != 250:
        smtp.rset()
        raise _refused(code, f"{server} refused the sender {mail_from}: {_reply(code, reply)}")
    for rcpt in recipients:
        code, reply = smtp.rcpt(rcpt)
        if code not in (250, 251):
            smtp.rset()
            raise _refused(code, f"{server} refused the recipient {rcpt}: {_reply(code, reply)}")
    code, reply = smtp.data(crlf(raw))
    if code != 250:
        raise SubmissionFailed(f"{server} refused the mail: {_reply(code, reply)}", permanent=500 <= code < 600)
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        pass  # accepted is accepted: a lost QUIT changes nothing
    return Receipt(str(server), queue_id(reply), reply.decode("utf-8", "replace"))


def _refused(code: int, message: str) -> SubmissionFailed:
    """A 4xx or 5xx at MAIL or RCPT; 530 (authentication required) is our missing login, not the mail's fault."""
    if code == 530:
        return SubmissionFailed(f"{message} (the server wants a login and the account has no SMTP username)",
                                configuration="auth-required")
    return SubmissionFailed(message, permanent=500 <= code < 600)


def crlf(raw: bytes) -> bytes:
    """SMTP's line ending: smtplib sends bytes as they are, and a mail file usually has bare LFs."""
    return _EOL.sub(b"\r\n", raw)


def queue_id(reply: bytes) -> str:
    """The queue id a server names in its 250 reply (Postfix, Exim, our gateway), else the reply itself."""
    found = _QUEUED.search(reply)
    return found.group(1).decode("ascii") if found else reply.decode("utf-8", "replace").strip()[:128]


def _reply(code: int, text) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {' '.join(str(text).split())}"


def _network_reason(error: Exception) -> str:
    if isinstance(error, socket.timeout):
        return "timed out"
    if isinstance(error, ConnectionRefusedError):
        return "connection refused"
    if isinstance(error, socket.gaierror):
        return "unknown host"
    return getattr(error, "strerror", None) or str(error) or type(error).__name__
