"""Trends: one test's values for one patient across reports, oldest first, for the TUI's plot.

`series` gives the current values; `replaced` the values a correction replaced
(within a message, or by a later message of the same order once the reports are
marked: pli.core.lab.corrections.current), shown as history beside the plot,
never plotted as if they still stood.
"""
from __future__ import annotations

from datetime import datetime
from typing import Iterable, NamedTuple

from pli.core.lab.dates import instant
from pli.core.lab.flags import Flag
from pli.core.lab.model import Report


class Point(NamedTuple):
    when: datetime
    value: float | str   # a float where the value is a plain number, else the text as sent ("<0.5")
    unit: str
    flag: Flag


def series(reports: Iterable[Report], patient_key: str, code: str) -> list[Point]:
    """Every result with this lab code (or LOINC code) for this patient, oldest first.

    Reports without a specimen date cannot be placed in time and are left out,
    and so are results whose patient is uncertain, replaced results (history) and
    analyses not done; the same result seen twice (a message stored twice) counts once.
    """
    points: dict[tuple, Point] = {}
    for report in reports:
        if report.collected is None or report.patient_uncertain or report.patient.key != patient_key:
            continue
        for observation in report.observations:
            if code not in (observation.code, observation.loinc) or observation.superseded or observation.not_done:
                continue
            number = observation.number
            point = Point(report.collected, number if number is not None else observation.value,
                          observation.unit, observation.flag)
            points.setdefault((point.when, observation.value, point.unit), point)
    return sorted(points.values(), key=lambda p: instant(p.when))


def replaced(reports: Iterable[Report], patient_key: str, code: str) -> list[Point]:
    """The values of this test a correction replaced, oldest first: the trend's history, not its line."""
    points: dict[tuple, Point] = {}
    for report in reports:
        if report.collected is None or report.patient_uncertain or report.patient.key != patient_key:
            continue
        for observation in report.observations:
            if code in (observation.code, observation.loinc) and observation.superseded:
                number = observation.number
                point = Point(report.collected, number if number is not None else observation.value,
                              observation.unit, observation.flag)
                points.setdefault((point.when, observation.value, point.unit), point)
    return sorted(points.values(), key=lambda p: instant(p.when))
