"""Cultures under the lab table: each organism with its antibiogram, a resistant organism highlighted.

One small table per organism: antibiotic, S/I/R, the measure (MIC or
diameter) when the lab gives one.  A resistant organism (one R, or a
multi-resistance marker the lab wrote: BLSE, SARM...) has its heading in
reverse red with the word RESISTANT / MULTI-RESISTANT, so that it reads
without colour too; R rows are bold, I rows marked ◆ as in `pli lab show`.
"""
from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

INTERPRETATION_STYLE = {"R": "bold red", "I": "yellow", "S": "", "": "dim"}


def organism_heading(organism) -> Text:
    if organism.multi_resistant:
        return Text(f" {organism.name} · MULTI-RESISTANT ({organism.note}) ", style="bold red reverse")
    if organism.resistant:
        return Text(f" {organism.name} · RESISTANT ", style="bold red reverse")
    return Text(f" {organism.name} ", style="bold")


def organism_table(organism) -> Table:
    table = Table(title=organism_heading(organism), title_justify="left", show_edge=False, pad_edge=False,
                  expand=False, header_style="dim")
    table.add_column("antibiotic")
    table.add_column("S/I/R", justify="center")
    table.add_column("measure", justify="right")
    for s in organism.susceptibilities:
        sign = "◆ " if s.interpretation in ("R", "I") else "  "
        table.add_row(s.antibiotic, Text(sign + (s.interpretation or "?"), style=INTERPRETATION_STYLE.get(
            s.interpretation, "")), f"{s.value} {s.unit}".strip())
    return table


class CultureTable(Static):
    """The organisms of the report on screen (hidden when it has none)."""

    def show(self, organisms) -> None:
        self.organisms = tuple(organisms)
        self.display = bool(self.organisms)
        self.update(Group(*(organism_table(o) for o in self.organisms)) if self.organisms else "")

    @property
    def plain(self) -> str:
        """The text shown, for tests and screen readers: headings and rows, without styles."""
        lines = []
        for organism in getattr(self, "organisms", ()):
            lines.append(organism_heading(organism).plain.strip())
            lines += [f"{s.antibiotic} {s.interpretation or '?'} {s.value} {s.unit}".strip()
                      for s in organism.susceptibilities]
        return "\n".join(lines)
