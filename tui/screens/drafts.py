"""Drafts: the messages not sent yet, saved as they were typed; enter reopens one in compose."""
from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from pli.core.mail import draft_store
from pli.tui.dates import short_date
from pli.tui.widgets.key_bar import KeyBar


def draft_label(saved: draft_store.SavedDraft, now: datetime) -> Text:
    draft = saved.draft
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{short_date(int(saved.saved), now):<8} ", style="dim")
    text.append(f"{', '.join(draft.to) or '(no recipient)'}  ")
    text.append(draft.subject.strip() or "(no subject)", style="bold")
    if draft.attachments:
        text.append(f"  +{len(draft.attachments)} attachment{'s' if len(draft.attachments) > 1 else ''}",
                    style="dim")
    return text


class DraftsScreen(Screen):
    BINDINGS = [
        Binding("escape,q", "app.pop_screen", "Close", id="drafts.close"),
        Binding("enter", "open", "Reopen", id="drafts.open"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.drafts: list[draft_store.SavedDraft] = []

    def compose(self) -> ComposeResult:
        yield Static(id="drafts-title")
        yield OptionList(id="drafts-list")
        yield Static(id="drafts-note")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#drafts-list").focus()
        self.reload()

    def on_screen_resume(self) -> None:
        if self.is_mounted:
            self.reload()   # back from compose: sent, kept or discarded

    def reload(self) -> None:
        self.drafts = draft_store.saved_drafts(self.app.home)
        options = self.query_one("#drafts-list", OptionList)
        options.clear_options()
        options.add_options([Option(draft_label(d, self.app.now)) for d in self.drafts])
        if self.drafts:
            options.highlighted = 0
        count = len(self.drafts)
        self.query_one("#drafts-title", Static).update(
            f"Drafts · {count} not sent" if count else "Drafts · none: what compose holds is saved here as you type")
        bad = draft_store.unreadable(self.app.home)
        self.query_one("#drafts-note", Static).update(
            "Cannot read (damaged): " + ", ".join(str(p) for p in bad) if bad else "")

    def action_open(self) -> None:
        highlighted = self.query_one("#drafts-list", OptionList).highlighted
        if highlighted is None or not 0 <= highlighted < len(self.drafts):
            self.app.bell()
            return
        self.app.compose_draft(self.drafts[highlighted].draft)

    @on(OptionList.OptionSelected, "#drafts-list")
    def on_selected(self) -> None:
        self.action_open()
