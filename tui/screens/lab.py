"""The lab view: one report's results, critical first on demand, comments, trend and patient keys.

A lab report pli could not read is shown all the same: the reason the parser
gave (its line and cause), then the report's text as received, with line
numbers, so that nothing the lab sent is hidden because it did not parse.
"""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static, TextArea

from pli.core.errors import PliError
from pli.tui.dates import full_date
from pli.tui.lab_rows import comments_of, rows_of
from pli.tui.reading import ClearMessage
from pli.tui.widgets.lab_table import LabTable
from pli.tui.widgets.verification_badge import VerificationBadge
from pli.tui.widgets.key_bar import KeyBar


def shown_text(payload: bytes) -> str:
    """A lab part's bytes as text for the raw view, decoded as the parsers decode them."""
    from pli.core.lab.text import decode

    return decode(payload)


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

    def __init__(self, summary, clear: ClearMessage, reports: list, *, problem: str = "",
                 raw: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.summary = summary
        self.clear = clear
        self.reports = reports
        self.problem = problem    # why the lab report could not be read ("" when it was)
        self.raw = raw            # then its text as received, one string per lab part
        self.index = 0
        self.critical_first = False

    @classmethod
    def for_message(cls, summary, clear: ClearMessage) -> "LabScreen | None":
        from pli.core.lab.detect import lab_payloads, reports_in_mail

        try:
            reports = reports_in_mail(clear.message)
        except PliError as error:
            raw = tuple(shown_text(payload) for payload in lab_payloads(clear.message))
            return cls(summary, clear, [], problem=str(error), raw=raw)
        return cls(summary, clear, reports) if reports else None

    @property
    def report(self):
        return self.reports[self.index]

    def compose(self) -> ComposeResult:
        yield VerificationBadge(id="lab-badge")
        yield Static(id="lab-title", markup=False)
        if self.problem:
            yield TextArea("\n\n".join(self.raw), id="lab-raw", read_only=True, show_line_numbers=True,
                           soft_wrap=False)
        else:
            yield LabTable(id="lab-table")
            yield Static(id="lab-comments", markup=False)
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one(VerificationBadge).show(self.clear.verification)
        if self.problem:
            title = self.query_one("#lab-title", Static)
            title.update(f"⚠ pli could not read this lab report: {self.problem}. Its text as received:")
            title.add_class("-warning")
            self.query_one("#lab-raw", TextArea).focus()
            return
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

    def check_action(self, action: str, parameters) -> bool | None:
        """The keys that act on results are off when there are none to act on (a report not read)."""
        return not (self.problem and action in ("critical_first", "next_report", "previous_report", "trend"))

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
