"""The braille trend plot: dots land where the values are, flags show as letters."""
from datetime import datetime, timedelta

from pli.tui.widgets.trend_plot import TrendPlot, TrendPoint, _line, braille_rows


def test_a_single_dot_sets_the_right_braille_bit():
    assert braille_rows([(0, 0)], 1, 1) == ["\u2801"]
    assert braille_rows([(1, 3)], 1, 1) == ["\u2880"]


def test_rising_line_goes_from_bottom_left_to_top_right():
    rows = braille_rows(list(_line(0, 7, 7, 0)), 4, 2)
    assert rows[1][0] != "\u2800" and rows[0][0] == "\u2800"   # starts low on the left
    assert rows[0][3] != "\u2800" and rows[1][3] == "\u2800"   # ends high on the right


def test_flagged_points_are_drawn_as_letters_and_axes_show_range_and_dates():
    start = datetime(2026, 1, 1)
    points = [TrendPoint(start + timedelta(days=30 * i), v, f)
              for i, (v, f) in enumerate([(4.0, ""), (4.5, ""), (6.8, "HH"), (3.1, "L")])]
    plot = TrendPlot(points, "mmol/L")
    lines = [strip.text for strip in plot._plot_lines(40, 8)]
    body = "".join(lines[:-2])
    assert "H" in body and "L" in body
    assert lines[0].lstrip().startswith("6.8")
    assert "3.1" in lines[-3]
    assert "01.01.26" in lines[-1] and "01.04.26" in lines[-1]
