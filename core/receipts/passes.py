"""When receipts are handled: after each import (`pli new`, `pli import`), and when the TUI opens a message.

The importer only tags (receipt.message.import_tags): `receipt-due` marks what
this pass has to look at, so the pass costs one index query when nothing is
due.  It removes the tag once a message is dealt with; an interrupted pass
leaves it, and the next one finishes the work (see answer.py for why nothing
is answered twice).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from pli.core import vocab
from pli.core.audit import home_journal
from pli.core.errors import PliError
from pli.core.home import Home
from pli.core.receipts import received
from pli.core.receipts.answer import Answer, SENT_TAG, answer, answering, original_of
from pli.core.receipts.config import ReceiptsConfig, load_receipts_config
from pli.core.store import Store, headers
from pli.core.transport.outbox import flush_account

DUE = vocab.RECEIPT_DUE
#: Messages asking for receipts that the pass answers (or just takes off the due list).
ASKING = f"tag:{DUE} and not tag:{vocab.RECEIPT} and tag:{vocab.VERIFIED} and not tag:{vocab.QUARANTINE}"
#: Incoming receipts the pass checks.
INCOMING = f"tag:{DUE} and tag:receipt"
#: Requests never to answer (unverified, quarantined since): taken off the due list unanswered.
STALE = f"tag:{DUE} and not tag:receipt and (not tag:verified or tag:quarantine)"


@dataclass
class ReceiptsReport:
    queued: list[Answer] = field(default_factory=list)
    accepted: list[received.Outcome] = field(default_factory=list)
    refused: list[received.Outcome] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (message id, why): retried at the next pass
    sent: int = 0
    not_sent: str = ""           # why queued receipts wait in the outbox

    def render(self) -> str:
        if not (self.queued or self.accepted or self.refused or self.failed):
            return ""
        lines = [f"receipts: {len(self.queued)} queued, {self.sent} sent, {len(self.accepted)} received, "
                 f"{len(self.refused)} refused"]
        lines += [f"  no receipt for id:{message_id} yet: {why}" for message_id, why in self.failed]
        if self.not_sent:
            lines.append(f"  receipts wait in the outbox: {self.not_sent}")
        lines += [f"  refused receipt ({o.reason}): id:{o.receipt_id}" for o in self.refused]
        return "\n".join(lines)


def after_import(home: Home, keyring, journal=None, config: ReceiptsConfig | None = None) -> ReceiptsReport:
    """Answer the delivery receipts asked for and check the receipts received since the last pass."""
    config = config or load_receipts_config(home.config)
    report = ReceiptsReport()
    with Store.open(home, writable=True) as store:
        if not store.count(f"tag:{DUE}"):
            return report
        journal = journal or home_journal(home, keyring)
        _answer_due(home, keyring, journal, config, store, report)
        stale = _ids(store, STALE)
        if stale:
            store.tag(stale, remove=(DUE,))
        _check_incoming(journal, store, report)
    _flush(home, keyring, config, report)
    return report


def after_read(home: Home, keyring, message_id: str, journal=None,
               config: ReceiptsConfig | None = None) -> ReceiptsReport:
    """The read receipt of a message just opened, if it asks for one and this home sends them."""
    config = config or load_receipts_config(home.config)
    report = ReceiptsReport()
    if not config.send_read:
        return report
    with Store.open(home, writable=True) as store:
        tags = store.summary(message_id).tags
        if (vocab.RECEIPT_REQUEST not in tags or vocab.VERIFIED not in tags or vocab.QUARANTINE in tags
                or f"{SENT_TAG}read" in tags):
            return report
        original = original_of(store.read_clear(message_id), message_id)
        if original is None or "read" not in original.kinds:
            return report
        with answering(home):
            done = answer(home, keyring, original, "read", journal or home_journal(home, keyring))
        if done is not None:
            report.queued.append(done)
        store.tag([message_id], add=(f"{SENT_TAG}read",))
    _flush(home, keyring, config, report)
    return report


def _ids(store, query: str) -> list[str]:
    return [s.message_id for s in store.window(query, 0, store.count(query))]


def _answer_due(home: Home, keyring, journal, config: ReceiptsConfig, store, report: ReceiptsReport) -> None:
    with answering(home):
        for message_id in _ids(store, ASKING):
            try:
                done_tags = _answer_one(home, keyring, journal, config, store, message_id, report)
            except PliError as error:  # e.g. no key to seal to: the message stays due, the import goes on
                report.failed.append((message_id, str(error)))
                continue
            store.tag([message_id], add=done_tags, remove=(DUE,))


def _answer_one(home: Home, keyring, journal, config: ReceiptsConfig, store, message_id: str,
                report: ReceiptsReport) -> list[str]:
    """Answer the delivery request of one message; the tags that say what was done."""
    original = original_of(store.read_clear(message_id), message_id)
    if original is None or "delivery" not in original.kinds or not config.send_delivery:
        return []
    done = answer(home, keyring, original, "delivery", journal)
    if done is not None:
        report.queued.append(done)
    return [f"{SENT_TAG}delivery"]


def _check_incoming(journal, store, report: ReceiptsReport) -> None:
    for receipt_id in _ids(store, INCOMING):
        try:
            _check_one(journal, store, receipt_id, report)
        except PliError as error:  # the index busy, a file gone: it stays due for the next pass
            report.failed.append((receipt_id, str(error)))


def _check_one(journal, store, receipt_id: str, report: ReceiptsReport) -> None:
    layout = store.layout
    try:
        checked = received.check(store, receipt_id)
    except received.Refused as refusal:
        received.trace_refused(journal, receipt_id, _envelope_of(store, receipt_id), refusal.reason)
        received.quarantine(layout, receipt_id, refusal.reason)
        report.refused.append(received.Outcome(receipt_id, False, refusal.reason))
        return
    known = {a.address for a in received.acknowledgements(layout, checked.receipt.message_id)
             if a.kind == checked.receipt.kind}
    if checked.signer not in known:      # a second copy of a receipt is recorded once
        received.trace_received(journal, checked)
    received.mark(layout, checked)
    report.accepted.append(received.Outcome(receipt_id, True, kind=checked.receipt.kind,
                                            original=checked.receipt.message_id))


def _envelope_of(store, message_id: str) -> str:
    return headers.value_of(store.read_clear(message_id), "X-Pli-Envelope-Id")


def _flush(home: Home, keyring, config: ReceiptsConfig, report: ReceiptsReport) -> None:
    """Send the receipts just queued through the default account, when there is one that can send;
    otherwise (or on failure) they wait in the outbox for the next `pli send flush`."""
    if not report.queued or not config.flush:
        return

    try:
        result = flush_account(home, keyring, None, {a.key for a in report.queued})
    except PliError as error:
        report.not_sent = str(error)
        return
    report.sent = len(result.sent)
    if result.failed:
        report.not_sent = str(result.failed[0][1])
