"""The patient an MSSanté document is about, asked for in compose when a document needs one (a PDF, an HPRIM
file: a CDA names its own): family and given names, birth date, the INS when known.  What is typed is checked by
core/mail/routing.patient_identity; a refusal is shown in the dialog, which stays open until it is right or Esc."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from pli.core.errors import PliError

FIELDS = (("patient-family", "Family name (birth name)", "FICTIF"),
          ("patient-given", "Given name", "Zoé"),
          ("patient-born", "Birth date", "YYYY-MM-DD"),
          ("patient-ins", "INS (15 digits, empty when unknown)", "optional"))


class DocumentPatientScreen(ModalScreen):
    """Dismissed with the PatientIdentity, or None (Esc: compose stays open, nothing sent)."""

    BINDINGS = [Binding("escape", "cancel", "Back to the message", id="patient.cancel")]
    TAKES_TYPING = True   # the keys typed while it opens are its fields' (PliApp.hold_keys)

    def __init__(self, recipients: list[str]) -> None:
        super().__init__()
        self.recipients = recipients

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog", id="patient-dialog"):
            yield Static(f"The documents for {', '.join(self.recipients)} (MSSanté) go in an IHE XDM package, "
                         "which names the patient they are about:", classes="dialog-title", markup=False)
            for field_id, label, placeholder in FIELDS:
                yield Static(label, markup=False)
                yield Input(id=field_id, placeholder=placeholder, select_on_focus=False)
            yield Static(id="patient-problem", markup=False)
            yield Static("Enter: next field, then send · Esc: back to the message", markup=False)

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#patient-family", Input))
        release = getattr(self.app, "release_keys", None)
        if release is not None:
            release()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id != FIELDS[-1][0] and not self._all_filled():
            self.focus_next()
            return
        self.submit()

    def _all_filled(self) -> bool:
        return all(self.query_one(f"#{field_id}", Input).value.strip() for field_id, _, _ in FIELDS[:-1])

    def submit(self) -> None:
        # start-up: loaded when first used, after the first screen
        from pli.core.mail.routing import patient_identity

        values = [self.query_one(f"#{field_id}", Input).value for field_id, _, _ in FIELDS]
        try:
            patient = patient_identity(*values)
        except PliError as error:
            self.query_one("#patient-problem", Static).update(f"✗ {error}")
            return
        self.dismiss(patient)

    def action_cancel(self) -> None:
        self.dismiss(None)
