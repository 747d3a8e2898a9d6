"""Lab reports as the rows the lab view shows: value, unit, range, flag symbol, severity, notes, comments.

The symbols carry the meaning on their own (a monochrome terminal, a
colour-blind reader); they are the same as in `pli lab show`, so they come
from pli.core.lab.render, like the severity, the flags and the states.  The
lab's comments that belong to no single result are rows of their own, where
the lab wrote them; a replaced result is a row of history that says what
replaced it, an analysis not done says so, never shows a value.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pli.core.lab.corrections import NO_HISTORY, History
from pli.core.lab.render import shown_value, state_text, symbol, table_entries


@dataclass(frozen=True)
class LabRow:
    code: str
    name: str
    value: str
    unit: str
    reference: str
    flag: str          # the flag shown: the lab's, or pli's from the range ("" none)
    flag_source: str   # "lab" | "pli" | ""
    severity: str      # "critical" | "abnormal" | "unknown" | "normal" | "replaced" | "not done" | "comment"
    interpreted: bool
    comment: str
    symbol: str        # ▲▲ ▲ ▼ ▼▼ ◆ ◆◆, ? not interpreted, » a comment, "" normal, replaced or not done
    note: str = ""     # what the reader must know of its state: replaced (by what), corrects, preliminary...

    @property
    def is_result(self) -> bool:
        return self.severity != "comment"


def row_of(observation, index: int = -1, history: History = NO_HISTORY) -> LabRow:
    flag = observation.flag
    if observation.superseded:
        severity = "replaced"
    elif observation.not_done:
        severity = "not done"
    else:
        severity = observation.severity
    return LabRow(
        code=observation.code,
        name=observation.label or observation.code,
        value=shown_value(observation),
        unit=observation.unit,
        reference=str(observation.reference),
        flag=flag.value if flag.value else "",
        flag_source=observation.flag_source,
        severity=severity,
        interpreted=observation.interpreted,
        comment=observation.comment,
        symbol=symbol(observation),
        note=_note(observation, index, history),
    )


def _note(observation, index: int, history: History) -> str:
    notes = [state_text(observation)] if not observation.not_done else ["not done"]
    later = history.replaced.get(index)
    if later is not None:
        notes.append(f"→ {_value(later.observation)} ({datetime.fromtimestamp(later.when):%d.%m.%Y})")
    earlier = history.corrects.get(index)
    if earlier is not None:
        notes.append(f"✎ corrects {_value(earlier)}")
    if not observation.superseded and not observation.not_done:
        if not observation.interpreted:
            notes.append("not interpreted")
        elif observation.flag_source == "pli" and observation.severity != "normal":
            notes.append("flag by pli")   # the lab gave no flag: pli compared with the range
        if observation.comment:
            notes.append("✎ comment")
    return " ".join(n for n in notes if n)


def _value(observation) -> str:
    return " ".join(p for p in (shown_value(observation), observation.unit, observation.lab_flag.strip()) if p)


def comment_row(text: str) -> LabRow:
    return LabRow(code="", name=text, value="", unit="", reference="", flag="", flag_source="",
                  severity="comment", interpreted=True, comment="", symbol="»")


def rows_of(report, critical_first: bool = False, history: History = NO_HISTORY) -> list[LabRow]:
    """The table's rows: results and the lab's loose comments in document order; critical first on
    demand (then the comments, then the replaced results, as history, last)."""
    index_of = {id(o): i for i, o in enumerate(report.observations)}
    return [row_of(entry, index_of.get(id(entry), -1), history) if kind == "result" else comment_row(entry)
            for kind, entry in table_entries(report, critical_first)]


def comments_of(report) -> list[str]:
    """What stands under the table: the lab's free text, and the comments tied to one result."""
    found = [report.text] if report.text else []
    found += [f"{o.label or o.code}: {o.comment}" for o in report.observations if o.comment]
    return found


def notices_of(report, conflicts: list[str] = ()) -> list[str]:
    """What the reader must not miss, in words, above the table: a patient pli could not be sure of,
    a report read only in part, what the parser had to guess, patients kept apart."""
    notices = []
    if report.patient_uncertain:
        named = " or ".join(_who(p) for p in report.candidates) or "no patient header"
        notices.append(f"PATIENT UNCERTAIN: these results are attached to no patient ({named}); check with the lab.")
    if report.incomplete:
        notices.append("INCOMPLETE: pli could read this report only in part; r shows its text as received.")
    notices += [f"⚠ {warning}" for warning in report.warnings]
    notices += [f"⚠ patients: {note}" for note in conflicts]
    return notices


def _who(patient) -> str:
    return f"{patient.display} born {patient.born}" if patient.born else patient.display
