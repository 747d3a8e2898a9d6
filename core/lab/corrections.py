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
    corrected = [i for i, o in enumerate(observations) if o.status.strip().upper() == "C" and o.identity]
    if not corrected:
        return observations   # nearly every report: nothing to do
    marked = list(observations)
    for index in corrected:
        identity = observations[index].identity
        for earlier in range(index):
            if marked[earlier].identity == identity and not marked[earlier].superseded:
                marked[earlier] = replace(marked[earlier], superseded=True)
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
    newer = {o.identity for o in later.observations if o.identity and not o.superseded}
    if not newer:
        return earlier
    observations = tuple(replace(o, superseded=True) if o.identity in newer and not o.superseded else o
                         for o in earlier.observations)
    return earlier if observations == earlier.observations else replace(earlier, observations=observations)


def across(reports: list[Report]) -> list[Report]:
    """Reports in the order received, each earlier one's results replaced by a later report of its order."""
    result = list(reports)
    for index in range(len(result)):
        if order_key(result[index]) is None:
            continue
        for later in result[index + 1:]:
            result[index] = supersede(result[index], later)
    return result
