"""The tag rules: what tags and display properties a stored message gets, from its checks and lab payload.

    verified sealed mail:  sealed verified inbox unread [lab] [abnormal] [critical abnormal] [patient:<key>...]
                           [lab-unreadable | lab-incomplete] [patient-uncertain]
    sealed mail failing a check:  sealed quarantine <reason> unread      (reason: bad-signature, bad-mac, ...)
    plain mail:            unsealed quarantine unread  (or unsealed inbox unread when quarantine is off)

A critical result is also abnormal, so that `abnormal` finds everything out of range.
Results the file does not tie to a patient (Report.patient_uncertain) get no
patient tag, never someone's: the message is tagged patient-uncertain instead.
"""
from __future__ import annotations

from dataclasses import dataclass

from pli.core.lab.corrections import stored_order_key
from pli.core.lab.model import Patient
from pli.core import vocab as v

LAB_SUMMARY_MAX = 160
UNCERTAIN_DISPLAY = "patient uncertain"


@dataclass(frozen=True)
class LabFacts:
    """What the store keeps of a message's lab payload."""

    severity: str = ""                  # "critical" | "abnormal" | "normal" | "" (no lab payload)
    patient_keys: tuple[str, ...] = ()
    patient: str = ""                   # as displayed
    summary: str = ""
    error: str = ""                     # the payload is there but could not be read
    orders: tuple[str, ...] = ()        # the lab orders it answers (pli.core.lab.corrections.order_key)
    incomplete: bool = False            # a report was read only in part
    uncertain: bool = False             # some results are tied to no patient for sure


def lab_facts(reports, sender: str = "") -> LabFacts:
    """What the store keeps of these reports; with the verified sender's identifier, their orders too."""
    if not reports:
        return LabFacts()
    overviews = [r.overview() for r in reports]   # (severity, summary): each result assessed once
    severity = v.worst_severity(s for s, _ in overviews)
    keys, names = [], []
    for report in reports:
        if report.patient_uncertain:
            continue
        key = str(report.patient.key)
        if key not in keys:
            keys.append(key)
            names.append(patient_display(report.patient))
    uncertain = any(r.patient_uncertain for r in reports)
    shown = [names[0] if len(names) == 1 else f"{len(names)} patients"] if names else []
    patient = " + ".join(shown + ([UNCERTAIN_DISPLAY] if uncertain else []))
    text = "; ".join(s for _, s in overviews if s)
    if len(text) > LAB_SUMMARY_MAX:
        text = text[: LAB_SUMMARY_MAX - 1] + "…"
    orders = tuple(dict.fromkeys(k for k in (stored_order_key(sender, r) for r in reports) if k)) if sender else ()
    return LabFacts(severity, tuple(keys), patient, text, orders=orders,
                    incomplete=any(r.incomplete for r in reports), uncertain=uncertain)


def patient_display(patient) -> str:
    if isinstance(patient, Patient):
        return patient.display  # the usual case, without the lookups below (a miss raises inside getattr)
    for attribute in ("display_name", "display", "name"):
        value = getattr(patient, attribute, None)
        if callable(value):
            value = value()
        if value:
            return str(value)
    return str(patient.key)


def tags_for(*, sealed: bool, reason: str, quarantined: bool, lab: LabFacts) -> tuple[str, ...]:
    tags = {v.UNREAD, v.SEALED if sealed else v.UNSEALED}
    if quarantined:
        tags |= {v.QUARANTINE, reason or v.UNSEALED}
    else:
        tags.add(v.INBOX)
        if not reason:
            tags.add(v.VERIFIED)
    if lab.severity:
        tags.add(v.LAB)
        if lab.severity in v.NOTABLE:
            tags.add(v.ABNORMAL)
        if lab.severity == v.CRITICAL:
            tags.add(v.CRITICAL)
        tags |= {f"{v.PATIENT_PREFIX}{key}" for key in lab.patient_keys}
    if lab.error:
        tags.add(v.LAB_UNREADABLE)
    if lab.incomplete:
        tags.add(v.LAB_INCOMPLETE)
    if lab.uncertain:
        tags.add(v.PATIENT_UNCERTAIN)
    return tuple(sorted(tags))


def properties_for(*, mode: str, reason: str, lab: LabFacts) -> tuple[tuple[str, str], ...]:
    """Only what tags and headers cannot hold: each property costs index time at import."""
    pairs = [(v.MODE_PROPERTY, mode), (v.REASON_PROPERTY, reason), (v.PATIENT_PROPERTY, lab.patient),
             (v.LAB_PROPERTY, lab.summary or lab.error)] + [(v.ORDER_PROPERTY, key) for key in lab.orders]
    return tuple((k, v) for k, v in pairs if v)
