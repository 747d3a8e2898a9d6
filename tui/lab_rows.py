"""Lab reports as the rows the lab view shows: value, unit, range, flag symbol, severity, comments.

The symbols carry the meaning on their own (a monochrome terminal, a
colour-blind reader); they are the same as in `pli lab show`, so they come
from pli.core.lab.render, like the severity and the flags themselves.
"""
from __future__ import annotations

from dataclasses import dataclass

from pli.core.lab.render import symbol


@dataclass(frozen=True)
class LabRow:
    code: str
    name: str
    value: str
    unit: str
    reference: str
    flag: str          # the flag shown: the lab's, or pli's from the range ("" none)
    flag_source: str   # "lab" | "pli" | ""
    severity: str      # "critical" | "abnormal" | "unknown" | "normal"
    interpreted: bool
    comment: str
    symbol: str        # ▲▲ ▲ ▼ ▼▼ ◆ ◆◆, ? not interpreted, "" normal


def row_of(observation) -> LabRow:
    flag = observation.flag
    return LabRow(
        code=observation.code,
        name=observation.label or observation.code,
        value=observation.value,
        unit=observation.unit,
        reference=str(observation.reference),
        flag=flag.value if flag.value else "",
        flag_source=observation.flag_source,
        severity=observation.severity,
        interpreted=observation.interpreted,
        comment=observation.comment,
        symbol=symbol(observation),
    )


def rows_of(report, critical_first: bool = False) -> list[LabRow]:
    observations = report.ranked() if critical_first else report.observations
    return [row_of(o) for o in observations]


def comments_of(report) -> list[str]:
    found = list(report.comments)
    if report.text:
        found.append(report.text)
    found += [f"{o.label or o.code}: {o.comment}" for o in report.observations if o.comment]
    return found

