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

Across stored messages (pli.core.store.orders) the same rule holds, with the
messages ordered by their date, then by Message-ID, so that the outcome does not
depend on the order they were imported in:

    key = stored_order_key(sender_id, report)     # "" when there is no order to speak of
    replaced = replacements(received)             # {(message, report, result): Replacement}
    report = current(one, replaced)               # one received report, its replaced results marked

For each test of the order the latest message's value is current; the same test
in an earlier message is replaced.  Tests the later message does not repeat
stay current where they are: a message bringing a late culture does not hide
the blood count sent before it.  The stored key also holds the verified
sender's identifier: a message from anyone else never replaces a lab's results.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, replace

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


# -- across stored messages ----------------------------------------------------------------------

KEY_BYTES = 10


def stored_order_key(sender: str, report: Report) -> str:
    """The order a stored report answers, as a short hex key for the store's `pli.order` property:
    the verified sender and `order_key` (patient, lab, request number).  "" without a sender or an
    order (no request number, an uncertain patient)."""
    key = order_key(report)
    if key is None or not sender:
        return ""
    material = "\x1f".join((sender, *key))
    return hashlib.blake2b(material.encode("utf-8"), digest_size=KEY_BYTES).hexdigest()


@dataclass(frozen=True)
class Received:
    """One report as it arrived: in which message, when, from which verified sender."""

    report: Report
    message_id: str
    when: float            # the message's date, unix time
    sender: str            # the verified sender's identifier ("" when unknown: never matches a lab's)
    position: int = 0      # the report's place among its message's reports

    @property
    def order(self) -> str:
        return stored_order_key(self.sender, self.report)

    @property
    def rank(self) -> tuple[float, str]:
        return (self.when, self.message_id)


@dataclass(frozen=True)
class Replacement:
    """The value that replaces a result, and the message it came in."""

    observation: Observation
    message_id: str
    when: float


ResultId = tuple[str, int, int]   # (message id, report position, result index)


def replacements(received: Iterable[Received]) -> dict[ResultId, Replacement]:
    """Every result a later message of the same order replaces, with what replaces it."""
    latest: dict[tuple[str, str], tuple[Received, int]] = {}
    entries = sorted((r for r in received if r.order), key=lambda r: r.rank)
    for entry in entries:
        for index, observation in enumerate(entry.report.observations):
            if observation.identity and not observation.superseded:   # a value its own message replaced never wins
                latest[(entry.order, observation.identity)] = (entry, index)
    found: dict[ResultId, Replacement] = {}
    for entry in entries:
        for index, observation in enumerate(entry.report.observations):
            winner, at = latest.get((entry.order, observation.identity), (entry, index))
            if winner.message_id != entry.message_id:
                found[(entry.message_id, entry.position, index)] = Replacement(
                    winner.report.observations[at], winner.message_id, winner.when)
    return found


def current(entry: Received, replaced: dict[ResultId, Replacement]) -> Report:
    """The report with the results a later message replaced marked superseded (kept as history)."""
    marked = tuple(replace(o, superseded=True) if (entry.message_id, entry.position, i) in replaced and not o.superseded
                   else o for i, o in enumerate(entry.report.observations))
    return entry.report if marked == entry.report.observations else replace(entry.report, observations=marked)


def replaced_in(entry: Received, replaced: dict[ResultId, Replacement]) -> list[tuple[Observation, Replacement]]:
    """The results of this report a later message replaced, each with its replacement."""
    return [(o, replaced[(entry.message_id, entry.position, i)]) for i, o in enumerate(entry.report.observations)
            if (entry.message_id, entry.position, i) in replaced]


def corrected_by(entry: Received, received: Iterable[Received],
                 replaced: dict[ResultId, Replacement]) -> list[tuple[Observation, Observation]]:
    """(earlier value, this report's value) for each result of an earlier message of the order that
    this report replaces with a different value: what a correction changed."""
    mine = {o.identity: o for o in entry.report.observations if not o.superseded}
    changed = []
    for other in sorted(received, key=lambda r: r.rank):   # the latest earlier value last
        if other.order != entry.order or other.message_id == entry.message_id:
            continue
        for old, replacement in replaced_in(other, replaced):
            new = mine.get(old.identity)
            if replacement.message_id == entry.message_id and new is not None and _differs(old, new):
                changed.append((old, new))
    return changed


def _differs(old: Observation, new: Observation) -> bool:
    return (old.value, old.unit, old.lab_flag) != (new.value, new.unit, new.lab_flag)


@dataclass(frozen=True)
class History:
    """What the other messages of its order say about one report's results, for showing it."""

    replaced: dict[int, Replacement]     # result index -> the later value that replaces it
    corrects: dict[int, Observation]     # result index -> the earlier, different value it replaces

    @property
    def current(self) -> bool:
        """True when none of the report's results has been replaced."""
        return not self.replaced


NO_HISTORY = History({}, {})


def history_of(entry: Received, received: list[Received], replaced: dict[ResultId, Replacement]) -> History:
    mine = {(entry.message_id, entry.position, i): i for i in range(len(entry.report.observations))}
    gone = {mine[key]: rep for key, rep in replaced.items() if key in mine}
    earlier = {old.identity: old for old, _ in corrected_by(entry, received, replaced)}
    corrects = {i: earlier[o.identity] for i, o in enumerate(entry.report.observations)
                if o.identity in earlier and not o.superseded}
    return History(gone, corrects)

