"""The pli Textual app: opens the store of one home and routes between the screens.

Screens ask the app for what needs the domain (the store, the keyring, query
expansion, reading a clear message), so that each screen stays layout and keys,
and every domain error becomes a notification or an error screen, never a crash.
"""
from __future__ import annotations

import gc
from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import Input

from pli.core.errors import PliError
from pli.core.home import Home
from pli.core.mail import read
from pli.core.mail.tracing import TraceQueue, triage_batches
from pli.core.mail.triage import UndoStack
from pli.core.plural import counted
from pli.core.store.trace_steps import TraceBatch
from pli.tui.config import TuiConfig, load_tui_config
from pli.tui.in_line import KeysInLine
from pli.tui.outcome import FAILED

if TYPE_CHECKING:
    from pli.core.mail.read import ClearMessage


HOLD_AT_MOST = 2.0   # seconds keys typed while a prompt opens may wait for it (PliApp.hold_keys)


class MessageUnreadable(PliError):
    """A clear message could not be read or parsed."""


class PliApp(App):
    CSS_PATH = "pli.tcss"
    TITLE = "pli"
    BINDINGS = [
        Binding("ctrl+q", "quit", "Quit", show=False, priority=True),
        Binding("question_mark", "help", "Keys", show=False),  # on every screen, not only the main one
    ]

    def __init__(self, home: Home, *, now: datetime | None = None, store=None,
                 keyring=None, prefetch=None) -> None:
        super().__init__()
        self.home = home
        self.prefetch = prefetch  # pli.tui.startup.Prefetch: the store and first page, read in a thread
        self.first_page = None
        self.saved_counts = None  # pli.tui.saved_counts.SavedCounts valid for the index as it was at start
        self.now = now or datetime.now().astimezone()
        self.store = store
        self._keyring = keyring
        self.config = TuiConfig()
        self.undo = UndoStack()
        self.startup_error: PliError | None = None
        self._traces = TraceQueue()
        self._held_keys: list[events.Key] | None = None   # typed while a prompt opens, not replayed yet
        self._holding: object | None = None   # the hold in force (hold_keys), None once released

    # -- start-up -----------------------------------------------------------

    def on_mount(self) -> None:
        try:
            self.config = load_tui_config(self.home.config)
        except PliError as error:
            self.notify(str(error), title="Config", severity="warning", timeout=8)
        if self.config.keys:
            self.set_keymap(self.config.keys)
        if self.store is None and self.prefetch is not None:
            ready = self.prefetch.first_page()
            if ready.store is not None:
                self.store = ready.store
                # the count may still be running: the list waits for it in a thread (prefetch.total)
                self.first_page = (ready.query, ready.count, ready.rows, self.prefetch.total)
                self.saved_counts = ready.saved
        try:
            if self.store is None:
                self.store = self._open_store()
        except PliError as error:
            self.startup_error = error
            # start-up: loaded when first used, after the first screen
            from pli.tui.screens.error import ErrorScreen

            self.push_screen(ErrorScreen("pli cannot open this home", str(error)))
            return
        # start-up: loaded when first used, after the first screen
        from pli.tui.screens.main import MainScreen

        self.push_screen(MainScreen())

    def on_ready(self) -> None:
        """The first frame is drawn: the collector the launcher held for start-up resumes, and what
        start-up built (it lives as long as pli) is frozen out of its scans (pli.tui.launcher)."""
        if not gc.isenabled():
            gc.freeze()
            gc.enable()

    def _open_store(self):
        # start-up: loaded when first used, after the first screen
        from pli.core.store import Store

        return Store.open(self.home, writable=True)

    def on_unmount(self) -> None:
        if self.store is not None:
            self.store.close()

    # -- domain access for the screens --------------------------------------

    def attempt(self, title: str, action, *args):
        """Run a store or keyring action for a screen: a PliError is shown as it is; anything
        else (a bug, an index error pli did not foresee) is named without a traceback."""
        try:
            return action(*args)
        except PliError as error:
            self.notify(str(error), title=title, severity="error", timeout=8)
        except Exception as error:  # noqa: BLE001 - the UI's last line of defence, like the CLI's
            self.log.error(f"{title}: {error!r}")
            self.notify(f"{title} failed ({type(error).__name__}); please report it", title=title,
                        severity="error", timeout=8)
        return FAILED

    def expand_query(self, query: str) -> str:
        # start-up: loaded when first used, after the first screen
        from pli.core.store.query import expand

        return expand(query)

    def first_preview(self, summary, wait: float = 0.2) -> "ClearMessage | None":
        """The first row's message when the launcher read it during start-up (once), else None."""
        return self.prefetch.preview_of(summary, wait) if self.prefetch is not None else None

    def read_message(self, summary) -> "ClearMessage":
        try:
            raw = self.store.read_clear(summary.message_id)
        except OSError as error:
            raise MessageUnreadable(f"cannot read this message ({error.strerror or error}); "
                                    "run `pli doctor` to check the store") from None
        try:
            return read.clear_message(raw, summary, self.home)
        except Exception:  # noqa: BLE001 - a corrupt file is the user's problem to see, not a crash
            raise MessageUnreadable("this message is damaged and cannot be shown; "
                                    "its sealed original is kept in the store") from None

    def read_part(self, message_id: str, index: int) -> bytes:
        """The bytes of one attachment of a stored message (a forward sends them again)."""
        try:
            raw = self.store.read_clear(message_id)
        except OSError as error:
            raise MessageUnreadable(f"cannot read message {message_id} ({error.strerror or error})") from None
        return read.attachment_bytes(read.parse_clear(raw), index)

    @property
    def keyring(self):
        """The unlocked keyring, or None until the user gave the passphrase (see unlock)."""
        return self._keyring

    def unlock(self, then) -> None:
        """Call `then(keyring)` once the keyring is unlocked (asking for the passphrase if needed)."""
        if self._keyring is not None:
            then(self._keyring)
            return
        # start-up: loaded when first used, after the first screen
        from pli.tui.screens.passphrase import PassphraseScreen, unlock_from_env

        try:
            self._keyring = unlock_from_env(self.home)
        except PliError as error:
            self.notify(str(error), title="Keyring", severity="error")
            return
        if self._keyring is not None:
            then(self._keyring)
            return

        def unlocked(keyring) -> None:
            if keyring is not None:
                self._keyring = keyring
                then(keyring)

        self.push_screen(PassphraseScreen(self.home), unlocked)

    # -- navigation ---------------------------------------------------------

    def mark_read(self, summary) -> None:
        try:
            read.mark_read(self.store, summary)
        except PliError as error:
            self.notify(str(error), severity="error")
        self.trace("read", summary.message_id)
        self.send_read_receipt(summary)

    def send_read_receipt(self, summary) -> None:
        """The read receipt of a message that asks for one, if [receipts] send_read allows (in a thread)."""
        if not read.asks_read_receipt(summary):
            return

        def answer() -> None:
            keyring = self._trace_keyring()
            if keyring is None:
                return
            self._wait_for_trace()   # the trace says "read" before "receipt-sent"
            try:
                report = read.send_read_receipt(self.home, keyring, summary.message_id)
            except PliError as error:
                self.call_from_thread(self.notify, f"read receipt: {error}", severity="error")
                return
            if report.queued:
                note = "sent" if report.sent else f"queued in the outbox ({report.not_sent or 'not sent yet'})"
                self.call_from_thread(self.notify, f"read receipt {note}", title="Receipt")

        self.run_worker(answer, thread=True, group="receipts", exit_on_error=False)

    def _wait_for_trace(self, seconds: float = 2.0) -> None:
        """From a worker thread: until the trace's writers are done (at most `seconds`)."""
        import time

        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and (self._traces.draining or any(
                w.group == "trace" and not w.is_finished for w in list(self.workers))):
            time.sleep(0.02)

    def trace(self, step: str, message_id: str, **details) -> None:
        """Record one step of one message in the home's trace (see trace_many)."""
        self.trace_many(step, [message_id], **details)

    def trace_many(self, step: str, message_ids: Iterable[str], **details) -> None:
        """Record `step` for each message in the home's trace, signed by the user: one append
        and one fsync per batch, in a thread, so triage never waits for the disk
        (pli.core.mail.tracing keeps the batches in the order the user acted)."""
        ids = tuple(dict.fromkeys(message_ids))
        if ids and self._traces.put(TraceBatch(step, ids, details)):
            self.run_worker(self._drain_traces, thread=True, group="trace", exit_on_error=False)

    def trace_from_thread(self, step: str, message_ids: Iterable[str], **details) -> None:
        """trace_many from a worker thread, which may outlive the UI (quitting stops an export
        after the message in hand): the batch joins the same queue, in order, and when no
        drainer runs this thread writes it."""
        ids = tuple(dict.fromkeys(message_ids))
        if ids and self._traces.put(TraceBatch(step, ids, details)):
            self._drain_traces()

    def trace_triage(self, action) -> None:
        """The steps of a triage action that the trace keeps (archived, deleted)."""
        for batch in triage_batches(action):
            self.trace_many(batch.step, batch.message_ids, **batch.details)

    def _drain_traces(self) -> None:
        """The trace worker: writes the queued batches, oldest first, until none is left.

        The trace needs the keyring's signing key: it is taken from PLI_PASSPHRASE_FILE
        when the keyring is not unlocked yet (here, off the UI thread: scrypt takes a
        while); without it, the footer says the step went unrecorded rather than
        interrupting triage with a passphrase prompt.
        """
        # start-up: loaded when first used, after the first screen
        from pli.core.audit.entry import JournalTampered
        from pli.core.store.store import Store
        from pli.core.store.trace_steps import record_batch

        while (batch := self._traces.take()) is not None:
            keyring = self._trace_keyring()
            if keyring is None:
                self.call_from_thread(self.notify, f"not traced ({batch.step}): unlock the keyring "
                                      "to sign trace steps", severity="warning")
                continue
            try:
                with Store.open(self.home) as store:  # this thread's own index handle
                    left_out = record_batch(self.home, keyring, store, batch)
            except JournalTampered as error:   # the trace was cut: said as what it is, and long enough to read
                self.call_from_thread(self.notify, str(error), title="SECURITY", severity="error", timeout=60)
                continue
            except Exception as error:  # noqa: BLE001 - the drainer must live on to write the next batches
                problem = str(error) if isinstance(error, PliError) else (
                    f"{batch.step} step not written ({type(error).__name__}); check with `pli audit verify`")
                self.call_from_thread(self.notify, f"trace: {problem}", severity="error")
                continue
            if left_out:
                self.call_from_thread(self.notify, f"not traced ({batch.step}): {counted(left_out, 'message')} "
                                      "with an id the trace cannot hold", severity="warning")

    def _trace_keyring(self):
        if self._keyring is None:
            # start-up: loaded when first used, after the first screen
            from pli.tui.screens.passphrase import unlock_from_env

            try:
                self._keyring = unlock_from_env(self.home)
            except PliError:
                return None
        return self._keyring

    def open_message(self, summary) -> None:
        # start-up: loaded when first used, after the first screen
        from pli.tui.screens.message import MessageScreen

        try:
            clear = self.read_message(summary)
        except PliError as error:
            self.notify(str(error), title="Message", severity="error")
            return
        self.mark_read(summary)
        self.push_screen(MessageScreen(summary, clear), lambda _: self._refresh_main())

    def open_thread(self, thread) -> None:
        # start-up: loaded when first used, after the first screen
        from pli.tui.screens.thread import ThreadScreen

        self.push_screen(ThreadScreen(thread.thread_id), lambda _: self._refresh_main())

    def open_lab(self, summary) -> None:
        # start-up: loaded when first used, after the first screen
        from pli.tui.screens.lab import LabScreen

        try:
            clear = self.read_message(summary)
        except PliError as error:
            self.notify(str(error), title="Lab results", severity="error")
            return
        screen = LabScreen.for_message(summary, clear, self.store)
        if screen is None:
            self.notify("No lab report in this message.", title="Lab results", severity="warning")
            return
        self.mark_read(summary)
        self.push_screen(screen, lambda _: self._refresh_main())

    def open_patient(self, summary) -> None:
        # start-up: loaded when first used, after the first screen
        from pli.tui.screens.patient import PatientScreen

        if not summary.patient_key:
            self.notify("This message names no patient.", title="Patient", severity="warning")
            return
        self.push_screen(PatientScreen(summary.patient_key, summary.patient))

    def export_reports(self, targets: list) -> None:
        # start-up: loaded when first used, after the first screen
        from pli.tui.screens.export import ExportScreen

        if not targets:
            self.bell()
            return
        self.push_screen(ExportScreen(targets))

    def compose_message(self, reply_to=None, forward=None, everyone: bool = False) -> None:
        """Compose needs the keyring (recipients, modes, signing, and reply-all leaves out the
        user's own address): unlock it first."""
        # start-up: loaded when first used, after the first screen
        from pli.tui.screens.compose import ComposeScreen, draft_for

        def open_compose(_keyring) -> None:
            try:
                draft = draft_for(self, reply_to=reply_to, forward=forward, everyone=everyone)
            except PliError as error:
                self.notify(str(error), title="Compose", severity="error")
                return
            self.push_screen(ComposeScreen(draft), lambda _: self._refresh_main())

        self.unlock(open_compose)

    def compose_draft(self, draft) -> None:
        """Reopen a saved draft in compose (the keyring unlocked first, as for a new message)."""
        # start-up: loaded when first used, after the first screen
        from pli.tui.screens.compose import ComposeScreen

        self.unlock(lambda _keyring: self.push_screen(ComposeScreen(draft), lambda _: self._refresh_main()))

    def show_drafts(self) -> None:
        # start-up: loaded when first used, after the first screen
        from pli.tui.screens.drafts import DraftsScreen

        self.push_screen(DraftsScreen())

    def show_outbox(self) -> None:
        # start-up: loaded when first used, after the first screen
        from pli.tui.screens.outbox import OutboxScreen

        self.push_screen(OutboxScreen(), lambda _: self._refresh_main())

    def ask_conversation(self) -> None:
        # start-up: loaded when first used, after the first screen
        from pli.tui.screens.conversation import ask_conversation

        ask_conversation(self)

    def _refresh_main(self) -> None:
        # start-up: loaded when first used, after the first screen
        from pli.tui.screens.main import MainScreen

        for screen in self.screen_stack:
            if isinstance(screen, MainScreen):
                try:
                    screen.after_tags_changed()
                except NoMatches:
                    pass   # pli is quitting: compose closed just before, its callback came after the widgets left

    # -- keys and commands --------------------------------------------------

    def push_screen(self, screen, *args, **kwargs):
        """A screen that takes typing (TAKES_TYPING) gets the keys typed while it opens (hold_keys)."""
        if getattr(screen, "TAKES_TYPING", False):
            self.hold_keys()
        return super().push_screen(screen, *args, **kwargs)

    def hold_keys(self) -> None:
        """Keep the keys that arrive from now on until release_keys: a prompt's input does not exist
        before its screen is mounted, and keys sent meanwhile to the screen (or to the list that
        opened it) took a longer way than those typed after, so they were dropped or overtaken:
        `t urgent Enter` typed fast closed the prompt with "ur" or nothing."""
        if self._holding is None:
            hold = self._holding = object()
            if self._held_keys is None:
                self._held_keys = []   # else a replay was cut short by this hold: its keys come first
            # never for long: a screen that failed to open must not leave the keyboard dead.  The
            # timer releases this hold only: one of an earlier hold, firing during a later one, let
            # the Esc of compose's "Esc k" out before its question opened, and `k` was lost.
            self.set_timer(HOLD_AT_MOST, lambda: self._release_stale(hold))

    def _release_stale(self, hold: object) -> None:
        if self._holding is hold:
            self.release_keys()

    def release_keys(self) -> None:
        """Replay the held keys, in the order typed, to what has the focus now (the prompt's input),
        before any key still queued (call_next: after the message in hand, ahead of the queue)."""
        self._holding = None
        if self._held_keys is not None:
            self.call_next(self._replay_keys)

    def on_keys_in_line(self, message: KeysInLine) -> None:
        """A priority key's action (pli.tui.in_line), now that the keys typed before it are handled.  The
        keys typed after it go to what it opened: a screen that takes typing releases them once on screen."""
        message.stop()
        screen = self.screen
        try:
            message.then()
        finally:
            if self.screen is screen or not getattr(self.screen, "TAKES_TYPING", False):
                self.release_keys()

    async def _replay_keys(self) -> None:
        """Hand the held keys on one by one.  Keys that arrive meanwhile join the end of the line: let
        through at once, they overtook the held ones ('Test draft' typed fast became 'tTes draft').  A
        replayed key that holds again (Tab, Esc) stops the replay: the rest wait for where it leads."""
        while self._holding is None and self._held_keys:
            event = self._held_keys.pop(0)
            await super().on_event(events.Key(event.key, event.character))
        if self._holding is None:
            self._held_keys = None

    async def on_event(self, event: events.Event) -> None:
        if self._held_keys is not None and isinstance(event, events.Key) and not event.is_forwarded:
            self._held_keys.append(event)
            return
        await super().on_event(event)

    def on_key(self, event: events.Key) -> None:
        """A printable key that reached the app while an input has focus was typed for it.

        Textual routes each key to the widget focused when the key arrived: "/critical"
        typed fast (or pasted over SSH) queues "critical" for the list before `/` has moved
        the focus to the search bar.  Those keys would be lost; they belong to the input.
        """
        focused = self.focused
        if isinstance(focused, Input) and event.is_printable and event.character:
            focused.insert_text_at_cursor(event.character)
            event.stop()

    def action_help(self) -> None:
        # start-up: loaded when first used, after the first screen
        from pli.tui.screens.help import HelpScreen

        self.push_screen(HelpScreen(self.screen.active_bindings))

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        # start-up: loaded when first used, after the first screen
        from pli.tui.screens.main import MainScreen

        main = next((s for s in self.screen_stack if isinstance(s, MainScreen)), None)
        if main is None:
            return
        for search in self.config.searches:
            yield SystemCommand(f"Go to {search.name}", search.query,
                                lambda s=search: main.show_search(s))
        yield SystemCommand("Compose", "Write a new sealed message", self.compose_message)
        yield SystemCommand("Conversation with…", "Short sealed notes with one correspondent",
                            self.ask_conversation)
        yield SystemCommand("Drafts", "Messages not sent yet, saved as you typed; enter reopens", self.show_drafts)
        yield SystemCommand("Outbox", "Mail waiting to be sent, why it has not left; r retries", self.show_outbox)
        yield SystemCommand("Export selected reports", "FHIR / HPRIM export of the selected lab reports",
                            lambda: self.export_reports(main.message_list.targets()))
        yield SystemCommand("Undo", "Undo the last triage action", main.action_undo)
        yield SystemCommand("Keys", "Show every key binding", self.action_help)
