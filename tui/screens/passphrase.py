"""Unlocking the keyring: from PLI_PASSPHRASE_FILE when set, else a modal password prompt."""
from __future__ import annotations

import os

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from pli.core.errors import PliError
from pli.core.home import Home


def _unlock(home: Home, passphrase: str):
    # start-up: loaded when first used, after the first screen
    from pli.core.crypto.keyring import Keyring
    from pli.core.directory.resolve import with_directory

    return with_directory(Keyring.unlock(home, passphrase))


def unlock_from_env(home: Home):
    """The keyring unlocked with PLI_PASSPHRASE_FILE's passphrase, or None when the variable is unset."""
    # start-up: loaded when first used, after the first screen
    from pli.core.crypto.keyring import Keyring, NoKeyring
    from pli.core.crypto.passphrase import PASSPHRASE_ENV, read_passphrase

    if not Keyring.exists(home):
        raise NoKeyring.at(home)
    if not os.environ.get(PASSPHRASE_ENV):
        return None
    return _unlock(home, read_passphrase())


class PassphraseScreen(ModalScreen):
    """Asks for the keyring's passphrase; a wrong one says so and asks again."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, home: Home) -> None:
        super().__init__()
        self.home = home

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label("Passphrase of your keyring (needed to seal and sign)")
            yield Input(password=True, id="passphrase")
            yield Static("", id="passphrase-error", classes="error-line")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            keyring = _unlock(self.home, event.value)
        except PliError as error:
            event.input.value = ""
            self.query_one("#passphrase-error", Static).update(str(error))
            return
        self.dismiss(keyring)

    def action_cancel(self) -> None:
        self.dismiss(None)
