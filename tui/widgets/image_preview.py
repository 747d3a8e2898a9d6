"""An image drawn with half-block characters: two pixels per cell, readable over any SSH session.

Graphics protocols (kitty, sixel) would be sharper but depend on the terminal;
half-blocks only need colour, and Textual reduces the colours to what the
terminal has (256 or 16).
"""
from __future__ import annotations

import io

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

from pli.core.errors import PliError


class ImageUnreadable(PliError):
    """The attachment is not an image pli can decode."""


def half_block_rows(data: bytes, width: int, height: int) -> list[list[tuple[tuple, tuple]]]:
    """Rows of (top RGB, bottom RGB) pairs scaled to fit width x height cells, aspect kept."""
    from PIL import Image, UnidentifiedImageError  # only when an image is shown: start-up stays lean

    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise ImageUnreadable(f"cannot preview this image ({error}); save it and open it with a viewer") from None
    image = image.convert("RGB")
    scale = min(width / image.width, (2 * height) / image.height)
    size = (max(1, int(image.width * scale)), max(2, int(image.height * scale) // 2 * 2))
    pixels = image.resize(size).load()
    return [[(pixels[x, y], pixels[x, y + 1]) for x in range(size[0])]
            for y in range(0, size[1], 2)]


class ImagePreview(Widget):
    """Shows one image, scaled to the widget's size."""

    def __init__(self, data: bytes, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.data = data
        self._rows: list | None = None
        self._size = (0, 0)

    def _ensure_rows(self) -> list:
        size = (self.size.width, self.size.height)
        if self._rows is None or size != self._size:
            self._size = size
            self._rows = half_block_rows(self.data, *size) if all(size) else []
        return self._rows

    def render_line(self, y: int) -> Strip:
        rows = self._ensure_rows()
        if y >= len(rows):
            return Strip.blank(self.size.width)
        segments = [Segment("▀", Style(color=f"rgb{top}", bgcolor=f"rgb{bottom}")) for top, bottom in rows[y]]
        return Strip(segments).adjust_cell_length(self.size.width)
