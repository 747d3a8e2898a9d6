"""The note log: a conversation's notes as lines, newest at the bottom, loading older ones a page at a time.

Like the message list it is a ScrollView whose `render_line(y)` returns one
prepared Strip; unlike it, a note takes as many lines as its text wraps to, so
the log holds the newest pages it has been asked for (never the whole history:
PAGE notes at first, PAGE more each time the view reaches the top) and lays
those out again only when they or the width change.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from pli.core.mail.conversation import Note
from pli.tui.widgets.verification_badge import REASONS

PAGE = 50             # notes read at a time (a screen shows about ten)
BUBBLE_SHARE = 0.8    # a note takes at most this share of the width
STATE_MARKS = {"queued": "… queued", "sent": "✓ sent", "delivered": "✓✓ delivered", "read": "✓✓ read"}

#: count() -> how many rows the conversation's query has; window(offset, limit) -> those rows newest first
#: (the store's order), None for a row that is not really with the correspondent (see Note.belongs_to).
Counter = Callable[[], int]
Windower = Callable[[int, int], list[Note | None]]


def day_of(timestamp: int, now: datetime) -> str:
    return datetime.fromtimestamp(timestamp, tz=now.tzinfo).strftime("%a %d %b %Y")


def header_text(note: Note, their_name: str, now: datetime) -> str:
    """The line above a note: who, at what time (the day is on the line above its first note of the day),
    and its checks or how far it got."""
    when = datetime.fromtimestamp(note.date, tz=now.tzinfo).strftime("%H:%M")
    if not note.verified:
        return f"✗ NOT VERIFIED · {when}"
    if note.outgoing:
        return f"You · {when} · {STATE_MARKS.get(note.state, note.state)}"
    mode = f" · {note.mode}" if note.mode else ""
    return f"✓ {their_name} · {when}{mode}"


def body_text(note: Note, their_address: str) -> str:
    if note.verified:
        return note.text or "(empty note)"
    reason = REASONS.get(note.reason, note.reason or "it failed its checks")
    return (f"A message claiming to come from {their_address} failed its checks: {reason}. "
            "Its content is not shown here; it is in Quarantine.")


class NoteLog(ScrollView, can_focus=True):
    """The lines of the loaded notes, oldest first; starts scrolled to the newest.

    Focused (tab from the note line), a cursor is on one note: ↑ ↓ move it
    (the screen routes them here), Enter opens the note as a message.
    """

    BINDINGS = [Binding("enter", "open", "Open note", id="notes.open")]

    COMPONENT_CLASSES = {
        "note-log--cursor",
        "note-log--theirs",
        "note-log--mine",
        "note-log--header",
        "note-log--failed",
        "note-log--pending",
        "note-log--day",
    }

    def __init__(self, count: Counter, window: Windower, their_name: str, their_address: str, now: datetime,
                 *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._count = count
        self._window = window
        self.their_name = their_name
        self.their_address = their_address
        self.now = now
        self.total = 0
        self.loaded = 0                      # rows of the query read so far, newest first
        self.notes: list[Note] = []          # oldest first: the notes among those rows
        self._lines: list[Strip] = []
        self._laid_width = -1
        self._starts: dict[str, int] = {}   # message id -> its first line
        self.selected_id: str | None = None

    class Opened(Message):
        """Enter on a note: the screen opens it as a message."""

        def __init__(self, note: Note) -> None:
            self.note = note
            super().__init__()

    # -- data ---------------------------------------------------------------

    def reload(self) -> list[Note]:
        """Read the newest notes again (one sent, one arrived, tags changed); keeps as many as were loaded.
        Returns the notes now loaded."""
        self.total = self._count()
        rows = self._window(0, min(max(PAGE, self.loaded), self.total))
        self.loaded = len(rows)
        self.notes = [n for n in reversed(rows) if n is not None]
        self._layout(force=True)
        # after the next refresh: the new virtual size is what the end is measured against
        self.call_after_refresh(self.scroll_end, animate=False, immediate=True)
        return self.notes

    @property
    def has_older(self) -> bool:
        return self.loaded < self.total

    def load_older(self) -> list[Note]:
        """The next page of older notes, put above the others; the view stays on what it showed.
        Returns the notes just loaded."""
        if not self.has_older:
            return []
        rows = self._window(self.loaded, PAGE)
        if not rows:
            self.total = self.loaded     # fewer than counted (deleted meanwhile): nothing older
            self._layout(force=True)
            return []
        self.loaded += len(rows)
        older = [n for n in reversed(rows) if n is not None]
        before = len(self._lines)
        self.notes = older + self.notes
        self._layout(force=True)
        target = self.scroll_offset.y + len(self._lines) - before
        self.call_after_refresh(self.scroll_to, y=target, animate=False, immediate=True)
        return older

    def rename(self, their_name: str) -> None:
        """The correspondent's name once known (the directory is read in a thread)."""
        self.their_name = their_name
        self._layout(force=True)

    # -- layout -------------------------------------------------------------

    def on_resize(self) -> None:
        self._layout()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._laid_width = -1
        self._layout()

    def _layout(self, force: bool = False) -> None:
        width = self.scrollable_content_region.width
        if width <= 0 or (width == self._laid_width and not force):
            return
        self._laid_width = width
        lines: list[Strip] = []
        if self.has_older:
            lines.append(self._centred(f"↑ {self.total - self.loaded:,} older notes (PgUp)", width))
        elif not self.notes:
            lines.append(self._centred("No notes yet: type one below, Enter seals and sends it.", width))
        day = ""
        self._starts = {}
        for note in self.notes:
            if (this_day := day_of(note.date, self.now)) != day:
                day = this_day
                lines.append(self._centred(f"── {day} ──", width))
            self._starts[note.message_id] = len(lines)
            lines.extend(self._note_lines(note, width))
        self._lines = lines
        self.virtual_size = Size(width, len(lines))
        self.refresh()

    def _style(self, name: str) -> Style:
        return self.get_component_rich_style(f"note-log--{name}")

    def _centred(self, text: str, width: int) -> Strip:
        style = self.rich_style + self._style("day")
        return Strip([Segment(text.center(width)[:width], style)]).adjust_cell_length(width, self.rich_style)

    def _note_lines(self, note: Note, width: int) -> list[Strip]:
        bubble = max(20, min(width - 2, int(width * BUBBLE_SHARE)))
        indent = width - bubble if note.outgoing and note.verified else 0
        base = self.rich_style
        if not note.verified:
            box = base + self._style("failed")
            head = box
        else:
            box = base + self._style("mine" if note.outgoing else "theirs")
            head = base + self._style("header")
            if note.outgoing and note.state == "queued":
                head += self._style("pending")
        pad = Segment(" " * indent, base)
        rows = [Strip([pad, Segment(" " + header_text(note, self.their_name, self.now), head)])]
        text = Text(body_text(note, self.their_address))
        for line in text.wrap(self.app.console, bubble - 2):
            plain = line.plain.rstrip()
            cells = Segment(" " + plain + " " * max(0, bubble - 2 - cell_len(plain)) + " ", box)
            rows.append(Strip([pad, cells]))
        rows.append(Strip([]))
        return [row.adjust_cell_length(width, base) for row in rows]

    def render_line(self, y: int) -> Strip:
        # fewer lines than the view: they sit at the bottom, by the line the next note is typed in
        index = self.scroll_offset.y + y - max(0, self.scrollable_content_region.height - len(self._lines))
        width = self.scrollable_content_region.width
        if 0 <= index < len(self._lines):
            strip = self._lines[index].crop(0, width)
            if self.has_focus and self.selected_id is not None and self._starts.get(self.selected_id) == index:
                # over the line's own styles (they set a background too)
                strip = Strip(Segment.apply_style(strip, post_style=self._style("cursor")), strip.cell_length)
            return strip
        return Strip.blank(width, self.rich_style)

    # -- the cursor ---------------------------------------------------------

    @property
    def selected(self) -> Note | None:
        return next((n for n in self.notes if n.message_id == self.selected_id), None)

    def on_focus(self) -> None:
        if self.selected is None and self.notes:
            self.select(len(self.notes) - 1)
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def select(self, position: int) -> None:
        """Put the cursor on the note at `position` (oldest first) and bring it into view."""
        if not self.notes:
            return
        note = self.notes[max(0, min(position, len(self.notes) - 1))]
        self.selected_id = note.message_id
        start = self._starts.get(note.message_id, 0)
        ends = sorted(v for v in self._starts.values() if v > start)
        span = (ends[0] if ends else len(self._lines)) - start
        self.scroll_to_region(Region(0, start, 1, max(1, span)), animate=False, immediate=True)
        self.refresh()

    def move(self, step: int) -> bool:
        """Move the cursor `step` notes (negative: older); False at either end."""
        ids = [n.message_id for n in self.notes]
        if self.selected_id not in ids:
            return False
        position = ids.index(self.selected_id) + step
        if not 0 <= position < len(ids):
            return False
        self.select(position)
        return True

    def action_open(self) -> None:
        note = self.selected
        if note is not None:
            self.post_message(self.Opened(note))

    @property
    def at_top(self) -> bool:
        return self.scroll_offset.y <= 0

    def lines_text(self) -> list[str]:
        """The laid-out lines as plain text (tests, and the screen's title for screen readers)."""
        return [strip.text for strip in self._lines]
