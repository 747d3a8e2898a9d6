"""Lab reports as the rows the lab view shows: value, unit, range, flag symbol, severity, comments.

The symbols carry the meaning on their own (a monochrome terminal, a
colour-blind reader): ▲▲ critical high, ▲ high, ▼ low, ▼▼ critical low,
◆ abnormal without direction, ? not interpreted (no reference to judge by).
"""
from __future__ import annotations

from dataclasses import dataclass

FLAG_SYMBOL = {"HH": "▲▲", "H": "▲", "L": "▼", "LL": "▼▼", "A": "◆", "AA": "◆◆", "N": "", "": ""}
NOT_INTERPRETED = "?"


@dataclass(frozen=True)
class LabRow:
    code: str
    name: str
    value: str
    unit: str
    reference: str
    flag: str          # the lab's or pli's flag: HH, H, L, LL, A, N, "" ...
    severity: str      # "critical" | "abnormal" | "normal" | "unknown"
    comment: str

    @property
    def symbol(self) -> str:
        if self.severity == "unknown":
            return NOT_INTERPRETED
        return FLAG_SYMBOL.get(self.flag, "◆" if self.severity != "normal" else "")


def _text(value) -> str:
    if value is None:
        return ""
    return str(getattr(value, "value", value))


def flag_severity(flag: str, interpreted: bool = True) -> str:
    if not interpreted:
        return "unknown"
    if flag in ("HH", "LL", "AA") or flag.startswith("critical"):
        return "critical"
    if flag in ("H", "L", "A", "abnormal"):
        return "abnormal"
    return "normal"


def row_of(observation) -> LabRow:
    flag = _text(getattr(observation, "flag", ""))
    interpreted = getattr(observation, "interpreted", True) and flag not in ("?", "not-interpreted")
    value = getattr(observation, "value", "")
    return LabRow(
        code=_text(getattr(observation, "code", "")),
        name=_text(getattr(observation, "name", "") or getattr(observation, "label", "")
                   or getattr(observation, "code", "")),
        value=f"{value:g}" if isinstance(value, float) else _text(value),
        unit=_text(getattr(observation, "unit", "")),
        reference=_text(getattr(observation, "reference", "") or getattr(observation, "reference_range", "")),
        flag=flag if flag not in ("?", "not-interpreted") else "",
        severity=flag_severity(flag, interpreted),
        comment=_text(getattr(observation, "comment", "")),
    )


SEVERITY_ORDER = {"critical": 0, "abnormal": 1, "unknown": 2, "normal": 3}


def rows_of(report, critical_first: bool = False) -> list[LabRow]:
    rows = [row_of(o) for o in getattr(report, "observations", ())]
    if critical_first:
        rows.sort(key=lambda r: SEVERITY_ORDER[r.severity])  # stable: the lab's order within a severity
    return rows


def comments_of(report) -> list[str]:
    found = [str(c) for c in getattr(report, "comments", ()) or ()]
    found += [f"{row.name}: {row.comment}" for row in rows_of(report) if row.comment]
    return found
