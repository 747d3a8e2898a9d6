"""The outbox: sealed mail waiting to leave, with the reason the last attempt failed, and keys to retry."""
from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Static

from pli.core.errors import PliError
from pli.core.plural import counted
from pli.tui.widgets.key_bar import KeyBar


def status_text(item) -> Text:
    """"refused" (the server said no for good), "failed" (will be retried) or "queued" (not tried yet)."""
    if item.permanent:
        return Text(f"refused: {item.last_error}", style="bold red")
    if item.last_error:
        return Text(f"failed: {item.last_error}", style="yellow")
    return Text("queued")


class OutboxScreen(Screen):
    BINDINGS = [
        Binding("r", "retry", "Retry selected", id="outbox.retry"),
        Binding("a", "retry_all", "Retry all", id="outbox.retry_all"),
        Binding("escape,q", "close", "Close", id="outbox.close"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.items: list = []

    def compose(self) -> ComposeResult:
        with Vertical(id="outbox"):
            yield Static(id="outbox-title", classes="dialog-title")
            table = DataTable(id="outbox-table", cursor_type="row", zebra_stripes=True)
            table.add_columns("message", "to", "tries", "last try", "status")
            yield table
        yield KeyBar()

    def on_mount(self) -> None:
        self.reload()
        self.query_one(DataTable).focus()

    def reload(self) -> None:
        # start-up: loaded when first used, after the first screen
        from pli.core.transport.outbox import pending

        try:
            self.items = pending(self.app.home)
        except (OSError, PliError) as error:
            self.notify(f"cannot read the outbox: {error}", severity="error")
            self.items = []
        table = self.query_one(DataTable)
        table.clear()
        for item in self.items:
            when = datetime.fromtimestamp(item.last_try).strftime("%Y-%m-%d %H:%M") if item.last_try else "never"
            table.add_row(item.envelope_id[:12], ", ".join(item.recipients), str(item.attempts), when,
                          status_text(item), key=item.key)
        count = len(self.items)
        self.query_one("#outbox-title", Static).update(
            f"Outbox: {counted(count, 'message')} waiting" if count else "Outbox: empty, everything has left")

    def selected_key(self) -> str | None:
        table = self.query_one(DataTable)
        if not self.items or table.cursor_row is None or table.cursor_row >= len(self.items):
            return None
        return self.items[table.cursor_row].key

    def action_retry(self) -> None:
        """Retry the selected mail now, even one a server refused (someone looked at it)."""
        key = self.selected_key()
        if key is None:
            self.app.bell()
            return
        self._flush({key})

    def action_retry_all(self) -> None:
        if not self.items:
            self.app.bell()
            return
        self._flush(None)

    def _flush(self, keys: set[str] | None) -> None:
        # start-up: loaded when first used, after the first screen
        from pli.tui.sending import start_flush

        def done() -> None:
            if self.is_attached:
                self.reload()

        self.app.unlock(lambda _keyring: start_flush(self.app, keys, done))

    def action_close(self) -> None:
        self.dismiss(None)
