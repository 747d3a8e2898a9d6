"""The security alert banner: quarantined replays and pad reuses, shown until the user acknowledges them.

A message whose pad bytes were already used by another one is a replay, or a
sender who reused pad bytes: the import quarantines it (tag `replay`) and
`pli new` exits with the SECURITY ALERT code.  The TUI keeps a red line above
the list for as long as one of them is not acknowledged (tag `acknowledged`,
kept in the store: the banner comes back at the next start until then).
"""
from __future__ import annotations

from textual.widgets import Static

from pli.core import vocab

#: The messages the banner is about.
ALERTS = "tag:quarantine and tag:replay and not tag:acknowledged"
ACKNOWLEDGED = vocab.ACKNOWLEDGED


def alert_text(count: int) -> str:
    which = "1 message uses" if count == 1 else f"{count:,} messages use"
    return (f"‼ SECURITY ALERT: {which} one-time pad bytes already used by another message: a replay, "
            "or the sender reused pad bytes. Quarantined, not trusted. Press ! to see and acknowledge.")


class AlertBanner(Static):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self.count = 0
        self.count_known = False   # counted once: a later rise is news (notified)
        self.display = False

    def show_count(self, count: int) -> None:
        self.count = count
        self.display = count > 0
        if count:
            self.update(alert_text(count))
