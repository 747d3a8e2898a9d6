"""One entry point for exporting reports to the medical record: FHIR R4 JSON or an HPRIM file."""
from __future__ import annotations

from pli.core.errors import UsageError
from pli.core.lab import fhir, hprim
from pli.core.lab.model import Report

FORMATS = {"fhir": ".json", "hprim": ".hpr"}


def export_reports(reports: list[Report], fmt: str) -> bytes:
    """The bytes of one export file holding these reports ('fhir': one Bundle; 'hprim': one file)."""
    if fmt == "fhir":
        return fhir.to_json(reports)
    if fmt == "hprim":
        return hprim.dumps(reports)
    raise UsageError(f"unknown export format {fmt!r} (use one of: {', '.join(FORMATS)})")


def export_report(report: Report, fmt: str) -> tuple[bytes, str]:
    """(bytes, file suffix) for one report: what the TUI's export dialog writes."""
    return export_reports([report], fmt), FORMATS.get(fmt, "")
