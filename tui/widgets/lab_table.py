"""The lab result table: one row per test, abnormal values marked by symbol and by colour; the lab's
loose comments as rows where it wrote them; replaced results and analyses not done as such."""
from __future__ import annotations

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable

from pli.tui.lab_rows import LabRow

SEVERITY_STYLE = {"critical": "bold red reverse", "abnormal": "bold yellow", "unknown": "italic",
                  "normal": "", "replaced": "dim strike", "not done": "italic dim", "comment": "italic"}


class LabTable(DataTable):
    """Keys here act on the highlighted test."""

    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("t", "screen.trend", "Trend", id="lab.trend"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.rows_shown: list[LabRow] = []

    def on_mount(self) -> None:
        self.add_columns("", "test", "value", "unit", "reference", "note")

    def show_rows(self, rows: list[LabRow]) -> None:
        self.clear()
        self.rows_shown = rows
        for row in rows:
            style = SEVERITY_STYLE[row.severity]
            if not row.is_result:
                self.add_row(Text(row.symbol), Text(row.name, style=style), "", "", "", "")
                continue
            self.add_row(Text(row.symbol.ljust(2), style=style), Text(row.name, style=style if row.severity in
                                                                     ("replaced", "not done") else ""),
                         Text(row.value, style=style, justify="right"), row.unit, row.reference,
                         Text(row.note, style="italic" if not row.interpreted or row.severity == "replaced"
                              else "dim"))

    @property
    def highlighted_row(self) -> LabRow | None:
        if not self.rows_shown or self.cursor_row is None or self.cursor_row >= len(self.rows_shown):
            return None
        return self.rows_shown[self.cursor_row]
