"""The lab view: one report's results, critical first on demand, comments, trend and patient keys."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

from pli.core.errors import PliError
from pli.tui.dates import full_date
from pli.tui.lab_rows import comments_of, rows_of
from pli.tui.reading import ClearMessage
from pli.tui.widgets.lab_table import LabTable
from pli.tui.widgets.verification_badge import VerificationBadge
from pli.tui.widgets.key_bar import KeyBar


def report_title(report, summary, now) -> str:
    when = report.collected.strftime("%d.%m.%Y %H:%M") if report.collected else full_date(summary.date, now)
    born = f" (born {report.patient.birth_date:%d.%m.%Y})" if report.patient.birth_date else ""
    return f"{report.patient.display}{born} · {report.lab} · {when} · {report.severity}"


class LabScreen(Screen):
    BINDINGS = [
        Binding("escape,q", "app.pop_screen", "Close", id="lab.close"),
        Binding("c", "critical_first", "Critical first", id="lab.critical_first"),
        Binding("P", "patient", "Patient view", id="lab.patient"),
        Binding("right_square_bracket", "next_report", "Next report", show=False, id="lab.next"),
        Binding("left_square_bracket", "previous_report", "Previous report", show=False, id="lab.previous"),
    ]

    def __init__(self, summary, clear: ClearMessage, reports: list) -> None:
        super().__init__()
        self.summary = summary
        self.clear = clear
        self.reports = reports
        self.index = 0
        self.critical_first = False

    @classmethod
    def for_message(cls, summary, clear: ClearMessage) -> "LabScreen | None":
        from pli.core.lab import reports_in_mail

        try:
            reports = reports_in_mail(clear.message)
        except PliError:
            reports = []
        return cls(summary, clear, reports) if reports else None

    @property
    def report(self):
        return self.reports[self.index]

    def compose(self) -> ComposeResult:
        yield VerificationBadge(id="lab-badge")
        yield Static(id="lab-title")
        yield LabTable(id="lab-table")
        yield Static(id="lab-comments", markup=False)
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one(VerificationBadge).show(self.clear.verification)
        self.show_report()
        self.query_one(LabTable).focus()

    def show_report(self) -> None:
        count = f" · report {self.index + 1}/{len(self.reports)}" if len(self.reports) > 1 else ""
        order = " · critical first" if self.critical_first else ""
        self.query_one("#lab-title", Static).update(
            report_title(self.report, self.summary, self.app.now) + count + order)
        self.query_one(LabTable).show_rows(rows_of(self.report, self.critical_first))
        comments = comments_of(self.report)
        self.query_one("#lab-comments", Static).update("\n".join(comments) or "No comment from the lab.")

    def action_critical_first(self) -> None:
        self.critical_first = not self.critical_first
        self.show_report()

    def action_next_report(self) -> None:
        self.index = (self.index + 1) % len(self.reports)
        self.show_report()

    def action_previous_report(self) -> None:
        self.index = (self.index - 1) % len(self.reports)
        self.show_report()

    def action_trend(self) -> None:
        from pli.tui.screens.trend import TrendScreen

        row = self.query_one(LabTable).highlighted_row
        key = self.report.patient.key
        if row is None or not key:
            self.app.bell()
            return
        self.app.push_screen(TrendScreen(key, self.report.patient.display, row))

    def action_patient(self) -> None:
        self.app.open_patient(self.summary)
