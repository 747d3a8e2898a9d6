"""What to do with a message compose is closing unsent: send later, keep it as a draft, or discard it."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static


class UnsentScreen(ModalScreen[str | None]):
    BINDINGS = [
        Binding("s", "choose('send-later')", "Send later", id="unsent.send_later"),
        Binding("k", "choose('keep')", "Keep draft", id="unsent.keep"),
        Binding("d", "choose('discard')", "Discard", id="unsent.discard"),
        Binding("escape", "choose('')", "Back to the message", id="unsent.back"),
    ]
    TAKES_TYPING = True   # "Esc k" typed fast: k is the answer, held until the question is on screen

    def __init__(self, subject: str) -> None:
        super().__init__()
        self.subject = subject

    def compose(self) -> ComposeResult:
        about = f" « {self.subject} »" if self.subject.strip() else ""
        with Vertical(classes="dialog"):
            yield Static(f"This message{about} is not sent.", classes="dialog-title")
            yield Static("s  send later: seal it now, it leaves with the next send\n"
                         "k  keep it as a draft (D on the main screen reopens it)\n"
                         "d  discard it\n"
                         "Esc  back to the message", markup=False)

    def on_mount(self) -> None:
        release = getattr(self.app, "release_keys", None)
        if release is not None:
            release()

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice or None)
