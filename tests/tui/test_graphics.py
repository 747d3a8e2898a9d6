"""Image previews: the protocol chosen for a terminal, the kitty and sixel encodings, the half-block fallback."""
from __future__ import annotations

import base64
import io
import re

import pytest
from PIL import Image

from pli.tui import graphics
from pli.tui.graphics import ImageSetting, choose_protocol, detect_protocol


@pytest.mark.parametrize("env, expected", [
    ({"TERM": "xterm-kitty"}, "kitty"),
    ({"TERM": "xterm-256color", "KITTY_WINDOW_ID": "1"}, "kitty"),
    ({"TERM": "xterm-ghostty", "TERM_PROGRAM": "ghostty"}, "kitty"),
    ({"TERM": "foot"}, "sixel"),
    ({"TERM": "xterm-256color", "TERM_PROGRAM": "WezTerm"}, "sixel"),
    ({"TERM": "xterm-256color", "KONSOLE_VERSION": "230804"}, "sixel"),
    ({"TERM": "xterm-256color"}, "blocks"),              # an SSH session to anything else
    ({"TERM": "linux"}, "blocks"),
    ({}, "blocks"),
    ({"TERM": "xterm-kitty", "TMUX": "/tmp/tmux-0/default,1,0"}, "blocks"),   # tmux keeps no pictures
    ({"TERM": "screen-256color", "TERM_PROGRAM": "WezTerm"}, "blocks"),
])
def test_the_protocol_follows_the_terminal_and_falls_back_to_half_blocks(env, expected):
    assert detect_protocol(env) == expected


def test_the_environment_then_the_config_override_detection():
    kitty = {"TERM": "xterm-kitty"}
    assert choose_protocol(kitty, "blocks") == "blocks"
    assert choose_protocol(kitty, "auto") == "kitty"
    assert choose_protocol({**kitty, "PLI_IMAGES": "sixel"}, "blocks") == "sixel"
    assert choose_protocol({"TERM": "xterm", "PLI_IMAGES": "auto"}, "kitty") == "kitty"
    with pytest.raises(ImageSetting, match="use one of"):
        choose_protocol({}, "iterm-inline")


def test_the_setting_is_read_from_the_display_section(tmp_path):
    config = tmp_path / "config.toml"
    assert graphics.configured_setting(config) == "auto"
    config.write_text('[display]\nimages = "sixel"\n')
    assert graphics.configured_setting(config) == "sixel"


def png(width: int, height: int, colours=((200, 30, 30), (20, 20, 220))) -> Image.Image:
    image = Image.new("RGB", (width, height), colours[0])
    for y in range(height):
        for x in range(width):
            if (x + 2 * y) % 5 == 0:
                image.putpixel((x, y), colours[1])
    return image


def test_kitty_transmission_is_chunked_and_carries_the_png_and_its_placement():
    data = graphics.png_bytes(Image.effect_noise((120, 90), 60).convert("RGB"))  # noise: does not compress
    sequence = graphics.kitty_transmit(data, 42, 30, 12)
    commands = re.findall(r"\x1b_G([^;]*);([^\x1b]*)\x1b\\", sequence)
    assert len(commands) > 1 and all(len(payload) <= graphics.KITTY_CHUNK for _, payload in commands)
    first = dict(kv.split("=") for kv in commands[0][0].split(","))
    assert first == {"a": "T", "U": "1", "f": "100", "t": "d", "i": "42", "c": "30", "r": "12", "q": "2", "m": "1"}
    assert [keys for keys, _ in commands[1:]] == ["m=1"] * (len(commands) - 2) + ["m=0"]
    assert base64.standard_b64decode("".join(payload for _, payload in commands)) == data
    assert graphics.kitty_delete(42) == "\x1b_Ga=d,d=I,i=42,q=2\x1b\\"


def test_kitty_placeholders_mark_every_cell_with_its_row_and_column():
    row = graphics.kitty_placeholder_row(2, 4)
    cells = [row[i:i + 3] for i in range(0, len(row), 3)]
    assert len(cells) == 4 and all(c[0] == graphics.PLACEHOLDER for c in cells)
    assert {ord(c[1]) for c in cells} == {graphics.DIACRITICS[2]}
    assert [ord(c[2]) for c in cells] == list(graphics.DIACRITICS[:4])


