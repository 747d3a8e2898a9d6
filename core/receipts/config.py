"""The [receipts] section of the home's config.toml: which receipts this home sends, and when.

    [receipts]
    send_delivery = true   # acknowledge delivery when a sender asks (at `pli new` / `pli import`)
    send_read = false      # acknowledge reading when a sender asks (when the message is opened in the TUI)
    flush = true           # submit queued receipts at once through the default account, if it can send

Without the section these defaults apply; `pli init` does not write it.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from pli.core.errors import ConfigError


@dataclass(frozen=True)
class ReceiptsConfig:
    send_delivery: bool = True
    send_read: bool = False
    flush: bool = True

    def sends(self, kind: str) -> bool:
        return self.send_delivery if kind == "delivery" else self.send_read if kind == "read" else False


def load_receipts_config(path: Path) -> ReceiptsConfig:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return ReceiptsConfig()
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"cannot read {path}: {error}; fix or remove the file") from None
    section = data.get("receipts", {})
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: [receipts] must be a table")
    values = {}
    for name in ("send_delivery", "send_read", "flush"):
        value = section.get(name, getattr(ReceiptsConfig, name))
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: [receipts] {name} must be true or false")
        values[name] = value
    return ReceiptsConfig(**values)
