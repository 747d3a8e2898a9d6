"""Saving attachments and previewing images without a graphical terminal."""
import io
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
