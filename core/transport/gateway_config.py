"""The gateway's settings: the [gateway] section of a TOML file (the home's config.toml by default).

    [gateway]
    domain = "hopital.example"
    hostname = "mx1.hopital.example"     # names itself in the greeting and in Received:
    listen = "0.0.0.0:25"                # `--listen` overrides it
    trust_home = "/var/lib/pli-gateway"  # a pli home: its directory (and correspondents) say who may send
    trace_home = "/var/lib/pli-gateway"  # where the trace is written (default: trust_home)
    trace_key = "/etc/pli/gateway.key"   # Ed25519 private key (PEM, 0600) signing the trace; none: no trace
    max_message_bytes = 26214400
    max_recipients = 100
    max_connections = 500
    max_connections_per_client = 20
    max_messages_per_minute = 600        # per client address
    timeout_seconds = 60                 # a command, or a whole DATA transfer, must finish within this

    [gateway.tls]                        # STARTTLS offered when present
    cert = "/etc/pli/mx1.pem"
    key = "/etc/pli/mx1.key"
    require = false                      # true: MAIL refused before STARTTLS

    [gateway.delivery]
    kind = "maildir"                     # or "lmtp"
    root = "/srv/pli/mailboxes"          # maildir: <root>/<mailbox>/{tmp,new,cur}; a mailbox may be an absolute path
    # lmtp: host = "127.0.0.1", port = 24   or   socket = "/run/dovecot/lmtp"

    [gateway.aliases]                    # public address -> mailbox (never shown to senders)
    "dr.martin@hopital.example" = "m-7f3a"

Relative paths are relative to the config file's folder.
"""
from __future__ import annotations

import os
import ssl
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from pli.core.crypto.identity import check_address
from pli.core.errors import ConfigError, PliError


class GatewayConfigError(ConfigError):
    """The [gateway] section is missing or wrong."""


@dataclass(frozen=True)
class Limits:
    max_message_bytes: int = 25 * 1024 * 1024
    max_recipients: int = 100
    max_connections: int = 500
    max_connections_per_client: int = 20
    max_messages_per_minute: int = 600
    timeout_seconds: float = 60.0


@dataclass(frozen=True)
class Delivery:
    kind: str                          # "maildir" | "lmtp"
    root: Path | None = None
    host: str | None = None
    port: int | None = None
    socket: Path | None = None


@dataclass(frozen=True)
class GatewayConfig:
    domain: str
    hostname: str
    listen: tuple[str, int] | None
    trust_home: Path
    trace_home: Path | None
    trace_key: Path | None
    delivery: Delivery
    aliases: dict[str, str]
    limits: Limits = field(default_factory=Limits)
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_required: bool = False

    def tls_context(self) -> ssl.SSLContext | None:
        if self.tls_cert is None:
            return None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(self.tls_cert, self.tls_key)
        except (OSError, ssl.SSLError) as error:
            raise GatewayConfigError(f"cannot load the TLS certificate {self.tls_cert} / key {self.tls_key}: "
                                     f"{getattr(error, 'strerror', None) or error}") from None
        return context


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise PliError(f"--listen {text!r}: expected HOST:PORT (e.g. 127.0.0.1:2525)")
    return host.strip("[]") or "0.0.0.0", int(port)


def load_gateway_config(path: Path) -> GatewayConfig:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GatewayConfigError(f"no gateway config at {path}") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise GatewayConfigError(f"cannot read {path}: {error}") from None
    section = data.get("gateway")
    if not isinstance(section, dict):
        raise GatewayConfigError(f"{path} has no [gateway] section (see docs/TRANSPORT.md)")
    base = path.parent
    where = f"{path} [gateway]"
    domain = _text(section, "domain", where).lower()
    trust_home = _path(base, _text(section, "trust_home", where))
    tls = section.get("tls", {}) or {}
    return GatewayConfig(
        domain=domain,
        hostname=str(section.get("hostname") or domain),
        listen=parse_listen(section["listen"]) if section.get("listen") else None,
        trust_home=trust_home,
        trace_home=_path(base, section["trace_home"]) if section.get("trace_home") else trust_home,
        trace_key=_path(base, section["trace_key"]) if section.get("trace_key") else None,
        delivery=_delivery(section.get("delivery"), base, where),
        aliases=_aliases(section.get("aliases"), where),
        limits=_limits(section, where),
        tls_cert=_path(base, tls["cert"]) if tls.get("cert") else None,
        tls_key=_path(base, tls.get("key") or tls["cert"]) if tls.get("cert") else None,
        tls_required=bool(tls.get("require", False)))


def _limits(section: dict, where: str) -> Limits:
    values = {}
    for name, default in Limits.__dataclass_fields__.items():
        if name in section:
            try:
                values[name] = type(default.default)(section[name])
            except (TypeError, ValueError):
                raise GatewayConfigError(f"{where}: {name} must be a number") from None
            if values[name] <= 0:
                raise GatewayConfigError(f"{where}: {name} must be positive")
    return Limits(**values)


def _delivery(table, base: Path, where: str) -> Delivery:
    if not isinstance(table, dict):
        raise GatewayConfigError(f"{where}: a [gateway.delivery] table is required (kind = \"maildir\" or \"lmtp\")")
    kind = table.get("kind")
    if kind == "maildir":
        return Delivery("maildir", root=_path(base, _text(table, "root", f"{where}.delivery")))
    if kind == "lmtp":
        if table.get("socket"):
            return Delivery("lmtp", socket=_path(base, table["socket"]))
        return Delivery("lmtp", host=str(table.get("host", "127.0.0.1")), port=int(table.get("port", 24)))
    raise GatewayConfigError(f"{where}.delivery: kind must be \"maildir\" or \"lmtp\"")


def _aliases(table, where: str) -> dict[str, str]:
    if not isinstance(table, dict) or not table:
        raise GatewayConfigError(f"{where}: a [gateway.aliases] table (public address = mailbox) is required")
    out = {}
    for address, mailbox in table.items():
        if not isinstance(mailbox, str) or not mailbox.strip():
            raise GatewayConfigError(f"{where}.aliases: {address} must map to a mailbox name")
        out[check_address(address)] = mailbox.strip()
    return out


def _text(table: dict, key: str, where: str) -> str:
    value = table.get(key)
    if not isinstance(value, str) or not value.strip():
        raise GatewayConfigError(f"{where}: {key} is missing")
    return value.strip()


def _path(base: Path, value: str) -> Path:
    path = Path(os.path.expanduser(str(value)))
    return path if path.is_absolute() else base / path
