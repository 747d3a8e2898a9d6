"""All lab reports of one patient across the store, for the trend plot and the patient view."""
from __future__ import annotations

from dataclasses import dataclass

from pli.core.errors import PliError
from pli.core.lab import reports_in_mail
from pli.core.lab.corrections import Received, current, replacements

MAX_REPORT_MESSAGES = 2000  # a patient with more messages than this is read in its newest 2000


@dataclass(frozen=True)
class PatientReport:
    summary: object   # the MessageSummary it came in
    report: object    # a pli.core.lab Report


def patient_query(patient_key: str) -> str:
    return f'tag:"patient:{patient_key}"'


def reports_of_patient(store, patient_key: str, read_message) -> list[PatientReport]:
    """Every report of this patient, newest message first (unreadable messages are skipped), with the
    results a later message of the same order replaced marked superseded (pli.core.lab.corrections):
    the trend plots current values, and shows the replaced ones as history."""
    found = []
    for summary in store.window(patient_query(patient_key), 0, MAX_REPORT_MESSAGES):
        try:
            clear = read_message(summary)
            reports = reports_in_mail(clear.message)
        except PliError:
            continue
        sender = clear.verification.signer_id if clear.verification.verified else ""
        found += [(summary, Received(report, summary.message_id, float(summary.date), sender, position))
                  for position, report in enumerate(reports) if report.patient.key == patient_key
                  and not report.patient_uncertain]
    replaced = replacements([entry for _, entry in found])
    return [PatientReport(summary, current(entry, replaced)) for summary, entry in found]
