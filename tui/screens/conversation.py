"""The conversation screen: the short notes exchanged with one correspondent, and a line to write the next one.

Notes are sealed, signed and traced like any message (pli.core.mail): Enter
seals the note and queues it (it shows at once as "queued"), then the outbox
is flushed in a worker and the note shows as "sent" once a server took it.
Opening the conversation marks the notes it shows read, with the signed
"read" step of the trace, as opening a message does.
"""
from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.cache import LRUCache
from textual.screen import Screen
from textual.widgets import Input, Static

from pli.core import vocab
from pli.core.errors import PliError
from pli.core.mail.conversation import Note
from pli.tui.outcome import FAILED
from pli.tui.widgets.key_bar import KeyBar
from pli.tui.widgets.note_log import NoteLog

POLL_SECONDS = 10.0   # how often a note that arrived meanwhile (`pli new`) shows up
POLL_NEWEST = 20      # the newest notes whose state (queued, sent, delivered, read) a poll checks
NOTES_CACHED = 1000   # notes kept read (text and checks), by message id and tags


def current_time() -> datetime:
    """When a note is written (tests replace it: the app's `now` is only for showing dates)."""
    return datetime.now().astimezone()


class ConversationScreen(Screen):
    BINDINGS = [
        Binding("escape", "close", "Back", id="conversation.close"),
        # priority: the note line (an Input) would take these keys to scroll its one line
        Binding("pageup", "older", "Older", id="conversation.older", priority=True),
        Binding("pagedown", "newer", "Newer", show=False, id="conversation.newer", priority=True),
        Binding("up", "line_up", "Scroll up", show=False, id="conversation.up", priority=True),
        Binding("down", "line_down", "Scroll down", show=False, id="conversation.down", priority=True),
    ]

    def __init__(self, address: str) -> None:
        super().__init__()
        # start-up: loaded when first used, after the first screen
        from pli.core.mail.conversation import check_address, conversation_query

        self.address = check_address(address)
        self.query_text = conversation_query(self.address)
        self._unread: dict[str, object] = {}   # message id -> summary, of notes shown but not yet marked read
        self._notes: LRUCache[tuple, Note] = LRUCache(maxsize=NOTES_CACHED)
        self._summaries: dict[str, object] = {}   # message id -> summary, of the notes loaded (Enter opens one)

    # -- layout -------------------------------------------------------------

    def compose(self) -> ComposeResult:
        self.their_name = self.address    # until find_who says who it is
        yield Static(Text(f"Notes with {self.address}", style="bold"), id="conversation-title")
        yield NoteLog(self._count, self._window, self.their_name, self.address, self.app.now, id="notes")
        yield Input(id="note-input", placeholder=self._placeholder())
        yield KeyBar()

    def _placeholder(self) -> str:
        return f"Note to {self.their_name} (sealed, signed; Enter sends)"

    @work(thread=True, exclusive=True, group="conversation-who")
    def find_who(self) -> None:
        """Who the correspondent is and how a note to them is sealed, off the UI thread: the first look
        at a national directory loads and checks it (seconds)."""
        # start-up: loaded when first used, after the first screen
        from pli.core.mail.correspondents import status

        who = status(self.app.keyring, self.address)
        self.app.call_from_thread(self.show_who, who)

    def show_who(self, who) -> None:
        self.their_name = who.name or self.address
        self.query_one("#conversation-title", Static).update(self._title(who))
        self.query_one("#note-input", Input).placeholder = self._placeholder()
        self.note_log.rename(self.their_name)

    def _title(self, who) -> Text:
        text = Text(f"Notes with {self.their_name}", style="bold")
        if who.name:
            text.append(f" <{self.address}>")
        if who.who:
            text.append(f" · {who.who}")
        if who.mode is None:
            text.append(f" · ✗ cannot seal: {who.problem}", style="bold red")
        else:
            text.append(" · one-time pad" if who.mode == "otp" else " · stream")
        return text

    @property
    def note_log(self) -> NoteLog:
        return self.query_one(NoteLog)

    def on_mount(self) -> None:
        self.query_one("#note-input", Input).focus()
        self.find_who()
        self.call_after_refresh(self.reload)
        self.set_interval(POLL_SECONDS, self.poll)

    # -- reading ------------------------------------------------------------

    def _count(self) -> int:
        return self.app.store.count(self.query_text)

    def _window(self, offset: int, limit: int) -> list[Note | None]:
        """The rows offset..offset+limit as notes; None for one not really with this correspondent."""
        notes = []
        for summary in self.app.store.window(self.query_text, offset, limit):
            note = self._note(summary)
            if not note.belongs_to(self.address):
                notes.append(None)
                continue
            self._summaries[summary.message_id] = summary
            if vocab.UNREAD in summary.tags:
                self._unread[summary.message_id] = summary
            notes.append(note)
        return notes

    def _note(self, summary) -> Note:
        """A note read once per state: a reload (a note sent, a receipt) rereads only what changed."""
        # start-up: loaded when first used, after the first screen
        from pli.core.mail.conversation import note_of

        key = (summary.message_id, summary.tags)
        if (note := self._notes.get(key)) is not None:
            return note
        try:
            note = note_of(summary, self.app.store.read_clear(summary.message_id), self.app.home)
        except (PliError, OSError):
            return Note(summary.message_id, summary.date, vocab.SENT in summary.tags, False, "",
                        reason="its clear copy cannot be read (run `pli doctor`)", correspondent=self.address)
        self._notes[key] = note
        return note

    def reload(self) -> None:
        if self.app.attempt("Conversation", self.note_log.reload) is not FAILED:
            self.mark_read()

    def poll(self) -> None:
        """A note that arrived, or one of ours that left or was acknowledged meanwhile, shows up."""
        if not self.is_current:
            return
        log = self.note_log
        try:
            newest = self._newest_state()
            shown = [(n.message_id, n.state) for n in reversed(log.notes[-len(newest):])] if newest else []
            changed = self._count() != log.total or newest != shown
        except Exception:  # noqa: BLE001 - a busy index: try again at the next poll
            return
        if changed:
            self.reload()

    def _newest_state(self) -> list[tuple[str, str]]:
        """(id, state) of the newest notes as the store has them now (their text comes from the cache)."""
        rows = self._window(0, min(POLL_NEWEST, self.note_log.loaded))
        return [(n.message_id, n.state) for n in rows if n is not None][:POLL_NEWEST]

    def mark_read(self) -> None:
        """The unread notes now shown: untagged unread, "read" traced, read receipts sent where due."""
        shown, self._unread = list(self._unread.values()), {}
        if not shown:
            return
        ids = [s.message_id for s in shown]
        if self.app.attempt("Conversation", self.app.store.tag, ids, (), (vocab.UNREAD,)) is FAILED:
            return
        self.app.trace_many("read", ids)
        send_receipt = getattr(self.app, "send_read_receipt", None)
        for summary in shown:
            if send_receipt is not None:
                send_receipt(summary)

    # -- keys ---------------------------------------------------------------

    def action_older(self) -> None:
        log = self.note_log
        if log.has_focus:
            self._move_cursor(-10)
            return
        if log.at_top and log.has_older:
            if self.app.attempt("Conversation", log.load_older) is not FAILED:
                self.mark_read()
            return
        log.scroll_page_up(animate=False)

    def action_newer(self) -> None:
        if self.note_log.has_focus:
            self._move_cursor(10)
        else:
            self.note_log.scroll_page_down(animate=False)

    def action_line_up(self) -> None:
        if self.note_log.has_focus:
            self._move_cursor(-1)
        else:
            self.note_log.scroll_up(animate=False)

    def action_line_down(self) -> None:
        if self.note_log.has_focus:
            self._move_cursor(1)
        else:
            self.note_log.scroll_down(animate=False)

    def _move_cursor(self, step: int) -> None:
        """The note cursor (the log focused): past the oldest loaded note, the next page is read."""
        log = self.note_log
        if log.move(step):
            return
        if step < 0 and log.has_older:
            before = log.selected_id
            if self.app.attempt("Conversation", log.load_older) is not FAILED:
                self.mark_read()
            ids = [n.message_id for n in log.notes]
            if before in ids:
                log.select(max(0, ids.index(before) + step))
            return
        log.select(0 if step < 0 else len(log.notes) - 1)

    def on_note_log_opened(self, event: NoteLog.Opened) -> None:
        """The note as a message: the whole verification badge, headers, and (failed checks) why."""
        summary = self._summaries.get(event.note.message_id)
        if summary is not None:
            self.app.open_message(summary)

    def action_close(self) -> None:
        self.dismiss(None)

    # -- writing ------------------------------------------------------------

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.send(event.value)

    def send(self, text: str) -> None:
        """Seal, sign and queue the note now (durable, fast); the outbox is flushed in a worker."""
        # start-up: loaded when first used, after the first screen
        from pli.core.mail.send import send_note
        from pli.tui.sending import start_flush

        try:
            queued = send_note(self.app.home, self.app.keyring, self.address, text, current_time())
        except PliError as error:
            self.notify(str(error), title="Note not sent", severity="error", timeout=10)
            return
        self.query_one("#note-input", Input).value = ""
        self.reload()
        start_flush(self.app, {queued.key}, done=self._after_flush)

    def _after_flush(self) -> None:
        if self.is_attached:
            self.reload()


