"""`?`: every key binding active where it was pressed, with what it does."""
from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


def bindings_table(active_bindings) -> Table:
    table = Table(box=None, show_header=True, header_style="bold", expand=True)
    table.add_column("key", no_wrap=True)
    table.add_column("does")
    table.add_column("id (for [keys] in config.toml)", style="dim")
    seen = set()
    for key, active in active_bindings.items():
        binding = active.binding
        if not binding.description or (binding.action, key) in seen:
            continue
        seen.add((binding.action, key))
        table.add_row(binding.key_display or key, binding.description, binding.id or "")
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def __init__(self, active_bindings) -> None:
        super().__init__()
        self.active = active_bindings

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog help"):
            yield Static("Keys (Ctrl+P opens the command palette for everything else)", classes="dialog-title")
            yield Static(bindings_table(self.active))

    def action_dismiss(self) -> None:
        self.dismiss(None)
