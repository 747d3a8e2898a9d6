"""Durable file writes: what every layer calls so that a crash or a power cut never leaves half a file.

    write_atomic(path, data)          # temp file O_EXCL 0600 beside it, fsync, rename, fsync folder
    write_new(path, data)             # the same, but only if `path` does not exist: never replaces a file
    append_durably(path, data)        # O_APPEND 0600, every byte written, fsync
    full_fsync(fd); fsync_dir(folder) # the two barriers the others are made of
    sync_filesystem(path)             # every write on path's file system: one barrier for thousands of files

One module so that the rules live in one place: F_FULLFSYNC where the OS has
it (macOS keeps written data in the disk's cache after a plain fsync), the
folder synced after a rename or a new name (otherwise the file's data is safe
but its name may vanish), files created 0600 because most of what pli writes
is a secret or patient data.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Iterable

Data = bytes | bytearray | memoryview


def full_fsync(fd: int) -> None:
    """Make a file's data durable: fsync, and F_FULLFSYNC where the OS has it (macOS disk caches)."""
    import fcntl

    if hasattr(fcntl, "F_FULLFSYNC"):
        try:
            fcntl.fcntl(fd, fcntl.F_FULLFSYNC)
            return
        except OSError:
            pass  # not supported by this file system: plain fsync below
    os.fsync(fd)


def fsync_dir(folder: str | os.PathLike) -> None:
    """Make the names in `folder` durable (after a create, rename or link in it)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        full_fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: Data) -> None:
    """os.write until every byte is out (a single write may be short on large buffers)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def write_atomic(path: str | os.PathLike, data: Data | Iterable[Data], mode: int = 0o600) -> None:
    """Replace `path` with `data` (bytes, or an iterable of chunks) atomically: a crash leaves the old file or the new one.

    The temp file is created O_EXCL in the same folder (so the rename is
    atomic and no other user ever sees the bytes), fsync'd, renamed over
    `path`, and the folder fsync'd so that the rename itself is durable.
    """
    path = Path(path)
    tmp = _staged(path, data, mode)
    try:
        os.replace(tmp, path)
    except OSError:
        os.unlink(tmp)       # the staged copy may hold a secret or a message in clear: never left behind
        raise
    fsync_dir(path.parent)


def write_new(path: str | os.PathLike, data: Data | Iterable[Data], mode: int = 0o600) -> bool:
    """Create `path` holding `data`, atomically, unless a file of that name exists: then
    return False and write nothing.  Never replaces a file, even one created meanwhile by
    another process (exports into a shared folder must not lose anyone's file).

    Like write_atomic, the bytes go to a temp file first, so a reader (medical software
    watching the folder) never sees half a file; the temp file is then hard-linked to
    `path`, which fails if the name exists.  Where the file system has no hard links
    (SMB shares, FAT drives), it is renamed after a check for the name: atomic for
    readers, but a file created between the check and the rename would be replaced.
    """
    path = Path(path)
    if os.path.lexists(path):
        return False
    tmp = _staged(path, data, mode)
    try:
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        except OSError:
            if os.path.lexists(path):
                return False
            os.rename(tmp, path)
        fsync_dir(path.parent)
        return True
    finally:
        tmp.unlink(missing_ok=True)


def _staged(path: Path, data: Data | Iterable[Data], mode: int) -> Path:
    """A temp file beside `path` (created O_EXCL, `mode`) holding `data`, fsync'd."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        for chunk in ([data] if isinstance(data, (bytes, bytearray, memoryview)) else data):
            write_all(fd, chunk)
        full_fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    return tmp


def append_durably(path: str | os.PathLike, data: Data, mode: int = 0o600) -> None:
    """Append `data` to `path` (created `mode` if new) and return only once it is on disk."""
    path = Path(path)
    is_new = not path.exists()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, mode)
    try:
        write_all(fd, data)
        full_fsync(fd)
    finally:
        os.close(fd)
    if is_new:
        fsync_dir(path.parent)  # a new file: its name must be durable too


def sync_filesystem(path: str | os.PathLike) -> None:
    """Make every write on the file system holding `path` durable: syncfs(2) on Linux, sync(2) elsewhere.

    The bulk import's barrier: one call covers the thousands of files and renames
    of a batch, where an fsync per file and per folder would cost a disk flush each.
    """
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        libc = _libc()
        if libc is None or libc.syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)


@functools.cache
def _libc():
    """The C library for syncfs (None where it has none), loaded at the first barrier: ctypes costs ~5 ms
    to import, and most commands (and the TUI, which imports this with the store) never sync a file system."""
    # start-up: ctypes loads with the first bulk barrier, not with every command that imports the store
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syncfs  # noqa: B018 - Linux only
        return libc
    except (OSError, AttributeError):
        return None

