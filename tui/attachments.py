"""Saving an attachment to a file and handing it to the system viewer (xdg-open / open, or $PLI_VIEWER).

A file handed to a viewer is clear patient data outside the store: it lives in
a private folder of this process (tmp/pli-view-PID-*, mode 0700) and is
removed when the viewer exits, where the viewer's process lasts as long as
the file is shown ($PLI_VIEWER, `open -W`); `xdg-open` hands the file to an
application and returns at once, so those files go when pli exits; folders
left by a pli that died are removed at the next start (`sweep_viewed`).
"""
from __future__ import annotations

import atexit
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

from pli.core.errors import PliError


class AttachmentError(PliError):
    """An attachment could not be saved or opened."""


VIEWER_ENV = "PLI_VIEWER"
VIEW_PREFIX = "pli-view-"
NAME_CHARS = 120
_SEPARATORS = re.compile(r"[/\\]")


def safe_filename(name: str) -> str:
    """A sender's file name as one plain name: its last part after any / or \\, without NUL or other
    control characters, without leading dots (no hidden file, never . or ..), never empty."""
    name = _SEPARATORS.split("".join(c for c in name if c.isprintable()))[-1].strip().lstrip(".")
    if len(name) > NAME_CHARS:
        stem, dot, suffix = name.rpartition(".")
        name = f"{stem[:NAME_CHARS - len(suffix) - 1]}.{suffix}" if dot and len(suffix) < 16 else name[:NAME_CHARS]
    return name or "attachment"


def default_save_path(filename: str) -> Path:
    downloads = Path.home() / "Downloads"
    folder = downloads if downloads.is_dir() else Path.cwd()
    return folder / safe_filename(filename)  # never a path from the sender: one plain name


def save_attachment(data: bytes, path: Path) -> Path:
    """Write the attachment, readable by the user only; never overwrite an existing file."""
    path = path.expanduser()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise AttachmentError(f"{path} already exists: choose another name") from None
    except OSError as error:
        raise AttachmentError(f"cannot save to {path}: {error.strerror}") from None
    except ValueError:   # os.open refuses a path holding a NUL character
        raise AttachmentError("a file name cannot hold a NUL character: choose another name") from None
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    return path


def system_viewer() -> str | None:
    """The "open this file" command: $PLI_VIEWER, else the desktop's, else None (as over a plain SSH session)."""
    if os.environ.get(VIEWER_ENV):
        return os.environ[VIEWER_ENV]
    if sys.platform == "darwin":
        return shutil.which("open")
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return None
    return shutil.which("xdg-open")


def open_with_viewer(data: bytes, filename: str) -> Path:
    viewer = system_viewer()
    if viewer is None:
        raise AttachmentError("no graphical viewer here (SSH session?): save the attachment, "
                              "or preview an image with i")
    folder = Path(tempfile.mkdtemp(prefix=f"{VIEW_PREFIX}{os.getpid()}-"))  # mode 0700: private to the user
    _VIEWED.append(folder)
    path = save_attachment(data, folder / safe_filename(filename))
    argv, waits = viewer_command(viewer, path)
    try:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError as error:
        _remove(folder)
        raise AttachmentError(f"cannot start the viewer {argv[0]}: {error.strerror}") from None
    if waits:
        threading.Thread(target=_remove_when_done, args=(process, folder), name="pli-viewer", daemon=True).start()
    return path


def viewer_command(viewer: str, path: Path) -> tuple[list[str], bool]:
    """The command showing `path`, and whether its process lasts as long as the file is shown."""
    if viewer == os.environ.get(VIEWER_ENV):
        return [*shlex.split(viewer), str(path)], True
    if sys.platform == "darwin":
        return [viewer, "-W", str(path)], True      # -W: `open` returns when the application quits
    return [viewer, str(path)], False               # xdg-open returns once an application has it


def sweep_viewed(temp: str | None = None) -> int:
    """Remove the viewer folders of pli processes that are gone (killed, crashed); how many were removed."""
    removed = 0
    temp = temp or tempfile.gettempdir()
    for name in os.listdir(temp):
        pid = name[len(VIEW_PREFIX):].split("-", 1)[0]
        if name.startswith(VIEW_PREFIX) and pid.isdigit() and not _alive(int(pid)):
            folder = Path(temp, name)
            if folder.is_dir() and not folder.is_symlink() and folder.stat().st_uid == os.getuid():
                _remove(folder)
                removed += 1
    return removed


_VIEWED: list[Path] = []   # this process's viewer folders: removed at exit at the latest


def _remove_when_done(process: subprocess.Popen, folder: Path) -> None:
    process.wait()
    _remove(folder)


def _remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True      # someone else's process: its folder is not ours either
    return True


@atexit.register
def _remove_viewed() -> None:
    for folder in _VIEWED:
        _remove(folder)
