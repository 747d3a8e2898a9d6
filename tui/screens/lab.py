"""The lab view: one report's results, critical first on demand, comments, cultures, trend and patient keys.

What the reader must not miss stands above the table in words: a patient pli
could not be sure of, a report read only in part, what the parser had to
guess, patients pli keeps apart although they look alike.  Results a later
message of the same order replaced are rows of history saying what replaced
them (pli.core.store.orders); the title's severity counts current results only.

A lab report pli could not read at all is shown all the same: the reason the
parser gave (its line and cause), then the report's text as received, with
line numbers, so that nothing the lab sent is hidden because it did not parse.
`r` shows that text for any report (first of all one read only in part).
"""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static, TextArea

from pli.core.errors import PliError
from pli.core.mail.read import ClearMessage
from pli.tui.dates import full_date
from pli.tui.lab_rows import comments_of, notices_of, rows_of
from pli.tui.widgets.culture_table import CultureTable
from pli.tui.widgets.key_bar import KeyBar
from pli.tui.widgets.lab_table import LabTable
from pli.tui.widgets.verification_badge import VerificationBadge


def shown_text(payload: bytes) -> str:
    """A lab part's bytes as text for the raw view, decoded as the parsers decode them."""
    # start-up: loaded when first used, after the first screen
    from pli.core.lab.text import decode

    return decode(payload)


def report_title(report, summary, now) -> str:
    when = report.collected.strftime("%d.%m.%Y %H:%M") if report.collected else \
        (report.collected_text or full_date(summary.date, now))
    if report.patient_uncertain:
        who = "PATIENT UNCERTAIN"
    else:
        born = f" (born {report.patient.born.replace('/', '.')})" if report.patient.born else ""
        who = f"{report.patient.display}{born}"
    read = f" · read as {report.encoding}" if report.encoding else ""
    return f"{who} · {report.lab} · {when} · {report.severity}{read}"


class LabScreen(Screen):
    BINDINGS = [
        Binding("escape,q", "app.pop_screen", "Close", id="lab.close"),
        Binding("c", "critical_first", "Critical first", id="lab.critical_first"),
        Binding("r", "raw", "Text as received", id="lab.raw"),
        Binding("P", "patient", "Patient view", id="lab.patient"),
        Binding("right_square_bracket", "next_report", "Next report", show=False, id="lab.next"),
        Binding("left_square_bracket", "previous_report", "Previous report", show=False, id="lab.previous"),
    ]

    def __init__(self, summary, clear: ClearMessage, reports: list, *, problem: str = "",
                 raw: tuple[str, ...] = (), histories: list | None = None) -> None:
        # start-up: loaded when first used, after the first screen
        from pli.core.lab.corrections import NO_HISTORY
        from pli.core.lab.model import identity_conflicts

        super().__init__()
        self.summary = summary
        self.clear = clear
        self.reports = reports
        self.histories = histories or [NO_HISTORY] * len(reports)
        self.problem = problem    # why the lab report could not be read ("" when it was)
        self.raw = raw            # its text as received, one string per lab part
        self.conflicts = identity_conflicts([r.patient for r in reports if not r.patient_uncertain])
        self.index = 0
        self.critical_first = False
        self.showing_raw = bool(problem)

    @classmethod
    def for_message(cls, summary, clear: ClearMessage, store=None) -> "LabScreen | None":
        """The lab view of a message: its reports with what later messages of their orders replaced
        (read through the store), or the reason and the text when they cannot be read."""
        # start-up: loaded when first used, after the first screen
        from pli.core.lab.detect import lab_payloads, reports_in_mail

        raw = tuple(shown_text(payload) for payload in lab_payloads(clear.message))
        if clear.mssante is not None and clear.mssante.reports:   # a CR-BIO in an XDM package, or HPRIM/HL7
            return cls(summary, clear, list(clear.mssante.reports), raw=raw)
        try:
            if store is not None:
                reports, histories = store.lab_reports(summary.message_id)
            else:
                reports = reports_in_mail(clear.message)
                histories = None
        except PliError as error:
            return cls(summary, clear, [], problem=str(error), raw=raw)
        return cls(summary, clear, reports, raw=raw, histories=histories) if reports else None

    @property
    def report(self):
        return self.reports[self.index]

    def compose(self) -> ComposeResult:
        yield VerificationBadge(id="lab-badge")
        yield Static(id="lab-title", markup=False)
        yield Static(id="lab-notices", markup=False)
        if not self.problem:
            yield LabTable(id="lab-table")
            yield CultureTable(id="lab-cultures")
            yield Static(id="lab-comments", markup=False)
        yield TextArea("\n\n".join(self.raw), id="lab-raw", read_only=True, show_line_numbers=True, soft_wrap=False)
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one(VerificationBadge).show(self.clear.verification)
        if self.problem:
            title = self.query_one("#lab-title", Static)
            title.update(f"⚠ pli could not read this lab report: {self.problem}. Its text as received:")
            title.add_class("-warning")
            self.query_one("#lab-notices").display = False
            self.query_one("#lab-raw", TextArea).focus()
            return
        self.query_one("#lab-raw").display = False
        self.show_report()
        self.query_one(LabTable).focus()

    def show_report(self) -> None:
        count = f" · report {self.index + 1}/{len(self.reports)}" if len(self.reports) > 1 else ""
        order = " · critical first" if self.critical_first else ""
        title = self.query_one("#lab-title", Static)
        title.update(report_title(self.report, self.summary, self.app.now) + count + order)
        title.set_class(self.report.patient_uncertain or self.report.incomplete, "-warning")
        notices = notices_of(self.report, self.conflicts)
        notice = self.query_one("#lab-notices", Static)
        notice.update("\n".join(notices))
        notice.display = bool(notices)
        self.query_one(LabTable).show_rows(rows_of(self.report, self.critical_first, self.histories[self.index]))
        self.query_one(CultureTable).show(self.report.organisms)
        comments = comments_of(self.report)
        self.query_one("#lab-comments", Static).update("\n".join(comments) or "No comment from the lab.")

    def check_action(self, action: str, parameters) -> bool | None:
        """The keys that act on results are off when there are none to act on (a report not read)."""
        return not (self.problem and action in ("critical_first", "next_report", "previous_report", "trend", "raw"))

    def action_raw(self) -> None:
        """Show the lab's text as received instead of the table, or back."""
        self.showing_raw = not self.showing_raw
        raw = self.query_one("#lab-raw", TextArea)
        raw.display = self.showing_raw
        for part in ("#lab-table", "#lab-cultures", "#lab-comments"):
            self.query_one(part).display = not self.showing_raw and (part != "#lab-cultures"
                                                                      or bool(self.report.organisms))
        (raw if self.showing_raw else self.query_one(LabTable)).focus()

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
        # start-up: loaded when first used, after the first screen
        from pli.tui.screens.trend import TrendScreen

        row = self.query_one(LabTable).highlighted_row
        if row is None or not row.is_result or self.report.patient_uncertain:
            self.app.bell()   # a comment has no trend; results tied to nobody have no patient to plot
            return
        self.app.push_screen(TrendScreen(self.report.patient.key, self.report.patient.display, row))

    def action_patient(self) -> None:
        self.app.open_patient(self.summary)
