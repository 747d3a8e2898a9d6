"""The home's config.toml: one reader, and each part of pli takes its own section.

    section = config_section(home.config, "store")   # {} when the file or the section is missing

The file is shared ([store], [lab], [searches], [keys], [accounts.NAME],
[receipts]...): a part reads only its section and never rewrites the others.
A file that cannot be read is a ConfigError naming the file and the problem,
never a traceback.
"""
from __future__ import annotations

import tomllib
from pathlib import Path

from pli.core.errors import ConfigError

FIX = "fix or remove the file"


def read_config(path: Path, consequence: str = FIX) -> dict:
    """The whole file as a dict; {} when it does not exist."""
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"cannot read {path}: {error}; {consequence}") from None


def config_section(path: Path, name: str, consequence: str = FIX) -> dict:
    """The table [name] of the file; {} when the file or the table is missing."""
    section = read_config(path, consequence).get(name, {})
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: [{name}] must be a table; {consequence}")
    return section
