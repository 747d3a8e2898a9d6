"""An MSSanté operator's account: its extra settings, and authenticated IMAP and SMTP submission sessions over TLS.

    [accounts.mss]
    address = "jeanne.martin@op.mssante.fr"
    mssante = true                               # store its mail in the MSSanté tier (docs/MSSANTE.md)
    imap_host = "imap.op.mssante.fr"             # host, port, security, username and password keys as for any
    smtp_host = "smtp.op.mssante.fr"             # account (core/transport/accounts.py); security tls or starttls
    auth = "oauthbearer"                         # password | certificate | xoauth2 | oauthbearer
    ca_file = "~/.config/pli/igc-sante.pem"      # the operator's CA bundle, the only trust anchor when set
    token_command = ["pscli", "token"]           # xoauth2 / oauthbearer: prints the access token
    client_cert = "~/.config/pli/bal-app.pem"    # certificate: the mailbox's certificate (mutual TLS)
    client_key = "~/.config/pli/bal-app.key"     # mode 0600, or an encrypted PEM with
    client_key_passphrase = "keyring"            # its passphrase sealed in the keyring (`pli send password mss`)

    mss = mssante_account(accounts["mss"], raw_table, where)     # None when the account is not MSSanté
    imap = open_imap(mss, Credentials(password=...))             # logged in, over checked TLS
    smtp = open_smtp(mss, Credentials(...))                      # EHLO done, logged in

The account's ordinary keys are read once, by accounts.py; this module adds
what an MSSanté account needs on top and refuses what would break its trust
tier: a server without TLS, a login the operator cannot offer, a token login
with no token command, a certificate login with no certificate.  Every
failure is one typed line: TlsFailed and its kinds (wrong CA, expired or
misnamed server certificate, client certificate refused or unusable: tls.py),
LoginRefused (wrong password, bad token: sasl.py), TokenCommandFailed,
ServerUnreachable.  Passwords, tokens and passphrases are never in an error.
"""
from __future__ import annotations

import imaplib
import os
import smtplib
import socket
import ssl
from dataclasses import dataclass, field
from pathlib import Path

from pli.core.config import config_section
from pli.core.errors import PliError
from pli.core.home import Home
from pli.core.transport.accounts import Account, AccountError, Server, load_accounts
from pli.core.transport.oauth_token import TokenCommand
from pli.core.transport.secrets import read_account_password
from pli.core.transport.sasl import (LoginRefused, OAuthExchange, imap_authenticate, imap_external,
                                     smtp_authenticate, smtp_external)
from pli.core.transport.tls import TlsFailed, TlsSettings, client_context, tls_failure

AUTH = ("password", "certificate", "xoauth2", "oauthbearer")
TIMEOUT = 30


class ServerUnreachable(PliError):
    """The operator's server did not answer (refused, no route, time-out)."""

    exit_code = 75


@dataclass(frozen=True)
class MssAccount:
    name: str
    address: str
    auth: str                                   # one of AUTH
    imap: Server | None
    smtp: Server | None
    imap_user: str = ""                         # the login (password and token logins)
    smtp_user: str = ""
    imap_folder: str = "INBOX"
    tls: TlsSettings = TlsSettings()
    token_command: TokenCommand | None = None
    key_in_keyring: bool = False                # the client key is encrypted, its passphrase sealed in the keyring

    def user(self, server: str) -> str:
        return self.imap_user if server == "imap" else self.smtp_user


@dataclass(frozen=True)
class Credentials:
    """The secrets a session needs, read by the caller (the password from its file or the keyring)."""

    password: str | None = field(default=None, repr=False)
    key_passphrase: bytes | None = field(default=None, repr=False)


def is_mssante(table: dict) -> bool:
    return table.get("mssante") is True


