"""Whom to hold a conversation with: recent correspondents at first, then keyring and directory matches as you type."""
from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

MIN_TERM = 2      # characters typed before the directory is searched (it may be national)
RECENT = 8


class CorrespondentPicker(ModalScreen[str | None]):
    """Returns the chosen address, or None."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="picker.cancel"),
        # priority: the input would take up and down to scroll its one line
        Binding("down", "next", "Next", show=False, id="picker.next", priority=True),
        Binding("up", "previous", "Previous", show=False, id="picker.previous", priority=True),
    ]

    def __init__(self, keyring) -> None:
        super().__init__()
        self.keyring = keyring
        self.addresses: list[str] = []
        self.shown_term = ""        # what the options are for ("" : the recent conversations)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Conversation with… (name, town, specialty or address)")
            yield Input(id="picker-input")
            options = OptionList(id="picker-options")
            options.can_focus = False
            yield options

    def on_mount(self) -> None:
        self.query_one("#picker-input", Input).focus()
        self.show_recent()

    def show_recent(self) -> None:
        # start-up: loaded when first used, after the first screen
        from pli.core.errors import PliError
        from pli.core.mail.conversation import recent_correspondents

        try:
            recent = recent_correspondents(self.app.store, self.keyring.identity.public.address, RECENT)
        except PliError:
            recent = []
        self.show([(address, Text(f"{name} <{address}>" if name else address)) for address, name in recent],
                  "recent conversations" if recent else "no conversation yet: type a name or an address")
        self.shown_term = ""

    def show(self, rows: list[tuple[str, Text]], heading: str) -> None:
        options = self.query_one("#picker-options", OptionList)
        options.clear_options()
        options.add_option(Option(Text(heading, style="dim italic"), disabled=True))
        options.add_options([Option(label, id=address) for address, label in rows])
        self.addresses = [address for address, _ in rows]
        options.highlighted = 1 if rows else None

    def on_input_changed(self, event: Input.Changed) -> None:
        term = event.value.strip()
        if len(term) < MIN_TERM:
            self.show_recent()
        else:
            self.find(term)

    @work(exclusive=True, thread=True, group="picker")
    def find(self, term: str) -> None:
        """Search the keyring and the directory off the UI thread: a national directory is large."""
        # start-up: loaded when first used, after the first screen
        from pli.core.mail.correspondents import candidates

        found = candidates(self.keyring, term)
        self.app.call_from_thread(self._found, term, found)

    def _found(self, term: str, found: list) -> None:
        if term != self.query_one("#picker-input", Input).value.strip():
            return   # typed on: a newer search is coming
        self.shown_term = term
        self.show([(c.address, Text(c.label())) for c in found], f"matches for {term!r}" if found else
                  "no match: type the whole address to open a conversation with it")

    def action_next(self) -> None:
        self.query_one("#picker-options", OptionList).action_cursor_down()

    def action_previous(self) -> None:
        options = self.query_one("#picker-options", OptionList)
        if (options.highlighted or 0) > 1:
            options.action_cursor_up()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        term = event.value.strip()
        if len(term) >= MIN_TERM and term != self.shown_term:   # typed faster than the search: look now
            # start-up: loaded when first used, after the first screen
            from pli.core.mail.correspondents import candidates

            self._found(term, candidates(self.keyring, term))
        options = self.query_one("#picker-options", OptionList)
        index = options.highlighted
        if index is not None and 1 <= index <= len(self.addresses):
            self.dismiss(self.addresses[index - 1])
        elif "@" in event.value:
            self.dismiss(event.value.strip())
        else:
            self.app.bell()

    def action_cancel(self) -> None:
        self.dismiss(None)
