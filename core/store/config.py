"""The [store] section of the home's config.toml: worker count, batch size, quarantine policy.

    [store]
    workers = 0                 # 0: one per core
    batch = 1000                # messages per index transaction
    quarantine_unsealed = true  # plain (unsealed) mail goes to quarantine
    fsync = true                # fsync every stored file before it becomes visible

Other parts of pli own other sections of the same file: this module only ever
appends its own section, never rewrites the file.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

from pli.core.config import config_section
from pli.core.errors import ConfigError

SECTION = """
[store]
workers = 0                 # 0: one per core
batch = 1000                # messages per index transaction
quarantine_unsealed = true  # plain (unsealed) mail goes to quarantine, as secure-messaging servers do
fsync = true                # fsync every stored file before it becomes visible
"""


@dataclass(frozen=True)
class StoreConfig:
    workers: int = 0
    batch: int = 1000
    quarantine_unsealed: bool = True
    fsync: bool = True

    @property
    def worker_count(self) -> int:
        return self.workers if self.workers > 0 else (os.cpu_count() or 1)


def load_store_config(path: Path) -> StoreConfig:
    section = config_section(path, "store")
    try:
        config = StoreConfig(
            workers=int(section.get("workers", 0)),
            batch=int(section.get("batch", 1000)),
            quarantine_unsealed=bool(section.get("quarantine_unsealed", True)),
            fsync=bool(section.get("fsync", True)),
        )
    except (TypeError, ValueError):
        raise ConfigError(f"{path}: [store] workers and batch must be whole numbers") from None
    if config.batch < 1 or config.workers < 0:
        raise ConfigError(f"{path}: [store] batch must be at least 1 and workers at least 0")
    return config


def ensure_store_section(path: Path) -> None:
    """Append the default [store] section unless the file already has one."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        text = ""
    if "store" in _tables(text, path):
        return
    with open(path, "a", encoding="utf-8") as out:
        out.write(SECTION.lstrip() if not text else SECTION if text.endswith("\n") else "\n" + SECTION)
    os.chmod(path, 0o600)


def _tables(text: str, path: Path) -> dict:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"cannot read {path}: {error}; fix it before `pli init`") from None
