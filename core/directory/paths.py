"""Where a home keeps its directory: plain paths, importable without the directory's readers and their
signature code (the TUI's first screen asks whether a directory is installed before it loads one)."""
from __future__ import annotations

from pathlib import Path


def directory_dir(home) -> Path:
    return home.root / "directory"


def anchor_path(home) -> Path:
    return directory_dir(home) / "authority.pub"


def installed_path(home) -> Path:
    return directory_dir(home) / "directory.pli"
