"""Terminal graphics for image previews: which protocol this terminal speaks, and its escape sequences.

Three ways to draw an image, best first:
- kitty's graphics protocol (kitty, Ghostty): the PNG is sent once in APC
  sequences and shown through Unicode placeholder cells (U+10EEEE plus
  diacritics giving row and column, the image id in the cells' foreground
  colour), so the image lives in Textual's cell grid like text: it scrolls,
  is clipped and is covered by dialogs as text would be;
- sixel (foot, WezTerm, mlterm, contour, iTerm2, mintty, xterm -ti vt340):
  a DCS sequence of six-pixel bands, drawn at the widget's place;
- half-block characters (two pixels per cell): any terminal with colour,
  over any SSH session.  Always the fallback.

The choice comes from the environment (TERM, TERM_PROGRAM, KITTY_WINDOW_ID,
under tmux or screen: half-blocks, which pass through unharmed), never from
querying the terminal: a query needs stdin before Textual starts, costs a
round trip at every start-up (over SSH) and swallows keys typed meanwhile.
(This is why pli does not use the textual-image package: it queries the
terminal when it is imported, which must then happen before Textual starts.)
PLI_IMAGES or `images = "kitty" | "sixel" | "blocks" | "auto"` under
[display] in config.toml overrides it.  Nothing here imports Textual.
"""
from __future__ import annotations

import base64
import io
import re
from collections.abc import Mapping
from pathlib import Path

PROTOCOLS = ("kitty", "sixel", "blocks")
ENV_OVERRIDE = "PLI_IMAGES"

KITTY_CHUNK = 4096          # base64 bytes per APC sequence (the protocol's limit)
PLACEHOLDER = "\U0010EEEE"
#: kitty's row/column diacritics (rowcolumn-diacritics.txt), enough for a 100-cell-wide preview.
DIACRITICS = (
    0x0305, 0x030D, 0x030E, 0x0310, 0x0312, 0x033D, 0x033E, 0x033F, 0x0346, 0x034A, 0x034B, 0x034C,
    0x0350, 0x0351, 0x0352, 0x0357, 0x035B, 0x0363, 0x0364, 0x0365, 0x0366, 0x0367, 0x0368, 0x0369,
    0x036A, 0x036B, 0x036C, 0x036D, 0x036E, 0x036F, 0x0483, 0x0484, 0x0485, 0x0486, 0x0487, 0x0592,
    0x0593, 0x0594, 0x0595, 0x0597, 0x0598, 0x0599, 0x059C, 0x059D, 0x059E, 0x059F, 0x05A0, 0x05A1,
    0x05A8, 0x05A9, 0x05AB, 0x05AC, 0x05AF, 0x05C4, 0x0610, 0x0611, 0x0612, 0x0613, 0x0614, 0x0615,
    0x0616, 0x0617, 0x0657, 0x0658, 0x0659, 0x065A, 0x065B, 0x065D, 0x065E, 0x06D6, 0x06D7, 0x06D8,
    0x06D9, 0x06DA, 0x06DB, 0x06DC, 0x06DF, 0x06E0, 0x06E1, 0x06E2, 0x06E4, 0x06E7, 0x06E8, 0x06EB,
    0x06EC, 0x0730, 0x0732, 0x0733, 0x0735, 0x0736, 0x073A, 0x073D, 0x073F, 0x0740, 0x0741, 0x0743,
    0x0745, 0x0747, 0x0749, 0x074A, 0x07EB, 0x07EC, 0x07ED, 0x07EE, 0x07EF, 0x07F0, 0x07F1, 0x07F3,
    0x0816, 0x0817, 0x0818, 0x0819, 0x081B, 0x081C, 0x081D, 0x081E, 0x081F, 0x0820, 0x0821, 0x0822,
)
#: Image ids go in a 256-colour foreground (38;5;N), which survives any colour reduction; 0-15 are
#: the themeable ANSI colours Textual may rewrite, so ids start at 16.
FIRST_ID, LAST_ID = 16, 255

SIXEL_COLOURS = 128
DEFAULT_CELL = (10, 20)     # pixels per cell when the terminal does not say (a VT340's)

_SIXEL_TERMS = ("foot", "mlterm", "contour", "yaft", "xterm-sixel")
_SIXEL_PROGRAMS = ("wezterm", "iterm.app", "mintty", "contour", "blackbox")
_KITTY_PROGRAMS = ("ghostty",)


class ImageSetting(ValueError):
    """The images setting names no protocol pli knows."""


def choose_protocol(env: Mapping[str, str], setting: str = "auto") -> str:
    """kitty, sixel or blocks for this terminal (PLI_IMAGES, then the config setting, then TERM...)."""
    for choice in (env.get(ENV_OVERRIDE, ""), setting):
        choice = (choice or "").strip().lower()
        if choice in PROTOCOLS:
            return choice
        if choice not in ("", "auto"):
            raise ImageSetting(f"images = {choice!r}: use one of auto, {', '.join(PROTOCOLS)}")
    return detect_protocol(env)