def mssante_account(account: Account, table: dict, where: str) -> MssAccount | None:
    """The MSSanté settings of an account (its raw config table), or None when it is not marked `mssante = true`."""
    if not is_mssante(table):
        if table.get("mssante") not in (None, False):
            raise AccountError(f"{where}: mssante must be true or false")
        return None
    auth = str(table.get("auth", "password")).lower()
    if auth not in AUTH:
        raise AccountError(f"{where}: auth must be one of {', '.join(AUTH)}, not {auth!r}")
    for server in (account.imap, account.smtp):
        if server is not None and server.security == "none":
            raise AccountError(f"{where}: an MSSanté account speaks TLS to {server}: set its security to "
                               "\"tls\" or \"starttls\"")
    if account.imap is None and account.smtp is None:
        raise AccountError(f"{where}: an MSSanté account needs imap_host, smtp_host or both")
    tls = _tls(table, auth, where)
    command = None
    if auth in ("xoauth2", "oauthbearer"):
        if "token_command" not in table:
            raise AccountError(f"{where}: auth = \"{auth}\" needs token_command (the program that prints the "
                               "access token)")
        command = TokenCommand.from_config(table["token_command"], where)
    imap_user, smtp_user = (_user(account, "imap"), _user(account, "smtp"))
    if auth != "certificate" and not (imap_user if account.imap else smtp_user):
        raise AccountError(f"{where}: auth = \"{auth}\" needs a username (username, imap_username, smtp_username)")
    return MssAccount(account.name, account.address, auth, account.imap, account.smtp, imap_user, smtp_user,
                      account.imap_folder, tls, command, table.get("client_key_passphrase") == "keyring")


def load_mss_accounts(home: Home, accounts: dict[str, Account] | None = None) -> dict[str, MssAccount]:
    """The home's MSSanté accounts by name (those marked `mssante = true`), their settings checked."""
    accounts = load_accounts(home) if accounts is None else accounts
    tables = config_section(home.config, "accounts") if accounts else {}
    found = {}
    for name, account in accounts.items():
        mss = mssante_account(account, tables.get(name, {}), f"{home.config} [accounts.{name}]")
        if mss is not None:
            found[name] = mss
    return found


def credentials(home: Home, account: Account, mss: MssAccount, server: str, keyring=None) -> Credentials:
    """The secrets `open_imap`/`open_smtp` need for `server` ("imap" or "smtp"), read from their file or the
    keyring: the password of a password login, the passphrase of a client key sealed in the keyring."""
    password = None
    if mss.auth == "password":
        login = account.imap_login if server == "imap" else account.smtp_login
        password = login.secret(home, keyring) if login is not None else None
    passphrase = read_account_password(home, mss.name, keyring).encode() if mss.key_in_keyring else None
    return Credentials(password=password, key_passphrase=passphrase)


def open_imap(account: MssAccount, credentials: Credentials = Credentials(), *,
              timeout: float = TIMEOUT) -> imaplib.IMAP4:
    """An IMAP session on the account's server, over checked TLS, logged in."""
    server = _server(account.imap, account, "imap")
    tls = _settings(account, credentials)
    token = _token(account)
    try:
        context = client_context(tls)
        if server.security == "tls":
            imap = imaplib.IMAP4_SSL(server.host, server.port, ssl_context=context, timeout=timeout)
        else:
            imap = imaplib.IMAP4(server.host, server.port, timeout=timeout)
            _imap_starttls(imap, context, server)
        _imap_login(imap, account, credentials, token, server)
    except ssl.SSLError as error:
        raise tls_failure(error, str(server), tls) from None
    except (imaplib.IMAP4.abort, OSError) as error:
        raise _unreachable(error, server) from None
    return imap


def open_smtp(account: MssAccount, credentials: Credentials = Credentials(), *,
              timeout: float = TIMEOUT) -> smtplib.SMTP:
    """An SMTP submission session on the account's server, over checked TLS, EHLO done, logged in."""
    server = _server(account.smtp, account, "smtp")
    tls = _settings(account, credentials)
    token = _token(account)
    try:
        context = client_context(tls)
        if server.security == "tls":
            smtp = smtplib.SMTP_SSL(server.host, server.port, context=context, timeout=timeout)
        else:
            smtp = smtplib.SMTP(server.host, server.port, timeout=timeout)
            smtp.ehlo()
            if not smtp.has_extn("starttls"):
                smtp.close()
                raise TlsFailed(f"{server} does not offer STARTTLS: set smtp_security = \"tls\" if it speaks "
                                "implicit TLS on another port")
            smtp.starttls(context=context)
        smtp.ehlo()
        _smtp_login(smtp, account, credentials, token, server)
    except ssl.SSLError as error:
        raise tls_failure(error, str(server), tls) from None
    except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, OSError) as error:
        raise _unreachable(error, server) from None
    return smtp


