"""Corrected results: a correction replaces the value it corrects, which stays as history, never as current.

Within one report (one HL7 message's patient, one HPRIM report), a result with
status C (HPRIM RES status, HL7 OBX-11) replaces the earlier result of the
same test (`Observation.identity`: the lab's code, else LOINC, else the label).
Across reports (a later message correcting an earlier one), the later report
of the same order (`order_key`: the same patient, lab and request number)
is the lab's newer word: each of its results replaces the earlier report's
result of the same test, whatever its status.  Replaced results are kept with
`superseded=True`: the table shows them as history, the summary, tags, trends
and exports show the current value only.
"""
from __future__ import annotations

from dataclasses import replace

from pli.core.lab.model import Observation, Report


def within(observations: list[Observation]) -> list[Observation]:
    """The results of one report, each result that a later corrected one replaces marked superseded."""
    if not any(o.status.strip().upper() == "C" for o in observations):
        return observations   # nearly every report: nothing to do
    marked = list(observations)
    earlier: dict[str, list[int]] = {}    # identity -> the results of that test not yet replaced
    for index, observation in enumerate(observations):
        identity = observation.identity
        if observation.status.strip().upper() == "C" and identity:
            for replaced in earlier.pop(identity, []):
                marked[replaced] = replace(marked[replaced], superseded=True)
        earlier.setdefault(identity, []).append(index)
    return marked


def order_key(report: Report) -> tuple[str, str, str] | None:
    """What makes two reports the same order: patient, lab and request number (None without a number,
    or when the patient is uncertain: nothing can then be said to correct it)."""
    if not report.reference or report.patient_uncertain:
        return None
    return report.patient.key, report.lab.code or report.lab.name, report.reference


def supersede(earlier: Report, later: Report) -> Report:
    """`earlier` with each result that `later` (the same order, received after) gives again marked superseded;
    `earlier` itself when they are not the same order or nothing is replaced."""
    key = order_key(earlier)
    if key is None or key != order_key(later):
        return earlier
    return _replaced(earlier, _identities(later))


def across(reports: list[Report]) -> list[Report]:
    """Reports in the order received, each earlier one's results replaced by a later report of its order."""
    references = [r.reference for r in reports if r.reference]
    if len(set(references)) == len(references):
        return reports   # nearly every file: no request number twice, so no order twice
    orders: dict[tuple, list[int]] = {}
    for index, report in enumerate(reports):
        key = order_key(report)
        if key is not None:
            orders.setdefault(key, []).append(index)
    result = list(reports)
    for indexes in orders.values():
        newer: set[str] = set()    # the tests a later report of the order gives: walked from the last one back
        for index in reversed(indexes):
            result[index] = _replaced(result[index], newer)
            newer |= _identities(reports[index])
    return result


def _identities(report: Report) -> set[str]:
    return {o.identity for o in report.observations if o.identity and not o.superseded}


def _replaced(report: Report, newer: set[str]) -> Report:
    if not newer:
        return report
    observations = tuple(replace(o, superseded=True) if o.identity in newer and not o.superseded else o
                         for o in report.observations)
    return report if observations == report.observations else replace(report, observations=observations)
