"""The patient view: every message about one patient, newest first, in the same virtualized list.

Above the list, the patients pli keeps apart from this one although they look
alike (the same social-security number, or the same name and birth date under
another number: pli.core.store.patients): never merged, named so that the
reader can tell.
"""
from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

from pli.core.errors import PliError
from pli.core.mail.patient_history import patient_query
from pli.core.plural import counted
from pli.tui.widgets.key_bar import KeyBar
from pli.tui.widgets.message_list import MessageList


class PatientScreen(Screen):
    BINDINGS = [
        Binding("escape,q", "app.pop_screen", "Close", id="patient.close"),
        Binding("L", "lab", "Lab view", id="patient.lab"),
    ]

    def __init__(self, patient_key: str, patient_name: str) -> None:
        super().__init__()
        self.patient_key = patient_key
        self.patient_name = patient_name

    def compose(self) -> ComposeResult:
        yield Static(id="patient-title")
        yield Static(id="patient-notices", markup=False)
        yield MessageList(self.app.store, self.app.now, id="patient-messages")
        yield KeyBar()

    def on_mount(self) -> None:
        messages = self.query_one(MessageList)
        try:
            messages.show_query(patient_query(self.patient_key))
        except PliError as error:
            self.notify(str(error), severity="error")
        self.query_one("#patient-title", Static).update(
            f"Patient {self.patient_name} · {counted(messages.total, 'message')}, newest first")
        self.show_related()
        messages.focus()

    def show_related(self) -> None:
        # start-up: loaded when first used, after the first screen
        from pli.core.store.patients import related

        others = self.app.attempt("Patient", lambda: related(self.app.store.all_tags(), self.patient_key))
        lines = [f"⚠ kept apart: {other.described} ({other.why}) is another patient here; "
                 "their results are never merged" for other in (others if isinstance(others, list) else [])]
        notices = self.query_one("#patient-notices", Static)
        notices.update("\n".join(lines))
        notices.display = bool(lines)

    @on(MessageList.Opened)
    def on_opened(self, event: MessageList.Opened) -> None:
        self.app.open_message(event.summary)

    def action_lab(self) -> None:
        summary = self.query_one(MessageList).current
        if summary is not None:
            self.app.open_lab(summary)
