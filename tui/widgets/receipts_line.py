"""The receipts line of a sent message: who acknowledged delivery and reading, and when; for MSSanté mail, the MDNs
and DSNs that came back ("MSSanté: displayed by …", "MSSanté: delivery failed for …")."""
from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from pli.core import vocab

KIND_WORDS = {"delivery": "delivered to", "read": "read by"}
#: What asks for an MDN in an MSSanté mail (RFC 8098), as Pli-Receipt-Request asks for pli's receipts.
MDN_HEADER = "Disposition-Notification-To"


def receipts_text(acknowledgements, asked: bool, reports=()) -> Text:
    """"Receipts: delivered to bob@… 08:15 · read by bob@… 09:02" (UTC), then the MSSanté reports' summaries,
    or that none came yet."""
    text = Text("Receipts: ", style="bold")
    if not acknowledgements and not reports:
        text.append("asked for, none received yet" if asked else "none")
        return text
    parts = [f"{KIND_WORDS.get(a.kind, a.kind)} {who(a)} {a.time.strftime('%Y-%m-%d %H:%M UTC')}"
             for a in acknowledgements]
    for index, part in enumerate(parts):
        text.append(f"{' · ' if index else ''}{part}")
    for index, report in enumerate(reports):
        text.append(" · " if parts or index else "")
        text.append(report.summary(), style="bold red" if report.failed else "")
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
        from pli.core.receipts.mssante_reports import reports_on
        from pli.core.store.layout import Layout

        try:
            acks = acknowledgements(Layout(home), summary.message_id)
            reports = reports_on(Layout(home), summary.message_id) if vocab.MSSANTE in summary.tags else []
        except Exception:  # noqa: BLE001 - the line is a convenience: never break opening a message
            acks, reports = [], []
        asked = clear_message.get(REQUEST_HEADER) is not None or clear_message.get(MDN_HEADER) is not None
        if not acks and not reports and not asked:
            self.display = False
            return
        self.update(receipts_text(acks, asked, reports))
