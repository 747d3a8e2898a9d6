"""A report as a plain-text table for the terminal (`pli lab show`): readable with or without colour.

Every abnormal value carries a symbol, so the table reads in monochrome, in a
pipe, by a colour-blind reader: ▲▲ critical high, ▲ high, ▼ low, ▼▼ critical
low, ◆ abnormal, ◆◆ critical abnormal, ? not interpreted.  A flag pli
computed (the lab sent none) is followed by "*".  Colour, when asked for,
only repeats what the symbols say.  A result a later report of the same order
replaced (pli.core.lab.corrections) is marked ↺ and says what replaced it: it
is history, and the heading's severity and summary leave it out.
"""
from __future__ import annotations

import unicodedata
from datetime import datetime

from pli.core.lab.corrections import NO_HISTORY, History, current_part
from pli.core.lab.flags import Flag
from pli.core.lab.model import Observation, Report

SYMBOLS = {Flag.CRITICAL_HIGH: "▲▲", Flag.HIGH: "▲", Flag.LOW: "▼", Flag.CRITICAL_LOW: "▼▼",
           Flag.ABNORMAL: "◆", Flag.CRITICAL_ABNORMAL: "◆◆", Flag.BELOW_SCALE: "▼", Flag.ABOVE_SCALE: "▲",
           Flag.UNKNOWN: "?", Flag.NORMAL: "", Flag.NONE: ""}
NOT_INTERPRETED = "?"
REPLACED = "↺"
_COLOURS = {"critical": "\x1b[1;31m", "abnormal": "\x1b[33m", "unknown": "\x1b[2m", "normal": "",
            "replaced": "\x1b[2;9m"}
_RESET = "\x1b[0m"
LEGEND = ("▲▲/▼▼ critical  ▲/▼ high/low  ◆ abnormal  ? not interpreted  "
          "* flag computed by pli from the range (the lab sent none)")
LEGEND_REPLACED = "↺ replaced by a later report of the same order (history, not the current value)"


def symbol(observation: Observation) -> str:
    if not observation.interpreted:
        return NOT_INTERPRETED
    return SYMBOLS[observation.flag]


def flag_symbol(code: "Flag | str") -> str:
    """The symbol for a flag's code ("HH", "L", ...): what a trend point carries instead of an Observation."""
    try:
        return SYMBOLS[Flag(code)]
    except ValueError:
        return SYMBOLS[Flag.UNKNOWN]


def flag_text(observation: Observation) -> str:
    """'HH', 'H*' (computed by pli), 'W?' (a lab flag pli does not know), '' (none)."""
    assessment = observation.assessment
    if assessment.flag is Flag.UNKNOWN:
        return f"{observation.lab_flag.strip()}?"
    if assessment.flag is Flag.NONE:
        return "not interpreted" if not assessment.interpreted else ""
    if assessment.flag is Flag.NORMAL and assessment.source == "pli":
        return ""   # within range and the lab said nothing: nothing to point at
    return assessment.flag.value + ("*" if assessment.source == "pli" else "")


def render(report: Report, colour: bool = False, critical_first: bool = False, with_text: bool = False,
           history: History = NO_HISTORY) -> str:
    """The whole report: a heading, the result table, the comments (and the lab's free text).
    `history` marks the results later reports of the same order replaced, and those it corrects."""
    lines = _heading(report, current_part(report, history))
    indexes = list(range(len(report.observations)))
    if critical_first:
        rank = {"critical": 0, "abnormal": 1, "unknown": 2, "normal": 3}
        indexes.sort(key=lambda i: 4 if i in history.replaced else rank[report.observations[i].severity])
    rows = [("", "Test", "Value", "Unit", "Reference", "Flag")]
    rows += [_row(report.observations[i], i in history.replaced) for i in indexes]
    widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    for number, row in enumerate(rows):
        text = "  ".join(_pad(cell, widths[i]) for i, cell in enumerate(row)).rstrip()
        if number and colour:
            index = indexes[number - 1]
            paint = _COLOURS["replaced" if index in history.replaced else report.observations[index].severity]
            text = f"{paint}{text}{_RESET}" if paint else text
        lines.append(text)
        if number:
            lines += _notes(report.observations[indexes[number - 1]], indexes[number - 1], history, widths[0])
    if report.comments:
        lines += ["", "Lab comments:"] + [f"  {c}" for c in report.comments]
    if with_text and report.text:
        lines += ["", "Report text:"] + [f"  {line}" for line in report.text.split("\n")]
    lines += ["", LEGEND] + ([LEGEND_REPLACED] if history.replaced else [])
    return "\n".join(lines)


def _row(o: Observation, replaced: bool) -> tuple[str, ...]:
    if replaced:
        return (REPLACED, o.label or o.code, _one_line(o.value), o.unit, str(o.reference),
                f"{o.lab_flag.strip()} replaced".strip())
    return (symbol(o), o.label or o.code, _one_line(o.value), o.unit, str(o.reference), flag_text(o))


def _notes(o: Observation, index: int, history: History, indent: int) -> list[str]:
    pad = f"{'':{indent}}    "
    notes = []
    if index in history.replaced:
        later = history.replaced[index]
        notes.append(f"{pad}↺ replaced by {_value(later.observation)} in the report of {_date(later.when)}")
    if index in history.corrects:
        notes.append(f"{pad}✎ corrects {_value(history.corrects[index])} of an earlier report")
    if o.value2:
        second = f"{o.value2} {o.unit2}".strip() + (f" ({o.reference2})" if o.reference2 else "")
        notes.append(f"{pad}= {second}")
    return notes + [f"{pad}↳ {c}" for c in o.comment.split("\n") if c]


def _value(o: Observation) -> str:
    return " ".join(part for part in (_one_line(o.value), o.unit, o.lab_flag.strip()) if part)


def _date(when: float) -> str:
    return datetime.fromtimestamp(when).strftime("%d/%m/%Y %H:%M")


def _heading(report: Report, live: Report) -> list[str]:
    patient = report.patient
    born = f", born {patient.birth_date:%d/%m/%Y}" if patient.birth_date else ""
    when = f"{report.collected:%d/%m/%Y %H:%M}".removesuffix(" 00:00") if report.collected else "no date"
    doctor = f" · for {report.prescriber}" if str(report.prescriber) != "?" else ""
    replaced = len(report.observations) - len(live.observations)
    later = f" ({replaced} result{'s' if replaced != 1 else ''} replaced by a later report)" if replaced else ""
    return [f"{patient.display}{born} · patient:{patient.key}",
            f"{report.lab} · specimen {when} · ref {report.reference or '-'}{doctor}",
            f"{live.severity.upper()}: {live.summary()}{later}", ""]


def _one_line(text: str) -> str:
    return " / ".join(part for part in text.split("\n") if part)


def _width(text: str) -> int:
    # Symbols such as ▲ are one column; combining accents none (fine for our tables).
    return sum(0 if unicodedata.combining(c) else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))