def decode_sixel(sequence: str) -> tuple[int, int, list[list[tuple[int, int, int]]]]:
    """A minimal sixel reader (raster attributes, palette, colour bands, repeats) for the round trip."""
    body = sequence[sequence.index("q") + 1:sequence.rindex("\x1b\\")]
    raster = re.match(r'"1;1;(\d+);(\d+)', body)
    width, height = int(raster.group(1)), int(raster.group(2))
    body = body[raster.end():]
    palette, pixels = {}, [[None] * width for _ in range(height)]
    colour, x, top = 0, 0, 0
    for token in re.finditer(r"#(\d+)(?:;2;(\d+);(\d+);(\d+))?|!(\d+)(.)|([?-~])|\$|-", body):
        text = token.group(0)
        if token.group(1) is not None:
            colour = int(token.group(1))
            if token.group(2) is not None:
                palette[colour] = tuple(round(int(token.group(i)) * 255 / 100) for i in (2, 3, 4))
        elif text == "$":
            x = 0
        elif text == "-":
            x, top = 0, top + 6
        else:
            count, char = (int(token.group(5)), token.group(6)) if token.group(5) else (1, token.group(7))
            bits = ord(char) - 63
            for _ in range(count):
                for k in range(6):
                    if bits >> k & 1 and top + k < height:
                        pixels[top + k][x] = palette[colour]
                x += 1
    return width, height, pixels


def test_sixel_round_trip_gives_back_every_pixel():
    image = png(23, 14)   # 14 rows: two full bands and a partial one
    width, height, pixels = decode_sixel(graphics.sixel(image))
    assert (width, height) == image.size
    for y in range(height):
        for x in range(width):
            expected = image.getpixel((x, y))
            assert pixels[y][x] is not None
            assert all(abs(a - b) <= 3 for a, b in zip(pixels[y][x], expected)), (x, y)


def test_sixel_repeats_runs_and_starts_with_its_size():
    sequence = graphics.sixel(Image.new("RGB", (40, 6), (0, 128, 0)))
    assert sequence.startswith('\x1bP0;1;0q"1;1;40;6') and sequence.endswith("\x1b\\")
    assert "!40~" in sequence   # one colour, six rows set, forty times


def test_fitting_keeps_the_aspect_and_counts_the_cells_covered():
    image, cells = graphics.fitted(Image.new("RGB", (400, 100)), 20, 20, (10, 20))
    assert image.size == (200, 50) and cells == (20, 3)


# -- the widget ---------------------------------------------------------------------------------


def image_bytes(width: int = 64, height: int = 48) -> bytes:
    out = io.BytesIO()
    png(width, height).save(out, format="PNG")
    return out.getvalue()


def preview_app(protocol):
    from textual.app import App

    from pli.tui.widgets.image_preview import ImagePreview

    class One(App):
        def compose(self):
            yield ImagePreview(image_bytes(), protocol=protocol, id="image")

    return One()


@pytest.mark.asyncio
async def test_the_kitty_preview_sends_the_image_once_and_draws_placeholders(monkeypatch):
    from pli.tui.widgets.image_preview import ImagePreview

    written: list[str] = []
    monkeypatch.setattr(ImagePreview, "_write", lambda self, sequence: written.append(sequence))
    app = preview_app("kitty")
    async with app.run_test(size=(60, 20)) as pilot:
        preview = app.query_one("#image")
        await pilot.pause()
        first_line = preview.render_line(0).text
        assert first_line.startswith(graphics.PLACEHOLDER)
        sent = "".join(written)
        assert f"i={preview._image_id}" in sent and "a=T,U=1" in sent
        before = len(written)
        preview.render_line(1)
        assert len(written) == before   # the same size: not sent again
    assert graphics.kitty_delete(preview._image_id) in "".join(written)


@pytest.mark.asyncio
async def test_without_a_graphics_terminal_the_preview_is_half_blocks(monkeypatch):
    monkeypatch.setenv("TERM", "xterm-256color")
    monkeypatch.delenv("KITTY_WINDOW_ID", raising=False)
    monkeypatch.delenv("TERM_PROGRAM", raising=False)
    monkeypatch.delenv("PLI_IMAGES", raising=False)
    app = preview_app(None)
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.pause()
        preview = app.query_one("#image")
        assert preview.protocol == "blocks"
        assert "▀" in preview.render_line(0).text


@pytest.mark.asyncio
async def test_the_sixel_preview_draws_the_picture_at_the_widget_s_corner():
    app = preview_app("sixel")
    async with app.run_test(size=(60, 20)) as pilot:
        await pilot.pause()
        preview = app.query_one("#image")
        region = app.screen.find_widget(preview).visible_region
        lines = preview.render_lines(region.reset_offset)
        assert all(not line.text for line in lines[:-1])
        drawn = "".join(segment.text for segment in lines[-1])
        assert drawn.startswith(f"\x1b[{region.y + 1};{region.x + 1}H\x1bP0;1;0q")
