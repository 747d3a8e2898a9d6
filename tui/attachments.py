"""Saving an attachment to a file and handing it to the system viewer (xdg-open / open)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from pli.core.errors import PliError


class AttachmentError(PliError):
    """An attachment could not be saved or opened."""


def default_save_path(filename: str) -> Path:
    downloads = Path.home() / "Downloads"
    folder = downloads if downloads.is_dir() else Path.cwd()
    return folder / Path(filename).name  # never a path from the sender: only its last part


def save_attachment(data: bytes, path: Path) -> Path:
    """Write the attachment, readable by the user only; never overwrite an existing file."""
    path = path.expanduser()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise AttachmentError(f"{path} already exists: choose another name") from None
    except OSError as error:
        raise AttachmentError(f"cannot save to {path}: {error.strerror}") from None
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    return path


def system_viewer() -> str | None:
    """The desktop's "open this file" command, or None (as over a plain SSH session)."""
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
    folder = Path(tempfile.mkdtemp(prefix="pli-view-"))  # mode 0700: private to the user
    path = save_attachment(data, folder / Path(filename).name)
    subprocess.Popen([viewer, str(path)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, start_new_session=True)
    return path
