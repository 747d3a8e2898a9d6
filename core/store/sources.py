"""What `pli import` reads: Maildir folders, mbox files and single .eml files, told apart per path.

Sources are listed first (cheap references: a file, or a byte range of an mbox)
so that the progress bar knows the total; the worker processes read the bytes
themselves, so the writer process never spends time on them.
"""
from __future__ import annotations

import mmap
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pli.core.errors import PliError

MBOX_SEPARATOR = b"From "


class SourceError(PliError):
    """An import path is missing or unreadable."""


@dataclass(frozen=True)
class Source:
    """One message to import: a whole file, or bytes start..stop of an mbox."""

    path: str
    start: int = 0
    stop: int = -1          # -1: to the end of the file
    index: int = -1         # position in its mbox (for the summary), -1 for a file
    consume: bool = False   # remove the file once the message is safely stored (`pli new`)

    @property
    def origin(self) -> str:
        return f"{self.path}#{self.index + 1}" if self.index >= 0 else self.path

    def read(self) -> bytes:
        with open(self.path, "rb") as f:
            if self.stop < 0:
                return f.read()
            f.seek(self.start)
            return f.read(self.stop - self.start)


def is_maildir(path: Path) -> bool:
    return (path / "cur").is_dir() and (path / "new").is_dir()


def maildir_sources(path: Path, consume: bool = False) -> Iterator[Source]:
    for sub in ("new", "cur"):
        folder = path / sub
        for name in sorted(os.listdir(folder)):
            if not name.startswith("."):
                yield Source(str(folder / name), consume=consume)


def looks_like_mbox(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(len(MBOX_SEPARATOR)) == MBOX_SEPARATOR


def mbox_sources(path: Path) -> Iterator[Source]:
    """Split an mbox at its "From " lines (after a blank line); each message without its From line."""
    size = path.stat().st_size
    if size == 0:
        return
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        starts = [0]
        at = data.find(b"\n\n" + MBOX_SEPARATOR)
        while at >= 0:
            starts.append(at + 2)
            at = data.find(b"\n\n" + MBOX_SEPARATOR, at + 2)
        for index, line_start in enumerate(starts):
            body = data.find(b"\n", line_start) + 1 or size
            stop = starts[index + 1] - 1 if index + 1 < len(starts) else size  # keep one \n
            yield Source(str(path), body, stop, index)


def sources_in(path: Path) -> Iterator[Source]:
    """Every message under one path, whatever its kind, in a stable order."""
    if not path.exists():
        raise SourceError(f"{path}: no such file or folder")
    if path.is_dir():
        if is_maildir(path):
            yield from maildir_sources(path)
            return
        for child in sorted(path.iterdir()):
            if child.name.startswith(".") or child.name == "tmp":
                continue
            yield from sources_in(child)
        return
    if looks_like_mbox(path):
        yield from mbox_sources(path)
    else:
        yield Source(str(path))


def list_sources(paths: Iterable[Path]) -> list[Source]:
    try:
        return [source for path in paths for source in sources_in(Path(path))]
    except PermissionError as error:
        raise SourceError(f"{error.filename}: permission denied") from None
