"""Compose: recipients completed from the keyring, the sealing mode per recipient shown before sending."""
from __future__ import annotations

import os
import shlex
import subprocess
import tempfile
from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Input, Static, TextArea

from pli.core.errors import PliError
from pli.tui.drafts import Draft, DraftError, build_inner, forward_draft, reply_draft, split_addresses
from pli.tui.suggesters import LastWordSuggester
from pli.tui.widgets.key_bar import KeyBar


def draft_for(app, reply_to=None, forward=None) -> Draft:
    if reply_to is not None:
        return reply_draft(reply_to, app.read_message(reply_to))
    if forward is not None:
        return forward_draft(forward, app.read_message(forward))
    return Draft()


def modes_text(keyring, addresses: list[str]) -> Text:
    """One line per recipient: how it will be sealed, or why it cannot be."""
    from pli.tui.correspondents import mode_for

    text = Text()
    for address in addresses:
        mode = mode_for(keyring, address)
        if mode is None:
            text.append(f"✗ {address}: unknown address (not in your keyring or directory)\n", style="bold red")
        elif mode == "otp":
            text.append(f"● {address}: one-time pad (shared pad)\n", style="green")
        else:
            text.append(f"○ {address}: stream (ChaCha20; no pad shared)\n")
    return text


class ComposeScreen(Screen):
    BINDINGS = [
        # priority: the text fields have their own ctrl keys (ctrl+e = end of line)
        Binding("ctrl+s", "send", "Seal & send", id="compose.send", priority=True),
        Binding("ctrl+e", "editor", "$EDITOR", id="compose.editor", priority=True),
        Binding("ctrl+o", "attach", "Attach", id="compose.attach", priority=True),
        Binding("escape", "cancel", "Discard", id="compose.cancel"),
    ]

    def __init__(self, draft: Draft) -> None:
        super().__init__()
        self.draft = draft

    def compose(self) -> ComposeResult:
        from pli.tui.correspondents import known_addresses

        keyring = self.app.keyring
        with Vertical(id="compose-form"):
            yield Input(", ".join(self.draft.to), placeholder="To (→ completes from your keyring)",
                        id="compose-to", suggester=LastWordSuggester(lambda: known_addresses(keyring)))
            yield Input(self.draft.subject, placeholder="Subject (sealed: travels inside the envelope)",
                        id="compose-subject")
            yield Static(id="compose-modes")
            yield TextArea(self.draft.body, id="compose-body", soft_wrap=True, show_line_numbers=False)
            yield Static(id="compose-attachments")
        yield KeyBar()

    def on_mount(self) -> None:
        self.query_one("#compose-to" if not self.draft.to else "#compose-body").focus()
        self.update_modes()
        self.update_attachments()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "compose-to":
            self.update_modes()

    def update_modes(self) -> None:
        addresses = split_addresses(self.query_one("#compose-to", Input).value)
        self.query_one("#compose-modes", Static).update(modes_text(self.app.keyring, addresses))

    def update_attachments(self) -> None:
        names = ", ".join(p.name for p in self.draft.attachments)
        self.query_one("#compose-attachments", Static).update(f"Attachments: {names}" if names else "")

    def current_draft(self) -> Draft:
        self.draft.to = split_addresses(self.query_one("#compose-to", Input).value)
        self.draft.subject = self.query_one("#compose-subject", Input).value
        self.draft.body = self.query_one("#compose-body", TextArea).text
        return self.draft

    def action_send(self) -> None:
        from pli.tui.correspondents import mode_for, own_address, send_sealed

        draft = self.current_draft()
        keyring = self.app.keyring
        try:
            unknown = [a for a in draft.to if mode_for(keyring, a) is None]
            if unknown:
                raise DraftError(f"unknown address {', '.join(unknown)}: import their key or check the spelling")
            inner = build_inner(draft, own_address(keyring), self.app.now)
            where = send_sealed(self.app.home, keyring, inner, draft.to)
        except PliError as error:
            self.notify(str(error), title="Not sent", severity="error", timeout=8)
            return
        self.app.notify(f"sealed for {len(draft.to)} recipient(s); {where}", title="Sent")
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)

    def action_attach(self) -> None:
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
