"""Where a user's pli data lives: the home folder and the paths inside it."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def default_home() -> Path:
    env = os.environ.get("PLI_HOME")
    if env:
        return Path(env).expanduser()
    data = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(data) / "pli"


@dataclass(frozen=True)
class Home:
    """The layout of a pli home folder (config, keyring, pads, store, trace)."""

    root: Path

    def __post_init__(self) -> None:
        # Always absolute: libnotmuch refuses a relative database path, and a
        # relative root would change meaning if anything changed directory.
        object.__setattr__(self, "root", Path(self.root).expanduser().absolute())

    @classmethod
    def resolve(cls, explicit: str | os.PathLike | None = None) -> "Home":
        return cls(Path(explicit) if explicit else default_home())

    @property
    def config(self) -> Path:
        return self.root / "config.toml"

    @property
    def keyring(self) -> Path:
        return self.root / "keyring"

    @property
    def pads(self) -> Path:
        return self.root / "pads"

    @property
    def mail(self) -> Path:
        return self.root / "mail"

    @property
    def trace(self) -> Path:
        return self.root / "trace"

    @property
    def mssante_index(self) -> Path:
        """The imported MSSanté mailbox extract (core/directory/mssante_index.py), beside the signed directory."""
        return self.root / "directory" / "mssante.sqlite"