def detect_protocol(env: Mapping[str, str]) -> str:
    term = env.get("TERM", "").lower()
    program = env.get("TERM_PROGRAM", "").lower()
    if env.get("TMUX") or env.get("STY") or term.startswith(("screen", "tmux")):
        return "blocks"   # multiplexers redraw the screen from their own cell grid: no pictures survive
    if env.get("KITTY_WINDOW_ID") or term == "xterm-kitty" or program in _KITTY_PROGRAMS \
            or term == "xterm-ghostty":
        return "kitty"
    if term in _SIXEL_TERMS or program in _SIXEL_PROGRAMS or env.get("KONSOLE_VERSION") \
            or env.get("WEZTERM_EXECUTABLE"):
        return "sixel"
    return "blocks"


def configured_setting(config: Path) -> str:
    """`images` under [display] in config.toml ("auto" when absent)."""
    # start-up: loaded when first used, after the first screen
    from pli.core.config import config_section

    return str(config_section(config, "display", "pli previews images with half-blocks").get("images", "auto"))


# -- kitty -----------------------------------------------------------------------------------------


def kitty_transmit(png: bytes, image_id: int, columns: int, rows: int) -> str:
    """APC sequences sending a PNG and creating its virtual placement of columns x rows cells
    (q=2: the terminal answers nothing, so no reply ever reaches Textual's input)."""
    data = base64.standard_b64encode(png).decode("ascii")
    chunks = [data[i:i + KITTY_CHUNK] for i in range(0, len(data), KITTY_CHUNK)] or [""]
    out = []
    for number, chunk in enumerate(chunks):
        more = 1 if number < len(chunks) - 1 else 0
        keys = f"a=T,U=1,f=100,t=d,i={image_id},c={columns},r={rows},q=2,m={more}" if number == 0 else f"m={more}"
        out.append(f"\x1b_G{keys};{chunk}\x1b\\")
    return "".join(out)


def kitty_delete(image_id: int) -> str:
    return f"\x1b_Ga=d,d=I,i={image_id},q=2\x1b\\"


def kitty_placeholder_row(row: int, columns: int) -> str:
    """One row of placeholder cells (row and column diacritics on every cell, as kitty wants)."""
    mark = chr(DIACRITICS[row])
    return "".join(f"{PLACEHOLDER}{mark}{chr(DIACRITICS[c])}" for c in range(columns))


def kitty_fits(columns: int, rows: int) -> bool:
    return 0 < columns <= len(DIACRITICS) and 0 < rows <= len(DIACRITICS)


# -- sixel -----------------------------------------------------------------------------------------

_RUN = re.compile(rb"(.)\1{3,}")


def sixel(image, colours: int = SIXEL_COLOURS) -> str:
    """A PIL image as one sixel DCS sequence: palette of at most `colours`, run-length encoded bands."""
    from PIL import Image

    picture = image.convert("RGB").quantize(colors=colours, method=Image.Quantize.MEDIANCUT)
    width, height = picture.size
    palette = picture.getpalette()[: 3 * colours]
    pixels = picture.tobytes()   # one palette index per pixel, row by row
    used = sorted(set(pixels))
    out = [f'\x1bP0;1;0q"1;1;{width};{height}']
    out += [f"#{c};2;{palette[3 * c] * 100 // 255};{palette[3 * c + 1] * 100 // 255};{palette[3 * c + 2] * 100 // 255}"
            for c in used]
    for top in range(0, height, 6):
        out.append(_sixel_band(pixels, width, top, min(6, height - top)))
    out.append("\x1b\\")
    return "".join(out)


def _sixel_band(pixels: bytes, width: int, top: int, depth: int) -> str:
    """Six rows: per colour, one line of sixel characters (bit k: row top+k), '$' back to the left."""
    lines: dict[int, bytearray] = {}
    for k in range(depth):
        row = pixels[(top + k) * width:(top + k + 1) * width]
        bit = 1 << k
        for x, colour in enumerate(row):
            line = lines.get(colour)
            if line is None:
                line = lines[colour] = bytearray(width)
            line[x] |= bit
    parts = []
    for colour, line in sorted(lines.items()):
        data = bytes(b + 63 for b in line)
        data = _RUN.sub(lambda m: b"!%d%c" % (len(m.group(0)), m.group(1)[0]), data)
        parts.append(f"#{colour}{data.decode('ascii')}$")
    return "".join(parts) + "-"


# -- sizes -------------------------------------------------------------------------------------------


def cell_pixels(fd: int | None = None) -> tuple[int, int]:
    """Pixels per cell from the terminal's window size (TIOCGWINSZ); a VT340's when it does not say."""
    import fcntl
    import struct
    import sys
    import termios

    try:
        fd = sys.__stdout__.fileno() if fd is None else fd
        rows, cols, xpixels, ypixels = struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8))
    except (OSError, AttributeError, ValueError):
        return DEFAULT_CELL
    if not (rows and cols and xpixels and ypixels):
        return DEFAULT_CELL
    return max(1, xpixels // cols), max(1, ypixels // rows)


def fitted(image, columns: int, rows: int, cell: tuple[int, int]):
    """The image scaled to fit columns x rows cells, aspect kept; and the cells it then covers."""
    width, height = columns * cell[0], rows * cell[1]
    scale = min(width / image.width, height / image.height)
    size = (max(1, int(image.width * scale)), max(1, int(image.height * scale)))
    covered = (max(1, -(-size[0] // cell[0])), max(1, -(-size[1] // cell[1])))
    return image.resize(size), covered


def png_bytes(image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()
