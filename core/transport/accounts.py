"""Mail accounts: where `pli send` submits and `pli fetch` fetches, from the home's config.toml.

    [accounts.cabinet]
    address = "dr.martin@cabinet.example"     # the envelope sender (MAIL FROM)
    default = true                            # the account `pli send` / `pli fetch` use without --account
    smtp_host = "smtp.cabinet.example"
    smtp_port = 465
    smtp_security = "tls"                     # "tls" (implicit TLS), "starttls", or "none" (loopback only)
    imap_host = "imap.cabinet.example"
    imap_port = 993
    imap_security = "tls"
    imap_folder = "INBOX"
    username = "dr.martin"
    password_file = "~/.config/pli/cabinet.pass"   # mode 0600; or:
    # password = "keyring"                    # the secret sealed in the pli keyring (`pli send --set-password`)
    ca_file = "/etc/ssl/certs/my-ca.pem"      # optional: trust this CA (a private relay)

`host`, `port` and `security` are accepted as short forms of the smtp_ keys.
A password written in clear in the config is refused: it would sit next to
everything else in a file people copy around.
"""
from __future__ import annotations

import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from pli.core.config import config_section
from pli.core.errors import ConfigError
from pli.core.home import Home

SECURITY = ("tls", "starttls", "none")
SMTP_PORTS = {"tls": 465, "starttls": 587, "none": 25}
IMAP_PORTS = {"tls": 993, "starttls": 143, "none": 143}


class AccountError(ConfigError):
    """An account is missing or misconfigured."""


@dataclass(frozen=True)
class Server:
    """One server of an account: host, port, how the connection is protected."""

    host: str
    port: int
    security: str            # "tls" | "starttls" | "none"
    ca_file: str | None = None

    def tls_context(self) -> ssl.SSLContext:
        """Certificate and host name checked (against the system CAs, or `ca_file`)."""
        return ssl.create_default_context(cafile=self.ca_file)

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Account:
    name: str
    address: str
    smtp: Server | None
    imap: Server | None
    imap_folder: str = "INBOX"
    username: str | None = None
    password_file: Path | None = None
    password_in_keyring: bool = False
    default: bool = False

    def password(self, home: Home, keyring=None) -> str | None:
        """The login secret, read from its file or the keyring (unlocked keyring optional) when needed."""
        if self.password_file is not None:
            return _read_password_file(self.password_file, self.name)
        if self.password_in_keyring:
            from pli.core.transport.secrets import read_account_password
            return read_account_password(home, self.name, keyring)
        return None


def load_accounts(home: Home) -> dict[str, Account]:
    """Every [accounts.NAME] of the home's config.toml (an empty dict if there are none)."""
    section = config_section(home.config, "accounts", "fix the file: [accounts.NAME] tables, see docs/TRANSPORT.md")
    return {name: _account(name, table, home) for name, table in section.items()}


def choose_account(home: Home, name: str | None) -> Account:
    """The named account, else the one marked default, else the only one."""
    accounts = load_accounts(home)
    if not accounts:
        raise AccountError(f"no mail account in {home.config}: add an [accounts.NAME] section "
                           "(see docs/TRANSPORT.md)")
    if name is not None:
        if name not in accounts:
            raise AccountError(f"no account {name!r} in {home.config} (accounts: {', '.join(sorted(accounts))})")
        return accounts[name]
    defaults = [a for a in accounts.values() if a.default]
    if len(defaults) == 1:
        return defaults[0]
    if len(accounts) == 1:
        return next(iter(accounts.values()))
    raise AccountError(f"several accounts in {home.config}: mark one `default = true` or pass --account")


def _account(name: str, table, home: Home) -> Account:
    where = f"{home.config} [accounts.{name}]"
    if not isinstance(table, dict):
        raise AccountError(f"{where} must be a table")
    if "password" in table and table["password"] != "keyring":
        raise AccountError(f"{where}: a password in clear in the config is refused; put it in a 0600 file "
                           "named by password_file, or use password = \"keyring\"")
    address = str(table.get("address", "")).strip().lower()
    if "@" not in address:
        raise AccountError(f"{where}: address (the sender address, name@domain) is missing")
    username = table.get("username")
    password_file = table.get("password_file")
    return Account(
        name=name, address=address,
        smtp=_server(table, "smtp", SMTP_PORTS, where, short_forms=True),
        imap=_server(table, "imap", IMAP_PORTS, where),
        imap_folder=str(table.get("imap_folder", "INBOX")),
        username=str(username) if username else None,
        password_file=Path(os.path.expanduser(str(password_file))) if password_file else None,
        password_in_keyring=table.get("password") == "keyring",
        default=bool(table.get("default", False)))


def _server(table: dict, kind: str, ports: dict[str, int], where: str, short_forms: bool = False) -> Server | None:
    def get(key, default=None):
        value = table.get(f"{kind}_{key}")
        if value is None and short_forms:
            value = table.get(key)
        return default if value is None else value

    host = get("host")
    if not host:
        return None
    security = str(get("security", "tls"))
    if security not in SECURITY:
        raise AccountError(f"{where}: {kind}_security must be one of {', '.join(SECURITY)}")
    if security == "none" and not is_loopback(str(host)):
        raise AccountError(f"{where}: {kind}_security = \"none\" is only allowed to a loopback host "
                           f"(127.0.0.1, ::1, localhost), not {host}: use tls or starttls")
    try:
        port = int(get("port", ports[security]))
    except (TypeError, ValueError):
        raise AccountError(f"{where}: {kind}_port must be a number") from None
    ca_file = table.get("ca_file")
    return Server(str(host), port, security, os.path.expanduser(str(ca_file)) if ca_file else None)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _read_password_file(path: Path, account: str) -> str:
    try:
        info = path.stat()
        if info.st_mode & 0o077:
            raise AccountError(f"the password file of account {account} ({path}) is readable by others: "
                               f"`chmod 600 {path}`")
        return path.read_text(encoding="utf-8").rstrip("\n")
    except FileNotFoundError:
        raise AccountError(f"the password file of account {account} ({path}) does not exist") from None
    except (OSError, UnicodeDecodeError) as error:
        raise AccountError(f"cannot read the password file of account {account} ({path}): "
                           f"{getattr(error, 'strerror', None) or 'not UTF-8 text'}") from None
