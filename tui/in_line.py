"""Priority keys that act in line with the keys typed before them (issue 14.5).

A priority binding (`t`, `r`, `f`, `c`...) runs when its key reaches the app, so that the keys typed
after it land in what it opens.  The keys typed before it have not been handled yet at that moment:
they were handed to the focused widget and come back to the app, bubbling, for its bindings.  'jjt'
typed fast tagged the row the cursor was leaving, and the j's, back at the app after the tag prompt
had opened, were typed into it.  `in_line` holds the keys typed after, sends a marker along the way
the keys before it took, and runs the action when the marker comes back: after them.
"""
from __future__ import annotations

import functools

from textual.message import Message


class KeysInLine(Message):
    """Bubbles from the focused widget to the app behind the keys typed before it (PliApp.on_keys_in_line)."""

    def __init__(self, then) -> None:
        super().__init__()
        self.then = then


def in_line(action):
    """Decorate a screen's action bound to a priority key: it runs after the keys typed before its key."""

    @functools.wraps(action)
    def run(screen, *args) -> None:
        app = screen.app
        if not hasattr(app, "hold_keys"):      # a screen shown outside pli's app (a test's own app)
            action(screen, *args)
            return
        app.hold_keys()
        # sent by the app: a message stops bubbling at its sender, and one made while a screen handles
        # a message (compose's Enter in To:) would stop there, never reaching the app
        (app.focused or screen).post_message(KeysInLine(lambda: action(screen, *args)).set_sender(app))

    return run
