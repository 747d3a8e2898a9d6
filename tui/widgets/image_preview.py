"""An image in the terminal: kitty graphics or sixel where the terminal has them, half-blocks everywhere.

Half-blocks (two pixels per cell) only need colour, and Textual reduces the
colours to what the terminal has (256 or 16): they work over any SSH session,
and they are what pli draws unless pli.tui.graphics finds a terminal that
speaks a graphics protocol (or the user asks for one).
"""
from __future__ import annotations

import io
import itertools
import os

from rich.color import Color
from rich.control import Control
from rich.segment import ControlType, Segment
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from pli.core.errors import PliError
from pli.tui import graphics


class ImageUnreadable(PliError):
    """The attachment is not an image pli can decode."""


def decode(data: bytes):
    """The attachment as a PIL image (PIL only when an image is shown: start-up stays lean)."""
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as error:
        raise ImageUnreadable(f"cannot preview this image ({error}); save it and open it with a viewer") from None
    return image.convert("RGB")


def half_block_rows(data: bytes, width: int, height: int) -> list[list[tuple[tuple, tuple]]]:
    """Rows of (top RGB, bottom RGB) pairs scaled to fit width x height cells, aspect kept."""
    image = decode(data)
    scale = min(width / image.width, (2 * height) / image.height)
    size = (max(1, int(image.width * scale)), max(2, int(image.height * scale) // 2 * 2))
    pixels = image.resize(size).load()
    return [[(pixels[x, y], pixels[x, y + 1]) for x in range(size[0])]
            for y in range(0, size[1], 2)]


_IDS = itertools.cycle(range(graphics.FIRST_ID, graphics.LAST_ID + 1))


class ImagePreview(Widget):
    """Shows one image, scaled to the widget's size, with the terminal's best way to draw it."""

    def __init__(self, data: bytes, *, protocol: str | None = None, id: str | None = None) -> None:
        super().__init__(id=id)
        self.data = data
        self.protocol = protocol       # kitty | sixel | blocks; None: chosen at mount (graphics.choose_protocol)
        self._rows: list | None = None
        self._drawn_size = (0, 0)
        self._image_id = 0
        self._cells = (0, 0)           # kitty: columns x rows the placement covers
        self._sixel: tuple[Region, str] | None = None

    def on_mount(self) -> None:
        if self.protocol is None:
            self.protocol = self._chosen_protocol()

    def _chosen_protocol(self) -> str:
        setting = "auto"
        home = getattr(self.app, "home", None)
        try:
            if home is not None:
                setting = graphics.configured_setting(home.config)
            return graphics.choose_protocol(os.environ, setting)
        except (PliError, graphics.ImageSetting) as error:
            self.notify(f"{error}; showing the image with half-blocks", title="Image", severity="warning")
            return "blocks"

    # -- half-blocks ------------------------------------------------------------------------------

    def _ensure_rows(self) -> list:
        size = (self.size.width, self.size.height)
        if self._rows is None or size != self._drawn_size:
            self._drawn_size = size
            self._rows = half_block_rows(self.data, *size) if all(size) else []
        return self._rows

    def render_line(self, y: int) -> Strip:
        if self.protocol == "kitty":
            return self._kitty_line(y)
        rows = self._ensure_rows()
        if y >= len(rows):
            return Strip.blank(self.size.width)
        segments = [Segment("▀", Style(color=f"rgb{top}", bgcolor=f"rgb{bottom}")) for top, bottom in rows[y]]
        return Strip(segments).adjust_cell_length(self.size.width)

    # -- kitty: the image sent once, shown through placeholder cells -------------------------------

    def _kitty_line(self, y: int) -> Strip:
        width = min(self.size.width, len(graphics.DIACRITICS))
        height = min(self.size.height, len(graphics.DIACRITICS))
        if (width, height) != self._drawn_size:
            self._drawn_size = (width, height)
            self._send_kitty(width, height)
        columns, rows = self._cells
        if y >= rows:
            return Strip.blank(self.size.width)
        style = Style(color=Color.from_ansi(self._image_id))  # the image id, as kitty reads it
        return Strip([Segment(graphics.kitty_placeholder_row(y, columns), style)],
                     cell_length=columns).adjust_cell_length(self.size.width)

    def _send_kitty(self, width: int, height: int) -> None:
        if not (width and height):
            self._cells = (0, 0)
            return
        image, self._cells = graphics.fitted(decode(self.data), width, height, graphics.cell_pixels())
        if self._image_id:
            self._write(graphics.kitty_delete(self._image_id))
        self._image_id = next(_IDS)
        self._write(graphics.kitty_transmit(graphics.png_bytes(image), self._image_id, *self._cells))

    # -- sixel: the picture drawn where the widget is, over cells left empty -----------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        if self.protocol != "sixel":
            return super().render_lines(crop)
        try:
            region = self.screen.find_widget(self).visible_region
        except Exception:  # noqa: BLE001 - not on screen (yet): nothing to draw
            return []
        if self._sixel is None or self._sixel[0] != region:
            image, _cells = graphics.fitted(decode(self.data), region.width, region.height, graphics.cell_pixels())
            self._sixel = (region, graphics.sixel(image))
        # Like textual-image: empty lines (text would cover the pixels), then on the last line the
        # cursor goes to the widget's corner, the picture is drawn, and the cursor comes back.
        jump = Segment(Control.move_to(region.x, region.y).segment.text, Style())
        picture = Segment(self._sixel[1], Style(), ((ControlType.CURSOR_FORWARD, 0),))
        back = Segment(Control.move_to(region.right, region.bottom).segment.text, Style())
        return [Strip([])] * (crop.height - 1) + [Strip([jump, picture, back], cell_length=crop.width)]

    # -- output -------------------------------------------------------------------------------------

    def _write(self, sequence: str) -> None:
        """Straight to the terminal, through Textual's own writer (in order with the frames)."""
        driver = getattr(self.app, "_driver", None)
        if driver is not None:
            driver.write(sequence)

    def on_unmount(self) -> None:
        if self._image_id:
            self._write(graphics.kitty_delete(self._image_id))
