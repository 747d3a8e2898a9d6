"""The thread view: every message of one thread in reply order, with a preview of the highlighted one."""
from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import OptionList, Static

from pli.core.errors import PliError
from pli.tui.in_line import in_line
from pli.tui.widgets.key_bar import KeyBar
from pli.tui.widgets.preview_pane import PreviewPane
from pli.tui.widgets.thread_tree import ThreadTree



class ThreadScreen(Screen):
    BINDINGS = [
        Binding("escape,q", "app.pop_screen", "Close", id="thread.close"),
        # priority: compose opens when the key arrives and takes the keys typed after it (PliApp.hold_keys)
        Binding("r", "reply", "Reply", id="thread.reply", priority=True),
        Binding("R", "reply_all", "Reply all", id="thread.reply_all", priority=True),
        Binding("f", "forward", "Forward", id="thread.forward", priority=True),
        Binding("L", "lab", "Lab view", id="thread.lab"),
    ]

    def __init__(self, thread_id: str) -> None:
        super().__init__()
        self.thread_id = thread_id

    def compose(self) -> ComposeResult:
        yield Static(id="thread-title")
        yield ThreadTree(self.app.now, id="thread-tree")
        yield PreviewPane(id="thread-preview")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one(ThreadTree).focus()
        self.reload()

    def on_screen_resume(self) -> None:
        if self.is_mounted:
            self.reload()   # back from a message: its unread mark is gone

    def reload(self) -> None:
        try:
            entries = self.app.store.thread(self.thread_id)
        except PliError as error:
            self.notify(str(error), title="Thread", severity="error")
            self.app.pop_screen()
            return
        self.query_one(ThreadTree).show(entries)
        count = len(entries)   # the subject the thread started with, not its newest reply's
        self.query_one("#thread-title", Static).update(
            f"Thread · {entries[0].summary.subject} · {count} message{'s' if count != 1 else ''}")

    @on(OptionList.OptionHighlighted, "#thread-tree")
    def on_highlighted(self) -> None:
        self.query_one(PreviewPane).show_soon(self.query_one(ThreadTree).current)

    @on(OptionList.OptionSelected, "#thread-tree")
    def on_selected(self) -> None:
        if (summary := self._current()) is not None:
            self.app.open_message(summary)

    def _current(self):
        summary = self.query_one(ThreadTree).current
        if summary is None:
            self.app.bell()
        return summary

    @in_line
    def action_reply(self) -> None:
        if (summary := self._current()) is not None:
            self.app.compose_message(reply_to=summary)

    @in_line
    def action_reply_all(self) -> None:
        if (summary := self._current()) is not None:
            self.app.compose_message(reply_to=summary, everyone=True)

    @in_line
    def action_forward(self) -> None:
        if (summary := self._current()) is not None:
            self.app.compose_message(forward=summary)

    def action_lab(self) -> None:
        if (summary := self._current()) is not None:
            self.app.open_lab(summary)
