"""The main screen: saved searches, the message list, a preview, and keyboard triage."""
from __future__ import annotations

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.worker import get_current_worker
from textual.widgets import Input, Static

from pli.core import vocab
from pli.core.mail.triage import apply_changes, plan
from pli.tui.config import SavedSearch
from pli.tui.in_line import in_line
from pli.tui.outcome import FAILED
from pli.tui.paging import MESSAGES, THREADS
from pli.tui.widgets.alert_banner import ACKNOWLEDGED, ALERTS, AlertBanner
from pli.tui.widgets.key_bar import KeyBar
from pli.tui.widgets.message_list import MessageList, message_of
from pli.tui.widgets.preview_pane import PreviewPane
from pli.tui.widgets.search_bar import SearchBar
from pli.tui.widgets.search_sidebar import SearchSidebar

#: Actions bound with priority (they open an input); the search bar's text keeps these keys.
TYPING_KEYS = frozenset({"search", "tag", "untag", "reply", "reply_all", "forward", "compose"})
POLL_SECONDS = 20.0   # how often counts and the list catch up with mail imported meanwhile (`pli new`)
BACK_DEPTH = 20       # lists Esc goes back through


class MainScreen(Screen):
    BINDINGS = [
        # priority: these open an input at once, when the key arrives, so that the keys typed after
        # them go to it in order (a key waits in the list's queue otherwise, and those typed meanwhile
        # took another way: "/critical" typed fast searched "crialtic")
        Binding("slash", "search", "Search", id="main.search", priority=True),
        Binding("a", "archive", "Archive", id="triage.archive"),
        Binding("d", "delete", "Delete", id="triage.delete"),
        Binding("n", "toggle_read", "Read/unread", id="triage.read"),
        Binding("F", "toggle_flag", "Flag", id="triage.flag"),
        Binding("t", "tag", "Tag", id="triage.tag", priority=True),
        Binding("T", "untag", "Untag", show=False, id="triage.untag", priority=True),
        Binding("u", "undo", "Undo", id="triage.undo"),
        Binding("L", "lab", "Lab", id="main.lab"),   # short: V Threads still fits at 160 columns
        Binding("P", "patient", "Patient", show=False, id="main.patient"),
        Binding("e", "export", "Export", show=False, id="triage.export"),
        Binding("r", "reply", "Reply", show=False, id="main.reply", priority=True),
        Binding("R", "reply_all", "Reply all", show=False, id="main.reply_all", priority=True),
        Binding("f", "forward", "Forward", show=False, id="main.forward", priority=True),
        Binding("c", "compose", "Compose", id="main.compose", priority=True),
        Binding("D", "drafts", "Drafts", show=False, id="main.drafts"),
        Binding("C", "conversation", "Notes", id="main.conversation"),
        Binding("V", "toggle_threads", "Threads", id="main.threads"),
        Binding("exclamation_mark", "alert", "SECURITY ALERT", id="main.alert"),   # only while there is one
        Binding("escape", "clear_selection", "Back (or clear the selection)", show=False, id="main.clear"),
        Binding("tab", "app.focus_next", "Next pane", show=False),   # a Screen has no focus_next action
        Binding("question_mark", "app.help", "Keys", id="app.help"),
        Binding("q", "app.quit", "Quit", id="app.quit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.current_search: SavedSearch | None = None
        self._back: list[tuple[SavedSearch, int]] = []   # the lists left for another, and their cursor
        self._alerts = 0   # quarantined replays not acknowledged (the banner and the ! key)
        self._count_store = None  # the counting thread's own read handle
        self._counted_at = None   # the index revision the counts shown were counted at (None: not counted)

    def compose(self) -> ComposeResult:
        app = self.app
        yield AlertBanner(id="alert-banner")
        saved = app.saved_counts
        known = () if saved is None else tuple(saved.get(app.expand_query(s.query)) for s in app.config.searches)
        with Horizontal(id="main-body"):
            yield SearchSidebar(app.config.searches, id="sidebar", counts=known)
            with Vertical(id="main-right"):
                yield SearchBar(id="search-bar")
                yield Static(id="list-title")
                yield MessageList(app.store, app.now, id="messages", first_page=app.first_page)
                yield PreviewPane(id="preview")
        yield KeyBar()

    def check_action(self, action: str, parameters) -> bool | None:
        if action in TYPING_KEYS and isinstance(self.focused, Input):
            return False   # typed into the search bar: "/" and "t" are text there
        if action == "alert":
            return self._alerts > 0
        return True

    @property
    def message_list(self) -> MessageList:
        return self.query_one(MessageList)

    def on_mount(self) -> None:
        self.query_one(SearchBar).display = False
        self.show_search(self.app.config.searches[0])
        self.message_list.focus()
        saved = self.app.saved_counts
        if saved is not None and saved.get(ALERTS) is not None and None not in self.query_one(SearchSidebar).known:
            # the index is as it was when these were counted: they are its counts, drawn in the first frame
            self._counted_at = saved.revision
            self._alerts_counted(saved.get(ALERTS))
        if self._counted_at is None:
            # Counts come after the first screen is drawn (only if the index changed): the inbox must not
            # wait.  Saved counts are the index's as the launcher found it: the poll checks again.
            self.call_after_refresh(self.refresh_counts)
        self.set_interval(POLL_SECONDS, self.poll_store)

    # -- searches -----------------------------------------------------------

    def show_search(self, search: SavedSearch, *, remember: bool = True) -> None:
        """Show a search's list; the list it replaces is remembered for Esc (go_back)."""
        left, cursor = self.current_search, self.message_list.cursor
        query = self.app.expand_query(search.query)
        if self.app.attempt("Search", self.message_list.show_query, query) is FAILED:
            return
        if remember and left is not None and left != search:
            self._back.append((left, cursor))
            del self._back[:-BACK_DEPTH]
        self.current_search = search
        self.update_title()

    def go_back(self) -> bool:
        """Return to the list shown before this one, its cursor where it was (False: none before)."""
        if not self._back:
            return False
        search, cursor = self._back.pop()
        self.show_search(search, remember=False)
        self.message_list.cursor = cursor
        return True

    def update_title(self) -> None:
        name = self.current_search.name if self.current_search else ""
        ml = self.message_list
        selected = f" · {len(ml.selected)} selected" if ml.selected else ""
        noun = "message" if ml.total_label == "1" else "messages"
        by_thread = " by thread" if ml.threaded else ""
        self.query_one("#list-title", Static).update(f"{name} · {ml.total_label} {noun}{by_thread}{selected}")

    def refresh_counts(self, list_query: str = "") -> None:
        """Recount the saved searches in a thread, with its own index handle: the first screen and
        the keys never wait for ten counts over a large store (with list_query: the list's too)."""
        searches = self.query_one(SearchSidebar).searches
        queries = [self.app.expand_query(s.query) for s in searches]
        self._count_in_thread(queries, list_query)

    @work(thread=True, exclusive=True, group="counts")
    def _count_in_thread(self, queries: list[str], list_query: str = "") -> None:
        # start-up: loaded when first used, after the first screen
        from pli.core.store.store import Store

        worker = get_current_worker()
        if self._count_store is None:
            try:
                self._count_store = Store.open(self.app.home)
            except Exception:  # noqa: BLE001 - no counts is better than no inbox; the list says why
                return
        try:
            revision = self._count_store.revision()
        except Exception:  # noqa: BLE001 - counted anyway, and not saved
            revision = None
        if revision is not None and revision == self._counted_at:
            return   # nothing changed in the index since the counts shown were counted
        counts: dict[str, int] = {}
        try:   # first: a security alert must not wait for the sidebar's counts (a few tags: fast)
            counts[ALERTS] = alerts = self._count_store.count(ALERTS)
        except Exception:  # noqa: BLE001 - counted again at the next poll
            alerts = None
        if alerts is not None and not worker.is_cancelled:
            self.app.call_from_thread(self._alerts_counted, alerts)
        for index, query in enumerate(queries):
            if worker.is_cancelled:
                return
            try:
                counts[query] = count = self._count_store.count(query)
            except Exception:  # noqa: BLE001 - a broken user search shows no count; choosing it says why
                continue
            self.app.call_from_thread(self._search_counted, index, count)
        if list_query and not worker.is_cancelled:
            try:
                count = self._count_store.count(list_query)
            except Exception:  # noqa: BLE001 - a busy or vanished index: try again at the next poll
                return
            self.app.call_from_thread(self._list_counted, list_query, count)
        if revision is not None and not worker.is_cancelled and alerts is not None:
            self._counted_at = revision
            self._save_counts(revision, counts)

    def _save_counts(self, revision, counts: dict[str, int]) -> None:
        """For the next start (pli.tui.saved_counts): a home that cannot take the file only loses the cache."""
        # start-up: loaded when first used, after the first screen
        from pli.tui.saved_counts import SavedCounts, save

        try:
            save(self.app.home, SavedCounts.of(revision, counts))
        except OSError as error:
            self.app.call_from_thread(self.app.log.warning, f"counts not saved for the next start: {error}")

    def _search_counted(self, index: int, count: int) -> None:
        try:
            self.query_one(SearchSidebar).set_count(index, count)
        except NoMatches:
            pass   # the count thread finished as pli quit: the screen is gone

    def _alerts_counted(self, count: int) -> None:
        """The banner stays while a replay or pad reuse is not acknowledged; one that arrives while pli
        is open is also notified wherever the user is."""
        try:
            banner = self.query_one(AlertBanner)
        except NoMatches:
            return   # pli is quitting
        if count > banner.count and banner.count_known:
            self.app.notify("SECURITY ALERT: a message reuses one-time pad bytes (replay or pad reuse); "
                            "it is in quarantine. ! on the main screen shows it.",
                            title="SECURITY ALERT", severity="error", timeout=30)
        banner.count_known = True
        banner.show_count(count)
        self._alerts = count
        self.refresh_bindings()

    def _list_counted(self, query: str, count: int) -> None:
        """The poll's count of the list's query: when it changed, the list reloads with it."""
        ml = self.message_list
        if query != ml.query_text or count == ml.matches or ml.counting:
            return
        if self.app.attempt("Refresh", ml.reload, count) is FAILED:
            return
        ml.post_message(MessageList.Highlighted(ml.current))
        self.update_title()

    def on_unmount(self) -> None:
        if self._count_store is not None:
            self._count_store.close()

    def poll_store(self) -> None:
        """New mail (or another client's tag changes) shows up without a key press.  Every count,
        the list's too, runs in the counting thread: a third of a second at 1,000,000 messages."""
        if self.is_current:
            self.refresh_counts(self.message_list.query_text)

    @on(SearchSidebar.Chosen)
    def on_search_chosen(self, event: SearchSidebar.Chosen) -> None:
        self.show_search(event.search)
        self.message_list.focus()

    def action_search(self) -> None:
        bar = self.query_one(SearchBar)
        bar.display = True
        bar.value = ""
        # Focus now, not after the next refresh: "/critical" typed fast (or pasted over SSH) must
        # land in the bar, not trigger the list's own keys (c = compose).
        self.set_focus(bar)

    @on(SearchBar.Submitted)
    def on_search_submitted(self, event: SearchBar.Submitted) -> None:
        """A search shows its result; an empty one goes back to the list before (as Esc does)."""
        text = event.value.strip()
        bar = self.query_one(SearchBar)
        if text:
            self.show_search(SavedSearch(f"Search: {text}", text))
        else:
            self.go_back()
        bar.display = False
        self.message_list.focus()

    @on(SearchBar.Cancelled)
    def on_search_cancelled(self) -> None:
        self.query_one(SearchBar).display = False
        self.message_list.focus()

    # -- list and preview ---------------------------------------------------

    @on(MessageList.Highlighted)
    def on_highlighted(self, event: MessageList.Highlighted) -> None:
        self.update_title()
        summary = event.summary
        self.query_one(PreviewPane).show_soon(message_of(summary) if summary is not None else None)

    @on(MessageList.Opened)
    def on_opened(self, event: MessageList.Opened) -> None:
        """A message, or a thread: several messages open the thread view, one opens as a message."""
        summary = event.summary
        if getattr(summary, "count", 1) > 1:
            self.app.open_thread(summary)
        else:
            self.app.open_message(message_of(summary))

    def action_toggle_threads(self) -> None:
        """The same search as one row per thread, or per message (neomutt's Esc V, aerc's T)."""
        ml = self.message_list
        if self.app.attempt("Threads", ml.show_rows, MESSAGES if ml.threaded else THREADS) is FAILED:
            return
        self.update_title()

    # -- triage -------------------------------------------------------------

    def triage(self, label: str, add=frozenset(), remove=frozenset(), targets=None) -> None:
        ml = self.message_list
        targets = ml.targets() if targets is None else targets
        if not targets:
            self.app.bell()
            return
        action = plan(label.format(n=len(targets), s="" if len(targets) == 1 else "s"),
                      targets, frozenset(add), frozenset(remove))
        if self.app.attempt("Triage", apply_changes, self.app.store, action.changes) is FAILED:
            return
        self.app.undo.push(action)
        self.app.trace_triage(action)
        ml.selected.clear()
        self.after_tags_changed()
        self.notify(action.label + " (u to undo)", timeout=3)

    def after_tags_changed(self) -> None:
        if self.app.attempt("Refresh", self.message_list.reload) is FAILED:
            return
        self.message_list.post_message(MessageList.Highlighted(self.message_list.current))
        self.update_title()
        self.refresh_counts()

    def action_archive(self) -> None:
        self.triage("archived {n} message{s}", remove={vocab.INBOX})

    def action_alert(self) -> None:
        """The alerted messages, and acknowledging them (the banner goes; they stay in quarantine)."""
        # start-up: loaded when first used, after the first screen
        from pli.tui.screens.alert import AlertScreen

        summaries = self.app.attempt("Alert", self.app.store.window, ALERTS, 0, 50)
        if summaries is FAILED or not summaries:
            return

        def answered(acknowledged: bool | None) -> None:
            if not acknowledged:
                return
            ids = [s.message_id for s in summaries]
            if self.app.attempt("Alert", self.app.store.tag, ids, (ACKNOWLEDGED,)) is FAILED:
                return
            self.notify(f"acknowledged {len(ids)} alert{'s' if len(ids) != 1 else ''}; "
                        "the messages stay in quarantine (reason:replay)", timeout=5)
            self.refresh_counts()

        self.app.push_screen(AlertScreen(summaries, self.app.now), answered)

    def action_delete(self) -> None:
        """To the trash (the Trash search; `u` undoes): notmuch's `deleted` tag, which searches leave
        out, and out of the inbox.  Nothing is erased: a health record is kept.  In the trash, d
        puts the messages back in the inbox."""
        targets = self.message_list.targets()
        if targets and all(vocab.DELETED in t.tags for t in targets):
            self.triage("restored {n} message{s} to the inbox", add={vocab.INBOX}, remove={vocab.DELETED})
        else:
            self.triage("moved {n} message{s} to the trash", add={vocab.DELETED}, remove={vocab.INBOX})

    def action_toggle_read(self) -> None:
        targets = self.message_list.targets()
        if any(vocab.UNREAD in t.tags for t in targets):
            self.triage("marked {n} message{s} read", remove={vocab.UNREAD})
        else:
            self.triage("marked {n} message{s} unread", add={vocab.UNREAD})

    def action_toggle_flag(self) -> None:
        targets = self.message_list.targets()
        if all(vocab.FLAGGED in t.tags for t in targets):
            self.triage("unflagged {n} message{s}", remove={vocab.FLAGGED})
        else:
            self.triage("flagged {n} message{s}", add={vocab.FLAGGED})

    @in_line
    def action_tag(self) -> None:
        self._ask_tags("Add tags", lambda tags: self.triage(f"tagged {{n}} message{{s}} {' '.join(tags)}",
                                                             add=set(tags)))

    @in_line
    def action_untag(self) -> None:
        self._ask_tags("Remove tags", lambda tags: self.triage(
            f"untagged {{n}} message{{s}} {' '.join(tags)}", remove=set(tags)))

    def _ask_tags(self, title: str, then) -> None:
        # start-up: loaded when first used, after the first screen
        from pli.tui.screens.prompt import PromptScreen
        from pli.tui.suggesters import LastWordSuggester

        if not self.message_list.targets():
            self.app.bell()
            return

        def done(answer: str | None) -> None:
            tags = (answer or "").replace(",", " ").split()
            if tags:
                then(tags)

        suggester = LastWordSuggester(self.app.store.all_tags)
        self.app.push_screen(PromptScreen(f"{title} (space-separated, → completes)", suggester=suggester), done)

    def action_undo(self) -> None:
        action = self.app.undo.pop()
        if action is None:
            self.notify("Nothing to undo", timeout=2)
            return
        if self.app.attempt("Undo", apply_changes, self.app.store, action.inverse()) is FAILED:
            self.app.undo.push(action)  # still undoable once the store is back
            return
        self.after_tags_changed()
        self.notify(f"undone: {action.label}", timeout=3)

    def action_clear_selection(self) -> None:
        """Esc: clear the selection; with none, back to the list shown before (a search's result
        returns to the inbox)."""
        if self.message_list.selected:
            self.message_list.clear_selection()
            self.update_title()
        elif not self.go_back():
            self.app.bell()

    # -- other views --------------------------------------------------------

    def _current_or_bell(self):
        """The message under the cursor (a thread's newest match), or a bell when there is none."""
        summary = self.message_list.current
        if summary is None:
            self.app.bell()
            return None
        return message_of(summary)

    def action_lab(self) -> None:
        if summary := self._current_or_bell():
            self.app.open_lab(summary)

    def action_patient(self) -> None:
        if summary := self._current_or_bell():
            self.app.open_patient(summary)

    def action_export(self) -> None:
        self.app.export_reports(self.message_list.targets())

    @in_line
    def action_reply(self) -> None:
        if summary := self._current_or_bell():
            self.app.compose_message(reply_to=summary)

    @in_line
    def action_reply_all(self) -> None:
        if summary := self._current_or_bell():
            self.app.compose_message(reply_to=summary, everyone=True)

    @in_line
    def action_forward(self) -> None:
        if summary := self._current_or_bell():
            self.app.compose_message(forward=summary)

    @in_line
    def action_compose(self) -> None:
        self.app.compose_message()

    def action_drafts(self) -> None:
        self.app.show_drafts()

    def action_conversation(self) -> None:
        """The short notes exchanged with the highlighted message's correspondent."""
        # start-up: loaded when first used, after the first screen
        from pli.tui.screens.conversation import conversation_about

        if summary := self._current_or_bell():
            conversation_about(self.app, summary)
