"""The key bar at the bottom: the keys that matter where the focus is, as one line of text.

Textual's Footer builds a widget per key and restyles them on every focus
change, which cost a third of pli's start-up; one Static redrawn from the
screen's active bindings shows the same thing for the price of a string.
"""
from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


def keys_line(app, active_bindings) -> Text:
    line = Text(no_wrap=True, overflow="ellipsis")
    seen: set[str] = set()
    for _node, binding, enabled, _tooltip in active_bindings.values():
        if not binding.show or binding.action in seen:
            continue
        seen.add(binding.action)
        line.append(f" {app.get_key_display(binding)} ", style="bold reverse" if enabled else "dim reverse")
        line.append(f" {binding.description} ", style="" if enabled else "dim")
    return line


class KeyBar(Static):
    DEFAULT_CSS = "KeyBar { dock: bottom; height: 1; }"

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self.show_keys)
        self.call_after_refresh(self.show_keys)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def show_keys(self, *_args) -> None:
        self.update(keys_line(self.app, self.screen.active_bindings))
