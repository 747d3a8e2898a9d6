"""The message view: verification badge, protected headers, body and attachments; for an MSSanté mail whose
sender asked a read receipt that needs the user's consent, the question (y / n)."""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from pli.core import vocab
from pli.core.errors import PliError
from pli.core.mail.read import Attachment, ClearMessage, attachment_bytes
from pli.tui.attachments import default_save_path, open_with_viewer, save_attachment
from pli.tui.in_line import in_line
from pli.tui.widgets.image_preview import ImagePreview, half_block_rows
from pli.tui.widgets.key_bar import KeyBar
from pli.tui.widgets.preview_pane import headers_text
from pli.tui.widgets.receipts_line import ReceiptsLine
from pli.tui.widgets.verification_badge import VerificationBadge


def size_text(size: int) -> str:
    for unit in ("B", "KB", "MB"):
        if size < 1024 or unit == "MB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


class AttachmentList(OptionList):
    """The attachments of the open message; its keys act on the highlighted one."""

    BINDINGS = [
        Binding("s", "screen.save", "Save", id="attachment.save"),
        Binding("o", "screen.open_viewer", "Open", id="attachment.open"),
        Binding("i", "screen.image", "Image preview", id="attachment.image"),
    ]

    def __init__(self, attachments: tuple[Attachment, ...], *, id: str | None = None) -> None:
        super().__init__(*(Option(Text(f"▪ {a.filename}  {a.content_type}  {size_text(a.size)}"))
                           for a in attachments), id=id)
        self.attachments = attachments


class ImageScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q,i", "dismiss", "Close")]

    def __init__(self, data: bytes, title: str) -> None:
        super().__init__()
        self.data = data
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog image"):
            yield Static(self.title_text, classes="dialog-title")
            yield ImagePreview(self.data, id="image")

    def action_dismiss(self) -> None:
        self.dismiss(None)


