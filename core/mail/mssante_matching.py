"""The MDNs and DSNs that come back about MSSanté mail sent, matched with its Sent copy and recorded there.

    report = record_reports(home, keyring)          # each fetched report tagged report-due
    print(report.render())                          # how many recorded; those about no mail sent, said once
"""
from __future__ import annotations

import email.utils
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.parser import BytesHeaderParser
from email.policy import compat32

from pli.core import vocab as v
from pli.core.audit import home_journal
from pli.core.home import Home
from pli.core.mail.mssante_admission import as_received
from pli.core.mail.mssante_send import trace_step
from pli.core.plural import counted
from pli.core.receipts.mssante import match_reports, named_ids, normal_id
from pli.core.receipts.mssante_reports import record
from pli.core.receipts.notifications import MalformedNotification
from pli.core.store.store import MessageNotFound, Store
from pli.core.xdm.received import TIER

@dataclass
class ReportsReport:
    matched: int = 0                                        # notifications recorded on a Sent copy
    unmatched: list[str] = field(default_factory=list)      # one line per report about no mail sent (said once)
    failed: list[str] = field(default_factory=list)         # left report-due for the next run

    def render(self) -> str:
        lines = [f"{counted(self.matched, 'MSSanté report')} recorded on sent mail"] if self.matched else []
        return "\n".join(lines + self.unmatched + self.failed)


def record_reports(home: Home, keyring=None) -> ReportsReport:
    """Match each MDN and DSN fetched from an MSSanté account (tag report-due) with the Sent copy of the mail it
    is about (receipts.mssante.match_reports: Original-Message-ID, a DSN's returned headers or its
    Original-Envelope-Id, else the report's In-Reply-To/References),
    record it there (receipts.mssante_reports: the receipts line, `pli receipts show`) and trace
    "receipt-received" on the sent mail.  A matched report leaves the inbox (tag report); one about no mail sent,
    or unreadable, stays in the inbox tagged report-unmatched and is said once, here."""
    report = ReportsReport()
    journal = home_journal(home, keyring) if keyring is not None else None
    with Store.open(home, writable=True) as store:
        for message_id in store.message_ids(f"tag:{v.REPORT_DUE}"):
            raw = as_received(store, message_id)
            try:
                matches = match_reports(raw, [i for i in named_ids(raw) if _sent_mssante(store, i)])
            except MalformedNotification as error:
                store.tag([message_id], add=(v.REPORT_UNMATCHED,), remove=(v.REPORT_DUE,))
                report.unmatched.append(f"unreadable MSSanté report kept in the inbox (id:{message_id}): "
                                        f"{error.message}")
                continue
            try:
                recorded = _record_matches(store, journal, matches, _written(raw))
            except MessageNotFound as error:
                report.failed.append(f"MSSanté report id:{message_id} not recorded yet: {error.message}")
                continue
            if not any(match.original_message_id for match in matches):
                store.tag([message_id], add=(v.REPORT_UNMATCHED,), remove=(v.REPORT_DUE,))
                about = ", ".join(m.notification.original_message_id for m in matches
                                  if m.notification.original_message_id) or "no Message-ID"
                report.unmatched.append(f"an MSSanté report about mail not in Sent ({about}) is kept in the inbox: "
                                        f"id:{message_id}")
                continue
            store.tag([message_id], remove=(v.REPORT_DUE, v.INBOX, v.UNREAD))
            report.matched += recorded
    return report


def _sent_mssante(store: Store, message_id: str) -> bool:
    try:
        tags = store.summary(message_id).tags
    except MessageNotFound:
        return False
    return v.SENT in tags and v.MSSANTE in tags


def _record_matches(store: Store, journal, matches, when: datetime) -> int:
    recorded = 0
    for match in matches:
        if not match.original_message_id:
            continue
        sent_id = normal_id(match.original_message_id)
        notice = match.notification
        if not record(store.layout, sent_id, notice, when):
            continue                                # a second copy of the same report
        recorded += 1
        if journal is not None:
            trace_step(journal, "receipt-received", sent_id, receipt=f"mss-{notice.kind}", via=TIER,
                    recipient=notice.recipient or "?",
                    status=" ".join(p for p in (notice.action, notice.status) if p))
    return recorded


def _written(raw: bytes) -> datetime:
    """When a report was written (its Date, a zone-less one read as UTC), else now."""
    date = str(BytesHeaderParser(policy=compat32).parsebytes(raw)["Date"] or "")
    try:   # a comment such as "(EDT)" before the zone hides the zone from the parser: dropped first
        when = email.utils.parsedate_to_datetime(re.sub(r"\([^()]*\)", " ", date))
    except (TypeError, ValueError, IndexError):
        return datetime.now(timezone.utc)
    return when if when.tzinfo is not None else when.replace(tzinfo=timezone.utc)
