"""A report as a plain-text table for the terminal (`pli lab show`): readable with or without colour.

Every abnormal value carries a symbol, so the table reads in monochrome, in a
pipe, by a colour-blind reader: ▲▲ critical high, ▲ high, ▼ low, ▼▼ critical
low, ◆ abnormal (and an antibiogram's R or I), ◆◆ critical abnormal, ? not
interpreted.  A flag pli computed (the lab sent none) is followed by "*".
Colour, when asked for, only repeats what the symbols say.

What the reader must not miss comes first, in words: a patient pli could not
be sure of ("PATIENT UNCERTAIN"), a report read only in part, the warnings.
The lab's comments stand among the results where the lab wrote them, never
under a result they might not belong to; a replaced result is shown as
history ("replaced"), an analysis not done as "not done", never as a value.
A result a later message of the same order replaced (pli.core.lab.corrections)
also says what replaced it and when; the later result says what it corrects.
"""
from __future__ import annotations

import unicodedata
from datetime import datetime

from pli.core.lab.corrections import NO_HISTORY, History
from pli.core.lab.flags import Flag
from pli.core.lab.model import Observation, Organism, Report, identity_conflicts

SYMBOLS = {Flag.CRITICAL_HIGH: "▲▲", Flag.HIGH: "▲", Flag.LOW: "▼", Flag.CRITICAL_LOW: "▼▼",
           Flag.ABNORMAL: "◆", Flag.CRITICAL_ABNORMAL: "◆◆", Flag.BELOW_SCALE: "▼", Flag.ABOVE_SCALE: "▲",
           Flag.UNKNOWN: "?", Flag.NORMAL: "", Flag.NONE: "", Flag.SUSCEPTIBLE: "", Flag.INTERMEDIATE: "◆",
           Flag.RESISTANT: "◆"}
NOT_INTERPRETED = "?"
NOT_DONE = "not done"
_COLOURS = {"critical": "\x1b[1;31m", "abnormal": "\x1b[33m", "unknown": "\x1b[2m", "normal": ""}
_RESET = "\x1b[0m"
LEGEND = ("▲▲/▼▼ critical  ▲/▼ high/low  ◆ abnormal  ? not interpreted  "
          "* flag computed by pli from the range (the lab sent none)")


def symbol(observation: Observation) -> str:
    if observation.not_done or observation.superseded:
        return ""
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
    """'HH', 'H*' (computed by pli), 'W?' (a lab flag pli does not know), 'not interpreted', '' (none)."""
    if observation.not_done:
        return NOT_DONE
    assessment = observation.assessment
    if assessment.flag is Flag.UNKNOWN:
        return f"{observation.lab_flag.strip()}?"
    if assessment.flag is Flag.NONE:
        return "not interpreted" if not assessment.interpreted else ""
    if assessment.flag is Flag.NORMAL and assessment.source == "pli":
        return ""   # within range and the lab said nothing: nothing to point at
    return assessment.flag.value + ("*" if assessment.source == "pli" else "")


def state_text(observation: Observation) -> str:
    """What the result's status changes for the reader: 'replaced', 'corrected', 'preliminary'..."""
    if observation.superseded:
        return "replaced (history)"
    state = observation.state
    return "" if state in ("final", "", NOT_DONE) else state


