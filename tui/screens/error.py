"""The screen shown when pli cannot start on this home (no store, unreadable keyring...)."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Static

from pli.tui.widgets.key_bar import KeyBar


class ErrorScreen(Screen):
    BINDINGS = [Binding("q,escape", "app.quit", "Quit")]

    def __init__(self, title: str, message: str) -> None:
        super().__init__()
        self.title_text = title
        self.message = message

    def compose(self) -> ComposeResult:
        with Vertical(classes="error-box"):
            yield Static(self.title_text, classes="error-title")
            yield Static(self.message, markup=False, id="error-message")
            yield Static("Press q to quit.", classes="error-hint")
        yield KeyBar()
