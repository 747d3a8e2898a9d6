"""A line plot of one test's values over time, drawn with Unicode braille (2x4 dots per cell).

Braille keeps the plot sharp in any UTF-8 terminal, with no graphics protocol
and no plotting library.  Points flagged abnormal are drawn as a letter (H/L)
in their cell as well as in colour, so the plot reads on a monochrome screen.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

# Dot bit for (column, row) inside a braille cell, from the Unicode braille pattern layout.
DOT_BITS = ((0x01, 0x02, 0x04, 0x40), (0x08, 0x10, 0x20, 0x80))
Y_LABEL = 8  # cells for the value axis labels


@dataclass(frozen=True)
class TrendPoint:
    when: datetime
    value: float
    flag: str = ""  # "", "H", "L", "HH", "LL", ...


def _line(x0: int, y0: int, x1: int, y1: int):
    """Bresenham: the dots on the segment from (x0, y0) to (x1, y1)."""
    dx, dy = abs(x1 - x0), -abs(y1 - y0)
    sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
    err = dx + dy
    while True:
        yield x0, y0
        if x0 == x1 and y0 == y1:
            return
        e2 = 2 * err
        if e2 >= dy:
            err += dy
            x0 += sx
        if e2 <= dx:
            err += dx
            y0 += sy


def braille_rows(dots: list[tuple[int, int]], width: int, height: int) -> list[str]:
    """Rows of braille characters showing `dots` (x right, y down) on a width x height cell grid."""
    cells = [[0] * width for _ in range(height)]
    for x, y in dots:
        if 0 <= x < 2 * width and 0 <= y < 4 * height:
            cells[y // 4][x // 2] |= DOT_BITS[x % 2][y % 4]
    return ["".join(chr(0x2800 + bits) for bits in row) for row in cells]


def _scale(points: list[TrendPoint], width: int, height: int) -> list[tuple[int, int]]:
    times = [p.when.timestamp() for p in points]
    values = [p.value for p in points]
    t0, t1 = min(times), max(times)
    v0, v1 = min(values), max(values)
    span_t = (t1 - t0) or 1.0
    span_v = (v1 - v0) or 1.0
    max_x, max_y = 2 * width - 1, 4 * height - 1
    return [(round((t - t0) / span_t * max_x), round((v1 - v) / span_v * max_y))
            for t, v in zip(times, values)]


class TrendPlot(Widget):
    """Values of one test over time, oldest on the left; axis labels show the range and the dates."""

    def __init__(self, points: list[TrendPoint], unit: str = "", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.points = sorted(points, key=lambda p: p.when.timestamp())   # lab-local and offset times mixed
        self.unit = unit
        self._cache: tuple[tuple[int, int], list[Strip]] | None = None

    def _plot_lines(self, width: int, height: int) -> list[Strip]:
        plot_w, plot_h = max(4, width - Y_LABEL - 1), max(2, height - 2)
        pixels = _scale(self.points, plot_w, plot_h)
        dots = [pixels[0]] if len(pixels) == 1 else []
        for a, b in zip(pixels, pixels[1:]):
            dots.extend(_line(*a, *b))
        rows = [list(row) for row in braille_rows(dots, plot_w, plot_h)]
        flagged: dict[tuple[int, int], str] = {}
        for (x, y), point in zip(pixels, self.points):
            if point.flag:
                flagged[(y // 4, x // 2)] = point.flag
                rows[y // 4][x // 2] = point.flag[0]  # H or L in place of the dots: readable without colour
        return self._with_axes(rows, flagged, plot_w, width)

    def _with_axes(self, rows: list[list[str]], flagged: dict, plot_w: int, width: int) -> list[Strip]:
        values = [p.value for p in self.points]
        high, low = f"{max(values):g}", f"{min(values):g}"
        line_style = Style(color="cyan")
        strips = []
        for r, row in enumerate(rows):
            label = high if r == 0 else low if r == len(rows) - 1 else ""
            segments = [Segment(label.rjust(Y_LABEL - 1) + "┤")]
            for c, char in enumerate(row):
                flag = flagged.get((r, c))
                style = line_style if flag is None else Style(
                    color="red" if len(flag) > 1 else "yellow", bold=True, reverse=len(flag) > 1)
                segments.append(Segment(char, style))
            strips.append(Strip(segments).adjust_cell_length(width))
        first, last = self.points[0].when, self.points[-1].when
        axis = " " * Y_LABEL + "└" + "─" * (plot_w - 1)
        dates = first.strftime("%d.%m.%y")
        dates = " " * (Y_LABEL + 1) + dates + last.strftime("%d.%m.%y").rjust(plot_w - len(dates))
        strips.append(Strip([Segment(axis)]).adjust_cell_length(width))
        strips.append(Strip([Segment(dates)]).adjust_cell_length(width))
        return strips

    def render_line(self, y: int) -> Strip:
        width, height = self.size
        if not self.points:
            return Strip([Segment("no values to plot" if y == 0 else "")]).adjust_cell_length(width)
        if self._cache is None or self._cache[0] != (width, height):
            self._cache = ((width, height), self._plot_lines(width, height))
        lines = self._cache[1]
        return lines[y] if y < len(lines) else Strip.blank(width)