def render(report: Report, colour: bool = False, critical_first: bool = False, with_text: bool = False,
           history: History = NO_HISTORY) -> str:
    """The whole report: a heading, the result table with the lab's comments in place, cultures, notes.
    `history` says what later messages of the same order replaced, and what this report corrects."""
    lines = _heading(report)
    index_of = {id(o): i for i, o in enumerate(report.observations)}
    entries = table_entries(report, critical_first)
    results = [o for kind, o in entries if kind == "result"]
    rows = [("", "Test", "Value", "Unit", "Reference", "Flag", "Note")]
    rows += [(symbol(o), o.label or o.code, shown_value(o), o.unit, str(o.reference), flag_text(o), state_text(o))
             for o in results]
    widths = [max(_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    if results:
        lines.append(_row(rows[0], widths))
    row_number = 0
    for kind, entry in entries:
        if kind == "comment":
            lines.append(f"{'':{widths[0]}}  » {entry}" if entry.strip() else "")
            continue
        row_number += 1
        text = _row(rows[row_number], widths)
        paint = _COLOURS[entry.severity] if colour and not entry.superseded else ""
        lines.append(f"{paint}{text}{_RESET}" if paint else text)
        if entry.value2:
            second = f"{entry.value2} {entry.unit2}".strip() + (f" ({entry.reference2})" if entry.reference2 else "")
            lines.append(f"{'':{widths[0]}}    = {second}")
        lines += _history_notes(index_of.get(id(entry), -1), history, widths[0])
        lines += [f"{'':{widths[0]}}    ↳ {c}" for c in entry.comment.split("\n") if c]
    for organism in report.organisms:
        lines += _culture(organism)
    if with_text and report.text:
        lines += ["", "Report text:"] + [f"  {line}" for line in report.text.split("\n")]
    lines += ["", LEGEND]
    return "\n".join(lines)


def table_entries(report: Report, critical_first: bool = False) -> list[tuple[str, object]]:
    """The table's entries, ('result', Observation) and ('comment', str): in document order, or critical
    first (current results ranked, then the loose comments, then the replaced results as history)."""
    if not critical_first:
        return report.entries()
    entries = [("result", o) for o in report.ranked()] + [("comment", c) for c in report.comments]
    return entries + [("result", o) for o in report.observations if o.superseded]


def _history_notes(index: int, history: History, indent: int) -> list[str]:
    pad = f"{'':{indent}}    "
    notes = []
    if index in history.replaced:
        later = history.replaced[index]
        notes.append(f"{pad}↺ replaced by {_value(later.observation)} in the report of {_date(later.when)}")
    if index in history.corrects:
        notes.append(f"{pad}✎ corrects {_value(history.corrects[index])} of an earlier report")
    return notes


def _value(o: Observation) -> str:
    return " ".join(part for part in (_one_line(o.value), o.unit, o.lab_flag.strip()) if part)


def _date(when: float) -> str:
    return datetime.fromtimestamp(when).strftime("%d/%m/%Y %H:%M").removesuffix(" 00:00")


def _row(cells, widths) -> str:
    return "  ".join(_pad(cell, widths[i]) for i, cell in enumerate(cells)).rstrip()


def shown_value(observation: Observation) -> str:
    """The value as a table shows it: an analysis not done in parentheses, never as a value."""
    if observation.not_done:
        return f"({_one_line(observation.value) or NOT_DONE})"
    return _one_line(observation.value)


def _heading(report: Report) -> list[str]:
    patient = report.patient
    lines = []
    if report.patient_uncertain:
        named = " or ".join(_who(p) for p in report.candidates) or "no patient header"
        lines += ["PATIENT UNCERTAIN: these results are attached to no patient.",
                  f"  The file does not say whose they are ({named}): check with the lab.", ""]
    else:
        born = f", born {patient.born}" if patient.born else ""
        lines.append(f"{patient.display}{born} · patient:{patient.key}")
    when = f"{report.collected:%d/%m/%Y %H:%M}".removesuffix(" 00:00") if report.collected else \
        (report.collected_text or "no date")
    doctor = f" · for {report.prescriber}" if str(report.prescriber) != "?" else ""
    lines.append(f"{report.lab} · specimen {when} · ref {report.reference or '-'}{doctor}")
    replaced = len(report.observations) - len(report.current)
    history = f" ({replaced} replaced, shown as history)" if replaced and report.current else ""
    lines.append(f"{_headline_word(report)}: {report.summary()}{history}")
    if report.encoding:
        lines.append(f"read as {report.encoding}")
    if report.incomplete:
        lines.append("INCOMPLETE: pli could read this report only in part; the lab's original is kept.")
    lines += [f"⚠ {w}" for w in report.warnings]
    lines.append("")
    return lines


def _who(patient) -> str:
    born = f" born {patient.born}" if patient.born else ""
    return f"{patient.display}{born}"


def _culture(organism: Organism) -> list[str]:
    mark = ""
    if organism.multi_resistant:
        mark = f"  ◆◆ MULTI-RESISTANT ({organism.note})"
    elif organism.resistant:
        mark = "  ◆ RESISTANT"
    lines = ["", f"Culture: {organism.name}{mark}"]
    rows = [(s.antibiotic, s.interpretation or "?", f"{s.value} {s.unit}".strip()) for s in organism.susceptibilities]
    width = max((_width(r[0]) for r in rows), default=0)
    for antibiotic, interpretation, measure in rows:
        sign = "◆" if interpretation in ("R", "I") else " "
        lines.append(f"  {sign} {_pad(antibiotic, width)}  {interpretation}  {measure}".rstrip())
    return lines


def render_all(reports: list[Report], colour: bool = False, critical_first: bool = False,
               with_text: bool = False, histories: list[History] | None = None) -> str:
    """Several reports (one file), one after the other, and what the reader must know about who is who."""
    histories = histories or [NO_HISTORY] * len(reports)
    blocks = [render(r, colour=colour, critical_first=critical_first, with_text=with_text, history=h)
              for r, h in zip(reports, histories)]
    notes = identity_conflicts([r.patient for r in reports if not r.patient_uncertain])
    text = ("\n\n" + "─" * 60 + "\n\n").join(blocks)
    if notes:
        text += "\n\n" + "\n".join(f"⚠ patients: {n}" for n in notes)
    return text


def _one_line(text: str) -> str:
    return " / ".join(part for part in text.split("\n") if part)


def _width(text: str) -> int:
    # Symbols such as ▲ are one column; combining accents none (fine for our tables).
    return sum(0 if unicodedata.combining(c) else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def _headline_word(report: Report) -> str:
    """CRITICAL, ABNORMAL or NORMAL; NOT INTERPRETED when no current result could be judged at all,
    so that a report pli cannot read is never announced as normal; READ THE TEXT when it holds no
    result (a text report, or an order sent before its results: "normal" would say it was judged),
    REPLACED when a later report replaced all its results."""
    severity = report.severity
    if not report.current and not report.organisms:
        return "REPLACED" if report.observations else "READ THE TEXT"
    judged = any(o.interpreted and not o.not_done for o in report.current)
    if severity == "normal" and report.current and not judged:
        return "NOT INTERPRETED"
    return severity.upper()