def _imap_starttls(imap: imaplib.IMAP4, context: ssl.SSLContext, server: Server) -> None:
    if "STARTTLS" not in imap.capabilities:
        imap.shutdown()
        raise TlsFailed(f"{server} does not offer STARTTLS: set imap_security = \"tls\" if it speaks implicit "
                        "TLS on another port")
    imap.starttls(ssl_context=context)


def _imap_login(imap: imaplib.IMAP4, account: MssAccount, credentials: Credentials, token: str | None,
                server: Server) -> None:
    name = str(server)
    if account.auth == "password":
        try:
            imap.login(account.imap_user, _password(credentials, account))
        except imaplib.IMAP4.error as error:
            raise _password_refused(account, "imap", name) from None
    elif account.auth == "certificate":
        imap_external(imap, name)
    else:
        imap_authenticate(imap, OAuthExchange(account.auth, account.imap_user, token, server.host, server.port),
                          name)


def _smtp_login(smtp: smtplib.SMTP, account: MssAccount, credentials: Credentials, token: str | None,
                server: Server) -> None:
    name = str(server)
    if account.auth == "password":
        try:
            smtp.login(account.smtp_user, _password(credentials, account))
        except smtplib.SMTPAuthenticationError as error:
            raise _password_refused(account, "smtp", name) from None
        except smtplib.SMTPNotSupportedError:
            raise LoginRefused(f"{name} offers no password login: check the account's auth setting") from None
    elif account.auth == "certificate":
        smtp_external(smtp, name)
    else:
        smtp_authenticate(smtp, OAuthExchange(account.auth, account.smtp_user, token, server.host, server.port),
                          name)


def _password_refused(account: MssAccount, kind: str, server: str) -> LoginRefused:
    return LoginRefused(f"{server} refused the password of {account.user(kind)}: check the password "
                        f"(`pli send password {account.name} --server {kind}` or the password file)")


def _password(credentials: Credentials, account: MssAccount) -> str:
    if not credentials.password:
        raise LoginRefused(f"account {account.name} logs in by password and none was given: set password_file, "
                           f"or password = \"keyring\" and `pli send password {account.name}`")
    return credentials.password


def _token(account: MssAccount) -> str | None:
    """Run the token command before connecting: a helper that fails leaves no half-open session."""
    return account.token_command.token() if account.token_command is not None else None


def _settings(account: MssAccount, credentials: Credentials) -> TlsSettings:
    if credentials.key_passphrase is None:
        return account.tls
    passphrase = credentials.key_passphrase
    return TlsSettings(account.tls.ca_file, account.tls.client_cert, account.tls.client_key, lambda: passphrase)


def _server(server: Server | None, account: MssAccount, kind: str) -> Server:
    if server is None:
        raise AccountError(f"account {account.name} has no {kind} server: set {kind}_host")
    return server


def _tls(table: dict, auth: str, where: str) -> TlsSettings:
    def path(key: str) -> Path | None:
        value = table.get(key)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise AccountError(f"{where}: {key} must be a file name")
        return Path(os.path.expanduser(value))

    cert, key = path("client_cert"), path("client_key")
    if auth == "certificate" and cert is None:
        raise AccountError(f"{where}: auth = \"certificate\" needs client_cert (and client_key unless the key is "
                           "in the same file)")
    if key is not None and cert is None:
        raise AccountError(f"{where}: client_key is set without client_cert")
    return TlsSettings(ca_file=path("ca_file"), client_cert=cert, client_key=key)


def _user(account: Account, server: str) -> str:
    login = account.imap_login if server == "imap" else account.smtp_login
    return login.username if login is not None else ""


def _unreachable(error: BaseException, server: Server) -> PliError:
    if isinstance(error, socket.timeout):
        return ServerUnreachable(f"{server} did not answer in time: check the host and port, and the network")
    if isinstance(error, ConnectionRefusedError):
        return ServerUnreachable(f"{server} refused the connection: check the host and port")
    if isinstance(error, socket.gaierror):
        return ServerUnreachable(f"{server.host} is not a known host name: check the account's host")
    if isinstance(error, (imaplib.IMAP4.abort, smtplib.SMTPServerDisconnected, ConnectionResetError)):
        return ServerUnreachable(f"{server} closed the connection: check the port and the security setting "
                                 "(tls or starttls)")
    return ServerUnreachable(f"cannot reach {server} ({getattr(error, 'strerror', None) or type(error).__name__})")