# -- ways in ---------------------------------------------------------------------------------------


def open_conversation(app, address: str) -> None:
    """Open the conversation with `address` (the keyring is unlocked first: notes are signed)."""
    # start-up: loaded when first used, after the first screen
    from pli.core.mail.conversation import check_address

    try:
        check_address(address)
    except PliError as error:
        app.notify(str(error), title="Conversation", severity="error")
        return
    app.unlock(lambda _keyring: app.push_screen(ConversationScreen(address), lambda _: _refresh_main(app)))


def conversation_about(app, summary) -> None:
    """The conversation with the correspondent of a stored message: its sender, or whom we sent it to."""
    # start-up: loaded when first used, after the first screen
    from pli.core.mail.conversation import correspondent_of
    from pli.core.store.headers import first_values

    def opened(keyring) -> None:
        try:
            fields = first_values(app.store.read_clear(summary.message_id))
            address = correspondent_of(fields, keyring.identity.public.address)
        except (PliError, OSError) as error:
            app.notify(f"no conversation for this message: {error}", title="Conversation", severity="error")
            return
        app.push_screen(ConversationScreen(address), lambda _: _refresh_main(app))

    app.unlock(opened)


def ask_conversation(app) -> None:
    """Ask whom to talk to (recent correspondents, then keyring and directory matches), then open it."""
    # start-up: loaded when first used, after the first screen
    from pli.tui.screens.correspondent_picker import CorrespondentPicker

    def chosen(address: str | None) -> None:
        if address:
            open_conversation(app, address)

    app.unlock(lambda keyring: app.push_screen(CorrespondentPicker(keyring), chosen))


def _refresh_main(app) -> None:
    refresh = getattr(app, "_refresh_main", None)
    if refresh is not None:
        refresh()
