"""`!`: the quarantined replays and pad reuses the banner is about, and acknowledging them."""
from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from pli.tui.dates import full_date

EXPLANATION = ("These messages use one-time pad bytes that another message already used. Either someone "
               "sent a copy of an earlier message again (a replay), or the sender reused pad bytes, which "
               "breaks the pad's secrecy. They are in quarantine and nothing in them is trusted. Tell the "
               "sender (by telephone, not by replying), and check the pad with them. The search "
               "reason:replay lists them.")


def alerts_text(summaries: list, now: datetime) -> Text:
    text = Text()
    for summary in summaries:
        text.append(f"{full_date(summary.date, now)}  ", style="bold")
        text.append(f"{summary.sender or '(unknown sender)'}  {summary.subject or ''}\n")
        text.append(f"    {summary.path}\n", style="dim")
    return text


class AlertScreen(ModalScreen[bool]):
    BINDINGS = [
        Binding("a", "acknowledge", "Acknowledge", id="alert.acknowledge"),
        Binding("escape,q", "later", "Later (the banner stays)", id="alert.later"),
    ]

    def __init__(self, summaries: list, now: datetime) -> None:
        super().__init__()
        self.summaries = summaries
        self.now = now

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog alert"):
            yield Static("SECURITY ALERT", classes="dialog-title error-line")
            yield Static(EXPLANATION, markup=False)
            yield Static(alerts_text(self.summaries, self.now), id="alert-list")
            yield Static("a  acknowledge (the banner goes; the messages stay in quarantine)\n"
                         "Esc  later: the banner stays", markup=False)

    def action_acknowledge(self) -> None:
        self.dismiss(True)

    def action_later(self) -> None:
        self.dismiss(False)
