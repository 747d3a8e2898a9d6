"""Lab results: HPRIM and HL7 v2 parsing into one model, abnormal flags, trends, exports.

The names other layers use are here; each lives in the module of its concept.
"""
from pli.core.lab.detect import (HL7_MEDIA_TYPE, HPRIM_MEDIA_TYPE, detect_format, lab_kind, parse_reports,
                                 reports_in_bytes, reports_in_mail)
from pli.core.lab.errors import MalformedReport
from pli.core.lab.flags import Flag
from pli.core.lab.model import Lab, Observation, Patient, Prescriber, ReferenceRange, Report
from pli.core.lab.trends import series

__all__ = [
    "HL7_MEDIA_TYPE", "HPRIM_MEDIA_TYPE", "Flag", "Lab", "MalformedReport", "Observation", "Patient",
    "Prescriber", "ReferenceRange", "Report", "detect_format", "lab_kind", "parse_reports",
    "reports_in_bytes", "reports_in_mail", "series",
]
