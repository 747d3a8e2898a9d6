"""Saving attachments and previewing images without a graphical terminal."""
import io
import os
import tempfile
import stat

import pytest
from PIL import Image

from pli.tui.attachments import AttachmentError, save_attachment
from pli.tui.widgets.image_preview import ImageUnreadable, half_block_rows


def test_save_writes_a_private_file_and_never_overwrites(tmp_path):
    path = save_attachment(b"data", tmp_path / "result.pdf")
    assert path.read_bytes() == b"data"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(AttachmentError, match="already exists"):
        save_attachment(b"other", path)
    assert path.read_bytes() == b"data"


def test_half_blocks_pair_top_and_bottom_pixels():
    image = Image.new("RGB", (4, 4), (255, 0, 0))
    for x in range(4):
        for y in range(2, 4):
            image.putpixel((x, y), (0, 0, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    rows = half_block_rows(buffer.getvalue(), 4, 2)
    assert len(rows) == 2 and len(rows[0]) == 4
    assert rows[0][0] == ((255, 0, 0), (255, 0, 0))
    assert rows[1][0] == ((0, 0, 255), (0, 0, 255))


def test_a_corrupt_image_is_a_clear_error():
    with pytest.raises(ImageUnreadable, match="cannot preview"):
        half_block_rows(b"\x89PNG not really", 10, 10)


# -- names a sender chooses: NUL, path separators, dots --------------------------------------------------------

HOSTILE_NAMES = {
    "a\x00b.pdf": "ab.pdf",
    "../../.bashrc": "bashrc",
    "..\\..\\Windows\\evil.exe": "evil.exe",
    "/etc/passwd": "passwd",
    "résultat\nfaux.pdf": "résultatfaux.pdf",
    "..": "attachment",
    "/": "attachment",
    "\x00": "attachment",
}


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_senders_file_name_becomes_one_plain_name(name):
    from pli.tui.attachments import safe_filename

    assert safe_filename(name) == HOSTILE_NAMES[name]


def test_a_path_with_a_nul_is_a_clear_error_not_a_crash(tmp_path):
    with pytest.raises(AttachmentError, match="NUL"):
        save_attachment(b"data", tmp_path / "a\x00b.pdf")


# -- files handed to a viewer do not outlive it ----------------------------------------------------------------

def _viewer_script(tmp_path, body: str):
    script = tmp_path / "viewer"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o700)
    return script


def test_a_file_opened_in_a_viewer_is_removed_when_the_viewer_exits(tmp_path, monkeypatch):
    import time

    from pli.tui.attachments import open_with_viewer

    copy = tmp_path / "what-the-viewer-read"
    viewer = _viewer_script(tmp_path, f'cat "$1" > {copy}; sleep 0.3')
    monkeypatch.setenv("PLI_VIEWER", str(viewer))
    path = open_with_viewer(b"K+ 6.8 mmol/L", "bilan.pdf")
    assert path.read_bytes() == b"K+ 6.8 mmol/L"          # there while the viewer shows it
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    deadline = time.monotonic() + 10
    while path.parent.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert copy.read_bytes() == b"K+ 6.8 mmol/L"
    assert not path.parent.exists()


def _run_opener(tmp_path, kill: bool):
    """A process that opens an attachment with a desktop-like viewer (returns at once), then exits or is killed."""
    import os
    import signal
    import subprocess
    import sys

    temp = tmp_path / "tmp"
    temp.mkdir(exist_ok=True)
    viewer = _viewer_script(tmp_path, "exit 0")               # like xdg-open: hands over, returns
    code = ("import os, sys, time\n"
            "import pli.tui.attachments as a\n"
            f"a.system_viewer = lambda: {str(viewer)!r}\n"
            "print(a.open_with_viewer(b'secret', 'bilan.pdf'), flush=True)\n"
            "time.sleep(30 if sys.argv[1] == 'wait' else 0)\n")
    env = {**os.environ, "TMPDIR": str(temp)}
    env.pop("PLI_VIEWER", None)
    child = subprocess.Popen([sys.executable, "-c", code, "wait" if kill else "exit"], env=env,
                             stdout=subprocess.PIPE, text=True)
    path = child.stdout.readline().strip()
    if kill:
        child.send_signal(signal.SIGKILL)
    child.wait(timeout=20)
    return temp, path


def test_a_desktop_viewers_file_goes_when_pli_exits(tmp_path):
    temp, path = _run_opener(tmp_path, kill=False)
    assert path.startswith(str(temp))
    assert os.listdir(temp) == []


def test_files_a_killed_pli_left_are_removed_at_the_next_start(tmp_path):
    from pli.tui.attachments import sweep_viewed

    temp, path = _run_opener(tmp_path, kill=True)
    assert open(path, "rb").read() == b"secret"                # SIGKILL: no exit handler ran
    mine = tempfile.mkdtemp(prefix=f"pli-view-{os.getpid()}-", dir=temp)   # a running pli's folder stays
    assert sweep_viewed(str(temp)) == 1
    assert os.listdir(temp) == [os.path.basename(mine)]
