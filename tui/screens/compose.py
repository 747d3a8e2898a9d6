"""Compose: recipients completed from the keyring and the directory, the sealing mode per recipient shown
before sending, sealing on send and the outbox flushed in the background."""
from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
import threading
from dataclasses import replace
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Input, OptionList, Static, TextArea
from textual.widgets.option_list import Option

from pli.core.errors import PliError
from pli.core.mail import draft_store
from pli.core.mail.correspondents import MSSANTE_SOURCE
from pli.core.mail.drafts import Draft, DraftError, build_inner, forward_draft, reply_draft, split_addresses
from pli.core.plural import counted
from pli.tui.in_line import in_line
from pli.tui.suggesters import PrefixSuggester
from pli.tui.widgets.key_bar import KeyBar

TERM_SEPARATORS = ",;"
MIN_TERM = 2
SAVE_DELAY = 1.0   # seconds after the last key before the draft is saved (pli.core.mail.draft_store)


def draft_for(app, reply_to=None, forward=None, everyone: bool = False) -> Draft:
    if reply_to is not None:
        me = app.keyring.identity.public.address if app.keyring is not None else ""
        return reply_draft(reply_to, app.read_message(reply_to), everyone=everyone, me=me)
    if forward is not None:
        return forward_draft(forward, app.read_message(forward))
    return Draft()


WRAPS = {
    "content-pad": ("●", "one-time pad (a pad you share)", "green"),
    "pad": ("◐", "stream (ChaCha20), its key sealed with a pad you share", ""),
    "x25519": ("○", "stream (ChaCha20; no pad shared, key by X25519)", ""),
    "mixed": ("◐", "stream (ChaCha20), keys by pad or X25519 per member", ""),
}


def modes_text(statuses) -> Text:
    """One line per recipient: how it will be sealed and who it is, or why it cannot be sealed to."""
    text = Text()
    sealable = [st for st in statuses if st.mode is not None and not st.mssante]
    if len(sealable) > 1:
        text.append(f"One message, {sealable[0].mode} mode, for {len(sealable)} recipients:\n", style="bold")
    for st in statuses:
        who = " — " + " · ".join(x for x in (st.name, st.who) if x) if (st.name or st.who) else ""
        if st.mode is None:
            text.append(f"✗ {st.address}: {st.problem}\n", style="bold red")
            continue
        if st.mssante:   # its own tier (docs/MSSANTE.md): never the sealed lines' words or colour
            via = f" · {st.account_problem}" if st.account_problem else f" · via account {st.account}"
            text.append(f"◆ {st.address}: {st.route}{who}{via}\n", style="bold red" if st.account_problem
                        else "cyan")
            continue
        mark, words, style = WRAPS.get(st.wrap, WRAPS["x25519"])
        if st.members:
            mark, words = "◆", f"group, sealed for each of its {counted(len(st.members), 'member')} " \
                               f"({', '.join(st.members)}): {words}"
        via = f" · {st.account_problem}" if st.account_problem else f" · via account {st.account}" \
            if st.account else ""
        text.append(f"{mark} {st.address}: {words}{who}{via}\n", style=style)
    return text


def current_term(value: str) -> tuple[str, str]:
    """The To: field split into what is settled and the recipient being typed."""
    cut = max(value.rfind(sep) for sep in TERM_SEPARATORS) + 1
    return value[:cut], value[cut:]


