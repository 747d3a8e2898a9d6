"""Mail accounts: where `pli send` submits and `pli fetch` fetches, from the home's config.toml.

    [accounts.cabinet]
    address = "dr.martin@cabinet.example"     # the envelope sender (MAIL FROM)
    default = true                            # the account for recipients no send_to names, and for fetch
    send_to = ["hopital.example"]             # optional: mail to these domains (and their subdomains) goes
                                              # through this account, unless --account names another
    smtp_host = "smtp.cabinet.example"
    smtp_port = 465
    smtp_security = "tls"                     # "tls" (implicit TLS), "starttls", or "none" (loopback only)
    smtp_username = "dr.martin@cabinet.example"   # omit: no AUTH (a relay that knows us by address)
    smtp_password_file = "~/.config/pli/cabinet-smtp.pass"   # mode 0600; or:
    # smtp_password = "keyring"               # sealed in the keyring: pli send password cabinet --server smtp
    imap_host = "imap.cabinet.example"
    imap_port = 993
    imap_security = "tls"
    imap_folder = "INBOX"
    imap_username = "dr.martin"
    imap_password = "keyring"                 # `pli send password cabinet --server imap`
    ca_file = "/etc/ssl/certs/my-ca.pem"      # optional: trust this CA (a private relay)

`username`, `password_file` and `password = "keyring"` (without a prefix) are
the login of both servers where the smtp_/imap_ keys do not say otherwise;
`smtp_username = ""` turns the SMTP login off.  `host`, `port` and `security`
are short forms of the smtp_ keys.  A password written in clear in the config
is refused: it would sit next to everything else in a file people copy around.
"""
from __future__ import annotations

import ipaddress
import os
import re
import ssl
from dataclasses import dataclass
from pathlib import Path

from pli.core.config import config_section
from pli.core.errors import ConfigError
from pli.core.home import Home
from pli.core.transport.secrets import read_account_password, set_command

SECURITY = ("tls", "starttls", "none")
SMTP_PORTS = {"tls": 465, "starttls": 587, "none": 25}
IMAP_PORTS = {"tls": 993, "starttls": 143, "none": 143}
SERVERS = ("smtp", "imap")
_DOMAIN = re.compile(r"[a-z0-9-]+(\.[a-z0-9-]+)*")


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
class Login:
    """How an account logs in to one of its servers: a user name and where its secret is kept."""

    account: str
    server: str                          # "smtp" | "imap"
    username: str
    password_file: Path | None = None
    keyring_slot: str | None = None      # pli.core.transport.secrets: "cabinet" (shared) or "cabinet@smtp"
    shared: bool = False                 # from `username` (both servers'): an SMTP server offering no AUTH
                                         # is sent mail without it; an smtp_username it must take

    def secret(self, home: Home, keyring=None) -> str:
        """The password, read from its file or the keyring (unlocked here if `keyring` is None)."""
        if self.password_file is not None:
            return _read_password_file(self.password_file, self.account)
        if self.keyring_slot is not None:
            return read_account_password(home, self.keyring_slot, keyring)
        raise AccountError(f"account {self.account} has a {self.server} username but no password: set "
                           f"{self.server}_password_file, or {self.server}_password = \"keyring\" and run "
                           f"`pli send password {self.account} --server {self.server}`")

    def fix(self) -> str:
        """The command or setting that replaces a refused password."""
        if self.keyring_slot is not None:
            return set_command(self.keyring_slot)
        return f"the password in {self.password_file}" if self.password_file else f"{self.server}_password_file"


@dataclass(frozen=True)
class Account:
    name: str
    address: str
    smtp: Server | None
    imap: Server | None
    imap_folder: str = "INBOX"
    smtp_login: Login | None = None      # None: no AUTH
    imap_login: Login | None = None
    send_to: tuple[str, ...] = ()        # recipient domains this account sends to
    default: bool = False

    def login(self, server: str, home: Home, keyring=None) -> tuple[str, str] | None:
        """(username, password) for the "smtp" or "imap" server, or None when it takes no login."""
        login = self.smtp_login if server == "smtp" else self.imap_login
        return None if login is None else (login.username, login.secret(home, keyring))

    def sends_without_auth(self) -> bool:
        """Whether SMTP may go without a login when the server offers none (no login, or only the shared one)."""
        return self.smtp_login is None or self.smtp_login.shared

    def describe(self) -> str:
        """One line: what the account submits to and fetches from."""
        parts = [f"smtp {self.smtp} ({self.smtp.security}{_who(self.smtp_login)})" if self.smtp else "no smtp",
                 f"imap {self.imap} ({self.imap.security}{_who(self.imap_login)})" if self.imap else "no imap"]
        if self.send_to:
            parts.append("sends to " + ", ".join(self.send_to))
        return ", ".join(parts)


def _who(login: Login | None) -> str:
    return f", login {login.username}" if login else ", no login"


