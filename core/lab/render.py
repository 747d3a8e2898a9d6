"""A report as a plain-text table for the terminal (`pli lab show`): readable with or without colour.

Every abnormal value carries a symbol, so the table reads in monochrome, in a
pipe, by a colour-blind reader: ▲▲ critical high, ▲ high, ▼ low, ▼▼ critical
low, ◆ abnormal, ◆◆ critical abnormal, ? not interpreted.  A flag pli
computed (the lab sent none) is followed by "*".  Colour, when asked for,
only repeats what the symbols say.
"""
from __future__ import annotations

import unicodedata

from pli.core.lab.flags import Flag
from pli.core.lab.model import Observation, Report

SYMBOLS = {Flag.CRITICAL_HIGH: "▲▲", Flag.HIGH: "▲", Flag.LOW: "▼", Flag.CRITICAL_LOW: "▼▼",
           Flag.ABNORMAL: "◆", Flag.CRITICAL_ABNORMAL: "◆◆", Flag.BELOW_SCALE: "▼", Flag.ABOVE_SCALE: "▲",
           Flag.UNKNOWN: "?", Flag.NORMAL: "", Flag.NONE: ""}
NOT_INTERPRETED = "?"
_COLOURS = {"critical": "\x1b[1;31m", "abnormal": "\x1b[33m", "unknown": "\x1b[2m", "normal": ""}
_RESET = "\x1b[0m"
LEGEND = ("▲▲/▼▼ critical  ▲/▼ high/low  ◆ abnormal  ? not interpreted  "
          "* flag computed by pli from the range (the lab sent none)")


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


def render(report: Report, colour: bool = False, critical_first: bool = False, with_text: bool = False) -> str:
    """The whole report: a heading, the result table, the comments (and the lab's free text)."""
    lines = _heading(report)
    observations = report.ranked() if critical_first else list(report.observations)
    rows = [("", "Test", "Value", "Unit", "Reference", "Flag")]
    rows += [(symbol(o), o.label or o.code, _one_line(o.value), o.unit, str(o.reference), flag_text(o))
             for o in observations]
    widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    for number, row in enumerate(rows):
        text = "  ".join(_pad(cell, widths[i]) for i, cell in enumerate(row)).rstrip()
        if number and colour:
            paint = _COLOURS[observations[number - 1].severity]
            text = f"{paint}{text}{_RESET}" if paint else text
        lines.append(text)
        if number:
            o = observations[number - 1]
            if o.value2:
                second = f"{o.value2} {o.unit2}".strip() + (f" ({o.reference2})" if o.reference2 else "")
                lines.append(f"{'':{widths[0]}}    = {second}")
            lines += [f"{'':{widths[0]}}    ↳ {c}" for c in o.comment.split("\n") if c]
    if report.comments:
        lines += ["", "Lab comments:"] + [f"  {c}" for c in report.comments]
    if with_text and report.text:
        lines += ["", "Report text:"] + [f"  {line}" for line in report.text.split("\n")]
    lines += ["", LEGEND]
    return "\n".join(lines)


def _heading(report: Report) -> list[str]:
    patient = report.patient
    born = f", born {patient.birth_date:%d/%m/%Y}" if patient.birth_date else ""
    when = f"{report.collected:%d/%m/%Y %H:%M}".removesuffix(" 00:00") if report.collected else "no date"
    doctor = f" · for {report.prescriber}" if str(report.prescriber) != "?" else ""
    return [f"{patient.display}{born} · patient:{patient.key}",
            f"{report.lab} · specimen {when} · ref {report.reference or '-'}{doctor}",
            f"{report.severity.upper()}: {report.summary()}", ""]


def _one_line(text: str) -> str:
    return " / ".join(part for part in text.split("\n") if part)


def _width(text: str) -> int:
    # Symbols such as ▲ are one column; combining accents none (fine for our tables).
    return sum(0 if unicodedata.combining(c) else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))
