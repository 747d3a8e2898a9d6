"""`?`: every key binding active where it was pressed, with what it does."""
from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


def bindings_table(app, active_bindings) -> Table:
    """One row per action, all its keys together, in the order the widgets declare them."""
    rows: dict[tuple[str, str], tuple[list[str], str]] = {}
    for key, active in active_bindings.items():
        binding = active.binding
        if not binding.description:
            continue
        keys, _ = rows.setdefault((binding.action, binding.description), ([], binding.id or ""))
        keys.append(app.get_key_display(binding))
    table = Table(box=None, show_header=True, header_style="bold", expand=True)
    table.add_column("keys", no_wrap=True)
    table.add_column("does")
    table.add_column("id for \\[keys] in config.toml", style="dim")
    for (_, description), (keys, binding_id) in rows.items():
        table.add_row(Text(", ".join(keys)), Text(description), Text(binding_id))
    return table


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,question_mark", "dismiss", "Close")]

    def __init__(self, active_bindings) -> None:
        super().__init__()
        self.active = active_bindings

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog help"):
            yield Static("Keys (Ctrl+P opens the command palette for everything else)", classes="dialog-title")
            yield Static(bindings_table(self.app, self.active))

    def action_dismiss(self) -> None:
        self.dismiss(None)
