"""The list's date column: every date fits its column whole, at 80 columns and wider (issue 14.7)."""
from datetime import datetime, timedelta, timezone

import pytest

from pli.tui.dates import NARROW, short_date
from pli.tui.widgets.message_list import Columns, fit

NOW = datetime(2026, 1, 5, 9, 30, tzinfo=timezone.utc)   # early January: December is last year


def days_back(count: int):
    for day in range(-3, count):
        yield int((NOW - timedelta(days=day, hours=5)).timestamp())


@pytest.mark.parametrize("width", [60, 80, 96, 120, 140, 200])
def test_every_date_of_three_years_fits_the_date_column_uncut(width):
    cells = Columns.for_width(width).date
    assert cells >= NARROW
    for timestamp in days_back(3 * 366):
        shown = short_date(timestamp, NOW, cells)
        assert len(shown) <= cells and fit(shown, cells).strip() == shown, (width, shown)


def test_last_december_reads_as_day_and_month_in_january():
    assert short_date(int(datetime(2025, 12, 30, 14, 0, tzinfo=timezone.utc).timestamp()), NOW, NARROW) == "30 Dec"


def test_dates_older_than_a_year_keep_their_year_in_the_narrow_column():
    old = int(datetime(2024, 12, 30, 14, 0, tzinfo=timezone.utc).timestamp())
    assert short_date(old, NOW, NARROW) == "Dec'24"
    assert short_date(old, NOW, 8) == "30.12.24"


def test_today_is_the_time():
    assert short_date(int(NOW.replace(hour=8, minute=5).timestamp()), NOW, NARROW) == "08:05"
