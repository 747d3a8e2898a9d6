"""SASL logins pli needs beyond a password: XOAUTH2 and OAUTHBEARER (RFC 7628) with a bearer token, EXTERNAL (a client certificate).

    exchange = OAuthExchange("OAUTHBEARER", "dr.martin@op.mssante.fr", token, host="imap.op.example", port=993)
    imap_authenticate(imap, exchange, "imap.op.example:993")     # imaplib.IMAP4 (after TLS)
    smtp_authenticate(smtp, exchange, "smtp.op.example:465")     # smtplib.SMTP (after TLS and EHLO)
    imap_external(imap, server) / smtp_external(smtp, server)    # the TLS client certificate is the login

A server that refuses a token answers with a base64 JSON challenge
({"status":"invalid_token"...}); the client must answer it (an empty line for
XOAUTH2, a lone ^A for OAUTHBEARER) before the server says NO.  The exchange
keeps that JSON and LoginRefused turns it into plain words.  The token is
never in a repr, an error or a log line.
"""
from __future__ import annotations

import imaplib
import json
import smtplib
from dataclasses import dataclass, field

from pli.core.errors import PliError

MECHANISMS = ("XOAUTH2", "OAUTHBEARER")
_KVSEP = b"\x01"
_STATUS_WORDS = {
    "invalid_token": "the access token is not valid (expired, revoked, or issued for another mailbox)",
    "401": "the access token is not valid (expired, revoked, or issued for another mailbox)",
    "insufficient_scope": "the access token does not allow access to mail",
    "403": "the access token does not allow access to mail",
    "invalid_request": "the server did not understand the token login",
    "400": "the server did not understand the token login",
}


class LoginRefused(PliError):
    """The server refused a SASL login; the message says why in plain words."""

    exit_code = 75

    def __init__(self, message: str, status: str = ""):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ServerError:
    """What a server's OAuth error challenge says (RFC 7628 §3.2.2)."""

    status: str = ""
    scope: str = ""
    openid_configuration: str = ""

    @property
    def words(self) -> str:
        text = _STATUS_WORDS.get(self.status, f"the server refused the access token (status {self.status or '?'})")
        if self.scope and self.status in ("insufficient_scope", "403"):
            text += f" (it needs the scope {self.scope})"
        return text


