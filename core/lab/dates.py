"""Dates as HPRIM labs write them: every form seen in the field, read without guessing.

    12/04/1965   12/04/65   12.04.1965   12-04-1965   12041965   120465
    1965-04-12   1965-04-12T08:15   19650412 (when DDMMYYYY cannot be a date)
    M-5128-23/10/06   (a lab's prefix before the date)
    02/01/2024 10:15   02/01/2024 à 10h15   (a time may follow)

`read_date` gives None for text it cannot read as a real date (the caller keeps
the text and says so): a report with one bad date is still a report.
"""
from __future__ import annotations

import functools
import re
from datetime import date, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_TIME = r"(?:\s*(?:[T ]|à|a)\s*(\d{1,2})\s*[:hH]\s*(\d{2})(?::(\d{2}))?)?"
_DMY = re.compile(rf"(?:.*?[^\d/.])?(\d{{1,2}})[/.-](\d{{1,2}})[/.-](\d{{4}}|\d{{2}}){_TIME}\s*", re.IGNORECASE)
_ISO = re.compile(rf"(\d{{4}})-(\d{{2}})-(\d{{2}}){_TIME}\s*(?:Z|[+-]\d{{2}}:?\d{{2}})?", re.IGNORECASE)
_COMPACT = re.compile(rf"(\d{{8}}|\d{{6}}){_TIME}\s*", re.IGNORECASE)


@functools.lru_cache(maxsize=1024)
def read_date(text: str, birth: bool = False) -> datetime | None:
    """The date (and time) a text holds, or None; `birth` places a two-digit year in the past."""
    text = text.strip()
    if not text or len(text) > 40:
        return None
    match = _ISO.fullmatch(text)
    if match:
        year, month, day = match.group(1, 2, 3)
        return _made(int(year), month, day, match.groups()[3:])
    match = _COMPACT.fullmatch(text)
    if match:
        return _compact(match.group(1), match.groups()[1:], birth)
    match = _DMY.fullmatch(text)
    if match:
        day, month, year = match.group(1, 2, 3)
        return _made(_full_year(year, birth), month, day, match.groups()[3:])
    return None


def _compact(digits: str, time: tuple, birth: bool) -> datetime | None:
    """DDMMYYYY / DDMMYY as HPRIM writes them; YYYYMMDD only when DDMMYYYY is no date."""
    if len(digits) == 6:
        return _made(_full_year(digits[4:], birth), digits[2:4], digits[:2], time)
    return _made(int(digits[4:]), digits[2:4], digits[:2], time) or \
        _made(int(digits[:4]), digits[4:6], digits[6:], time)


def _full_year(year: str, birth: bool) -> int:
    if len(year) == 4:
        return int(year)
    # Two-digit years: a birth date is in the past; a report date at most next year.
    short, now = int(year), date.today().year % 100
    return 2000 + short if short <= now + (0 if birth else 1) else 1900 + short


def _made(year: int, month: str, day: str, time: tuple) -> datetime | None:
    hour, minute, second = (int(t) if t else 0 for t in time)
    if not 1800 <= year <= 2200:
        return None
    try:
        return datetime(year, int(month), int(day), hour, minute, second)
    except ValueError:
        return None


@functools.lru_cache(maxsize=1)
def lab_time_zone() -> tzinfo:
    """The zone of a lab-local time (one written without an offset): pli is French, so Paris."""
    try:
        return ZoneInfo("Europe/Paris")
    except ZoneInfoNotFoundError:
        return datetime.now().astimezone().tzinfo


def instant(when: datetime) -> datetime:
    """An aware time: a lab-local time (no offset) is Paris time; one with its own offset keeps it."""
    return when if when.tzinfo is not None else when.replace(tzinfo=lab_time_zone())
