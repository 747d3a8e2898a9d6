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
from dataclasses import dataclass

from pli.core.errors import PliError
from pli.core.transport.accounts import Server

TIMEOUT_SECONDS = 30
_EOL = re.compile(rb"\r?\n")
_QUEUED = re.compile(rb"(?:queued as|queue id|id=)\s*<?([A-Za-z0-9._@-]{1,128})>?", re.I)


class SubmissionFailed(PliError):
    """The server did not take the mail.

    `permanent`: retrying the same bytes will not help; `unreachable`: no
    server answered at all (the next mail would fail the same way).
    """

    exit_code = 75  # EX_TEMPFAIL

    def __init__(self, message: str, permanent: bool = False, unreachable: bool = False):
        super().__init__(message)
        self.permanent = permanent
        self.unreachable = unreachable


@dataclass(frozen=True)
class Receipt:
    server: str
    queue_id: str           # from the reply; the whole reply text when it names none
    reply: str


def submit(server: Server, raw: bytes, mail_from: str, recipients: list[str],
           login: tuple[str, str] | None = None, timeout: float = TIMEOUT_SECONDS) -> Receipt:
    """Hand `raw` to `server` for `recipients`; SubmissionFailed (with the server's reason) otherwise."""
    try:
        with _connect(server, timeout) as smtp:
            if login is not None:
                smtp.login(*login)
            return _transfer(smtp, server, raw, mail_from, recipients)
    except SubmissionFailed:
        raise
    except smtplib.SMTPAuthenticationError as error:
        raise SubmissionFailed(f"{server} refused the login: {_reply(error.smtp_code, error.smtp_error)}; "
                               "check the account's username and password", permanent=True) from None
    except smtplib.SMTPNotSupportedError as error:
        raise SubmissionFailed(f"{server}: {error}", permanent=True) from None
    except ssl.SSLError as error:
        raise SubmissionFailed(f"TLS with {server} failed ({error.reason or error}): check the host name, "
                               "the port and the account's security setting", unreachable=True) from None
    except smtplib.SMTPResponseException as error:
        raise SubmissionFailed(f"{server} answered {_reply(error.smtp_code, error.smtp_error)}",
                               permanent=500 <= error.smtp_code < 600) from None
    except (smtplib.SMTPException, OSError) as error:
        raise SubmissionFailed(f"cannot reach {server}: {_network_reason(error)}; the mail stays in the "
                               "outbox (`pli send --flush` retries)", unreachable=True) from None


def _connect(server: Server, timeout: float) -> smtplib.SMTP:
    if server.security == "tls":
        return smtplib.SMTP_SSL(server.host, server.port, timeout=timeout, context=server.tls_context())
    smtp = smtplib.SMTP(server.host, server.port, timeout=timeout)
    try:
        smtp.ehlo()
        if server.security == "starttls":
            if not smtp.has_extn("starttls"):
                raise SubmissionFailed(f"{server} does not offer STARTTLS: refusing to send in clear; "
                                       "use security = \"tls\" or another server", permanent=True)
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
        raise SubmissionFailed(f"{server} refused the sender {mail_from}: {_reply(code, reply)}",
                               permanent=500 <= code < 600)
    for rcpt in recipients:
        code, reply = smtp.rcpt(rcpt)
        if code not in (250, 251):
            smtp.rset()
            raise SubmissionFailed(f"{server} refused the recipient {rcpt}: {_reply(code, reply)}",
                                   permanent=500 <= code < 600)
    code, reply = smtp.data(crlf(raw))
    if code != 250:
        raise SubmissionFailed(f"{server} refused the mail: {_reply(code, reply)}", permanent=500 <= code < 600)
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError):
        pass  # accepted is accepted: a lost QUIT changes nothing
    return Receipt(str(server), queue_id(reply), reply.decode("utf-8", "replace"))


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
