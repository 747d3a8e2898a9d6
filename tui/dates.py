"""How pli shows a message date: short in lists, full in headers, relative to a given "now"."""
from __future__ import annotations

from datetime import datetime, timedelta

#: English month abbreviations, three letters each: strftime's %b follows the C library's locale,
#: whose names may be longer ("juil.") and would not fit the list's date column.
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

#: The narrowest date column (80 columns over SSH): every short form fits it.
NARROW = 6


def short_date(timestamp: int, now: datetime, width: int = 8) -> str:
    """At most `width` cells (NARROW or more): the time today; day and month for the last twelve
    months ("30 Dec" in January is last December: no other reading is in the past); older dates
    with their year, "30.12.24" where 8 cells fit, "Dec'24" in the narrow column."""
    when = datetime.fromtimestamp(timestamp, tz=now.tzinfo)
    if when.date() == now.date():
        return f"{when:%H:%M}"
    if now - timedelta(days=365) < when <= now or (when > now and when.year == now.year):
        return f"{when.day:02d} {MONTHS[when.month - 1]}"
    if width >= 8:
        return f"{when:%d.%m.%y}"
    return f"{MONTHS[when.month - 1]}'{when:%y}"


def full_date(timestamp: int, now: datetime) -> str:
    return datetime.fromtimestamp(timestamp, tz=now.tzinfo).strftime("%a %d %b %Y %H:%M")