def load_accounts(home: Home) -> dict[str, Account]:
    """Every [accounts.NAME] of the home's config.toml (an empty dict if there are none)."""
    section = config_section(home.config, "accounts", "fix the file: [accounts.NAME] tables, see docs/TRANSPORT.md")
    accounts = {name: _account(name, table, home) for name, table in section.items()}
    claimed: dict[str, str] = {}
    for account in accounts.values():
        for domain in account.send_to:
            if domain in claimed:
                raise AccountError(f"{home.config}: send_to names {domain} in both [accounts.{claimed[domain]}] "
                                   f"and [accounts.{account.name}]: keep it in one")
            claimed[domain] = account.name
    return accounts


def choose_account(home: Home, name: str | None) -> Account:
    """The named account, else the one marked default, else the only one."""
    return _chosen(load_accounts(home), name, home)


def usable_accounts(home: Home, name: str | None = None) -> dict[str, Account]:
    """The accounts mail can go through: all of them, or only the one named; AccountError when there is none."""
    accounts = load_accounts(home)
    if name is None and accounts:
        return accounts
    chosen = _chosen(accounts, name, home)
    return {chosen.name: chosen}


def route(home: Home, recipients: list[str], name: str | None = None,
          accounts: dict[str, Account] | None = None) -> list[tuple[Account, list[str]]]:
    """Which account sends to which recipients, in the order they first appear.

    `name` (--account) sends everything through that account; otherwise a
    recipient goes through the account whose send_to names its domain (the
    longest match: "cardio.hopital.example" before "hopital.example"), else
    through the default account.  AccountError when no account can take one.
    """
    groups: dict[str, tuple[Account, list[str]]] = {}
    for address, account in routed(home, recipients, name, accounts).items():
        if isinstance(account, AccountError):
            raise account
        groups.setdefault(account.name, (account, []))[1].append(address)
    return list(groups.values())


def routed(home: Home, addresses: list[str], name: str | None = None,
           accounts: dict[str, Account] | None = None) -> dict[str, Account | AccountError]:
    """Each address's account, or why none takes it (the seal plans of `pli send` and compose show it)."""
    try:
        accounts = usable_accounts(home, name) if accounts is None else accounts
    except AccountError as error:
        return {a: error for a in addresses}
    found: dict[str, Account | AccountError] = {}
    for address in addresses:
        try:
            found[address] = accounts[name] if name is not None else _for_address(accounts, address, home)
        except AccountError as error:
            found[address] = error
    return found


def _for_address(accounts: dict[str, Account], address: str, home: Home) -> Account:
    domain = address.rpartition("@")[2].lower()
    best = None
    for account in accounts.values():
        for rule in account.send_to:
            if (domain == rule or domain.endswith("." + rule)) and (best is None or len(rule) > best[0]):
                best = (len(rule), account)
    if best is not None:
        return best[1]
    try:
        return _chosen(accounts, None, home)
    except AccountError as error:
        raise AccountError(f"no account sends to {address}: {error.message}") from None


def _chosen(accounts: dict[str, Account], name: str | None, home: Home) -> Account:
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
    for key in ("password", "smtp_password", "imap_password"):
        if key in table and table[key] != "keyring":
            raise AccountError(f"{where}: a password in clear in the config is refused; put it in a 0600 file "
                               f"named by {key}_file, or use {key} = \"keyring\"")
    address = str(table.get("address", "")).strip().lower()
    if "@" not in address:
        raise AccountError(f"{where}: address (the sender address, name@domain) is missing")
    return Account(
        name=name, address=address,
        smtp=_server(table, "smtp", SMTP_PORTS, where, short_forms=True),
        imap=_server(table, "imap", IMAP_PORTS, where),
        imap_folder=str(table.get("imap_folder", "INBOX")),
        smtp_login=_login(name, table, "smtp"),
        imap_login=_login(name, table, "imap"),
        send_to=_domains(table.get("send_to", []), where),
        default=bool(table.get("default", False)))


def _login(name: str, table: dict, server: str) -> Login | None:
    """The server's own keys first (smtp_username...), then the shared ones (username...)."""
    shared = f"{server}_username" not in table
    username = table.get("username") if shared else table.get(f"{server}_username")
    if not username:
        return None
    own_file, own_keyring = table.get(f"{server}_password_file"), table.get(f"{server}_password") == "keyring"
    if own_file or own_keyring:
        password_file, slot = own_file, f"{name}@{server}" if own_keyring else None
    else:
        password_file, slot = table.get("password_file"), name if table.get("password") == "keyring" else None
    return Login(name, server, str(username),
                 Path(os.path.expanduser(str(password_file))) if password_file else None, slot, shared)


def _domains(value, where: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(d, str) for d in items):
        raise AccountError(f"{where}: send_to must be a list of domains, e.g. [\"hopital.example\"]")
    domains = tuple(d.strip().lower().removeprefix("*.").removeprefix("@") for d in items)
    bad = [d for d in domains if not _DOMAIN.fullmatch(d)]
    if bad:
        raise AccountError(f"{where}: send_to: {bad[0]!r} is not a domain (write hopital.example)")
    return domains


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
        raise AccountError(f"the password file of account {account} ({path}) does not exist: write the "
                           "password in it (one line), mode 0600") from None
    except (OSError, UnicodeDecodeError) as error:
        raise AccountError(f"cannot read the password file of account {account} ({path}): "
                           f"{getattr(error, 'strerror', None) or 'not UTF-8 text'}") from None
