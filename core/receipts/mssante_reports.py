"""The MDNs and DSNs that came back about an MSSanté mail pli sent, recorded on its Sent copy.

    added = record(layout, sent_id, notification, when)   # False: this report was already recorded
    for report in reports_on(layout, sent_id):             # oldest first, for the receipts line and `pli receipts`
        report.summary()        # "MSSanté: displayed by dr.b@… 3 Dec 14:02", "MSSanté: delivery failed for …"

They sit beside pli's signed receipts (received.py, properties pli.receipt.<kind>)
in a property of their own, one value per report:

    pli.mss-report = "<kind> <action> <failed 0|1> <time> <recipient> <status|-> <diagnostic>"

A property, not a signed receipt: an MDN or a DSN is an ordinary mail anyone in
the trust space can write, so it is shown as what it says, with "MSSanté:"
before it, never as a pli receipt (never the tags delivered / read).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from pli.core.receipts.message import TIME_FORMAT
from pli.core.receipts.notifications import Notification
from pli.core.store import database
from pli.core.store.store import MessageNotFound

PROPERTY = "pli.mss-report"
_NONE = "-"


@dataclass(frozen=True)
class ReportRecord:
    kind: str                    # "mdn" | "dsn"
    action: str                  # MDN: processed, displayed, deleted...; DSN: failed, delayed, delivered...
    failed: bool
    time: datetime               # when the report was written (its Date), UTC
    recipient: str
    status: str = ""             # "5.1.1", or the MDN's error code
    diagnostic: str = ""

    def summary(self) -> str:
        """One line for the receipts line: 'MSSanté: displayed by dr.b@x 3 Dec 14:02', 'MSSanté: delivery failed
        for x@y 3 Dec 14:02: 5.1.1 User unknown'."""
        when = f"{self.time.day} {self.time.strftime('%b %H:%M')}"
        if self.kind == "mdn":
            what = f"{self.action}{'/error' if self.failed else ''} by {self.recipient or '?'} {when}"
        else:
            what = f"delivery {self.action} for {self.recipient or '?'} {when}"
        detail = " ".join(part for part in (self.status, self.diagnostic) if part)
        return f"MSSanté: {what}{': ' + detail if detail else ''}"

    def value(self) -> str:
        return " ".join((self.kind, self.action, "1" if self.failed else "0", self.time.strftime(TIME_FORMAT),
                         self.recipient or _NONE, self.status or _NONE, self.diagnostic)).rstrip()

    @classmethod
    def parse(cls, value: str) -> "ReportRecord | None":
        words = value.split(" ", 6)
        if len(words) < 6:
            return None
        try:
            when = datetime.strptime(words[3], TIME_FORMAT).replace(tzinfo=timezone.utc)
        except ValueError:
            return None
        return cls(words[0], words[1], words[2] == "1", when, "" if words[4] == _NONE else words[4],
                   "" if words[5] == _NONE else words[5], words[6] if len(words) > 6 else "")

    def same_report(self, other: "ReportRecord") -> bool:
        """A second copy of one report (fetched twice, forwarded) is recorded once."""
        return (self.kind, self.action, self.recipient, self.status) == (
            other.kind, other.action, other.recipient, other.status)


def of_notification(notification: Notification, when: datetime) -> ReportRecord:
    return ReportRecord(notification.kind, notification.action.replace(" ", "-") or "?", notification.failed,
                        when.astimezone(timezone.utc), notification.recipient.replace(" ", ""),
                        notification.status.replace(" ", ""), notification.diagnostic)


def record(layout, sent_id: str, notification: Notification, when: datetime) -> bool:
    """Record one notification on the Sent copy `sent_id`; False when the same report was recorded already.
    MessageNotFound when the Sent copy left the store."""
    report = of_notification(notification, when)
    with database.open_write(layout) as db, db.atomic():
        try:
            sent = db.find(sent_id)
        except LookupError:
            raise MessageNotFound(f"the sent message {sent_id} left the store") from None
        known = [ReportRecord.parse(value) for _, value in sent.properties.getall(PROPERTY, exact=True)]
        if any(old is not None and old.same_report(report) for old in known):
            return False
        sent.properties.add(PROPERTY, report.value())
    return True


def reports_on(layout, message_id: str) -> list[ReportRecord]:
    """The MDNs and DSNs recorded on a sent message, oldest first."""
    found = [ReportRecord.parse(value) for _, value in database.properties_of(layout, message_id, PROPERTY, exact=True)]
    return sorted((r for r in found if r is not None), key=lambda r: (r.time, r.kind, r.recipient))
