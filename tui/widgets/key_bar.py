"""The key bar at the bottom: the keys that matter where the focus is, as one line of text.

Textual's Footer builds a widget per key and restyles them on every focus
change, which cost a third of pli's start-up; one Static redrawn from the
screen's active bindings shows the same thing for the price of a string.
When the line is wider than the terminal, keys are left out from its end, but
never `?` (every key, where you are) nor quit: at 80 columns over SSH the way
to the rest stays on screen.
"""
from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

#: Actions the bar always keeps, whatever its width.
PINNED = frozenset({"app.help", "help", "app.quit", "quit"})


def keys_line(app, active_bindings, width: int = 0) -> Text:
    """The shown bindings as ` key  description ` pairs; within `width` cells when given."""
    entries: list[tuple[str, str, bool, bool]] = []
    seen: set[str] = set()
    for _node, binding, enabled, _tooltip in active_bindings.values():
        if not binding.show or binding.action in seen:
            continue
        seen.add(binding.action)
        entries.append((app.get_key_display(binding), binding.description, enabled, binding.action in PINNED))
    cells = sum(len(key) + len(description) + 4 for key, description, _, _ in entries)
    while width and cells > width and any(not pinned for *_, pinned in entries):
        index = max(i for i, entry in enumerate(entries) if not entry[3])
        key, description, _, _ = entries.pop(index)
        cells -= len(key) + len(description) + 4
    line = Text(no_wrap=True, overflow="ellipsis")
    for key, description, enabled, _ in entries:
        line.append(f" {key} ", style="bold reverse" if enabled else "dim reverse")
        line.append(f" {description} ", style="" if enabled else "dim")
    return line


class KeyBar(Static):
    DEFAULT_CSS = "KeyBar { dock: bottom; height: 1; }"

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self.show_keys)
        self.call_after_refresh(self.show_keys)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def on_resize(self) -> None:
        self.show_keys()

    def show_keys(self, *_args) -> None:
        self.update(keys_line(self.app, self.screen.active_bindings, self.size.width))