def parse_server_error(challenge: bytes) -> ServerError:
    """The JSON error a server sends as its last challenge; an unreadable one gives an empty ServerError."""
    try:
        data = json.loads(challenge.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return ServerError()
    if not isinstance(data, dict):
        return ServerError()
    text = {key: str(value)[:200] for key, value in data.items() if isinstance(value, (str, int))}
    return ServerError(text.get("status", ""), text.get("scope", ""), text.get("openid-configuration", ""))


def xoauth2_response(user: str, token: str) -> bytes:
    """Google's XOAUTH2 initial response: user=U ^A auth=Bearer T ^A ^A."""
    _check(user, token)
    return b"user=" + user.encode() + _KVSEP + b"auth=Bearer " + token.encode() + _KVSEP + _KVSEP


def oauthbearer_response(user: str, token: str, host: str = "", port: int | None = None) -> bytes:
    """RFC 7628 §3.1 initial client response: the GS2 header naming the user, then host, port, auth."""
    _check(user, token)
    authzid = user.replace("=", "=3D").replace(",", "=2C")
    pairs = [b"n,a=" + authzid.encode() + b","]
    if host:
        pairs.append(b"host=" + host.encode())
    if port is not None:
        pairs.append(b"port=" + str(port).encode())
    pairs.append(b"auth=Bearer " + token.encode())
    return _KVSEP.join(pairs) + _KVSEP + _KVSEP


@dataclass
class OAuthExchange:
    """One token login: the callables imaplib and smtplib call with each server challenge."""

    mechanism: str
    user: str
    token: str = field(repr=False)
    host: str = ""
    port: int | None = None
    server_error: ServerError | None = None
    _sent: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        self.mechanism = self.mechanism.upper()
        if self.mechanism not in MECHANISMS:
            raise ValueError(f"unknown token mechanism {self.mechanism!r} (use {' or '.join(MECHANISMS)})")

    def initial(self) -> bytes:
        if self.mechanism == "XOAUTH2":
            return xoauth2_response(self.user, self.token)
        return oauthbearer_response(self.user, self.token, self.host, self.port)

    def answer(self, challenge: bytes) -> bytes:
        """The reply to a challenge: the initial response first, then the RFC 7628 end of an error."""
        if not self._sent:
            self._sent = True
            return self.initial()
        self.server_error = parse_server_error(challenge)
        return b"" if self.mechanism == "XOAUTH2" else _KVSEP

    def imap(self, challenge: bytes) -> bytes:
        """For IMAP4.authenticate(mechanism, exchange.imap): the server's first '+' is empty."""
        return self.answer(challenge)

    def smtp(self, challenge: bytes | None = None) -> str:
        """For SMTP.auth(mechanism, exchange.smtp): called with no challenge for the initial response."""
        return self.answer(challenge or b"").decode("ascii")

    def refused(self, server: str, reply: str = "") -> LoginRefused:
        if self.server_error is not None:
            error = self.server_error
            return LoginRefused(f"{server} refused the {self.mechanism} login of {self.user}: {error.words}; "
                                "run the token command again, or check the account's username", error.status)
        detail = f" ({reply})" if reply else ""
        return LoginRefused(f"{server} refused the {self.mechanism} login of {self.user}{detail}")


def imap_authenticate(imap: imaplib.IMAP4, exchange: OAuthExchange, server: str) -> None:
    """Log in to an IMAP server (already over TLS) with a token."""
    _require_imap_mechanism(imap, exchange.mechanism, server)
    try:
        imap.authenticate(exchange.mechanism, exchange.imap)
    except imaplib.IMAP4.error as error:
        raise exchange.refused(server, _imap_reply(error)) from None


def smtp_authenticate(smtp: smtplib.SMTP, exchange: OAuthExchange, server: str) -> None:
    """Log in to an SMTP submission server (already over TLS, EHLO done) with a token."""
    _require_smtp_mechanism(smtp, exchange.mechanism, server)
    try:
        smtp.auth(exchange.mechanism, exchange.smtp, initial_response_ok=True)
    except smtplib.SMTPAuthenticationError as error:
        raise exchange.refused(server, _smtp_reply(error.smtp_code, error.smtp_error)) from None


def imap_external(imap: imaplib.IMAP4, server: str, authzid: str = "") -> None:
    """Log in with the TLS client certificate (SASL EXTERNAL): the server takes the mailbox from the certificate."""
    _require_imap_mechanism(imap, "EXTERNAL", server)
    try:
        imap.authenticate("EXTERNAL", lambda _challenge: authzid.encode())
    except imaplib.IMAP4.error as error:
        raise _certificate_refused(server, _imap_reply(error)) from None


def smtp_external(smtp: smtplib.SMTP, server: str, authzid: str = "") -> None:
    """SASL EXTERNAL on SMTP: no initial response (an empty one cannot be sent on the AUTH line), then authzid."""
    _require_smtp_mechanism(smtp, "EXTERNAL", server)
    try:
        smtp.auth("EXTERNAL", lambda challenge=None: authzid, initial_response_ok=False)
    except smtplib.SMTPAuthenticationError as error:
        raise _certificate_refused(server, _smtp_reply(error.smtp_code, error.smtp_error)) from None


def _certificate_refused(server: str, reply: str) -> LoginRefused:
    return LoginRefused(f"{server} did not accept the client certificate as a login ({reply}): check that the "
                        "certificate is the one the operator issued for this mailbox")


def _require_imap_mechanism(imap: imaplib.IMAP4, mechanism: str, server: str) -> None:
    offered = sorted(c[5:] for c in imap.capabilities if c.upper().startswith("AUTH="))
    if mechanism not in offered:
        raise LoginRefused(f"{server} does not offer the {mechanism} login (it offers: "
                           f"{', '.join(offered) or 'none'}); check the account's authentication setting")


def _require_smtp_mechanism(smtp: smtplib.SMTP, mechanism: str, server: str) -> None:
    smtp.ehlo_or_helo_if_needed()
    offered = sorted(smtp.esmtp_features.get("auth", "").upper().split())
    if mechanism not in offered:
        raise LoginRefused(f"{server} does not offer the {mechanism} login (it offers: "
                           f"{', '.join(offered) or 'none'}); check the account's authentication setting")


def _check(user: str, token: str) -> None:
    if not user or any(c in user for c in "\x01\r\n"):
        raise LoginRefused("the account's username is empty or holds control characters")
    if not token or not token.isascii() or any(c.isspace() or c == "\x01" for c in token):
        raise LoginRefused("the access token is empty or not a bearer token (spaces or control characters)")


def _imap_reply(error: Exception) -> str:
    text = str(error)
    if text.startswith("AUTHENTICATE command error: "):
        text = text[len("AUTHENTICATE command error: "):]
    return " ".join(text.replace("[b'", "").replace("']", "").split())[:200]


def _smtp_reply(code: int, text) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {' '.join(str(text).split())}"[:200]
