"""All lab reports of one patient across the store, for the trend plot and the patient view."""
from __future__ import annotations

from dataclasses import dataclass

from pli.core.errors import PliError

MAX_REPORT_MESSAGES = 2000  # a patient with more messages than this is read in its newest 2000


@dataclass(frozen=True)
class PatientReport:
    summary: object   # the MessageSummary it came in
    report: object    # a pli.core.lab Report


def patient_query(patient_key: str) -> str:
    return f'tag:"patient:{patient_key}"'


def reports_of_patient(store, patient_key: str, read_message) -> list[PatientReport]:
    """Every report of this patient, newest message first (unreadable messages are skipped)."""
    from pli.core.lab import reports_in_mail

    found = []
    for summary in store.window(patient_query(patient_key), 0, MAX_REPORT_MESSAGES):
        try:
            clear = read_message(summary)
            reports = reports_in_mail(clear.message)
        except PliError:
            continue
        for report in reports:
            if report.patient.key == patient_key:
                found.append(PatientReport(summary, report))
    return found
