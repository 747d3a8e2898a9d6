"""The receipts line of a sent message: who acknowledged delivery and reading, and when."""
from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from pli.core import vocab

KIND_WORDS = {"delivery": "delivered to", "read": "read by"}


def receipts_text(acknowledgements, asked: bool) -> Text:
    """"Receipts: delivered to bob@… 08:15 · read by bob@… 09:02" (UTC), or that none came yet."""
    text = Text("Receipts: ", style="bold")
    if not acknowledgements:
        text.append("asked for, none received yet" if asked else "none")
        return text
    parts = [f"{KIND_WORDS.get(a.kind, a.kind)} {who(a)} {a.time.strftime('%Y-%m-%d %H:%M UTC')}"
             for a in acknowledgements]
    text.append(" · ".join(parts))
    return text


def who(ack) -> str:
    """"bob@…", or "tilleuls@… (bob@…)" when a member answered for a group practice."""
    return f"{ack.recipient} ({ack.address})" if ack.recipient else ack.address


class ReceiptsLine(Static):
    """Shown on sent messages only; empty (and hidden) on the rest."""

    def show_for(self, home, summary, clear_message) -> None:
        if vocab.SENT not in summary.tags:
            self.display = False
            return
        # start-up: loaded when first used, after the first screen
        from pli.core.receipts import REQUEST_HEADER, acknowledgements
        from pli.core.store.layout import Layout

        try:
            acks = acknowledgements(Layout(home), summary.message_id)
        except Exception:  # noqa: BLE001 - the line is a convenience: never break opening a message
            acks = []
        asked = clear_message.get(REQUEST_HEADER) is not None
        if not acks and not asked:
            self.display = False
            return
        self.update(receipts_text(acks, asked))
