"""The [receipts] section of the home's config.toml: which receipts this home sends, and when.

    [receipts]
    ask = ""               # what this home asks for on what it sends, unless told otherwise: "delivery", "delivery,read"
    send_delivery = true   # acknowledge delivery when a sender asks (at `pli new` / `pli import`)
    send_read = false      # acknowledge reading when a sender asks (when the message is opened in the TUI)
    flush = true           # submit queued receipts at once through the default account, if it can send

Without the section these defaults apply; `pli init` does not write it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pli.core.config import config_section
from pli.core.errors import ConfigError, PliError
from pli.core.receipts.message import kinds_option


@dataclass(frozen=True)
class ReceiptsConfig:
    ask: tuple[str, ...] = ()
    send_delivery: bool = True
    send_read: bool = False
    flush: bool = True

    def sends(self, kind: str) -> bool:
        return self.send_delivery if kind == "delivery" else self.send_read if kind == "read" else False


def load_receipts_config(path: Path) -> ReceiptsConfig:
    section = config_section(path, "receipts")
    values = {}
    for name in ("send_delivery", "send_read", "flush"):
        value = section.get(name, getattr(ReceiptsConfig, name))
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: [receipts] {name} must be true or false")
        values[name] = value
    return ReceiptsConfig(ask=_kinds(section.get("ask", ""), path), **values)


def _kinds(value, path: Path) -> tuple[str, ...]:
    if isinstance(value, list):
        value = ",".join(str(v) for v in value)
    if not isinstance(value, str):
        raise ConfigError(f'{path}: [receipts] ask must be "delivery", "read" or "delivery,read"')
    try:
        return kinds_option(value)
    except PliError as error:
        raise ConfigError(f"{path}: [receipts] ask: {error}") from None
