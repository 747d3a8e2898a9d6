"""Dates as HPRIM labs write them: every form seen, and None (never a guess) for what is no date."""
from datetime import datetime, timedelta, timezone

import pytest

from pli.core.lab.dates import instant, lab_time_zone, read_date


@pytest.mark.parametrize("text, when", [
    ("12/04/1965", datetime(1965, 4, 12)), ("12.04.1965", datetime(1965, 4, 12)), ("12-04-1965", datetime(1965, 4, 12)),
    ("12041965", datetime(1965, 4, 12)), ("19650412", datetime(1965, 4, 12)), ("1965-04-12", datetime(1965, 4, 12)),
    ("1965-04-12T08:15", datetime(1965, 4, 12, 8, 15)), ("M-5128-23/10/06", datetime(2006, 10, 23)),
    ("02/01/2024 10:15", datetime(2024, 1, 2, 10, 15)), ("02/01/2024 à 10h15", datetime(2024, 1, 2, 10, 15)),
    ("1/2/2024", datetime(2024, 2, 1)), (" 02/01/2024 ", datetime(2024, 1, 2)),
])
def test_every_form_seen(text, when):
    assert read_date(text) == when


def test_two_digit_years_are_past_for_a_birth_and_at_most_next_year_for_a_report():
    assert read_date("12/04/65", birth=True) == datetime(1965, 4, 12)
    assert read_date("12/04/65") == datetime(1965, 4, 12)
    assert read_date("02/01/24") == datetime(2024, 1, 2)
    this_year = datetime.now().year % 100
    assert read_date(f"01/01/{this_year + 1:02d}", birth=True).year == 1901 + this_year


@pytest.mark.parametrize("text", ["", "31/02/1965", "le 3 mars", "196203520", "12/13/2024", "00/00/0000", "hier",
                                  "1.2.3.4", "x" * 50])
def test_what_is_no_date_is_none(text):
    assert read_date(text) is None


def test_lab_local_times_are_paris_times_and_times_with_an_offset_keep_it():
    assert instant(datetime(2024, 1, 2, 8, 15)).utcoffset() == timedelta(hours=1)
    assert instant(datetime(2024, 7, 2, 8, 15)).utcoffset() == timedelta(hours=2)
    seven = datetime(2008, 8, 15, 10, 30, tzinfo=timezone(-timedelta(hours=7)))
    assert instant(seven) is seven and lab_time_zone() is lab_time_zone()
