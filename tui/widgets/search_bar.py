"""The search bar: `/` opens it; a notmuch query with pli's shortcuts (critical, abnormal, patient:NAME...)."""
from __future__ import annotations

from textual.binding import Binding
from textual.message import Message
from textual.widgets import Input

from pli.core.vocab import SEARCH_SUGGESTIONS
from pli.tui.suggesters import LastWordSuggester

SHORTCUTS = list(SEARCH_SUGGESTIONS)


class SearchBar(Input):
    BINDINGS = [Binding("escape", "cancel", "Cancel search")]

    class Cancelled(Message):
        pass

    def __init__(self, *, id: str | None = None) -> None:
        # select_on_focus off: its focus event comes after the first keys typed fast, and would select them
        super().__init__(placeholder="search: critical, abnormal and from:lab, patient:dupont, tag:flagged…",
                         suggester=LastWordSuggester(lambda: SHORTCUTS), id=id, select_on_focus=False)

    def action_cancel(self) -> None:
        self.post_message(self.Cancelled())
