"""A one-line modal question (tags to add, where to save), with optional completion."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Input, Label


class PromptScreen(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]
    TAKES_TYPING = True   # the keys typed while it opens are its input's (PliApp.hold_keys)

    def __init__(self, title: str, value: str = "", suggester: Suggester | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.value = value
        self.suggester = suggester

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.title_text)
            # select_on_focus off: the focus event comes after keys typed ahead, and would select them
            yield Input(self.value, id="prompt-input", suggester=self.suggester, select_on_focus=False)

    def on_mount(self) -> None:
        field = self.query_one(Input)
        self.set_focus(field)   # now, not after the next refresh: the held keys go to it
        release = getattr(self.app, "release_keys", None)
        if release is not None:
            release()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
