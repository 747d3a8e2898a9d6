"""How pli shows a message date: short in lists, full in headers, relative to a given "now"."""
from __future__ import annotations

from datetime import datetime


def short_date(timestamp: int, now: datetime) -> str:
    """Eight cells at most: the time today, day and month this year, else the full date."""
    when = datetime.fromtimestamp(timestamp, tz=now.tzinfo)
    if when.date() == now.date():
        return when.strftime("%H:%M")
    if when.year == now.year:
        return when.strftime("%d %b")
    return when.strftime("%d.%m.%y")


def full_date(timestamp: int, now: datetime) -> str:
    return datetime.fromtimestamp(timestamp, tz=now.tzinfo).strftime("%a %d %b %Y %H:%M")
