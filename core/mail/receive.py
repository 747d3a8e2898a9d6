"""Receiving: the store's import, with what follows a message's arrival given to it as hooks.

The store imports and indexes mail and knows nothing of receipts or notes; this
is where they join in (docs/ARCHITECTURE.md):

  - in the import's workers, each verified message's tags: a receipt, or a request
    for one (pli.core.receipts.message.import_tags); a note (note_tags);
  - plain mail fetched from an MSSanté account: stored in its own tier, not
    quarantined (pli.core.mail.mssante_admission.admission);
  - once the import is committed: the receipts pass answers what asked for a receipt
    and checks the receipts that came back (pli.core.receipts.after_import);
  - once `pli fetch` of an MSSanté account stored its mail: the reports that came back
    recorded (pli.core.mail.mssante_matching), the MDNs asked for answered (mssante_mdn).

    report = receive(home, None)          # `pli new`: what waits in the incoming Maildir
    report = receive(home, [path])        # `pli import PATH`
    done = after_fetch(home, keyring)     # MDNs/DSNs recorded on their Sent copy, MDNs asked for sent
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from pli.core.home import Home
from pli.core.mail.conversation import KIND, KIND_HEADER, TAG
from pli.core.mail.mssante_admission import admission
from pli.core.mail.mssante_matching import ReportsReport, record_reports
from pli.core.mail.mssante_mdn import MdnReport, answer_mdns
from pli.core.receipts import after_import
from pli.core.receipts.message import import_tags as receipt_tags
from pli.core.store import headers
from pli.core.store.importer import ImportHooks, ImportReport, import_sources

_KIND_NAME = KIND_HEADER.lower().encode()


def note_tags(inner: bytes, tags: tuple[str, ...]) -> tuple[str, ...]:
    """The tags of a verified message as the store imports it, with `note` added when its inner
    header marks it a note.  Cheap for the rest: one look for the name in the header block."""
    head = headers.split(inner)[0]
    if _KIND_NAME not in head.lower():
        return tags
    if headers.first_values(inner).get(KIND_HEADER.lower(), "").strip().lower() != KIND:
        return tags
    return tuple(sorted(set(tags) | {TAG}))


#: What pli does with each message an import stores, and after it; the mail of MSSanté accounts is let in
#: in its own tier (pli.core.mail.mssante_admission).
HOOKS = ImportHooks(tags=(receipt_tags, note_tags), after=after_import, admission=admission)


def receive(home: Home, paths: Iterable[Path] | None, **options) -> ImportReport:
    """Import `paths` (None: the incoming Maildir) with receipts and notes; `options` as import_sources's."""
    return import_sources(home, paths, hooks=HOOKS, **options)


def after_fetch(home: Home, keyring=None) -> "FetchFollowUp":
    """What `pli fetch` of an MSSanté account does once the mail is stored: the MDNs and DSNs that came back
    recorded with the sent mail (record_reports), the MDNs asked for answered (answer_mdns)."""
    return FetchFollowUp(record_reports(home, keyring), answer_mdns(home, keyring))


@dataclass
class FetchFollowUp:
    reports: ReportsReport
    mdns: MdnReport

    @property
    def failed(self) -> list[str]:
        return self.mdns.failed + self.reports.failed

    def render(self) -> str:
        return "\n".join(part for part in (self.reports.render(), self.mdns.render()) if part)