class MessageScreen(Screen):
    BINDINGS = [
        Binding("escape,q", "app.pop_screen", "Close", id="message.close"),
        Binding("L", "lab", "Lab view", id="message.lab"),
        # priority: compose opens when the key arrives and takes the keys typed after it (PliApp.hold_keys)
        Binding("r", "reply", "Reply", id="message.reply", priority=True),
        Binding("R", "reply_all", "Reply all", id="message.reply_all", priority=True),
        Binding("f", "forward", "Forward", id="message.forward", priority=True),
        # Tab, as Shift+Tab, moves between the body and the attachments, whose keys (s, o, i) then show
        Binding("tab", "next_pane", "Attachments", id="message.next_pane"),
        # offered only while an MSSanté mail waits for the user's consent to its read receipt (RFC 8098 §2.1)
        Binding("y", "mdn_answer(True)", "Send read receipt", id="message.mdn_send"),
        Binding("n", "mdn_answer(False)", "No read receipt", id="message.mdn_decline"),
    ]

    def __init__(self, summary, clear: ClearMessage) -> None:
        super().__init__()
        self.summary = summary
        self.clear = clear
        self.consent_to = ""          # the address asking a read receipt that waits for the user's yes or no

    def compose(self) -> ComposeResult:
        yield VerificationBadge(id="badge")
        yield ReceiptsLine(id="receipts")
        yield Static("", markup=False, id="mdn-consent")
        with VerticalScroll(id="message-body"):
            yield Static(headers_text(self.clear), id="message-headers")
            yield Static(self.clear.body, markup=False, id="message-text")
            if self.clear.mssante is not None and self.clear.mssante.text:
                # the CDA documents' narrative, as the XDM package carries it
                yield Static(self.clear.mssante.text, markup=False, id="message-documents")
        if self.clear.attachments:
            yield AttachmentList(self.clear.attachments, id="attachments")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one(VerificationBadge).show(self.clear.verification)
        self.query_one(ReceiptsLine).show_for(self.app.home, self.summary, self.clear.message)
        self._ask_consent()
        self.query_one("#message-body").focus()

    def _ask_consent(self) -> None:
        """The one-line question of an MSSanté read receipt that needs the user's consent (tag mdn-confirm)."""
        question = self.query_one("#mdn-consent", Static)
        found = ""
        if vocab.MDN_CONFIRM in self.summary.tags:
            # start-up: loaded when first used, after the first screen
            from pli.core.mail.mssante_mdn import consent_asked

            found = self.app.attempt("Read receipt", consent_asked, self.app.home, self.summary.message_id)
        self.consent_to = found if isinstance(found, str) else ""
        question.update(f"Send a read receipt to {self.consent_to}? (y)es / (n)o" if self.consent_to else "")
        question.display = bool(self.consent_to)
        self.refresh_bindings()

    def action_mdn_answer(self, send: bool) -> None:
        if not self.consent_to:
            return
        self.consent_to = ""                 # one answer: a second key press while it goes is not a second MDN
        self.refresh_bindings()
        home, message_id = self.app.home, self.summary.message_id
        # start-up: loaded when first used, after the first screen
        from pli.core.mail.mssante_mdn import answer_consent

        def answered(keyring) -> None:
            def work() -> None:
                try:
                    said = answer_consent(home, message_id, send, keyring)
                except PliError as error:
                    self.app.call_from_thread(self._answered, f"read receipt: {error}", "error")
                    return
                self.app.call_from_thread(self._answered, said, "information")

            self.run_worker(work, thread=True, group="mdn-consent", exit_on_error=False)

        self.app.unlock(answered)

    def _answered(self, said: str, severity: str) -> None:
        self.app.notify(said, title="Read receipt", severity=severity, timeout=8 if severity == "error" else 5)
        if severity == "error":
            self._ask_consent()              # nothing was done: the question stays
            return
        self.query_one("#mdn-consent", Static).display = False

    def check_action(self, action: str, parameters) -> bool | None:
        if action == "next_pane":
            return bool(self.clear.attachments)   # nothing to reach: the key is not offered
        if action == "mdn_answer":
            return bool(self.consent_to)
        return True

    def action_next_pane(self) -> None:
        self.focus_next()

    def _highlighted(self) -> Attachment | None:
        found = self.query(AttachmentList)
        if not found or found.first().highlighted is None:
            self.app.bell()
            return None
        return self.clear.attachments[found.first().highlighted]

    def _data(self, attachment: Attachment) -> bytes:
        return attachment_bytes(self.clear.message, attachment.index)

    def action_save(self) -> None:
        # start-up: loaded when first used, after the first screen
        from pli.tui.screens.prompt import PromptScreen

        attachment = self._highlighted()
        if attachment is None:
            return

        def save(answer: str | None) -> None:
            if not answer:
                return
            from pathlib import Path

            try:
                path = save_attachment(self._data(attachment), Path(answer))
            except PliError as error:
                self.notify(str(error), title="Save", severity="error")
                return
            self.notify(f"saved {path}", title="Save")

        self.app.push_screen(PromptScreen("Save attachment to", str(default_save_path(attachment.filename))),
                             save)

    def action_open_viewer(self) -> None:
        attachment = self._highlighted()
        if attachment is None:
            return
        try:
            open_with_viewer(self._data(attachment), attachment.filename)
        except PliError as error:
            self.notify(str(error), title="Open", severity="warning")

    def action_image(self) -> None:
        attachment = self._highlighted()
        if attachment is None:
            return
        data = self._data(attachment)
        try:
            half_block_rows(data, 2, 2)  # decode once now, so a bad image is a message, not a broken screen
        except PliError as error:
            self.notify(str(error), title="Image", severity="warning")
            return
        self.app.push_screen(ImageScreen(data, attachment.filename))

    def action_lab(self) -> None:
        self.app.open_lab(self.summary)

    @in_line
    def action_reply(self) -> None:
        self.app.compose_message(reply_to=self.summary)

    @in_line
    def action_reply_all(self) -> None:
        self.app.compose_message(reply_to=self.summary, everyone=True)

    @in_line
    def action_forward(self) -> None:
        self.app.compose_message(forward=self.summary)