class ComposeScreen(Screen):
    TAKES_TYPING = True   # the keys typed while it opens are its fields' (PliApp.hold_keys)
    BINDINGS = [
        # priority: the text fields have their own ctrl keys (ctrl+e = end of line)
        Binding("ctrl+s", "send", "Seal & send", id="compose.send", priority=True),
        Binding("ctrl+e", "editor", "$EDITOR", id="compose.editor", priority=True),
        Binding("ctrl+o", "attach", "Attach", id="compose.attach", priority=True),
        Binding("ctrl+r", "cycle_receipts", "Receipts", id="compose.receipts", priority=True),
        Binding("escape", "cancel", "Close (asks)", id="compose.cancel", priority=True),   # in line: see pli.tui.in_line
        # picks the highlighted match in To:, else moves on; priority, so that it is in line with the
        # keys typed around it (see action_accept_match)
        Binding("tab", "accept_match", "Pick recipient", id="compose.pick", show=False, priority=True),
        Binding("down", "next_match", "Next match", id="compose.next_match", show=False),
        Binding("up", "previous_match", "Previous match", id="compose.previous_match", show=False),
    ]

    def __init__(self, draft: Draft) -> None:
        super().__init__()
        self.draft = draft
        self.matches: list = []
        self.matches_term = ""
        self.receipts: tuple[str, ...] | None = draft.receipts   # None: the home's setting
        self._opened: tuple | None = None      # what compose opened with: Esc asks only once it changed
        self._saved: tuple | None = None       # what the drafts folder holds
        self._save_timer: Timer | None = None
        self._save_lock = threading.Lock()     # a save in a thread never writes after send or discard
        self._finished = False                 # sent, queued or discarded: nothing more to save
        self._submitting = False               # MSSanté mail on its way: compose waits, a second ctrl+s does nothing

    @staticmethod
    def _content(draft: Draft) -> tuple:
        return (tuple(draft.to), draft.subject, draft.body, tuple(draft.attachments), draft.receipts)

    def compose(self) -> ComposeResult:
        # start-up: loaded when first used, after the first screen
        from pli.core.mail.correspondents import complete_address

        keyring = self.app.keyring
        with Vertical(id="compose-form"):
            yield Input(", ".join(self.draft.to), id="compose-to",
                        placeholder="To: a name, town, specialty or address (tab picks, → completes)",
                        suggester=PrefixSuggester(lambda word: complete_address(keyring, word), ", ;"))
            matches = OptionList(id="compose-matches")
            matches.can_focus = False
            matches.display = False
            yield matches
            yield Input(self.draft.subject, placeholder="Subject (sealed: travels inside the envelope)",
                        id="compose-subject")
            yield Static(id="compose-modes")
            yield TextArea(self.draft.body, id="compose-body", soft_wrap=True, show_line_numbers=False)
            yield Static(id="compose-attachments")
            yield Static(id="compose-receipts")
        yield KeyBar()

    def on_mount(self) -> None:
        # now, not after the next refresh: the keys typed while compose opened go to it (TAKES_TYPING)
        self.set_focus(self.query_one("#compose-to" if not self.draft.to else "#compose-body"))
        release = getattr(self.app, "release_keys", None)
        if release is not None:
            release()
        self.update_modes()
        self.update_attachments()
        self.update_receipts()
        self._opened = self._content(self.current_draft())
        if self.draft.id:   # reopened from the drafts folder: that is what it holds
            self._saved = self._opened

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "compose-to":
            self.update_modes()
            self.find_matches(current_term(event.value)[1].strip())
        self.schedule_save()

    def on_text_area_changed(self) -> None:
        self.schedule_save()

    # -- the draft kept as you type -------------------------------------------

    def schedule_save(self) -> None:
        """Save SAVE_DELAY seconds after the last change (in a thread: an fsync may take a while)."""
        self.current_draft()   # the draft follows every key: quitting saves what the fields last held
        if self._save_timer is not None:
            self._save_timer.stop()
        self._save_timer = self.set_timer(SAVE_DELAY, self._save_soon)

    def _save_soon(self) -> None:
        draft = self.current_draft()
        content = self._content(draft)
        if self._finished or content == self._saved:
            return
        if not draft.id and (content == self._opened or draft.is_empty()):
            return   # nothing typed yet
        if not draft.id:
            draft.id = draft_store.new_id()   # here: every later save goes to the same file
        snapshot = replace(draft, to=list(draft.to), attachments=list(draft.attachments))
        self.run_worker(lambda: self._save_in_thread(snapshot, content), thread=True, group="draft-save",
                        exit_on_error=False)

    def _save_in_thread(self, snapshot: Draft, content: tuple) -> None:
        with self._save_lock:
            if self._finished:
                return
            try:
                draft_store.save(self.app.home, snapshot)
            except PliError as error:
                self.app.call_from_thread(self.notify, str(error), title="Draft", severity="error", timeout=10)
                return
        self._saved = content

    def save_now(self) -> None:
        """Save on the UI thread (keep as draft, quitting): raises DraftUnsaved."""
        draft = self.current_draft()
        with self._save_lock:
            draft_store.save(self.app.home, draft)
            self._saved = self._content(draft)

    def _finish(self, *, remove: bool) -> None:
        """Sent, queued or discarded: no save after this; `remove`: its file goes."""
        if self._save_timer is not None:
            self._save_timer.stop()
        with self._save_lock:
            self._finished = True
            if remove:
                draft_store.remove(self.app.home, self.draft)

    def on_unmount(self) -> None:
        """Quitting (ctrl+q) with compose open: what was typed since the last save is saved."""
        if not self._finished and self._content(self.current_draft()) not in (self._saved, self._opened):
            try:
                self.save_now()
            except PliError:
                pass   # the app is closing: nothing left to show it on

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "compose-to" and self.matches:
            event.stop()
            self.action_accept_match()

    # -- recipients ---------------------------------------------------------

    @work(exclusive=True, thread=True, group="compose-matches")
    def find_matches(self, term: str) -> None:
        """Search the keyring and the directory off the UI thread: a national directory is large."""
        found = self.matches_for(term)
        self.app.call_from_thread(self.show_matches, term, found)

    def matches_for(self, term: str) -> list:
        # start-up: loaded when first used, after the first screen
        from pli.core.mail.correspondents import candidates

        found = candidates(self.app.keyring, term) if len(term) >= MIN_TERM else []
        if len(found) == 1 and found[0].address == term.lower():
            found = []   # already typed in full
        return found

    def show_matches(self, term: str, found: list) -> None:
        if not self.open or term != self.typed_term():
            return   # sent or discarded meanwhile, or the user typed on: a newer search is coming
        self.matches, self.matches_term = found, term
        options = self.query_one("#compose-matches", OptionList)
        options.clear_options()
        options.add_options([Option(self._match_label(c), id=c.address) for c in found])
        options.display = bool(found)
        if found:
            options.highlighted = 0

    @property
    def open(self) -> bool:
        """Still on the screen stack: a look-up finishing after send or discard has nothing to update."""
        return self in self.app.screen_stack and self.is_mounted

    def typed_term(self) -> str:
        return current_term(self.query_one("#compose-to", Input).value)[1].strip()

    @staticmethod
    def _match_label(candidate) -> Text:
        text = Text(f"{candidate.name} ", style="bold")
        text.append(f"<{candidate.address}>")
        if candidate.who:
            text.append(f"  {candidate.who}", style="italic")
        text.append(f"  [{candidate.source}]", style="cyan" if candidate.source == MSSANTE_SOURCE else "dim")
        return text

    def check_action(self, action: str, parameters) -> bool | None:
        if action not in ("accept_match", "next_match", "previous_match"):
            return True
        if action == "accept_match":
            return True   # this binding replaces the screen's tab: it moves the focus on when it picks nothing
        return self.to_focused() and bool(self.matches)

    def action_next_match(self) -> None:
        self.query_one("#compose-matches", OptionList).action_cursor_down()

    def action_previous_match(self) -> None:
        self.query_one("#compose-matches", OptionList).action_cursor_up()

    def to_focused(self) -> bool:
        return self.focused is not None and self.focused.id == "compose-to"

    @in_line
    def action_accept_match(self) -> None:
        """Tab in line with the keys around it (priority: it runs when its key arrives): the field first
        takes the keys typed before it, and those typed after go where it leads.  Typed fast
        (`address<Tab>subject<Tab>text` over SSH), everything landed in To: before."""
        self._accept_match_now()

    def _accept_match_now(self) -> None:
        """Replace the recipient being typed by the highlighted match's address; with none, tab moves on."""
        if not self.to_focused():
            self.focus_next()
            return
        term = self.typed_term()
        if term != self.matches_term:   # typed faster than the search: look now, in the UI thread
            self.show_matches(term, self.matches_for(term))
        options = self.query_one("#compose-matches", OptionList)
        index = options.highlighted or 0
        if not self.matches or index >= len(self.matches):
            self.focus_next()
            return
        field = self.query_one("#compose-to", Input)
        settled, _ = current_term(field.value)
        field.value = f"{settled}{' ' if settled else ''}{self.matches[index].address}, "
        field.cursor_position = len(field.value)
        self.show_matches(self.typed_term(), [])

    def update_modes(self) -> None:
        self.find_modes(self.query_one("#compose-to", Input).value, self.message_size())

    def message_size(self) -> int:
        """About what will be sealed: otp needs that many pad bytes left (the plan is made again on send)."""
        size = len(self.query_one("#compose-body", TextArea).text.encode("utf-8"))
        for attachment in self.draft.attachments:
            try:
                data_size = attachment.size if hasattr(attachment, "size") else attachment.stat().st_size
            except OSError:
                continue
            size += data_size * 4 // 3   # base64 in the MIME message
        return size

    @work(exclusive=True, thread=True, group="compose-modes")
    def find_modes(self, value: str, size: int) -> None:
        """Each recipient's mode and who it is, off the UI thread: the first look loads the directory,
        which takes seconds for a national one (then it is kept until its file changes)."""
        # start-up: loaded when first used, after the first screen
        from pli.core.mail.correspondents import directory_of, statuses

        directory = directory_of(self.app.keyring)   # load it now, before the first match or address is asked for
        found = statuses(self.app.keyring, [a for a in split_addresses(value) if "@" in a], size)
        self.app.call_from_thread(self.show_modes, value, found)
        if directory is not None:
            directory.prepare_search()   # once per directory: then the first match does not wait for it

    def show_modes(self, value: str, statuses: list) -> None:
        if self.open and value == self.query_one("#compose-to", Input).value:
            self.query_one("#compose-modes", Static).update(modes_text(statuses))

    def update_attachments(self) -> None:
        names = ", ".join(p.name for p in self.draft.attachments)
        self.query_one("#compose-attachments", Static).update(f"Attachments: {names}" if names else "")

    def current_draft(self) -> Draft:
        """The draft as the fields hold it (as last read, once they are gone: compose closing)."""
        try:
            to = split_addresses(self.query_one("#compose-to", Input).value)
            subject = self.query_one("#compose-subject", Input).value
            body = self.query_one("#compose-body", TextArea).text
        except NoMatches:
            return self.draft
        self.draft.to, self.draft.subject, self.draft.body = to, subject, body
        self.draft.receipts = self.receipts
        return self.draft

    # -- sending ------------------------------------------------------------

    def action_send(self, flush: bool = True, patient=None) -> None:
        """Seal and queue now (durable, fast), then leave; the outbox is flushed in a worker (unless
        `flush` is False: send later, with the next flush or `pli send flush`).  MSSanté recipients
        (core/mail/routing.py) get theirs first, submitted at once in a worker while compose waits: the
        documents as an IHE XDM package (the patient asked for when a document needs one), a text alone
        as ordinary mail; if the operator refuses it, compose stays open and nothing is sealed."""
        # start-up: loaded when first used, after the first screen
        from pli.core.mail.correspondents import own_address, statuses
        from pli.core.mail.routing import needs_patient

        if self._submitting:
            return
        draft = self.current_draft()
        keyring = self.app.keyring
        try:
            found = statuses(keyring, draft.to)
            problems = [st for st in found if st.mode is None or (st.mssante and st.account_problem)]
            if problems:
                raise DraftError("; ".join(f"{st.address}: {st.problem or st.account_problem}" for st in problems))
            mssante = [st.address for st in found if st.mssante]
            if mssante and not flush:
                raise DraftError(f"{', '.join(mssante)}: MSSanté mail is submitted at once, never queued "
                                 "(ctrl+s sends it)")
            inner = build_inner(draft, own_address(keyring), self.app.now, self.app.read_part)
        except PliError as error:
            self.notify(str(error), title="Not sent", severity="error", timeout=10)
            return
        sealed = [st.address for st in found if not st.mssante]
        if not mssante:
            self._seal(inner, sealed, flush)
        elif patient is None and needs_patient(inner):
            # start-up: loaded when first used, after the first screen
            from pli.tui.screens.document_patient import DocumentPatientScreen

            self.app.push_screen(DocumentPatientScreen(mssante),
                                 lambda chosen: chosen is not None and self.action_send(flush, chosen))
        else:
            self._submit_mssante(inner, mssante, patient, sealed)

    def _submit_mssante(self, inner, mssante: list[str], patient, sealed: list[str]) -> None:
        # start-up: loaded when first used, after the first screen
        from pli.core.mail.routing import send_mssante

        self._submitting = True
        app, home, keyring = self.app, self.app.home, self.app.keyring
        app.notify(f"sending to {', '.join(mssante)} over MSSanté…", title="Sending", timeout=3)

        def work() -> None:
            try:
                message_id = send_mssante(home, keyring, inner, mssante, patient)
            except Exception as error:  # noqa: BLE001 - a worker's crash would go unseen: say it, keep the text
                problem = str(error) if isinstance(error, PliError) else f"internal error ({type(error).__name__})"
                app.call_from_thread(self._mssante_refused, mssante, problem)
                return
            app.call_from_thread(self._mssante_sent, message_id, mssante, inner, sealed)

        self.run_worker(work, thread=True, group="mssante-send", exit_on_error=False)

    def _mssante_refused(self, mssante: list[str], problem: str) -> None:
        self._submitting = False
        self.notify(f"not sent to {', '.join(mssante)}: {problem}; nothing was sent or sealed, the message "
                    "stays here", title="Not sent", severity="error", timeout=12)

    def _mssante_sent(self, message_id: str, mssante: list[str], inner, sealed: list[str]) -> None:
        self._submitting = False
        self.app.notify(f"sent to {', '.join(mssante)} (MSSanté, transport-secured; {message_id})", title="Sent")
        if not sealed:
            self._finish(remove=True)
            self.dismiss(True)
            return
        field = self.query_one("#compose-to", Input)   # sent: a retry of what follows must not send it twice
        field.value = ", ".join(sealed)
        self._seal(inner, sealed, flush=True)

    def _seal(self, inner, to: list[str], flush: bool) -> None:
        # start-up: loaded when first used, after the first screen
        from pli.core.mail.send import seal_and_queue
        from pli.tui.sending import start_flush

        try:
            queued = seal_and_queue(self.app.home, self.app.keyring, inner, to,
                                    receipts=",".join(self.receipts or ()) or "none")
        except PliError as error:
            self.notify(str(error), title="Not sent", severity="error", timeout=10)
            return
        app = self.app
        self._finish(remove=True)
        later = "" if flush else ": it leaves with the next send (Outbox screen, or `pli send flush`)"
        app.notify(f"sealed for {', '.join(queued.recipients)}; queued in the outbox{later}", title="Sealed")
        self.dismiss(True)
        if flush:   # once sent, the Sent copy loses its `outbox` tag: the lists and counts redraw
            start_flush(app, {queued.key}, done=app._refresh_main)

    @in_line   # the question it opens takes the keys typed after Esc
    def action_cancel(self) -> None:
        if self._submitting:   # its outcome comes back to this screen: closing now would hide a refusal
            self.notify("the MSSanté mail is on its way: wait for its outcome", title="Sending", timeout=4)
            return
        self._cancel_now()

    def _cancel_now(self) -> None:
        """Esc: close at once when nothing changed since compose opened; else ask what to do with
        the text (send later, keep as a draft, discard), never lose it silently."""
        # start-up: loaded when first used, after the first screen
        from pli.tui.screens.unsent import UnsentScreen

        draft = self.current_draft()
        if self._content(draft) == self._opened:
            self._finish(remove=False)
            self.dismiss(False)
            return
        if draft.is_empty():
            self._finish(remove=True)
            self.dismiss(False)
            return
        self.app.push_screen(UnsentScreen(draft.subject), self._unsent_choice)

    def _unsent_choice(self, choice: str | None) -> None:
        if choice == "send-later":
            self.action_send(flush=False)
        elif choice == "keep":
            try:
                self.save_now()
            except PliError as error:
                self.notify(str(error), title="Draft", severity="error", timeout=10)
                return
            self._finish(remove=False)
            self.notify("kept in Drafts (D on the main screen reopens it)", title="Draft")
            self.dismiss(False)
        elif choice == "discard":
            self._finish(remove=True)
            self.notify("draft discarded", title="Draft", timeout=3)
            self.dismiss(False)

    def update_receipts(self) -> None:
        if self.receipts is None:
            # start-up: loaded when first used, after the first screen
            from pli.core.receipts import kinds_to_ask

            try:
                self.receipts = kinds_to_ask(self.app.home, None)
            except PliError as error:
                self.receipts = ()
                self.notify(str(error), title="Receipts", severity="warning")
        asked = " and ".join(self.receipts) or "none"
        self.query_one("#compose-receipts", Static).update(f"Receipts asked: {asked} (ctrl+r changes)")

    def action_cycle_receipts(self) -> None:
        """none -> delivery -> delivery and read -> none (docs/RECEIPTS.md)."""
        cycle = [(), ("delivery",), ("delivery", "read")]
        now = self.receipts if self.receipts in cycle else ()
        self.receipts = cycle[(cycle.index(now) + 1) % len(cycle)]
        self.update_receipts()
        self.schedule_save()

    def action_attach(self) -> None:
        # start-up: loaded when first used, after the first screen
        from pli.tui.screens.prompt import PromptScreen

        def attach(answer: str | None) -> None:
            if not answer:
                return
            path = Path(answer).expanduser()
            if not path.is_file():
                self.notify(f"{path} is not a readable file", title="Attach", severity="error")
                return
            self.draft.attachments.append(path)
            self.update_attachments()
            self.schedule_save()
            self.update_modes()   # a large attachment may need more pad bytes than are left: otp -> stream

        self.app.push_screen(PromptScreen("Attach file", str(Path.cwd()) + os.sep), attach)

    def action_editor(self) -> None:
        """Edit the body in $EDITOR with the app suspended (works over SSH)."""
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
        area = self.query_one("#compose-body", TextArea)
        fd, name = tempfile.mkstemp(prefix="pli-draft-", suffix=".txt")  # 0600: the body is plaintext
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(area.text)
            with self.app.suspend():
                subprocess.run([*shlex.split(editor), name], check=False)
            area.text = Path(name).read_text(encoding="utf-8")
        except (OSError, PliError) as error:
            self.notify(f"cannot run {editor}: {error}", title="Editor", severity="error")
        except Exception as error:  # noqa: BLE001 - SuspendNotSupported in a test or web driver
            self.notify(f"cannot suspend to run {editor} here ({type(error).__name__})", severity="warning")
        finally:
            Path(name).unlink(missing_ok=True)
