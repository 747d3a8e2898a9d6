"""Corrections across messages: a later message for the same order supersedes the values it repeats.

    key = order_key(sender_id, report)            # "" when the report names no request number
    replaced = replacements(received)             # {(message, report, result): Replacement}
    report = current(one, replaced)               # what is current of one received report

A lab sends a second message for an order it already reported (the same lab,
request number and patient) to correct a value, to complete a preliminary
report, or to add late results.  For each analysis of the order, the value of
the latest message carrying it is current; the same analysis in an earlier
message is *replaced*: kept and shown as history, never as the current value.
Analyses the later message does not repeat stay current where they are: a
message bringing a late culture does not hide the blood count sent before it.

Messages are ordered by their date, then by Message-ID, so the order is the
same whatever order they were imported in.  The order key holds the verified
sender's identifier: a message from anyone else never replaces a lab's
results.  Within one message, statuses (corrected, preliminary, cancelled) are
the parsers' business.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, replace

from pli.core.lab.model import Observation, Report, slug

KEY_BYTES = 10


def order_key(sender: str, report: Report) -> str:
    """The order a report answers, as a short hex key; "" when it names no request number."""
    if not report.reference.strip():
        return ""
    patient = report.patient
    born = patient.birth_date.isoformat() if patient.birth_date else ""
    # The patient's key, and the name and birth date whatever that key is made of: a child sent
    # under a parent's social-security number is another patient, never a correction of the parent.
    material = "\x1f".join((sender, report.lab.code or report.lab.name, report.reference.strip(), patient.key,
                            slug(f"{patient.last_name} {patient.first_name}"), born))
    return hashlib.blake2b(material.encode("utf-8"), digest_size=KEY_BYTES).hexdigest()


def analysis(observation: Observation) -> str:
    """What a result measures, to match it across messages: the lab's code, else LOINC, else the label."""
    return (observation.code or observation.loinc or observation.label).strip().casefold()


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
        return order_key(self.sender, self.report) if self.sender else ""

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
            latest[(entry.order, analysis(observation))] = (entry, index)
    found: dict[ResultId, Replacement] = {}
    for entry in entries:
        for index, observation in enumerate(entry.report.observations):
            winner, at = latest[(entry.order, analysis(observation))]
            if winner.message_id != entry.message_id:
                found[(entry.message_id, entry.position, index)] = Replacement(
                    winner.report.observations[at], winner.message_id, winner.when)
    return found


def current(entry: Received, replaced: dict[ResultId, Replacement]) -> Report:
    """The report without the results a later message replaced."""
    kept = tuple(o for i, o in enumerate(entry.report.observations)
                 if (entry.message_id, entry.position, i) not in replaced)
    return entry.report if len(kept) == len(entry.report.observations) else replace(entry.report, observations=kept)


def replaced_in(entry: Received, replaced: dict[ResultId, Replacement]) -> list[tuple[Observation, Replacement]]:
    """The results of this report a later message replaced, each with its replacement."""
    return [(o, replaced[(entry.message_id, entry.position, i)]) for i, o in enumerate(entry.report.observations)
            if (entry.message_id, entry.position, i) in replaced]


def corrected_by(entry: Received, received: Iterable[Received],
                 replaced: dict[ResultId, Replacement]) -> list[tuple[Observation, Observation]]:
    """(earlier value, this report's value) for each result of an earlier message of the order that
    this report replaces with a different value: what a correction changed."""
    mine = {analysis(o): o for o in entry.report.observations}
    changed = []
    for other in sorted(received, key=lambda r: r.rank):   # the latest earlier value last
        if other.order != entry.order or other.message_id == entry.message_id:
            continue
        for old, replacement in replaced_in(other, replaced):
            new = mine.get(analysis(old))
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
    earlier = {analysis(old): old for old, _ in corrected_by(entry, received, replaced)}
    corrects = {i: earlier[analysis(o)] for i, o in enumerate(entry.report.observations) if analysis(o) in earlier}
    return History(gone, corrects)


def current_part(report: Report, history: History) -> Report:
    """The report without the results a later report replaced: what its severity, summary and
    exports count."""
    if history.current:
        return report
    return replace(report, observations=tuple(o for i, o in enumerate(report.observations)
                                              if i not in history.replaced))
