"""The preview pane under the message list: the highlighted message's badge, headers and first lines."""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from pli.core.errors import PliError
from pli.core.mail.read import ClearMessage
from pli.tui.widgets.verification_badge import VerificationBadge

PREVIEW_LINES = 40
PREVIEW_DELAY = 0.12  # seconds the cursor rests before the preview reads the message (j held down)


def headers_text(clear: ClearMessage) -> Text:
    text = Text()
    for name, value in clear.headers:
        label = "Patient" if name == "X-Pli-Patient" else name
        text.append(f"{label}: ", style="bold")
        text.append(f"{value}\n")
    if clear.attachments:
        names = ", ".join(a.filename for a in clear.attachments)
        text.append("Attachments: ", style="bold")
        text.append(names + "\n")
    if clear.mssante is not None:
        text.append_text(mssante_text(clear.mssante))
    return text


def mssante_text(mss) -> Text:
    """An MSSanté mail's X-MSS-* headers, the documents of its XDM package, and what could not be read."""
    text = Text()
    for name, value in mss.headers.all:
        text.append(f"{name}: ", style="bold")
        text.append(f"{value}\n")
    for document in mss.documents:
        text.append("Document: ", style="bold")
        details = [document.type_display or document.type_code, document.mime_type,
                   f"patient {document.patient_name} {document.patient}".rstrip() if document.patient else "",
                   "by " + ", ".join(document.authors) if document.authors else ""]
        text.append(" · ".join([document.title or document.path] + [d for d in details if d]) + "\n")
        if document.problem:
            text.append(f"  ⚠ {document.problem}\n", style="bold")
    for problem in mss.problems:
        if not any(problem == d.problem for d in mss.documents):
            text.append(f"⚠ {problem}\n", style="bold")
    return text


class PreviewPane(VerticalScroll, can_focus=False):
    _timer = None
    _shown_once = False

    def compose(self) -> ComposeResult:
        yield VerificationBadge(id="preview-badge")
        yield Static(id="preview-headers")
        yield Static(id="preview-body", markup=False)

    def show_message(self, clear: ClearMessage) -> None:
        self.query_one(VerificationBadge).show(clear.verification)
        self.query_one("#preview-headers", Static).update(headers_text(clear))
        lines = clear.body.splitlines()[:PREVIEW_LINES]
        self.query_one("#preview-body", Static).update("\n".join(lines))
        self.scroll_home(animate=False)

    def show_soon(self, summary, nothing: str = "No messages here.") -> None:
        """Preview `summary` once the cursor rests on it (PREVIEW_DELAY); None shows `nothing`.
        The first one is read as soon as the first frame is drawn: no key is held down yet, and
        the screen is complete (stable) that much sooner."""
        if self._timer is not None:
            self._timer.stop()
        if summary is None:
            self.show_nothing(nothing)
            return
        if not self._shown_once:
            self._shown_once = True
            first = getattr(self.app, "first_preview", lambda _: None)(summary)
            if first is not None:   # read by the launcher while Textual loaded: in the first frame
                self.show_message(first)
            else:
                self.call_after_refresh(self.show_summary, summary)
            return
        self._timer = self.set_timer(PREVIEW_DELAY, lambda: self.show_summary(summary))

    def show_summary(self, summary) -> None:
        """Read the message (the app's read_message) and show it, or why it cannot be shown."""
        try:
            self.show_message(self.app.read_message(summary))
        except PliError as error:
            self.show_nothing(str(error))

    def show_nothing(self, note: str = "") -> None:
        self.query_one(VerificationBadge).update("")
        self.query_one(VerificationBadge).set_classes("")
        self.query_one("#preview-headers", Static).update(note)
        self.query_one("#preview-body", Static).update("")
