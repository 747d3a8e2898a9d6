"""The messages of one thread, one line each, every reply indented under the message it answers."""
from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.binding import Binding
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from pli.core import vocab
from pli.tui.dates import short_date
from pli.tui.widgets.message_list import SEVERITY_MARK, severity_of

SEVERITY_STYLE = {vocab.CRITICAL: "bold red", vocab.ABNORMAL: "yellow", "normal": ""}


def entry_label(entry, now: datetime) -> Text:
    """One message of the thread: its place in the replies, marks, date, sender, what it is about."""
    summary = entry.summary
    severity = severity_of(summary.tags)
    text = Text(no_wrap=True, overflow="ellipsis", style="bold" if vocab.UNREAD in summary.tags else "")
    text.append("  " * entry.depth + ("└ " if entry.depth else ""))
    text.append(SEVERITY_MARK[severity], style=SEVERITY_STYLE[severity])
    text.append("✓ " if summary.verified else "✗ ", style="" if summary.verified else "bold red")
    text.append(f"{short_date(summary.date, now):<8} ", style="dim")
    text.append(f"{summary.sender}  ")
    text.append(summary.lab_summary or summary.subject or "", style=SEVERITY_STYLE[severity])
    return text


class ThreadTree(OptionList):
    """The thread's messages in reply order; enter opens the highlighted one."""

    BINDINGS = [
        Binding("down,j", "cursor_down", "Next", show=False, id="thread.down"),
        Binding("up,k", "cursor_up", "Previous", show=False, id="thread.up"),
        Binding("enter", "select", "Open", id="thread.open"),
    ]

    def __init__(self, now: datetime, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.now = now
        self.entries: list = []

    def show(self, entries: list) -> None:
        """Show these entries, the cursor staying on the message it was on (or the first unread one,
        else the newest, when first shown)."""
        was = self.current.message_id if self.current is not None else None
        self.entries = list(entries)
        self.clear_options()
        self.add_options([Option(entry_label(e, self.now)) for e in self.entries])
        ids = [e.summary.message_id for e in self.entries]
        if was in ids:
            self.highlighted = ids.index(was)
        elif self.entries:
            unread = [i for i, e in enumerate(self.entries) if vocab.UNREAD in e.summary.tags]
            newest = max(range(len(self.entries)), key=lambda i: self.entries[i].summary.date)
            self.highlighted = unread[0] if unread else newest

    @property
    def current(self):
        """The highlighted message's summary, or None."""
        if self.highlighted is None or not 0 <= self.highlighted < len(self.entries):
            return None
        return self.entries[self.highlighted].summary
