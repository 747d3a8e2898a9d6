"""pli's terminal UI (Textual): presents the store and dispatches to pli.core."""
